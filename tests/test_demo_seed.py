import math
from io import StringIO

import pytest
import shapely
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command

from fengchao.accounts import services as accounts
from fengchao.accounts.models import MemberTag, RoleAssignment, User
from fengchao.accounts.roles import IdentityTag, Role
from fengchao.areas import services as areas
from fengchao.areas.geometry import area_outside, measure, parse_boundary
from fengchao.areas.models import Area, DutyItem, SpatialIndexVersion
from fengchao.audit.models import AuditEvent
from fengchao.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from fengchao.demo.layout import build_layout
from fengchao.departments.models import Department


def seed(*args, **options) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, **options)
    return out.getvalue()


def snapshot():
    """Everything the seed decides: areas with their boundaries, and people with their roles."""
    area_rows = list(
        Area.objects.order_by("code").values_list("code", "name", "kind", "dedicated_kind", "boundary", "households")
    )
    people = sorted(
        (ra.user.username, ra.user.display_name, ra.user.phone, ra.role, ra.area.code)
        for ra in RoleAssignment.objects.select_related("user", "area")
    )
    tags = sorted(MemberTag.objects.values_list("user__username", "tag"))
    return area_rows, people, tags


@pytest.fixture
def small_demo(db):
    seed(scale="small")


def test_small_demo_has_one_street_with_its_communities_grids_and_members(small_demo):
    assert list(Area.objects.filter(level=1).values_list("code", "name")) == [("510108", "成华区")]
    assert list(Area.objects.filter(kind="street").values_list("name", flat=True)) == ["保和街道"]
    communities = set(Area.objects.filter(kind="community").values_list("name", flat=True))
    assert {"和美社区", "和欣社区"} <= communities and len(communities) == 6
    assert Area.objects.filter(kind="grid").count() == 50
    assert Area.objects.filter(kind="microgrid").count() == 380
    members = RoleAssignment.objects.active().filter(role=Role.MICROGRID_MEMBER)
    assert members.count() == 500
    # Every micro-grid has one or two members; every grid one leader; every community staff.
    per_micro = {}
    for area_id in members.values_list("area_id", flat=True):
        per_micro[area_id] = per_micro.get(area_id, 0) + 1
    assert len(per_micro) == 380 and set(per_micro.values()) == {1, 2}
    leaders = RoleAssignment.objects.filter(role=Role.GRID_LEADER).values_list("area_id", flat=True)
    assert sorted(leaders) == sorted(Area.objects.filter(kind="grid").values_list("pk", flat=True))
    staffed = set(RoleAssignment.objects.filter(role=Role.COMMUNITY_STAFF).values_list("area__name", flat=True))
    assert staffed == communities
    assert all(Area.objects.filter(kind="community").values_list("service_phone", flat=True))


def test_dedicated_grids_sit_under_communities_with_codes_from_901(small_demo):
    dedicated = list(Area.objects.filter(kind="dedicated").select_related("parent"))
    assert {d.dedicated_kind for d in dedicated} >= {"mall", "hospital", "office_tower", "park"}
    for grid in dedicated:
        assert grid.parent.kind == "community"
        assert int(grid.local_code) >= 901 and grid.code == grid.parent.code + grid.local_code
        assert RoleAssignment.objects.filter(area=grid, role=Role.DEDICATED_LEADER).exists()


def test_codes_paths_and_lineage_are_what_create_area_would_write(small_demo):
    by_pk = {a.pk: a for a in Area.objects.all()}
    for area in by_pk.values():
        parent = by_pk.get(area.parent_id)
        assert area.path == f"{parent.path if parent else '/'}{area.pk}/"
        if parent:
            assert len(area.local_code) == 3 and area.code == parent.code + area.local_code
        lineage = [area.district_pk, area.street_pk, area.community_pk, area.grid_pk]
        assert lineage[: area.level - 1] == area.ancestor_pks()[: area.level - 1]
        if area.level < 5:
            assert lineage[area.level - 1] == area.pk
        size = measure(parse_boundary(area.boundary))
        assert (area.min_lon, area.min_lat, area.max_lon, area.max_lat) == pytest.approx(
            (size.min_lon, size.min_lat, size.max_lon, size.max_lat), abs=1e-7
        )
    assert len({a.code for a in by_pk.values()}) == len(by_pk)
    # The services keep working on the seeded tree: a new micro-grid gets the next code.
    grid = Area.objects.filter(kind="grid").order_by("code").first()
    last = grid.children.order_by("-local_code").first()
    change = areas.create_area(
        parent=grid, kind="microgrid", name="新楼微网格", local_code=str(int(last.local_code) + 1)
    )
    assert change.area.code == grid.code + f"{int(last.local_code) + 1:03d}"
    assert Area.objects.subtree(grid).count() == grid.children.count() + 1


def test_children_tile_their_parent_without_gaps_or_overlaps(small_demo):
    geometries = {a.pk: parse_boundary(a.boundary) for a in Area.objects.all()}
    children_of = {}
    for area in Area.objects.exclude(parent=None).only("pk", "parent_id", "kind"):
        assert area_outside(geometries[area.pk], geometries[area.parent_id], 5) == 0, area
        if area.kind != "dedicated":  # a mall or hospital lies inside the grids around it
            children_of.setdefault(area.parent_id, []).append(geometries[area.pk])
    for parent_pk, children in children_of.items():
        parent = Area.objects.get(pk=parent_pk)
        if parent.kind == "district":
            continue  # the small scale seeds one of the twelve streets
        total = sum(child.area for child in children)
        assert total == pytest.approx(geometries[parent_pk].area, rel=1e-4), parent.name  # no overlaps
        assert shapely.union_all(children).area == pytest.approx(geometries[parent_pk].area, rel=1e-4)  # no gaps


def test_second_run_reuses_the_demo(small_demo):
    before = snapshot()
    output = seed(scale="small")
    assert "reusing" in output
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="demo.seeded").count() == 1


def test_seeding_is_deterministic_and_reset_rebuilds_the_same_district(small_demo):
    first = snapshot()
    seed(scale="small", reset=True)
    assert snapshot() == first
    seed(scale="small", reset=True, seed=7)
    other = snapshot()
    assert [row[1] for row in other[0]] != [row[1] for row in first[0]]


def test_seed_writes_one_audit_event_with_counts_and_bumps_the_spatial_version(small_demo):
    event = AuditEvent.objects.get(action="demo.seeded")
    assert event.area.code == "510108"
    assert event.data["counts"]["microgrid"] == 380 and event.data["counts"]["role.microgrid_member"] == 500
    assert AuditEvent.objects.exclude(action="demo.seeded").count() == 0
    assert SpatialIndexVersion.objects.get(layer="areas").version >= 1


def test_demo_accounts_log_in_with_the_printed_password(db, client):
    output = seed(scale="small")
    assert DEMO_PASSWORD in output
    validate_password(DEMO_PASSWORD)
    street = Area.objects.get(kind="street", name="保和街道")
    for account in DEMO_ACCOUNTS:
        assert account.username in output
        assert client.login(username=account.username, password=DEMO_PASSWORD), account.username
        client.logout()
        held = RoleAssignment.objects.active().get(user__username=account.username)
        assert held.role == account.role
        if account.role != Role.DISTRICT_ADMIN:
            assert held.area.is_within(street)
    handler = RoleAssignment.objects.get(user__username="demo_department")
    assert handler.department.name == "区城管局"


def test_members_have_unique_encrypted_phones_and_plausible_tags(small_demo):
    users = list(User.objects.all())
    phones = [u.phone for u in users]
    assert len(set(phones)) == len(users) and all(p.startswith("199") and len(p) == 11 for p in phones)
    assert all(p not in u.phone_cipher for u, p in zip(users, phones, strict=True))
    assert User.objects.get_by_phone(phones[5]) == users[5]
    member_count = RoleAssignment.objects.filter(role=Role.MICROGRID_MEMBER).count()
    party = MemberTag.objects.filter(tag=IdentityTag.PARTY_MEMBER, user__roles__role=Role.MICROGRID_MEMBER).count()
    assert 0.2 < party / member_count < 0.4
    assert MemberTag.objects.filter(tag=IdentityTag.BUILDING_HEAD).exists()
    assert all(len(u.display_name) in (2, 3) for u in users if u.username.startswith("wgy"))


def test_departments_and_duty_lists(small_demo):
    district = Area.objects.get(level=1)
    departments = Department.objects.filter(area=district)
    assert {"区城管局", "区住建局", "区公安分局", "区市场监管局", "区应急管理局", "区民政局"} <= set(
        departments.values_list("name", flat=True)
    )
    for department in departments:
        assert RoleAssignment.objects.filter(department=department, role=Role.DEPARTMENT_HANDLER).exists()
    duties = list(DutyItem.objects.filter(area=district, role=Role.MICROGRID_MEMBER).values_list("title", flat=True))
    assert duties == ["信息采集", "隐患排查", "矛盾调解", "政策宣传", "便民服务"]
    assert DutyItem.objects.filter(area=district, role=Role.GRID_LEADER).exists()
    adapted = DutyItem.objects.filter(area__name="和美社区", role=Role.MICROGRID_MEMBER)
    assert "关爱探访" in adapted.values_list("title", flat=True)


def test_reset_refuses_when_the_database_holds_more_than_the_demo(small_demo):
    accounts.create_user(username="real_person", display_name="真实用户", password="Realpass2026x")
    before = Area.objects.count()
    with pytest.raises(CommandError, match="accounts that the demo did not create"):
        seed(scale="small", reset=True)
    assert Area.objects.count() == before and User.objects.filter(username="real_person").exists()


def test_reset_refuses_on_a_district_the_demo_did_not_create(bare_tree):
    assert "reusing" in seed(scale="small")  # the same district code: left alone
    with pytest.raises(CommandError, match="did not create"):
        seed(scale="small", reset=True)
    assert Area.objects.filter(name="和美一网格").exists()


def test_district_layout_has_chenghuas_figures():
    layout = build_layout("district")
    counts = layout.counts()
    assert (counts["street"], counts["community"], counts["grid"], counts["microgrid"]) == (12, 81, 961, 6316)
    assert counts["role.microgrid_member"] == 8362
    assert counts["role.grid_leader"] == 961
    assert 4 <= counts["dedicated"] <= 8
    all_areas = list(layout.areas())
    assert len({a.code for a in all_areas}) == len(all_areas)
    assert len({p.phone for p in layout.people}) == len({p.username for p in layout.people}) == len(layout.people)
    district = layout.district
    metres_per_lon = 111_320 * math.cos(math.radians(30.66))
    km2 = district.geometry.area * metres_per_lon * 111_320 / 1e6
    assert 100 < km2 < 120
    assert district.geometry.centroid.distance(shapely.Point(104.10, 30.66)) < 0.02
    streets = [s.geometry for s in district.children]
    assert sum(s.area for s in streets) == pytest.approx(district.geometry.area, rel=1e-5)
    assert shapely.union_all(streets).area == pytest.approx(district.geometry.area, rel=1e-5)
    # The small scale's street is the district scale's 保和街道, same polygon and code.
    small_street = build_layout("small").district.children[0]
    same = next(s for s in district.children if s.name == "保和街道")
    assert (small_street.code, small_street.geometry.wkt) == (same.code, same.geometry.wkt)


def test_reset_refuses_while_other_data_points_at_the_demo_and_changes_nothing(small_demo):
    street = Area.objects.get(kind="street")
    Department.objects.create(name="街道综合执法队", code="ZF", area=street)
    before = snapshot()
    with pytest.raises(CommandError, match="in use"):
        seed(scale="small", reset=True)
    assert snapshot() == before


def test_a_large_seed_on_sqlite_writes_with_a_rollback_journal_and_restores_the_wal(tmp_path, django_db_blocker):
    from django.db import connection
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from fengchao.demo import services

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    # A database of its own: the switch needs the database alone, and the test database has other connections.
    db = DatabaseWrapper({**connection.settings_dict, "NAME": str(tmp_path / "seed.sqlite3")}, alias="seed_journal")
    with django_db_blocker.unblock():
        _check_the_journal_switch(services, db)


def _check_the_journal_switch(services, db) -> None:
    def pragma(name):
        with db.cursor() as cursor:
            cursor.execute(f"PRAGMA {name}")
            return cursor.fetchone()[0]

    try:
        before = (pragma("journal_mode"), pragma("synchronous"))
        assert before[0] == "wal"
        with services._sqlite_bulk_journal(large=True, db=db):
            assert (pragma("journal_mode"), pragma("synchronous")) == ("truncate", 0)
        assert (pragma("journal_mode"), pragma("synchronous")) == before
        with services._sqlite_bulk_journal(large=False, db=db):
            assert (pragma("journal_mode"), pragma("synchronous")) == before
    finally:
        db.close()
