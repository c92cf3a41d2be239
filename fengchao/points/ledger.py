"""Posting to the double-entry ledger: one transfer, two entries that sum to zero, balances by compare-and-set.

`post` is the only writer of `Transfer`, `Entry` and `Account.balance`. It runs inside the caller's
transaction (the service that decides the movement writes its audit event in the same one). A debit
is `UPDATE … SET balance = balance - n WHERE pk = … AND balance >= n`: if no row changed, the money is
not there and nothing is written. On PostgreSQL that UPDATE also locks the account row until commit,
so everything a service reads about the person after debiting is current; accounts are always taken
in the same order (`_locked_in_order`) so two transfers never wait on each other in a circle.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import MAY_RUN_NEGATIVE, PointsKind, Purpose, TransferKind
from .models import Account, Entry, Transfer


class NotEnoughPoints(ValidationError):
    """The account to debit holds fewer points than the transfer moves."""


@dataclass(frozen=True)
class Side:
    """Who holds an account: a person, a merchant, or the platform (neither)."""

    user_id: int | None = None
    merchant_id: int | None = None

    def account(self, kind: str, purpose: str) -> Account:
        return account_for(kind, purpose, user_id=self.user_id, merchant_id=self.merchant_id)


PLATFORM = Side()


def account_for(kind: str, purpose: str, *, user_id=None, merchant_id=None) -> Account:
    """The account, created on first use (a concurrent creator's row is taken if it wins the race)."""
    lookup = {"user_id": user_id, "merchant_id": merchant_id, "kind": kind, "purpose": purpose}
    found = Account.objects.filter(**lookup).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup)
    except IntegrityError:
        return Account.objects.get(**lookup)


# Which accounts each kind of transfer moves points between (from, to), as (holder, purpose).
ROUTES = {
    TransferKind.GRANT: (("platform", Purpose.ISSUED), ("user", Purpose.AVAILABLE)),
    TransferKind.ADJUST: (("platform", Purpose.ISSUED), ("user", Purpose.AVAILABLE)),  # negative: reversed
    TransferKind.FREEZE: (("user", Purpose.AVAILABLE), ("user", Purpose.FROZEN)),
    TransferKind.SPEND: (("user", Purpose.FROZEN), ("merchant", Purpose.REDEEMED)),
    TransferKind.RELEASE: (("user", Purpose.FROZEN), ("user", Purpose.AVAILABLE)),
    TransferKind.REFUND: (("merchant", Purpose.REDEEMED), ("user", Purpose.AVAILABLE)),
    TransferKind.EXPIRE: (("user", Purpose.AVAILABLE), ("platform", Purpose.EXPIRED)),
}


def post(
    kind: str,
    points_kind: str,
    points: int,
    *,
    user_id: int | None,
    merchant_id: int | None = None,
    reverse: bool = False,
    at=None,
    **about,
) -> Transfer:
    """Move `points` of `points_kind` along the route of `kind` (backwards if `reverse`); returns the transfer.

    `about` fills the transfer's description: area, source_type, source_id, source_label, claim, rule,
    approved_by, actor, reason, expires_at. Raises NotEnoughPoints (nothing written) when the debited
    account would go below zero.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post runs inside the transaction of the service that decides the movement")
    points = int(points)
    if points <= 0:
        raise ValueError("a transfer moves a positive number of points")
    if points_kind not in PointsKind.values:
        raise ValueError(f"unknown kind of points {points_kind!r}")
    source, target = ROUTES[kind]
    if reverse:
        source, target = target, source
    holders = {"platform": PLATFORM, "user": Side(user_id=user_id), "merchant": Side(merchant_id=merchant_id)}
    debit = holders[source[0]].account(points_kind, source[1])
    credit = holders[target[0]].account(points_kind, target[1])
    for account, change in _locked_in_order(((debit, -points), (credit, points))):
        _change_balance(account, change)
    transfer = Transfer.objects.create(
        kind=kind,
        points_kind=points_kind,
        points=points,
        user_id=user_id,
        merchant_id=merchant_id,
        at=at or timezone.now(),
        **about,
    )
    Entry.objects.bulk_create(
        [
            Entry(transfer=transfer, account=debit, amount=-points),
            Entry(transfer=transfer, account=credit, amount=points),
        ]
    )
    return transfer


def lock_person(user_id: int, kinds, purposes=(Purpose.AVAILABLE,)) -> dict[str, int]:
    """Lock a person's accounts of these kinds and purposes (in pk order, as `post` takes them) for the rest of
    the transaction; returns their available balances as they stand behind the lock.

    On PostgreSQL a no-op UPDATE takes the row lock, so a second order or claim of the same person waits
    here and then reads what the first committed; SQLite serialises writers anyway.
    """
    accounts = [account_for(kind, purpose, user_id=user_id) for kind in kinds for purpose in purposes]
    for account in sorted(accounts, key=lambda a: a.pk):
        Account.objects.filter(pk=account.pk).update(balance=F("balance"))
    available = [a.pk for a in accounts if a.purpose == Purpose.AVAILABLE]
    return dict(Account.objects.filter(pk__in=available).values_list("kind", "balance"))


def _locked_in_order(changes):
    """Take accounts in pk order, so two transfers over the same pair lock them alike (no deadlock)."""
    return sorted(changes, key=lambda pair: pair[0].pk)


def _change_balance(account: Account, change: int) -> None:
    if account.is_platform:
        # No cached balance for the platform's accounts: every grant would queue on that one row.
        return
    rows = Account.objects.filter(pk=account.pk)
    if change < 0 and account.purpose not in MAY_RUN_NEGATIVE:
        rows = rows.filter(balance__gte=-change)
    if rows.update(balance=F("balance") + change) != 1:
        raise NotEnoughPoints(_("Not enough points: %(n)d needed.") % {"n": -change}, code="not_enough_points")
    account.balance += change


def balance(user_id: int, kind: str, purpose: str = Purpose.AVAILABLE) -> int:
    """A person's balance from the cache (reconcile proves it equal to the entries)."""
    rows = Account.objects.filter(user_id=user_id, kind=kind, purpose=purpose)
    return rows.values_list("balance", flat=True).first() or 0


def balances(user_id: int) -> dict[str, dict[str, int]]:
    """{kind: {purpose: balance}} of a person's available and frozen points, zeros included."""
    found = {kind: {Purpose.AVAILABLE: 0, Purpose.FROZEN: 0} for kind in PointsKind.values}
    for kind, purpose, amount in Account.objects.filter(user_id=user_id).values_list("kind", "purpose", "balance"):
        found[kind][purpose] = amount
    return found


def ledger_balance(account: Account) -> int:
    """The sum of the account's entries: what its balance must equal."""
    return account.entries.aggregate(total=Sum("amount"))["total"] or 0
