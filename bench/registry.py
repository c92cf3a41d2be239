"""Registry figures over the district-scale demo (about a million residents).

- `registry.seed_residents_per_s`: residents written per second by the population part of seed_demo
  (read from the seeding's audit event, so a reused database reports the run that built it);
- `registry.search_ms`: p95 of one search box query, `search_residents(residents_visible_to(user), q)[:50]`
  evaluated to a list, over a few hundred queries (surnames, full names, pinyin, initials, names in
  traditional characters, last four digits) for a district administrator and a community staff member
  (budget < 50 ms); `registry.search_<role>_ms` per user.

Seeding takes minutes, so the district database (var/bench/district.sqlite3, which the `seed` group
builds) is reused when it holds the current population, and seeded otherwise.
"""

import os
import random
import statistics
import sys
import time

import _setup

SEED = 20261122
RESIDENTS_PER_KIND = 40


def _current_event():
    from fengchao.audit.models import AuditEvent
    from fengchao.demo.population import VERSION

    event = AuditEvent.objects.filter(action="demo.seeded").order_by("-pk").first()
    if event is None:
        return None
    data = event.data
    current = (
        data.get("scale") == "district"
        and data.get("population_version") == VERSION
        and data.get("counts", {}).get("resident", 0) > 500_000
    )
    return event if current else None


def ensure_population():
    """The seeding's audit event of a district database with the current population, seeding one if needed."""
    from django.core.management import call_command
    from django.db import connections
    from django.db.utils import DatabaseError

    if os.environ["DATABASE_URL"].startswith("sqlite"):
        if _setup.DISTRICT_DB.exists():
            connections["default"].close()
            connections["default"].settings_dict["NAME"] = str(_setup.DISTRICT_DB)
            try:
                call_command("migrate", verbosity=0)  # later index changes apply to the kept database
                event = _current_event()
            except DatabaseError:  # an older schema
                event = None
            if event is not None:
                return event
        print("registry: seeding the district-scale demo (a few minutes)", file=sys.stderr, flush=True)
        path = _setup.fresh_sqlite("seed_district")
        call_command("seed_demo", scale="district", verbosity=0)
        _setup.adopt_as_district(path)
    else:
        call_command("migrate", verbosity=0)
        if _current_event() is None:
            from fengchao.demo.services import find_demo_district

            call_command("seed_demo", scale="district", reset=find_demo_district() is not None, verbosity=0)
    return _current_event()


def _queries(residents, rnd: random.Random) -> list[str]:
    """Search box entries people type, derived from actual residents."""
    from fengchao.demo import names

    queries = []
    for resident in residents:
        name, key = resident["name"], resident["name_key"]
        surname = key[:2] if key[:2] in names.RARE_SURNAMES else key[:1]
        traditional = "".join(names.TRADITIONAL.get(c, c) for c in key)
        last4 = resident["phone_last4"] or resident["id_last4"]
        queries += [
            surname,
            name,
            resident["pinyin_key"],
            resident["pinyin_key"][: rnd.randint(3, 6)],
            resident["initials_key"],
            traditional if traditional != key else name,
            last4,
        ]
    return [q for q in queries if q]


def _sample(queryset, count: int, rnd: random.Random) -> list[dict]:
    bounds = list(queryset.order_by("pk").values_list("pk", flat=True)[:1]) + list(
        queryset.order_by("-pk").values_list("pk", flat=True)[:1]
    )
    if not bounds:
        return []
    low, high = bounds[0], bounds[-1]
    found: list[dict] = []
    fields = ("name", "name_key", "pinyin_key", "initials_key", "phone_last4", "id_last4")
    while len(found) < count:
        row = queryset.filter(pk__gte=rnd.randint(low, high)).order_by("pk").values(*fields).first()
        if row is not None:
            found.append(row)
    return found


def _timed_searches(user, queries: list[str]) -> list[float]:
    from fengchao.registry import search
    from fengchao.registry.queries import residents_visible_to

    def once(q: str) -> float:
        started = time.perf_counter()
        list(search.search_residents(residents_visible_to(user), q)[:50])
        return (time.perf_counter() - started) * 1000

    for q in queries:  # warm the page cache and the per-user scope memo
        once(q)
    return [once(q) for q in queries]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def run(emit) -> None:
    event = ensure_population()
    if event is None:
        print("registry: no district-scale population to measure", file=sys.stderr)
        return
    residents = event.data["counts"]["resident"]
    emit("registry.seed_residents_per_s", residents / max(event.data["population_s"], 1e-9), "residents/s")

    from fengchao.accounts.models import User
    from fengchao.registry.models import Resident
    from fengchao.registry.queries import residents_visible_to

    rnd = random.Random(SEED)
    everyone = _queries(_sample(Resident.objects.all(), RESIDENTS_PER_KIND, rnd), rnd)
    all_timings = []
    for username, role in (("demo_district_admin", "district_admin"), ("demo_community", "community_staff")):
        user = User.objects.get(username=username)
        own = _queries(_sample(residents_visible_to(user), RESIDENTS_PER_KIND, rnd), rnd)
        # Half of what a community worker looks up is in their community, half anywhere (and not found).
        queries = own + everyone if role == "community_staff" else everyone + own
        timings = _timed_searches(user, queries)
        all_timings += timings
        slowest = sorted(zip(timings, queries, strict=True), reverse=True)[:3]
        print(
            f"registry: {username}: {len(queries)} queries, median {statistics.median(timings):.1f} ms, "
            f"slowest {', '.join(f'{q!r} {t:.0f} ms' for t, q in slowest)}",
            file=sys.stderr,
        )
        emit(f"registry.search_{role}_ms", p95(timings), "ms")
    emit("registry.search_ms", p95(all_timings), "ms")
