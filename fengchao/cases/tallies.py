"""Keep `CaseTally` in step with the cases, inside the transaction of each change.

A tally row holds the cases reported in one month, of one category, anywhere in the subtree of one
area: a case counts in the row of its grid, community, street and district (each area of its
lineage down to grid level; micro-grids lie below the tallies). So the figures of any area are the
sum of at most months × categories rows, however many cases lie below it.

A case's contribution is a pure function of its fields; a change adds `contribution(after) -
contribution(before)` to each row of its lineage with one upsert, so the tallies are exact and can
be rebuilt from the cases at any time (`rebuild`).
"""

from collections import defaultdict

from django.db import connection
from django.utils import timezone

from fengchao.areas.levels import LINEAGE_FIELD_OF_LEVEL

from .choices import Rating
from .models import MEASURES, Case, CaseTally

STAGE_SPANS = {
    "accept_seconds": ("reported_at", "accepted_at"),
    "dispatch_seconds": ("accepted_at", "dispatched_at"),
    "take_seconds": ("dispatched_at", "taken_at"),
    "handle_seconds": ("taken_at", "resolved_at"),
    "verify_seconds": ("resolved_at", "verified_at"),
}
TALLY_COLUMNS = ("area_id", "month", "category_id", *MEASURES)
# The lineage columns of a case whose areas have tally rows (the case's own area included when it is one of them).
TALLY_LINEAGE = tuple(LINEAGE_FIELD_OF_LEVEL.values())


def cells_of(case: Case) -> list[tuple]:
    """The (area, month, category) rows a case counts in: one per area of its lineage down to grid level."""
    month = timezone.localtime(case.reported_at).date().replace(day=1)
    areas = {getattr(case, column) for column in TALLY_LINEAGE} - {None}
    return [(area_id, month, case.category_id) for area_id in sorted(areas)]


def contribution(case: Case) -> dict[str, int]:
    c = {f"in_{case.state}": 1, "reported": 1}
    flags = {
        "accepted": case.accepted_at,
        "dispatched": case.dispatched_at,
        "responded": case.taken_at,
        "resolved": case.resolved_at,
        "verified": case.verified_at,
        "closed": case.closed_at,
        "responded_on_time": case.responded_on_time,
        "closed_on_time": case.closed_on_time,
        "reworked": case.rework_count,
        "rated": case.rating,
        "satisfied": case.rating == Rating.SATISFIED,
        "basically_satisfied": case.rating == Rating.BASICALLY_SATISFIED,
        "dissatisfied": case.rating == Rating.DISSATISFIED,
    }
    c.update({name: 1 for name, value in flags.items() if value})
    for name, (start, end) in STAGE_SPANS.items():
        a, b = getattr(case, start), getattr(case, end)
        if a and b:
            c[name] = max(0, int((b - a).total_seconds()))
    return c


def snapshot(case: Case) -> tuple:
    return cells_of(case), contribution(case)


def apply_change(before: tuple | None, after: Case | None) -> None:
    """Move the tallies from a case's `snapshot` before a change to the case as it is now."""
    deltas = _deltas()
    if before is not None:
        _add(deltas, *before, sign=-1)
    if after is not None:
        _add(deltas, *snapshot(after))
    _upsert(list(deltas.items()))


def add_many(cases) -> None:
    """Add new cases (bulk seeding, a rebuild) to their tallies in a few statements."""
    deltas = _deltas()
    for case in cases:
        _add(deltas, *snapshot(case))
    _upsert(list(deltas.items()))


def move(cases, lineage: dict[str, int | None]) -> None:
    """Move cases' counts to the rows of their new lineage (their area moved under another parent)."""
    deltas = _deltas()
    for case in cases.iterator(chunk_size=2000):
        counts = contribution(case)
        _add(deltas, cells_of(case), counts, sign=-1)
        for column, pk in lineage.items():
            setattr(case, column, pk)
        _add(deltas, cells_of(case), counts)
    _upsert(list(deltas.items()))


def _deltas() -> dict[tuple, dict[str, int]]:
    return defaultdict(lambda: defaultdict(int))


def _add(deltas: dict, cells: list[tuple], counts: dict[str, int], sign: int = 1) -> None:
    for cell in cells:
        for name, value in counts.items():
            deltas[cell][name] += sign * value


def rebuild() -> int:
    """Recount every tally from the cases (after a bulk load, or to check the running counts)."""
    CaseTally.objects.all().delete()
    batch = []
    total = 0
    for case in Case.objects.order_by("pk").iterator(chunk_size=5000):
        batch.append(case)
        if len(batch) == 5000:
            add_many(batch)
            total += len(batch)
            batch = []
    add_many(batch)
    return total + len(batch)


def upsert_sql(rows: int, measures: tuple[str, ...] = MEASURES) -> str:
    """INSERT … ON CONFLICT DO UPDATE adding `rows` rows of the given measures (SQLite ≥ 3.24 and PostgreSQL alike)."""
    quote = connection.ops.quote_name
    table = quote(CaseTally._meta.db_table)
    columns = ("area_id", "month", "category_id", *measures)
    updates = ", ".join(f"{quote(m)} = {table}.{quote(m)} + excluded.{quote(m)}" for m in measures)
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
    # Table and column names come from the model, values are parameters.
    return (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (area_id, month, category_id) DO UPDATE SET {updates}"
    )


def _upsert(rows: list[tuple[tuple, dict]]) -> None:
    """Add (cell, deltas) rows, in cell order so that concurrent changes lock shared rows in the same order.

    Only the measures that change are written (a new case moves two of the forty), the others keep
    their value or their default of zero.
    """
    rows = sorted((cell, changes) for cell, changes in rows if any(changes.values()))
    measures = tuple(m for m in MEASURES if any(changes.get(m) for _cell, changes in rows))
    for start in range(0, len(rows), 200):
        chunk = rows[start : start + 200]
        params = []
        for cell, counts in chunk:
            params += [*cell, *(counts.get(m, 0) for m in measures)]
        with connection.cursor() as cursor:
            cursor.execute(upsert_sql(len(chunk), measures), params)
