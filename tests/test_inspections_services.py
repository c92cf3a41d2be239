"""Inspections (安全隐患排查): the seeded fire-safety checklist; inspecting a building or place (all pass, a failure
raising a hazard case with its photo, a fix on the spot, the refusals, key replay, scope), re-inspecting the open
failures until rectified, and the coverage of an area in a period."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.cases.models import Case
from fengchao.inspections import coverage, services
from fengchao.inspections.models import ChecklistTemplate, Inspection, InspectionItem
from fengchao.points.choices import Action, PointsKind
from fengchao.points.models import Claim
from tests.case_factories import photo
from tests.registry_factories import build_registry

pytestmark = pytest.mark.django_db


def fire_safety():
    return ChecklistTemplate.objects.get(code="fire_safety")


def all_pass(template=None, **changes):
    """Answers passing every item; `changes` maps a code to the outcome (or a dict) to give instead."""
    rows = []
    for item in (template or fire_safety()).items:
        change = changes.get(item["code"], "pass")
        row = {"code": item["code"], "outcome": "pass", "note": ""}
        row.update(change if isinstance(change, dict) else {"outcome": change})
        rows.append(row)
    return rows


def inspect(tree, target, who="microgrid_member", answers=None, photos=None, **extra):
    return services.inspect(
        tree.users[who], target=target, template=fire_safety(), answers=answers or all_pass(), photos=photos, **extra
    )


@pytest.fixture
def reg(tree):
    return build_registry(tree)


@pytest.fixture
def points_rule(tree):
    from fengchao.points import services as points

    return points.save_rule(
        by=tree.users["district_admin"],
        area=tree.district,
        action=Action.INSPECTION_DONE,
        kind=PointsKind.TASK,
        points=3,
    )


def failed_once(tree, reg, **extra):
    """An inspection of building 1栋 failing the e-bike and clutter items (both raising cases)."""
    answers = all_pass(ebike_charging={"outcome": "fail", "note": "三楼插线板"}, stairwell_clutter="fail")
    found, _ = inspect(
        tree, reg.buildings["a"], answers=answers, photos={"ebike_charging": photo(), "stairwell_clutter": photo()},
        **extra,
    )  # fmt: skip
    return found


# ---- the checklist ------------------------------------------------------------------------------------------------


def test_the_fire_safety_checklist_is_seeded():
    template = fire_safety()
    assert template.name == "消防安全排查" and template.applies_to_buildings and template.applies_to_places
    texts = [i["text"] for i in template.items]
    assert "无电动车飞线充电" in texts and "燃气使用安全" in texts and len(texts) == 6
    by_code = {i["code"]: i["category"] for i in template.items}
    assert by_code["ebike_charging"] == "G0202" and by_code["gas_safety"] == "G0205"


def test_saving_a_template_checks_items_bumps_the_version_and_is_audited(tree):
    template = fire_safety()
    template.items = [*template.items, {"code": "alarm", "text": "烟感报警器完好", "category": ""}]
    services.save_template(tree.users["district_admin"], template)
    assert fire_safety().version == 2
    assert AuditEvent.objects.filter(action="inspections.template_saved").exists()
    template.items = [{"code": "a", "text": "x"}, {"code": "a", "text": "y"}]
    with pytest.raises(ValidationError) as error:
        services.save_template(tree.users["district_admin"], template)
    assert "items" in error.value.message_dict


# ---- inspecting ---------------------------------------------------------------------------------------------------


def test_all_pass_is_passed_audited_and_earns_points_once(tree, reg, points_rule):
    found, created = inspect(tree, reg.buildings["a"], key="k-pass-1")
    assert created and found.state == "passed" and found.building == reg.buildings["a"]
    assert found.area == reg.buildings["a"].area and found.grid_pk == tree.grid_a1.pk
    assert found.items.count() == 6 and not found.items.filter(outcome="fail").exists()
    event = AuditEvent.objects.get(action="inspections.inspected")
    assert event.object_id == str(found.pk) and event.data["state"] == "passed"
    claims = Claim.objects.filter(action=Action.INSPECTION_DONE, user=tree.users["microgrid_member"])
    assert claims.count() == 1 and claims.get().points == 3
    again, created = inspect(tree, reg.buildings["a"], key="k-pass-1")
    assert again.pk == found.pk and not created
    assert Inspection.objects.count() == 1 and claims.count() == 1


def test_a_failure_raises_a_hazard_case_with_the_photo(tree, reg):
    found = failed_once(tree, reg)
    assert found.state == "open"
    item = found.items.get(code="ebike_charging")
    assert item.outcome == "fail" and item.photo and item.photo_type == "image/png" and item.rectified_at is None
    case = item.case
    assert case is not None and case.category.code == "G0202" and case.channel == "member"
    assert case.description.startswith("1栋: 无电动车飞线充电. 三楼插线板")
    assert case.area == reg.buildings["a"].area
    assert case.attachments.count() == 1
    assert found.items.get(code="stairwell_clutter").case.category.code == "G0206"
    assert Case.objects.count() == 2
    assert AuditEvent.objects.get(action="inspections.inspected").data["failures"] == 2


def test_a_fix_on_the_spot_is_recorded_without_a_case(tree, reg):
    answers = all_pass(fire_exits={"outcome": "fail", "fixed_on_spot": True, "note": "已挪走自行车"})
    found, _ = inspect(
        tree, reg.places["shop"], answers=answers, photos={"fire_exits": photo(), "fire_exits:after": photo()}
    )
    item = found.items.get(code="fire_exits")
    assert found.state == "passed" and found.place == reg.places["shop"]
    assert item.fixed_on_spot and item.case is None and item.after_photo
    assert item.rectified_at is not None and item.rectified_by == tree.users["microgrid_member"]
    assert not Case.objects.exists()


def test_a_failure_without_a_photo_is_refused_naming_the_item(tree, reg):
    with pytest.raises(ValidationError) as error:
        inspect(tree, reg.buildings["a"], answers=all_pass(gas_safety="fail"))
    assert "燃气使用安全" in error.value.message_dict["photos"][0]
    assert not Inspection.objects.exists() and not Case.objects.exists()


def test_a_missing_item_is_refused_and_nothing_is_written(tree, reg):
    answers = [a for a in all_pass(extinguishers="fail") if a["code"] != "gas_safety"]
    with pytest.raises(ValidationError) as error:
        inspect(tree, reg.buildings["a"], answers=answers, photos={"extinguishers": photo()})
    assert "燃气使用安全" in error.value.message_dict["answers"][0]
    assert not Inspection.objects.exists() and not InspectionItem.objects.exists() and not Case.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="inspections.").exists()


@pytest.mark.parametrize(
    "answers",
    [
        [{"code": "nope", "outcome": "pass"}],
        [{"code": "gas_safety", "outcome": "maybe"}],
        "pass",
    ],
)
def test_unknown_codes_outcomes_and_shapes_are_refused(tree, reg, answers):
    with pytest.raises(ValidationError) as error:
        inspect(tree, reg.buildings["a"], answers=answers)
    assert "answers" in error.value.message_dict
    assert not Inspection.objects.exists()


def test_an_item_answered_twice_is_refused(tree, reg):
    answers = all_pass() + [{"code": "gas_safety", "outcome": "pass"}]
    with pytest.raises(ValidationError, match="answered twice"):
        inspect(tree, reg.buildings["a"], answers=answers)


def test_a_bad_photo_is_refused(tree, reg):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.png", b"not an image")
    with pytest.raises(ValidationError) as error:
        inspect(tree, reg.buildings["a"], answers=all_pass(gas_safety="fail"), photos={"gas_safety": bad})
    assert "photos" in error.value.message_dict


def test_an_inactive_target_is_refused(tree, reg):
    building = reg.buildings["a"]
    building.is_active = False
    building.save()
    with pytest.raises(ValidationError) as error:
        inspect(tree, building)
    assert "target" in error.value.message_dict


def test_a_target_outside_my_grid_answers_404_and_non_members_are_refused(tree, reg):
    with pytest.raises(Http404):
        inspect(tree, reg.buildings["b"])  # street B
    with pytest.raises(Http404):
        inspect(tree, reg.buildings["a"], who="outsider_microgrid_member")
    with pytest.raises(PermissionDenied):
        inspect(tree, reg.buildings["a"], who="community_staff")
    with pytest.raises(PermissionDenied):
        inspect(tree, reg.buildings["a"], who="resident")
    assert not Inspection.objects.exists()


def test_grid_leader_inspects_places_and_buildings_of_the_grid(tree, reg):
    found, _ = inspect(tree, reg.places["shop"], who="grid_leader")
    assert found.place == reg.places["shop"] and found.area == tree.grid_a1


def test_a_template_not_for_places_is_refused(tree, reg):
    template = fire_safety()
    template.applies_to_places = False
    template.save()
    with pytest.raises(ValidationError) as error:
        inspect(tree, reg.places["shop"])
    assert "template" in error.value.message_dict


def test_a_missing_category_falls_back_to_the_general_one(tree, reg, settings):
    from fengchao.cases.models import Category

    Category.objects.filter(code="G0205").update(is_active=False)
    found, _ = inspect(tree, reg.buildings["a"], answers=all_pass(gas_safety="fail"), photos={"gas_safety": photo()})
    assert found.items.get(code="gas_safety").case.category.code == "G0401"


# ---- re-inspecting ------------------------------------------------------------------------------------------------


def test_a_partial_reinspection_stays_open_and_a_full_one_rectifies(tree, reg):
    first = failed_once(tree, reg)
    member = tree.users["microgrid_member"]
    partial = services.reinspect(
        member, first, answers=[
            {"code": "ebike_charging", "outcome": "pass"}, {"code": "stairwell_clutter", "outcome": "fail"}
        ], photos={"ebike_charging": photo()},
    )  # fmt: skip
    first.refresh_from_db()
    assert partial.follows == first and partial.state == "open" and first.state == "open"
    ebike = first.items.get(code="ebike_charging")
    assert ebike.rectified_at is not None and ebike.rectified_by == member
    assert ebike.case.state == "reported"  # the case keeps its own loop
    assert first.items.get(code="stairwell_clutter").rectified_at is None
    assert AuditEvent.objects.filter(action="inspections.reinspected").count() == 1
    assert not AuditEvent.objects.filter(action="inspections.rectified").exists()
    # Only the failure still open is asked for now; re-inspecting from the partial one re-checks the first.
    with pytest.raises(ValidationError, match="not an item"):
        services.reinspect(member, first, answers=[{"code": "ebike_charging", "outcome": "pass"}])
    last = services.reinspect(member, partial, answers=[{"code": "stairwell_clutter", "outcome": "pass"}])
    first.refresh_from_db()
    partial.refresh_from_db()
    assert last.follows == first and last.state == "rectified"
    assert first.state == "rectified" and partial.state == "rectified"
    assert AuditEvent.objects.get(action="inspections.rectified").object_id == str(first.pk)


def test_reinspecting_a_passed_inspection_is_refused(tree, reg):
    found, _ = inspect(tree, reg.buildings["a"])
    with pytest.raises(services.NotOpen, match="nothing left to re-inspect"):
        services.reinspect(tree.users["microgrid_member"], found, answers=[])
    assert Inspection.objects.count() == 1


def test_reinspection_key_replay_and_scope(tree, reg):
    first = failed_once(tree, reg)
    answers = [{"code": "ebike_charging", "outcome": "pass"}, {"code": "stairwell_clutter", "outcome": "pass"}]
    with pytest.raises(Http404):
        services.reinspect(tree.users["outsider_microgrid_member"], first, answers=answers)
    leader = tree.users["grid_leader"]
    again = services.reinspect(leader, first, answers=answers, key="re-1")
    assert services.reinspect(leader, first, answers=answers, key="re-1").pk == again.pk
    assert Inspection.objects.filter(follows=first).count() == 1


def test_a_stale_reinspection_is_refused(tree, reg):
    first = failed_once(tree, reg)
    Inspection.objects.filter(pk=first.pk).update(version=first.version + 1)  # someone re-inspected meanwhile
    answers = [{"code": "ebike_charging", "outcome": "pass"}, {"code": "stairwell_clutter", "outcome": "fail"}]
    with pytest.raises(ValidationError, match="changed"):
        services.reinspect(tree.users["microgrid_member"], first, answers=answers)
    assert not first.items.filter(rectified_at__isnull=False).exists()


# ---- coverage -----------------------------------------------------------------------------------------------------


def test_coverage_lists_inspected_and_not_inspected_targets_of_the_period(tree, reg):
    from fengchao.registry import services as registry

    other = registry.create_building(None, reg.buildings["a"].area, name="2栋")
    failed_once(tree, reg)
    old = timezone.now() - dt.timedelta(days=60)
    inspect(tree, reg.places["shop"], now=old)
    today = timezone.localdate()
    rows = {(r.kind, r.pk): r for r in coverage.target_coverage(tree.street_a, today - dt.timedelta(days=7), today)}
    assert set(rows) == {("building", reg.buildings["a"].pk), ("building", other.pk), ("place", reg.places["shop"].pk)}
    assert rows[("building", reg.buildings["a"].pk)].inspected
    assert rows[("building", reg.buildings["a"].pk)].open_failures == 2
    assert not rows[("building", other.pk)].inspected
    assert not rows[("place", reg.places["shop"].pk)].inspected  # inspected, but before the period
    assert rows[("building", other.pk)].grid_name == tree.grid_a1.name
    status = coverage.microgrid_status(tree.street_a, today - dt.timedelta(days=7), today)
    micro = reg.buildings["a"].area_id
    assert status[micro] == {"targets": 2, "inspected": 1, "open_hazards": 2}
    assert status[tree.grid_a1.pk] == {"targets": 1, "inspected": 0, "open_hazards": 0}


def test_coverage_takes_a_handful_of_queries_whatever_the_size(tree, reg, django_assert_max_num_queries):
    from fengchao.registry import services as registry

    area = reg.buildings["a"].area
    for n in range(2, 12):
        registry.create_building(None, area, name=f"{n}栋")
    failed_once(tree, reg)
    today = timezone.localdate()
    with django_assert_max_num_queries(8):
        rows = coverage.target_coverage(tree.street_a, today - dt.timedelta(days=7), today)
    assert len(rows) == 12


def test_a_bad_period_is_refused():
    with pytest.raises(ValidationError):
        coverage.parse_period("2026-12-01", "2026-11-01")
    with pytest.raises(ValidationError):
        coverage.parse_period("yesterday", "")


def test_a_members_hazard_elsewhere_in_the_grid_is_filed_where_it_is(tree, reg):
    """A micro-grid member serves their whole grid: a failure at a place sitting in the grid itself becomes a case
    in that grid, not in the member's own micro-grid; so does a grid leader's."""
    found, _ = inspect(tree, reg.places["shop"], answers=all_pass(gas_safety="fail"), photos={"gas_safety": photo()})
    case = found.items.get(code="gas_safety").case
    assert found.area == tree.grid_a1 and case.area == tree.grid_a1 and case.grid_pk == tree.grid_a1.pk
    assert case.description.startswith("和美便利店: 燃气使用安全")
    found, _ = inspect(
        tree, reg.places["shop"], who="grid_leader", answers=all_pass(gas_safety="fail"), photos={"gas_safety": photo()}
    )
    assert found.items.get(code="gas_safety").case.area == tree.grid_a1
