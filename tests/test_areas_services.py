import pytest
from django.core.exceptions import ValidationError

from fengchao.areas import services
from fengchao.areas.models import Area, SpatialIndexVersion
from fengchao.audit.models import AuditEvent
from tests.factories import box


def test_codes_compose_down_the_tree(bare_tree):
    t = bare_tree
    assert t.district.code == "510108"
    assert t.street_a.code == "510108001"
    assert t.community_a.code == "510108001001"
    assert t.grid_a1.code == "510108001001001"  # the 15-digit unit-grid code
    assert t.dedicated_a.code == "510108001001901"
    assert t.micro["和美一网格1号微网格"].code == "510108001001001001"


def test_parent_must_be_exactly_one_level_up(bare_tree):
    with pytest.raises(ValidationError, match="cannot sit under"):
        services.create_area(parent=bare_tree.street_a, kind="grid", name="错层网格", local_code="5")
    with pytest.raises(ValidationError, match="needs a parent"):
        services.create_area(parent=None, kind="street", name="孤儿街道", local_code="5")
    assert not Area.objects.filter(name__in=["错层网格", "孤儿街道"]).exists()


def test_duplicate_code_is_refused_and_nothing_written(bare_tree):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="already used"):
        services.create_area(parent=bare_tree.community_a, kind="grid", name="重复", local_code="001")
    assert AuditEvent.objects.count() == before


def test_subtree_is_a_range_and_excludes_lookalike_paths(bare_tree):
    t = bare_tree
    names = set(Area.objects.subtree(t.community_a).values_list("name", flat=True))
    assert "和美一网格" in names and "和美医院专属网格" in names
    assert "致强一网格" not in names
    # '/1/2/' must not include '/1/20/...': check the bound directly
    assert all(a.path.startswith(t.community_a.path) for a in Area.objects.subtree(t.community_a))


def test_create_writes_audit_event_and_child_outside_parent_warns(bare_tree):
    change = services.create_area(
        parent=bare_tree.grid_a1,
        kind="microgrid",
        name="越界微网格",
        local_code="9",
        boundary=box(104.04, 30.6, 104.07, 30.61),
    )
    assert change.warnings and "越界微网格" in change.warnings[0]
    event = AuditEvent.objects.get(action="area.created", object_id=str(change.area.pk))
    assert event.data["warnings"] == change.warnings


def test_move_repaths_subtree_codes_and_lineage_in_one_go(bare_tree):
    t = bare_tree
    version = SpatialIndexVersion.objects.get(layer="areas").version
    services.move_area(t.grid_a2, t.community_b, local_code="2")
    t.grid_a2.refresh_from_db()
    assert t.grid_a2.path == f"{t.community_b.path}{t.grid_a2.pk}/"
    assert t.grid_a2.code == "510108002001002"
    for micro in Area.objects.filter(parent=t.grid_a2):
        assert micro.path.startswith(t.grid_a2.path)
        assert micro.code.startswith("510108002001002")
        assert micro.community_pk == t.community_b.pk and micro.street_pk == t.street_b.pk
    assert SpatialIndexVersion.objects.get(layer="areas").version > version
    assert AuditEvent.objects.filter(action="area.moved", object_id=str(t.grid_a2.pk)).exists()


def test_move_into_own_subtree_or_wrong_level_is_refused(bare_tree):
    t = bare_tree
    with pytest.raises(ValidationError):
        services.move_area(t.grid_a1, t.street_b)
    with pytest.raises(ValidationError, match="already used"):
        services.move_area(t.grid_a2, t.community_b, local_code="1")
    t.grid_a2.refresh_from_db()
    assert t.grid_a2.parent_id == t.community_a.pk


def test_invalid_boundary_names_the_problem(bare_tree):
    with pytest.raises(ValidationError, match="Polygon"):
        services.set_boundary(bare_tree.grid_a1, {"type": "Point", "coordinates": [104, 30]})
    with pytest.raises(ValidationError, match="WGS84"):
        services.set_boundary(bare_tree.grid_a1, box(400, 30, 401, 31))


def test_duty_list_replaced_and_audited(bare_tree):
    rows = services.replace_duties(
        bare_tree.community_a, "microgrid_member", [("信息采集", "每月更新"), ("  ", ""), ("隐患排查", "")]
    )
    assert [r.title for r in rows] == ["信息采集", "隐患排查"]
    with pytest.raises(ValidationError):
        services.replace_duties(bare_tree.community_a, "nobody", [("x", "")])
