"""Seeding the demo district: `seed.district_s` (budget < 180 s on SQLite, 2 cores) and `seed.small_s`."""

import time
from pathlib import Path

import _setup


def _timed_seed(scale: str) -> tuple[float, Path]:
    from django.core.management import call_command

    path = _setup.fresh_sqlite(f"seed_{scale}")
    started = time.perf_counter()
    call_command("seed_demo", scale=scale, verbosity=0)
    return time.perf_counter() - started, path


def run(emit) -> None:
    small_s, small_path = _timed_seed("small")
    emit("seed.small_s", small_s, "s")
    district_s, district_path = _timed_seed("district")
    emit("seed.district_s", district_s, "s")
    _setup.adopt_as_district(district_path)  # the locator group reuses this database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{small_path}{suffix}").unlink(missing_ok=True)
