"""Keep `CaseTally` in step with the cases, inside the transaction of each change.

A case's contribution to its tally cell is a pure function of its fields; a change adds
`contribution(after) - contribution(before)` with one upsert, so the tallies are exact and can be
rebuilt from the cases at any time (`rebuild`).
"""

from collections import defaultdict

from django.db import connection
from django.utils import timezone

from .choices import Rating
from .models import MEASURES, Case, CaseTally

STAGE_SPANS = {
    "accept_seconds": ("reported_at", "accepted_at"),
    "dispatch_seconds": ("accepted_at", "dispatched_at"),
    "take_seconds": ("dispatched_at", "taken_at"),
    "handle_seconds": ("taken_at", "resolved_at"),
    "verify_seconds": ("resolved_at", "verified_at"),
}


def cell_of(case: Case) -> tuple:
    """(tally area, month, category): the grid for cases below grid level, else the case's own area."""
    area_id = case.grid_pk or case.area_id
    month = timezone.localtime(case.reported_at).date().replace(day=1)
    return area_id, month, case.category_id


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
    return cell_of(case), contribution(case), (case.street_pk, case.community_pk, case.grid_pk)


def apply_change(before: tuple | None, after: Case | None) -> None:
    """Move the tallies from a case's `snapshot` before a change to the case as it is now."""
    deltas: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lineage = {}
    if before is not None:
        cell, counts, lin = before
        lineage[cell] = lin
        for name, value in counts.items():
            deltas[cell][name] -= value
    if after is not None:
        cell, counts, lin = snapshot(after)
        lineage[cell] = lin
        for name, value in counts.items():
            deltas[cell][name] += value
    for cell, changes in deltas.items():
        changes = {k: v for k, v in changes.items() if v}
        if changes:
            _upsert([(cell, lineage[cell], changes)])


def add_many(cases) -> None:
    """Add new cases (bulk seeding) to their tallies in a few statements."""
    cells: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lineage = {}
    for case in cases:
        cell, counts, lin = snapshot(case)
        lineage[cell] = lin
        for name, value in counts.items():
            cells[cell][name] += value
    _upsert([(cell, lineage[cell], counts) for cell, counts in cells.items()])


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


def _upsert(rows) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding the deltas (SQLite ≥ 3.24 and PostgreSQL alike)."""
    if not rows:
        return
    table = connection.ops.quote_name(CaseTally._meta.db_table)
    columns = ["area_id", "month", "category_id", "street_pk", "community_pk", "grid_pk", *MEASURES]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    quote = connection.ops.quote_name
    updates = ", ".join(f"{quote(m)} = {table}.{quote(m)} + excluded.{quote(m)}" for m in MEASURES)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), 200):
        chunk = rows[start : start + 200]
        params = []
        for (area_id, month, category_id), lineage, counts in chunk:
            params += [area_id, month, category_id, *lineage, *(counts.get(m, 0) for m in MEASURES)]
        # Table and column names come from the model, values are parameters.
        values = ", ".join([placeholders] * len(chunk))
        sql = (
            f"INSERT INTO {table} ({quoted}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (area_id, month, category_id) DO UPDATE SET {updates}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
