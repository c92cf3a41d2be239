"""Proving the ledger: every transfer balances, and every cached balance equals the sum of its entries."""

import time
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum

from .models import Account, Entry


@dataclass
class Report:
    accounts: int = 0
    entries: int = 0
    mismatched: list[tuple[int, int, int]] = field(default_factory=list)  # (account pk, cached, ledger)
    unbalanced: list[int] = field(default_factory=list)  # transfer pks whose entries do not sum to zero
    negative: list[int] = field(default_factory=list)  # account pks below zero that may not be
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.unbalanced or self.negative)


def reconcile(limit: int = 100) -> Report:
    """Check the whole ledger in three grouped reads; lists at most `limit` offenders of each sort."""
    started = time.perf_counter()
    report = Report()
    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("amount")).order_by())
    report.entries = Entry.objects.count()
    cached = Account.objects.filter(Q(user__isnull=False) | Q(merchant__isnull=False))
    for pk, balance in cached.values_list("pk", "balance").iterator(chunk_size=5000):
        report.accounts += 1
        ledger = sums.get(pk, 0)
        if balance != ledger and len(report.mismatched) < limit:
            report.mismatched.append((pk, balance, ledger))
        if ledger < 0 and len(report.negative) < limit:
            report.negative.append(pk)
    uneven = (
        Entry.objects.values("transfer_id")
        .annotate(total=Sum("amount"), sides=Count("pk"))
        .filter(~Q(total=0) | ~Q(sides=2))
        .order_by("transfer_id")
    )
    report.unbalanced = list(uneven.values_list("transfer_id", flat=True)[:limit])
    report.seconds = time.perf_counter() - started
    return report
