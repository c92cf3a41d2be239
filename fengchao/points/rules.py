"""Which rule prices an action where, and how many points it gives (hours, caps)."""

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from django.db.models import Sum
from django.utils import timezone

from fengchao.areas.models import Area

from .choices import ClaimState
from .models import Claim, Rule

# Claims that count towards a cap: everything not refused.
CAPPED_STATES = (ClaimState.PENDING, ClaimState.LISTED, ClaimState.GRANTED)


def ancestors_and_self(area: Area) -> list[int]:
    return [int(pk) for pk in area.path.strip("/").split("/") if pk]


def rule_for(action: str, area: Area) -> Rule | None:
    """The active rule for the action at the area or its nearest ancestor (a community's rule beats the district's)."""
    lineage = ancestors_and_self(area)
    rules = {r.area_id: r for r in Rule.objects.filter(action=action, area_id__in=lineage, is_active=True)}
    for pk in reversed(lineage):
        if pk in rules:
            return rules[pk]
    return None


def points_of(rule: Rule, hours: Decimal | None) -> tuple[int, Decimal | None]:
    """(points, hours counted): per hour for hours-based rules (capped at max_hours), else the fixed points."""
    if rule.points_per_hour:
        counted = Decimal(hours or 0)
        if rule.max_hours is not None:
            counted = min(counted, rule.max_hours)
        counted = counted.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        return int(counted * rule.points_per_hour), counted
    return rule.points, None


def room_under_caps(rule: Rule, user_id: int, at: dt.datetime) -> int | None:
    """How many more points the rule may give this person on that day and in that month (None: no cap)."""
    local = timezone.localtime(at)
    limits = []
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if rule.daily_cap is not None:
        limits.append(rule.daily_cap - _earned(rule, user_id, day_start, day_start + dt.timedelta(days=1)))
    if rule.monthly_cap is not None:
        month_start = day_start.replace(day=1)
        next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
        limits.append(rule.monthly_cap - _earned(rule, user_id, month_start, next_month))
    return max(0, min(limits)) if limits else None


def _earned(rule: Rule, user_id: int, start, end) -> int:
    claims = Claim.objects.filter(
        user_id=user_id, action=rule.action, earned_at__gte=start, earned_at__lt=end, state__in=CAPPED_STATES
    )
    return claims.aggregate(total=Sum("points"))["total"] or 0
