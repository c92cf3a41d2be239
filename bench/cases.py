"""Case figures on PostgreSQL (127.0.0.1:5432): area KPIs over a year of 5,000,000 cases, and HTTP intake.

- `cases.kpi_ms_p95`: p95 of `kpis.area_kpis` for the last 12 months over areas of every level of the
  district-scale demo, its year of about 1,000,000 cases copied up to 5,000,000 (the budget's size; the
  tallies multiplied to match): the district, every street, 30 communities, 60 grids and 60 micro-grids,
  each timed three times after a warm-up pass (budget < 100 ms); `cases.kpi_ms_p95_district` the
  district alone (20 times). The database `fengchao_bench_cases` is kept between runs and seeded again
  only when its demo is older than the current cases (`fengchao.demo.cases.VERSION`).
- `cases.intake_rps`: cases reported per second through `POST /api/cases` (token auth as a demo
  member, a new idempotency key each time, a point inside a micro-grid so the locator runs, a category
  chosen; validation, audit, tallies and notices all on) served by gunicorn with 2 workers on a free
  loopback port, from 4 client threads with keep-alive connections, on the small demo in
  `fengchao_bench_intake`; `cases.bare_insert_rps` the same requests to `/bench/bare-case`
  (bench/bare_urls.py: one JSON parse and one `Case.objects.create`); `cases.intake_vs_bare_insert` their
  ratio (budget ≥ 0.5). The two alternate in three rounds so both see the same machine.

Each part runs in a child process with its own DATABASE_URL, whatever database the other groups use.
"""

import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import _pg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KPI_DB = "fengchao_bench_cases"
INTAKE_DB = "fengchao_bench_intake"
SEED = 20261122
KPI_CASES = 5_000_000  # the budget's "any area over 5 M cases"
CLIENTS = 4
ROUNDS = 3
ROUND_S = 8.0


def run(emit) -> None:
    for part, database in (("kpi", KPI_DB), ("intake", INTAKE_DB)):
        for name, value, unit in _pg.run_part(str(Path(__file__)), part, database):
            emit(name, value, unit)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


# --- KPIs -----------------------------------------------------------------------------------------------


def _kpi_part() -> None:
    from django.core.management import call_command
    from django.db import connection

    from fengchao.areas.models import Area, subtree_q
    from fengchao.cases import kpis
    from fengchao.cases.models import Case
    from fengchao.demo.services import find_demo_district

    call_command("migrate", verbosity=0)
    if not _current_district_demo():
        _pg.note("cases", "seeding the district-scale demo with its year of cases on PostgreSQL (many minutes)")
        call_command("seed_demo", scale="district", reset=find_demo_district() is not None, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if Case.objects.count() < KPI_CASES * 0.9:
        _pg.note("cases", f"copying the year of cases up to {KPI_CASES:,} on PostgreSQL (a few minutes, once)")
        _copy_cases(KPI_CASES // Case.objects.count() - 1)
    district = find_demo_district()
    rnd = random.Random(SEED)
    below = Area.objects.filter(subtree_q(district.path), is_active=True).order_by("pk")
    streets = list(below.filter(level=2))
    communities = rnd.sample(list(below.filter(level=3)), 30)
    grids = rnd.sample(list(below.filter(level=4)), 60)
    micro_grids = rnd.sample(list(below.filter(level=5)), 60)
    areas = [district, *streets, *communities, *grids, *micro_grids]
    since, until = kpis.last_months(12)

    def timed(area) -> float:
        started = time.perf_counter()
        kpis.area_kpis(area, since=since, until=until)
        return (time.perf_counter() - started) * 1000

    for area in areas:  # warm the caches
        timed(area)
    timings = [(area, timed(area)) for _round in range(3) for area in areas]
    slowest = sorted(timings, key=lambda pair: -pair[1])[:3]
    _pg.note(
        "cases",
        "slowest KPI calls: " + ", ".join(f"{a.name} ({a.get_kind_display()}) {ms:.0f} ms" for a, ms in slowest),
    )
    _pg.figure("cases.kpi_ms_p95", p95([ms for _area, ms in timings]), "ms")
    _pg.figure("cases.kpi_ms_p95_district", p95([timed(district) for _ in range(20)]), "ms")


def _copy_cases(copies: int) -> None:
    """Add `copies` copies of every case (new pks, tracking codes and keys) and multiply the tallies to match.

    The copies have the same months, categories and outcomes, so the tallies times (copies + 1) equal a
    recount. Areas down to grid level read their tally rows, whose number does not grow with the cases;
    micro-grids count their cases live, from a table now the size the budget names.
    """
    from django.db import connection, transaction

    from fengchao.cases.models import MEASURES, Case, CaseTally

    quote = connection.ops.quote_name
    columns = [field.column for field in Case._meta.concrete_fields]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {quote(Case._meta.db_table)}")  # noqa: S608
        (highest,) = cursor.fetchone()
        for copy in range(1, copies + 1):
            shift = copy * highest
            changed = {
                "id": f"id + {shift}",
                "merged_into_id": f"merged_into_id + {shift}",
                "tracking_code": f"tracking_code || '{copy}'",
                "idempotency_key": f"idempotency_key || '~{copy}'",
            }
            chosen = ", ".join(changed.get(column, quote(column)) for column in columns)
            names = ", ".join(quote(column) for column in columns)
            table = quote(Case._meta.db_table)
            # Every name is the model's own and every value a number this function made.
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {chosen} FROM {table} WHERE id <= %s", [highest])  # noqa: S608
        tallies = ", ".join(f"{quote(m)} = {quote(m)} * {copies + 1}" for m in MEASURES)
        cursor.execute(f"UPDATE {quote(CaseTally._meta.db_table)} SET {tallies}")  # noqa: S608
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{Case._meta.db_table}', 'id'), {highest * (copies + 1)})"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _current_district_demo() -> bool:
    from fengchao.audit.models import AuditEvent
    from fengchao.demo.cases import VERSION

    event = AuditEvent.objects.filter(action="demo.seeded").order_by("-pk").first()
    if event is None:
        return False
    data = event.data
    return (
        data.get("scale") == "district"
        and data.get("cases_version") == VERSION
        and data.get("counts", {}).get("case", 0) > 500_000
    )


# --- intake over HTTP -----------------------------------------------------------------------------------


def _intake_part() -> None:
    from django.core.management import call_command

    from fengchao.accounts.models import User
    from fengchao.accounts.services import issue_api_token
    from fengchao.areas.models import Area
    from fengchao.cases.models import Category
    from fengchao.demo.services import find_demo_district

    call_command("migrate", verbosity=0)
    if find_demo_district() is None:
        _pg.note("cases", "seeding the small demo on PostgreSQL")
        call_command("seed_demo", scale="small", verbosity=0)
    _token, raw = issue_api_token(User.objects.get(username="demo_member"), "bench", days=1)
    points = list(
        Area.objects.filter(kind="microgrid").values_list("pk", "centre_lon", "centre_lat", "name").order_by("pk")
    )
    parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
    codes = list(
        Category.objects.filter(is_active=True, photo_required=False)
        .exclude(pk__in=parents)
        .values_list("code", "name")
        .order_by("code")
    )
    port = _pg.free_port()
    server = _pg.start_server(port)
    try:
        _pg.wait_until_up(port)
        rnd = random.Random(SEED)
        run_id = f"{os.getpid()}-{int(time.time())}"
        counter = iter(range(10**9))
        lock = threading.Lock()

        def body() -> dict:
            with lock:
                n = next(counter)
            pk, lon, lat, name = rnd.choice(points)
            code, category = rnd.choice(codes)
            return {
                "category": code,
                "description": f"{name}楼下{category}，请尽快处理（压测 {n}）",
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "crs": "wgs84",
                "address": f"{name}楼下",
                "idempotency_key": f"bench-{run_id}-{n}",
                "area": pk,
            }

        headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
        targets = {"intake": "/api/cases", "bare": "/bench/bare-case"}
        for path in targets.values():  # warm both up: imports, connections, the locator's index
            _pg.load(port, path, lambda _slot: headers, lambda _slot: body(), seconds=2.0, clients=CLIENTS)
        done = {name: 0 for name in targets}
        spent = {name: 0.0 for name in targets}
        for _round in range(ROUNDS):
            for name, path in targets.items():
                count, seconds = _pg.load(
                    port, path, lambda _slot: headers, lambda _slot: body(), seconds=ROUND_S, clients=CLIENTS
                )
                done[name] += count
                spent[name] += seconds
        intake, bare = done["intake"] / spent["intake"], done["bare"] / spent["bare"]
        _pg.figure("cases.intake_rps", intake, "cases/s")
        _pg.figure("cases.bare_insert_rps", bare, "cases/s")
        _pg.figure("cases.intake_vs_bare_insert", intake / bare, "ratio")
    finally:
        _pg.stop_server(server)


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(HERE)]
    import django

    django.setup()
    {"kpi": _kpi_part, "intake": _intake_part}[sys.argv[1]]()
