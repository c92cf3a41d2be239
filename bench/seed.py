"""Seeding the demo district: `seed.district_s` (budget < 180 s on SQLite, 2 cores), `seed.small_s`, and the cases.

`seed.district_s` is the whole district-scale seed (areas, people, the population and the year of
cases); `seed.cases_per_s` is how fast its cases part wrote its million cases with their timelines
(read from the seeding's audit event).
"""

import time
from pathlib import Path

import _setup


def _timed_seed(scale: str) -> tuple[float, Path]:
    from django.core.management import call_command

    path = _setup.fresh_sqlite(f"seed_{scale}")
    started = time.perf_counter()
    call_command("seed_demo", scale=scale, verbosity=0)
    return time.perf_counter() - started, path


def _cases_per_s() -> float | None:
    from fengchao.audit.models import AuditEvent

    event = AuditEvent.objects.filter(action="demo.seeded").order_by("-pk").first()
    if event is None or not event.data.get("cases_s"):
        return None
    return event.data["counts"].get("case", 0) / event.data["cases_s"]


def run(emit) -> None:
    small_s, small_path = _timed_seed("small")
    emit("seed.small_s", small_s, "s")
    district_s, district_path = _timed_seed("district")
    emit("seed.district_s", district_s, "s")
    cases_per_s = _cases_per_s()
    if cases_per_s is not None:
        emit("seed.cases_per_s", cases_per_s, "cases/s")
    _setup.adopt_as_district(district_path)  # the locator group reuses this database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{small_path}{suffix}").unlink(missing_ok=True)
