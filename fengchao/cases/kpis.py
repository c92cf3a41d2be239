"""Figures of the closed loop per area and per department: counts by state and category, the rates, stage times.

Areas down to grid level sum their own `CaseTally` rows (kept in each change's transaction, one row per
month and category for the whole subtree), so a district over a year of millions of cases sums at most
12 × categories rows, never scans cases. Micro-grids lie below the tallies'
granularity and departments are not a tally dimension: those aggregate the `Case` rows directly, with
conditional aggregates that count exactly what `tallies.contribution` counts. Both paths end in
`figures_from`, so the formulas live in one place (they are written out in docs/cases.md, "Figures"):

- response rate = responded on time / dispatched
- resolution rate = resolved / accepted
- satisfaction rate = (satisfied + basically satisfied) / rated
- on-time closing rate = closed on time / closed
- rework rate = reworked / resolved
- average stage time = the stage's seconds summed / cases that passed the stage

A rate whose denominator is zero is None (shown as "—"). Callers pass an area the user may see: the
views check `path_is_visible(user, area.path, CASE_ROLES)` and answer 404 otherwise.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import Count, DurationField, F, Q, Sum
from django.utils import timezone

from fengchao.areas.models import Area

from .choices import FINAL_STATES, CaseState, Rating
from .models import DURATION_MEASURES, MEASURES, Case, CaseTally, Category
from .tallies import STAGE_SPANS

MICROGRID_LEVEL = 5

# (name, numerator measures, denominator measure)
RATES = (
    ("response", ("responded_on_time",), "dispatched"),
    ("resolution", ("resolved",), "accepted"),
    ("satisfaction", ("satisfied", "basically_satisfied"), "rated"),
    ("on_time_closing", ("closed_on_time",), "closed"),
    ("rework", ("reworked",), "resolved"),
)
# Each stage's time is averaged over the cases that finished it.
STAGE_COUNTS = {
    "accept_seconds": "accepted",
    "dispatch_seconds": "dispatched",
    "take_seconds": "responded",
    "handle_seconds": "resolved",
    "verify_seconds": "verified",
}
STAGES = tuple(name.removesuffix("_seconds") for name in DURATION_MEASURES)


# --- the formulas --------------------------------------------------------------------------------


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rates_of(totals: dict) -> dict[str, float | None]:
    return {name: ratio(sum(totals[m] for m in top), totals[bottom]) for name, top, bottom in RATES}


def stage_hours_of(totals: dict) -> dict[str, float | None]:
    hours = {}
    for seconds, passed in STAGE_COUNTS.items():
        average = ratio(totals[seconds], totals[passed])
        hours[seconds.removesuffix("_seconds")] = None if average is None else average / 3600
    return hours


def figures_from(rows_by_category: dict[int, dict]) -> dict:
    """The figures from measure sums per leaf category (what both the tally and the case path produce)."""
    totals = dict.fromkeys(MEASURES, 0)
    for sums in rows_by_category.values():
        for name in MEASURES:
            totals[name] += sums.get(name) or 0
    return {
        "cases": totals["reported"],
        "totals": totals,
        "by_state": {state: totals[f"in_{state}"] for state in CaseState.values},
        "rates": rates_of(totals),
        "stage_hours": stage_hours_of(totals),
        "by_category": _by_category({pk: sums.get("reported") or 0 for pk, sums in rows_by_category.items()}),
    }


def _by_category(counts: dict[int, int]) -> dict:
    """Counts per leaf category and per top-level category, largest first (categories loaded in one query)."""
    counts = {pk: n for pk, n in counts.items() if n}
    categories = {c["pk"]: c for c in Category.objects.values("pk", "parent_id", "code", "name")}

    def top_of(pk):
        seen = 0
        while categories[pk]["parent_id"] is not None and seen < 10:
            pk, seen = categories[pk]["parent_id"], seen + 1
        return pk

    tops: dict[int, int] = defaultdict(int)
    for pk, n in counts.items():
        if pk in categories:
            tops[top_of(pk)] += n

    def listed(items):
        rows = [{**categories[pk], "count": n} for pk, n in items]
        return sorted(rows, key=lambda r: (-r["count"], r["code"]))

    return {
        "leaf": listed((pk, n) for pk, n in counts.items() if pk in categories),
        "top": listed(tops.items()),
    }


# --- periods and filters -------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def last_months(count: int = 12, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(first month, last month) of the `count` months ending with the current one."""
    this_month = month_start(today or timezone.localdate())
    return add_months(this_month, 1 - count), this_month


def category_leaves(category: Category | None) -> list[int] | None:
    """The pks of a category and every category below it (None: no filter)."""
    if category is None:
        return None
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    found, todo = [], [category.pk]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo += children.get(pk, [])
    return found


def _tally_filter(since, until, categories) -> Q:
    condition = Q()
    if since is not None:
        condition &= Q(month__gte=month_start(since))
    if until is not None:
        condition &= Q(month__lte=month_start(until))
    if categories is not None:
        condition &= Q(category_id__in=categories)
    return condition


def _case_filter(since, until, categories) -> Q:
    condition = Q()
    zone = timezone.get_current_timezone()
    if since is not None:
        condition &= Q(reported_at__gte=dt.datetime.combine(month_start(since), dt.time(), zone))
    if until is not None:
        condition &= Q(reported_at__lt=dt.datetime.combine(add_months(month_start(until), 1), dt.time(), zone))
    if categories is not None:
        condition &= Q(category_id__in=categories)
    return condition


# --- the two paths ------------------------------------------------------------------------------


def _tally_sums():
    return {name: Sum(name) for name in MEASURES}


def case_measure_aggregates() -> dict:
    """Conditional aggregates over Case rows that count exactly what `tallies.contribution` adds."""
    flags = {
        "reported": Q(),
        "accepted": Q(accepted_at__isnull=False),
        "dispatched": Q(dispatched_at__isnull=False),
        "responded": Q(taken_at__isnull=False),
        "resolved": Q(resolved_at__isnull=False),
        "verified": Q(verified_at__isnull=False),
        "closed": Q(closed_at__isnull=False),
        "responded_on_time": Q(responded_on_time=True),
        "closed_on_time": Q(closed_on_time=True),
        "reworked": Q(rework_count__gt=0),
        "rated": ~Q(rating=""),
        "satisfied": Q(rating=Rating.SATISFIED),
        "basically_satisfied": Q(rating=Rating.BASICALLY_SATISFIED),
        "dissatisfied": Q(rating=Rating.DISSATISFIED),
    }
    aggregates = {f"in_{state}": Count("pk", filter=Q(state=state)) for state in CaseState.values}
    aggregates.update({name: Count("pk", filter=condition) for name, condition in flags.items()})
    for name, (start, end) in STAGE_SPANS.items():
        aggregates[name] = Sum(F(end) - F(start), output_field=DurationField())
    return aggregates


def _seconds(value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(value) // 1_000_000  # a backend that hands the duration back in microseconds


def _measures(row: dict, durations_as_interval: bool) -> dict[str, int]:
    if durations_as_interval:
        return {name: _seconds(row[name]) if name in DURATION_MEASURES else row[name] or 0 for name in MEASURES}
    return {name: row[name] or 0 for name in MEASURES}


def _rows_by_category(queryset, aggregates, *, durations_as_interval: bool) -> dict[int, dict]:
    rows = queryset.values("category_id").annotate(**aggregates).order_by()
    return {row["category_id"]: _measures(row, durations_as_interval) for row in rows}


def area_kpis(area: Area, *, since: dt.date | None = None, until: dt.date | None = None, category=None) -> dict:
    """The figures of an area's cases reported in the months from `since` to `until` (both 1st of a month)."""
    categories = category_leaves(category)
    if area.level >= MICROGRID_LEVEL:
        cases = Case.objects.filter(area=area).filter(_case_filter(since, until, categories))
        rows = _rows_by_category(cases, case_measure_aggregates(), durations_as_interval=True)
    else:
        tallies = CaseTally.objects.filter(area=area).filter(_tally_filter(since, until, categories))
        rows = _rows_by_category(tallies, _tally_sums(), durations_as_interval=False)
    return figures_from(rows)


def department_kpis(department, *, since=None, until=None, category=None) -> dict:
    """The figures of the cases dispatched to a department (from the cases: departments are not a tally cell)."""
    categories = category_leaves(category)
    cases = Case.objects.filter(department=department).filter(_case_filter(since, until, categories))
    return figures_from(_rows_by_category(cases, case_measure_aggregates(), durations_as_interval=True))


def children_kpis(area: Area, *, since=None, until=None, category=None) -> dict[int, dict]:
    """{child pk: figures without the category breakdown} for every child with cases, by one GROUP BY.

    Children of a grid are micro-grids, below the tallies: their cases are grouped by area instead.
    """
    categories = category_leaves(category)
    child_level = area.level + 1
    if child_level >= MICROGRID_LEVEL:
        source = Case.objects.filter(grid_pk=area.pk).filter(_case_filter(since, until, categories))
        column, aggregates, interval = "area_id", case_measure_aggregates(), True
    else:
        children = CaseTally.objects.filter(area__in=Area.objects.filter(parent=area).values("pk"))
        source = children.filter(_tally_filter(since, until, categories))
        column, aggregates, interval = "area_id", _tally_sums(), False
    result = {}
    for row in source.values(column).annotate(**aggregates).order_by():
        totals = _measures(row, interval)
        result[row[column]] = {
            "cases": totals["reported"],
            "totals": totals,
            "rates": rates_of(totals),
            "stage_hours": stage_hours_of(totals),
            "open": sum(totals[f"in_{s}"] for s in CaseState.values if s not in FINAL_STATES),
        }
    return result


def empty_child_figures() -> dict:
    totals = dict.fromkeys(MEASURES, 0)
    return {"cases": 0, "totals": totals, "rates": rates_of(totals), "stage_hours": stage_hours_of(totals), "open": 0}


def open_count(figures: dict) -> int:
    return sum(n for state, n in figures["by_state"].items() if state not in FINAL_STATES)
