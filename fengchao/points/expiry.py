"""When points expire, and how much of a person's balance is due to expire (the oldest earned are spent first).

The deployment chooses the policy in `POINTS_EXPIRY`: "none" (the default), "year_end" (points expire at
the end of the calendar year they were earned in) or "months:N" (N months after earning). A grant
carries its expiry time; nothing else is stored per grant. What is due to expire at time T follows
from the ledger (first in, first out): the points granted with an expiry up to T, less what the person
has spent or had taken away since (net of releases and refunds), less what already expired.
"""

import calendar
import datetime as dt

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from .choices import Purpose, TransferKind
from .models import Entry, ExpiryWarning, Transfer


def policy() -> tuple[str, int]:
    raw = str(getattr(settings, "POINTS_EXPIRY", "none") or "none").strip().lower()
    if raw in ("none", "year_end"):
        return raw, 0
    if raw.startswith("months:") and raw[7:].isdigit() and int(raw[7:]) > 0:
        return "months", int(raw[7:])
    raise ImproperlyConfigured(f"POINTS_EXPIRY must be none, year_end or months:N, not {raw!r}")


def warning_days() -> int:
    return int(getattr(settings, "POINTS_EXPIRY_WARNING_DAYS", 30))


def expires_at_for(earned_at: dt.datetime) -> dt.datetime | None:
    """When points earned at `earned_at` expire under the deployment's policy (None: never)."""
    name, months = policy()
    if name == "none":
        return None
    local = timezone.localtime(earned_at)
    if name == "year_end":
        return local.replace(year=local.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def _sums(by: dt.datetime, user_id: int | None = None):
    """Per person and kind: points expiring by `by`, net consumption, expired so far, and the balance."""
    has_expiring = Transfer.objects.filter(expires_at__lte=by).values("user_id")
    entries = Entry.objects.filter(
        account__purpose=Purpose.AVAILABLE, account__user__isnull=False, account__user_id__in=has_expiring
    )
    if user_id is not None:
        entries = entries.filter(account__user_id=user_id)
    return entries.values_list("account__user_id", "account__kind").annotate(
        expiring=Sum("amount", filter=Q(amount__gt=0, transfer__expires_at__lte=by)),
        consumed=Sum("amount", filter=Q(amount__lt=0, transfer__kind__in=[TransferKind.FREEZE, TransferKind.ADJUST])),
        returned=Sum("amount", filter=Q(transfer__kind__in=[TransferKind.RELEASE, TransferKind.REFUND])),
        expired=Sum("amount", filter=Q(transfer__kind=TransferKind.EXPIRE)),
        balance=Sum("amount"),
    )


def _due_amount(expiring, consumed, returned, expired, balance) -> int:
    due = (expiring or 0) + (consumed or 0) + (returned or 0) + (expired or 0)
    return max(0, min(due, balance or 0))


def due(now: dt.datetime) -> list[tuple[int, str, int]]:
    """(user pk, kind, points) that should expire now."""
    found = []
    for user_id, kind, *sums in _sums(now):
        amount = _due_amount(*sums)
        if amount > 0:
            found.append((user_id, kind, amount))
    return found


def due_for(user_id: int, kind: str, now: dt.datetime) -> int:
    for _uid, k, *sums in _sums(now, user_id):
        if k == kind:
            return _due_amount(*sums)
    return 0


def soon(now: dt.datetime, user_id: int | None = None) -> list[tuple[int, str, int, dt.datetime]]:
    """(user pk, kind, points, first expiry) that will expire within the warning period."""
    horizon = now + dt.timedelta(days=warning_days())
    found = []
    # The first expiry within the period comes in the same grouped read (one query, however many people).
    first_in_period = Min(
        "transfer__expires_at", filter=Q(transfer__expires_at__gt=now, transfer__expires_at__lte=horizon)
    )
    for holder, kind, *sums, first in _sums(horizon, user_id).annotate(first=first_in_period):
        amount = _due_amount(*sums)
        if amount > 0 and first is not None:
            found.append((holder, kind, amount, first))
    return found


def expiring_for(user_id: int, kind: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(points, first expiry) of a person's points of a kind that expire within the warning period."""
    for _uid, k, amount, first in soon(now, user_id):
        if k == kind:
            return amount, first
    return 0, None


def mark_warned(user_id: int, kind: str, expires_on: str) -> bool:
    """Record the warning; False if it was already sent."""
    try:
        with transaction.atomic():
            ExpiryWarning.objects.create(user_id=user_id, kind=kind, expires_on=expires_on)
    except IntegrityError:
        return False
    return True
