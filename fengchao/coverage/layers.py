"""The coverage map's figures: for every micro-grid under an area, how it stands on four kinds of field work.

- walked: a patrol check-in this ISO week (两小时网格全走访);
- inspected: the share of its buildings and places inspected in the period (安全隐患排查; the period as the
  inspection coverage page takes it, by default the last 30 days), and open hazards;
- visited: care subjects visited within their plan's interval, and how many are overdue (入户走访);
- tasks: assignments of open tasks past their due time.

Each layer is one app's own grouped figures, so the map costs a handful of queries whatever the size of the area.
A status per layer colours the micro-grid: good, partial, bad, or none (nothing to do there).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy

from fengchao.areas.models import Area, subtree_q
from fengchao.inspections import coverage as inspections
from fengchao.patrols import coverage as patrols
from fengchao.patrols.models import PatrolCheckIn
from fengchao.patrols.queries import microgrids_under
from fengchao.visits import coverage as visits
from fengchao.work.choices import AssignmentState, TaskState
from fengchao.work.models import Assignment

LAYERS = {
    "walked": gettext_lazy("Walked this week"),
    "inspected": gettext_lazy("Inspected"),
    "visited": gettext_lazy("Care visits"),
    "tasks": gettext_lazy("Overdue tasks"),
}
GOOD, PARTIAL, BAD, NONE = "good", "partial", "bad", "none"
# Above this many micro-grids the map asks for a narrower area: a street has a few hundred, a district thousands.
MAP_LIMIT = 1500


@dataclass
class MicroStatus:
    area: Area
    figures: dict = field(default_factory=dict)  # layer -> {"status": ..., numbers}

    def status(self, layer: str) -> str:
        return self.figures[layer]["status"]


def _walked(area: Area, now) -> tuple[dict, dict]:
    start, end = patrols.week_bounds(patrols.parse_week(""))
    rows = (
        PatrolCheckIn.objects.filter(subtree_q(area.path, "area__"), at__gte=start, at__lt=end)
        .values("area_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    walked = {row["area_id"]: {"status": GOOD, "check_ins": row["n"]} for row in rows}
    return walked, {"status": BAD, "check_ins": 0}


def _inspected(area: Area, since: dt.date, until: dt.date) -> tuple[dict, dict]:
    figures = {}
    for pk, row in inspections.microgrid_status(area, since, until).items():
        targets, done, hazards = row["targets"], row["inspected"], row["open_hazards"]
        if not targets:
            status = NONE
        elif hazards or not done:
            status = BAD
        else:
            status = GOOD if done >= targets else PARTIAL
        figures[pk] = {"status": status, "targets": targets, "inspected": done, "open_hazards": hazards}
    return figures, {"status": NONE, "targets": 0, "inspected": 0, "open_hazards": 0}


def _visited(area: Area, on: dt.date) -> tuple[dict, dict]:
    figures = {}
    for pk, row in visits.microgrid_status(area, on).items():
        subjects, visited, overdue = row["subjects"], row["visited"], row["overdue"]
        if not subjects:
            status = NONE
        elif overdue:
            status = BAD if overdue * 2 >= subjects else PARTIAL
        else:
            status = GOOD
        figures[pk] = {"status": status, "subjects": subjects, "visited": visited, "overdue": overdue}
    return figures, {"status": NONE, "subjects": 0, "visited": 0, "overdue": 0}


def _tasks(area: Area, now) -> tuple[dict, dict]:
    rows = (
        Assignment.objects.filter(
            subtree_q(area.path, "area__"),
            state=AssignmentState.OPEN,
            task__state=TaskState.OPEN,
            due_at__lt=now,
        )
        .values("area_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["area_id"]: {"status": BAD, "overdue": row["n"]} for row in rows}, {"status": GOOD, "overdue": 0}


parse_period = inspections.parse_period


def microgrid_count(area: Area) -> int:
    return microgrids_under(area).count()


def statuses(area: Area, *, since: dt.date, until: dt.date, now=None) -> list[MicroStatus]:
    """Every active micro-grid under the area with its figures on each layer."""
    now = now or timezone.now()
    layers = {
        "walked": _walked(area, now),
        "inspected": _inspected(area, since, until),
        "visited": _visited(area, timezone.localdate(now)),
        "tasks": _tasks(area, now),
    }
    result = []
    for micro in microgrids_under(area).select_related("parent"):
        status = MicroStatus(area=micro)
        for name, (figures, default) in layers.items():
            status.figures[name] = figures.get(micro.pk, default)
        result.append(status)
    return result


def summary(rows: list[MicroStatus]) -> dict:
    """Per layer, how many micro-grids are in each status."""
    counts = {name: {GOOD: 0, PARTIAL: 0, BAD: 0, NONE: 0} for name in LAYERS}
    for row in rows:
        for name in LAYERS:
            counts[name][row.status(name)] += 1
    return counts
