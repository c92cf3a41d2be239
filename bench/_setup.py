"""Django set-up shared by the benchmark groups: databases under var/bench/, production-like settings."""

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DISTRICT_DB = BENCH_DIR / "district.sqlite3"


def configure() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengchao.test_settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DISTRICT_DB}")
    import django

    django.setup()


def fresh_sqlite(name: str) -> Path:
    """Point the default connection at a new, migrated SQLite file var/bench/<name>.sqlite3."""
    from django.core.management import call_command
    from django.db import connections

    path = BENCH_DIR / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _use_sqlite(path)
    call_command("migrate", verbosity=0)
    connections["default"].close()
    return path


def _use_sqlite(path: Path) -> None:
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = str(path)


def adopt_as_district(path: Path) -> None:
    """Keep a freshly seeded district database for the groups that need one."""
    from django.db import connections

    connections["default"].close()
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            shutil.move(source, f"{DISTRICT_DB}{suffix}")
    _use_sqlite(DISTRICT_DB)


def ensure_district_db() -> None:
    """Use var/bench/district.sqlite3, seeding the district-scale demo into it first if needed."""
    from django.core.management import call_command

    if os.environ["DATABASE_URL"].startswith("sqlite"):
        _use_sqlite(DISTRICT_DB)
    call_command("migrate", verbosity=0)
    from fengchao.areas.models import Area

    if Area.objects.filter(kind="microgrid").count() < 6000:
        call_command("seed_demo", scale="district", verbosity=0)
