"""Patrol coverage of an area for an ISO week: which micro-grids were walked (at least one check-in), the last
check-in of each, and per grid the shortest full walk (两小时网格全走访): on a day when every micro-grid of the
grid had a check-in, the time from the day's first to its last check-in across the grid.

Three queries whatever the size of the area: the micro-grids, check-ins grouped by micro-grid, and check-ins
grouped by grid and day.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.areas.models import Area, subtree_q

from .models import PatrolCheckIn
from .queries import microgrids_under

WEEK_RE = re.compile(r"^(\d{4})-W(\d{1,2})$")


def week_of(day: dt.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(raw) -> dt.date:
    """The Monday of an ISO week given as 2026-W49 (this week when empty)."""
    if raw in (None, ""):
        today = timezone.localdate()
        return today - dt.timedelta(days=today.weekday())
    match = WEEK_RE.match(str(raw).strip())
    try:
        if not match:
            raise ValueError
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValidationError({"week": _("Give the week as YYYY-Www, like 2026-W49.")}) from None


def week_bounds(monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tzinfo=tz)


@dataclass
class MicroRow:
    area: Area
    check_ins: int = 0
    last_at: dt.datetime | None = None

    @property
    def walked(self) -> bool:
        return self.check_ins > 0


@dataclass
class GridRow:
    grid_id: int
    name: str
    micro: list = field(default_factory=list)
    full_walk: dt.timedelta | None = None  # the shortest of the week, None: never fully walked
    full_walk_day: dt.date | None = None

    @property
    def walked_count(self) -> int:
        return sum(1 for m in self.micro if m.walked)


@dataclass
class Coverage:
    area: Area
    monday: dt.date
    grids: list
    week: str = ""

    @property
    def micro_count(self) -> int:
        return sum(len(g.micro) for g in self.grids)

    @property
    def walked_count(self) -> int:
        return sum(g.walked_count for g in self.grids)


def coverage(area: Area, monday: dt.date) -> Coverage:
    start, end = week_bounds(monday)
    micros = list(microgrids_under(area).select_related("parent"))
    ids = [m.pk for m in micros]
    in_week = PatrolCheckIn.objects.filter(subtree_q(area.path, "area__"), at__gte=start, at__lt=end)
    per_micro = {
        row["area_id"]: row for row in in_week.values("area_id").annotate(n=Count("pk"), last=Max("at")).order_by()
    }
    grids: dict[int, GridRow] = {}
    for m in micros:
        gid = m.grid_pk or m.parent_id
        grid = grids.setdefault(gid, GridRow(grid_id=gid, name=m.parent.name))
        row = per_micro.get(m.pk, {})
        grid.micro.append(MicroRow(area=m, check_ins=row.get("n", 0), last_at=row.get("last")))
    if ids:
        per_day = (
            in_week.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
            .values("area__grid_pk", "day")
            .annotate(first=Min("at"), last=Max("at"), visited=Count("area", distinct=True))
            .order_by()
        )
        for row in per_day:
            grid = grids.get(row["area__grid_pk"])
            if grid is None or row["visited"] < len(grid.micro):
                continue
            took = row["last"] - row["first"]
            if grid.full_walk is None or took < grid.full_walk:
                grid.full_walk, grid.full_walk_day = took, row["day"]
    return Coverage(area=area, monday=monday, grids=list(grids.values()), week=week_of(monday))


def duration_text(value: dt.timedelta | None) -> str:
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    return _("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}
