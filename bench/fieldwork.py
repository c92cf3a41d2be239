"""Field-work reads over the district-scale demo (var/bench/district.sqlite3, seeded if needed), whose pilot street
has a season of tasks, patrols, the fire-safety sweep and care visits:

- `fieldwork.coverage_map_street_s`: the coverage map's figures for every micro-grid of the pilot street (walked,
  inspected, visited, overdue tasks), as the /coverage/ page computes them;
- `fieldwork.visits_overview_street_s`: the care-visit overview of the pilot street per community;
- `fieldwork.today_ms`: the demo member's day (tasks due, visits due, events ahead), as /today/ computes it.

Figures only: the budget that applies is DESIGN's "queries constant in page size", held by the query-count
tests; these show the pages stay quick at a real street's size.
"""

import time


def _best_of(call, times=3) -> float:
    best = None
    for _ in range(times):
        started = time.perf_counter()
        call()
        took = time.perf_counter() - started
        best = took if best is None else min(best, took)
    return best


def run(emit) -> None:
    import _setup
    from django.contrib.auth import get_user_model

    from fengchao.areas.models import Area
    from fengchao.coverage import layers
    from fengchao.demo.points import PILOT_STREET
    from fengchao.today.summary import day_of
    from fengchao.visits import coverage as visits

    _setup.ensure_district_db()
    street = Area.objects.get(kind="street", name=PILOT_STREET)
    since, until = layers.parse_period("", "")
    emit("fieldwork.coverage_map_street_s", _best_of(lambda: layers.statuses(street, since=since, until=until)), "s")
    emit("fieldwork.visits_overview_street_s", _best_of(lambda: visits.area_status(street)), "s")
    member = get_user_model().objects.get(username="demo_member")
    emit("fieldwork.today_ms", _best_of(lambda: day_of(member)) * 1000, "ms")
