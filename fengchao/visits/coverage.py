"""Visit coverage of an area on a day: per child area (street, community, grid or micro-grid) how many care
subjects there are, how many were visited within their interval, how many are due soon and how many overdue;
and per micro-grid the same in short, for colouring a map.

A handful of queries whatever the size of the area (a street has ~10k care subjects): the child areas, the
planned care tags under the area, and the last visit of each subject; the rest is combined in Python.
"""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.areas.models import Area

from .choices import DUE_SOON_DAYS
from .queries import lineage_q, subjects_of

# The lineage column naming an area's children, by the area's level.
CHILD_COLUMN = {1: "street_pk", 2: "community_pk", 3: "grid_pk", 4: "area_id", 5: "area_id"}


def _counts(subjects, on: dt.date) -> dict:
    """{key: {"subjects", "visited_in_time", "due_soon", "overdue"}} over Subject rows grouped by their key."""
    horizon = on + dt.timedelta(days=DUE_SOON_DAYS)
    counts: dict = {}
    for s in subjects.values():
        row = counts.setdefault(s.key, {"subjects": 0, "visited_in_time": 0, "due_soon": 0, "overdue": 0})
        row["subjects"] += 1
        if s.due < on:
            row["overdue"] += 1
        else:
            if s.last_at is not None:
                row["visited_in_time"] += 1
            if s.due <= horizon:
                row["due_soon"] += 1
    return counts


def percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def area_status(area: Area, on: dt.date | None = None) -> list[dict]:
    """One row per child area (and one for subjects placed directly in `area`, if any): area, subjects,
    visited_in_time (last visit within the interval), due_soon (due within DUE_SOON_DAYS, overdue not counted),
    overdue, percent (visited in time of subjects, None without subjects)."""
    on = on or timezone.localdate()
    column = CHILD_COLUMN[area.level]
    children = [area] if area.level >= 5 else list(Area.objects.filter(parent=area, is_active=True).order_by("path"))
    subjects, _details = subjects_of(lineage_q([area.path]), on, key_column=column)
    counts = _counts(subjects, on)
    known = {c.pk for c in children}
    empty = {"subjects": 0, "visited_in_time": 0, "due_soon": 0, "overdue": 0}
    rows = [{"area": c, **counts.get(c.pk, empty)} for c in children]
    stray = {"subjects": 0, "visited_in_time": 0, "due_soon": 0, "overdue": 0}
    for key, row in counts.items():
        if key not in known:  # placed in the area itself (a grid without micro-grids) or in a closed child
            for name, n in row.items():
                stray[name] += n
    if stray["subjects"]:
        rows.append({"area": area, **stray, "direct": True})
    for row in rows:
        row["percent"] = percent(row["visited_in_time"], row["subjects"])
    return rows


def totals(rows: list[dict]) -> dict:
    total = {name: sum(r[name] for r in rows) for name in ("subjects", "visited_in_time", "due_soon", "overdue")}
    total["percent"] = percent(total["visited_in_time"], total["subjects"])
    return total


def microgrid_status(area: Area, on: dt.date | None = None) -> dict[int, dict]:
    """{micro-grid pk: {"subjects": n, "visited": n (within their interval), "overdue": n}} for the care subjects
    under `area`, keyed by the area each subject lives in (a micro-grid, or a grid without micro-grids)."""
    on = on or timezone.localdate()
    subjects, _details = subjects_of(lineage_q([area.path]), on, key_column="area_id")
    return {
        key: {"subjects": row["subjects"], "visited": row["visited_in_time"], "overdue": row["overdue"]}
        for key, row in _counts(subjects, on).items()
    }


def status_label(row: dict) -> str:
    if row["overdue"]:
        return _("Overdue")
    if row["due_soon"]:
        return _("Due soon")
    return _("In time")
