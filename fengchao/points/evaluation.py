"""Points in evaluation (考核): what each person earned in a period, per kind, and the weighted score.

The two kinds count separately, weighted by `POINTS_EVALUATION_WEIGHTS` (task 0.6, participation 0.4 by
default), so a district can value assigned work above attendance or the other way round. Earned means
grants and adjustments (a negative adjustment counts against), not what was spent or expired.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, Sum

from fengchao.areas.models import subtree_q

from .choices import PointsKind, Purpose, TransferKind
from .models import Entry


@dataclass(frozen=True)
class Score:
    user_id: int
    task: int
    participation: int
    score: float


def weights() -> dict[str, float]:
    configured = getattr(settings, "POINTS_EVALUATION_WEIGHTS", None) or {}
    return {kind: float(configured.get(kind, default)) for kind, default in (("task", 0.6), ("participation", 0.4))}


def earned_entries(area, since, until):
    """The entries that grants and hand adjustments made on people's available accounts in the area's subtree
    between `since` and `until`: what they earned there (a negative adjustment counts against)."""
    return Entry.objects.filter(
        subtree_q(area.path, "transfer__area__"),
        account__purpose=Purpose.AVAILABLE,
        transfer__kind__in=[TransferKind.GRANT, TransferKind.ADJUST],
        transfer__at__gte=since,
        transfer__at__lt=until,
    )


def scores(area, since, until, limit: int = 50) -> list[Score]:
    """The people who earned most in the area's subtree between `since` and `until`, by weighted score."""
    earned = (
        earned_entries(area, since, until)
        .values("account__user_id")
        .annotate(
            task=Sum("amount", filter=Q(account__kind=PointsKind.TASK), default=0),
            participation=Sum("amount", filter=Q(account__kind=PointsKind.PARTICIPATION), default=0),
        )
    )
    w = weights()
    found = [
        Score(row["account__user_id"], row["task"], row["participation"],
              round(w["task"] * row["task"] + w["participation"] * row["participation"], 1))
        for row in earned
    ]  # fmt: skip
    found.sort(key=lambda s: (-s.score, s.user_id))
    return found[:limit]
