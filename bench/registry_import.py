"""Importing 100,000 residents from .xlsx, end to end (budget < 30 s on SQLite).

Builds a small area tree (one community, 5 grids, 50 micro-grids) in a fresh SQLite database and a
100,000-row residents sheet in a temporary directory, then times what a person's upload goes
through: the upload checks, the worker's check of every row, the choice of mode, and the import
(buildings, rooms, households and residents created on the way). The same services the worker runs.

Figures: registry.import_100k_s (the whole), registry.import_check_100k_s (the check step alone),
registry.reimport_100k_s (the same file again: every row found and left unchanged).
"""

import datetime
import tempfile
import time
from pathlib import Path

import _setup

ROWS = 100_000
GRIDS = 5
MICROGRIDS_PER_GRID = 10
BUILDINGS = 10
UNITS = 2
ROOMS_PER_UNIT = 25  # 5 floors × 5 rooms; 4 residents per room
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国红梅兰文斌玉珍志海"
CARE_TAG_NAMES = ["独居老人", "空巢老人", "高龄老人", "残疾人", "低保户"]


def _tree():
    from fengchao.accounts import services as accounts
    from fengchao.areas import services as areas

    new = areas.create_area
    district = new(parent=None, kind="district", name="成华区", local_code="510108").area
    street = new(parent=district, kind="street", name="保和街道", local_code="1").area
    community = new(parent=street, kind="community", name="和美社区", local_code="1").area
    micros = []
    for g in range(1, GRIDS + 1):
        grid = new(parent=community, kind="grid", name=f"和美{g}网格", local_code=str(g)).area
        for m in range(1, MICROGRIDS_PER_GRID + 1):
            micros.append(new(parent=grid, kind="microgrid", name=f"和美{g}网格{m}号微网格", local_code=str(m)).area)
    user = accounts.create_user(username="bench_staff", display_name="bench", password=None)
    accounts.assign_role(user, "community_staff", community)
    return community, micros, user


def _id_number(n: int) -> str:
    from fengchao.registry.idcard import check_char

    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=n // 900)
    first17 = f"510108{birth:%Y%m%d}{100 + n % 900:03d}"
    return first17 + check_char(first17)


def _write_sheet(path: Path, micros) -> None:
    import xlsxwriter

    from fengchao.registry.excel.columns import RESIDENTS

    headers = [c.title for c in RESIDENTS.import_columns]
    keys = [c.key for c in RESIDENTS.import_columns]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("居民")
    ws.write_row(0, 0, headers)
    per_micro = ROWS // len(micros)
    from fengchao.registry.choices import Relation, ResidenceType
    from fengchao.registry.validation import label_chinese

    relations_codes = ["head", "spouse", "child", "parent"]
    relations = [label_chinese(Relation(code).label) for code in relations_codes]  # as the dropdown offers them
    registered = label_chinese(ResidenceType.REGISTERED.label)
    for n in range(ROWS):
        micro = micros[n // per_micro]
        local = n % per_micro
        room_index, member = divmod(local, 4)
        building, rest = divmod(room_index, UNITS * ROOMS_PER_UNIT)
        unit, room = divmod(rest, ROOMS_PER_UNIT)
        floor, number = divmod(room, 5)
        values = {
            "area_code": micro.code,
            "building": f"{building + 1}栋",
            "unit": str(unit + 1),
            "room": f"{floor + 1}{number + 1:02d}",
            "relation": relations_codes[member] if n % 2 else relations[member],
            "name": SURNAMES[n % len(SURNAMES)] + GIVEN[(n // 7) % len(GIVEN)] + GIVEN[(n // 3) % len(GIVEN)],
            "id_number": _id_number(n),
            "phone": f"13{n % 10}{n:08d}",
            "residence_type": registered if n % 3 else "registered",
            "is_party_member": "是" if n % 11 == 0 else "否",
            "moved_in_on": f"20{10 + n % 14}-0{1 + n % 9}-1{n % 9}",
            "care_tags": CARE_TAG_NAMES[n % len(CARE_TAG_NAMES)] if n % 20 == 0 else "",
        }
        ws.write_row(n + 1, 0, [values.get(k, "") for k in keys])
    book.close()


def _import(path: Path, community, user) -> tuple[float, float, object]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fengchao.registry.excel import importing, jobs
    from fengchao.registry.models import ImportMode

    data = path.read_bytes()
    started = time.perf_counter()
    job = jobs.create_import(user, entity="residents", area=community, upload=SimpleUploadedFile(path.name, data))
    importing.check(job)
    job.refresh_from_db()
    checked_at = time.perf_counter()
    assert job.state == "validated" and job.bad_rows == 0, (job.state, job.message, job.report.get("errors", [])[:3])
    jobs.confirm_import(user, job, ImportMode.ALL_OR_NOTHING)
    importing.run(job)
    job.refresh_from_db()
    finished = time.perf_counter()
    assert job.state == "done", (job.state, job.message)
    return finished - started, checked_at - started, job


def run(emit) -> None:
    db = _setup.fresh_sqlite("registry_import")
    try:
        _run(emit)
    finally:
        from django.db import connections

        connections["default"].close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def _run(emit) -> None:
    from fengchao.registry.models import Household, Resident

    community, micros, user = _tree()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "居民.xlsx"
        _write_sheet(path, micros)
        total, check, job = _import(path, community, user)
        assert job.created == ROWS and Resident.objects.count() == ROWS, (job.created, Resident.objects.count())
        assert Household.objects.count() == ROWS // 4
        emit("registry.import_100k_s", total, "s")
        emit("registry.import_check_100k_s", check, "s")
        again, _check, job = _import(path, community, user)
        assert (job.created, job.updated) == (0, 0) and Resident.objects.count() == ROWS
        emit("registry.reimport_100k_s", again, "s")
