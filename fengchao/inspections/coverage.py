"""Inspection coverage of an area in a period: every active building and place under it, whether (and when last)
it was inspected in the period, and its failures still awaiting rectification (whenever found).

A handful of grouped queries whatever the size of the area (a street has ~10k buildings): the grids, the
buildings, the places, the inspections in the period grouped by target, the open failures grouped by target.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area, subtree_q
from fengchao.registry.models import Building, Place

from .choices import Outcome
from .models import Inspection, InspectionItem

DEFAULT_DAYS = 30


@dataclass
class TargetRow:
    kind: str  # building | place
    pk: int
    name: str
    address: str
    area_id: int  # the micro-grid of a building; the grid (or dedicated grid) of a place
    area_name: str
    grid_pk: int | None
    grid_name: str = ""
    last_at: dt.datetime | None = None
    inspections: int = 0
    open_failures: int = 0

    @property
    def inspected(self) -> bool:
        return self.last_at is not None


@dataclass
class GridSummary:
    grid_pk: int | None
    name: str
    targets: int = 0
    inspected: int = 0
    open_failures: int = 0
    rows: list = field(default_factory=list)

    @property
    def not_inspected(self) -> int:
        return self.targets - self.inspected


def parse_period(since, until) -> tuple[dt.date, dt.date]:
    """(since, until) as dates, both included; by default the last 30 days up to today."""
    today = timezone.localdate()
    try:
        until = _date(until) or today
        since = _date(since) or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ValidationError({"since": _("Give dates as YYYY-MM-DD.")}) from None
    if since > until:
        raise ValidationError({"since": _("The period starts after it ends.")})
    return since, until


def _date(value):
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(since, dt.time.min, tzinfo=tz),
        dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def target_coverage(area: Area, since, until) -> list[TargetRow]:
    """One row per active building and place under the area, ordered by grid, area and name."""
    since, until = parse_period(since, until)
    start, end = bounds(since, until)
    under = subtree_q(area.path, "area__")
    grids = Area.objects.filter(subtree_q(area.path), kind__in=[AreaKind.GRID, AreaKind.DEDICATED])
    grid_names = dict(grids.values_list("pk", "name"))
    if area.grid_pk and area.grid_pk not in grid_names:  # the area is a micro-grid: its grid is above it
        grid_names.update(Area.objects.filter(pk=area.grid_pk).values_list("pk", "name"))
    rows: dict[tuple[str, int], TargetRow] = {}
    columns = ("pk", "name", "address", "area_id", "area__name", "grid_pk")
    for kind, model in (("building", Building), ("place", Place)):
        qs = model.objects.filter(under, is_active=True, area__is_active=True).order_by("area__path", "name", "pk")
        for pk, name, address, area_id, area_name, grid_pk in qs.values_list(*columns):
            rows[(kind, pk)] = TargetRow(
                kind=kind, pk=pk, name=name, address=address, area_id=area_id, area_name=area_name,
                grid_pk=grid_pk, grid_name=grid_names.get(grid_pk, ""),
            )  # fmt: skip
    in_period = Inspection.objects.filter(under, at__gte=start, at__lt=end).order_by()
    for kind in ("building", "place"):
        grouped = in_period.filter(**{f"{kind}__isnull": False}).values(kind).annotate(n=Count("pk"), last=Max("at"))
        for row in grouped:
            found = rows.get((kind, row[kind]))
            if found is not None:
                found.inspections, found.last_at = row["n"], row["last"]
    failing = InspectionItem.objects.filter(
        subtree_q(area.path, "inspection__area__"),
        outcome=Outcome.FAIL,
        rectified_at__isnull=True,
        inspection__follows__isnull=True,
    ).order_by()
    for kind in ("building", "place"):
        grouped = failing.filter(**{f"inspection__{kind}__isnull": False}).values(f"inspection__{kind}")
        for row in grouped.annotate(n=Count("pk")):
            found = rows.get((kind, row[f"inspection__{kind}"]))
            if found is not None:
                found.open_failures = row["n"]
    return sorted(rows.values(), key=lambda r: (r.grid_name, r.area_name, r.kind, r.name, r.pk))


def by_grid(rows: list[TargetRow]) -> list[GridSummary]:
    grids: dict = {}
    for row in rows:
        grid = grids.setdefault(row.grid_pk, GridSummary(grid_pk=row.grid_pk, name=row.grid_name))
        grid.targets += 1
        grid.inspected += row.inspected
        grid.open_failures += row.open_failures
        grid.rows.append(row)
    return list(grids.values())


def microgrid_status(area: Area, since, until) -> dict[int, dict]:
    """{area pk: {"targets", "inspected", "open_hazards"}} for colouring a map: buildings count under their
    micro-grid; places (which sit in a grid or a dedicated grid, not a micro-grid) under that grid."""
    status: dict[int, dict] = {}
    for row in target_coverage(area, since, until):
        cell = status.setdefault(row.area_id, {"targets": 0, "inspected": 0, "open_hazards": 0})
        cell["targets"] += 1
        cell["inspected"] += row.inspected
        cell["open_hazards"] += row.open_failures
    return status
