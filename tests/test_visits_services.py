"""Care visits: the seeded plans, who is due (weekly elderly living alone, monthly disabled, the shortest interval
wins, never visited, moved out / dead / untagged / plan off), recording a visit (audit, points once, the need as a
service request or case, each refusal writing nothing, key replay, scope), coverage per area, and plan changes
(audit, compare-and-set)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.cases.models import Case
from fengchao.core.errors import StaleRecord
from fengchao.points import services as points
from fengchao.points.choices import Action, PointsKind
from fengchao.points.models import Claim
from fengchao.registry import services as registry
from fengchao.registry.models import CareTag, ResidentCareTag
from fengchao.visits import coverage, queries, services
from fengchao.visits.models import CarePlan, Visit
from tests.factories import first_micro

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NUM = "一二三四五六七八九十壹贰叁肆伍陆柒捌玖拾"  # names hold no digits


def second_micro(tree, grid):
    return [a for a in tree.micro.values() if a.parent_id == grid.pk][1]


_numbers = iter(range(1, 10_000))


def subject(tree, name="张三", tags=("elderly_alone",), area=None, since=None):
    """A living resident in a new household of `area` (default: grid A1's first micro-grid) with care tags."""
    area = area or first_micro(tree, tree.grid_a1)
    n = next(_numbers)
    household = registry.create_household(None, area=area, address=f"和美路{n}号{n}室")
    resident = registry.create_resident(
        None,
        household=household,
        name=name,
        phone=f"1380000{n:04d}",
        care_tags=list(CareTag.objects.filter(code__in=tags)),
    )
    if since is not None:
        ResidentCareTag.objects.filter(resident=resident).update(since=since)
    return resident


def visit(tree, resident, who="microgrid_member", **extra):
    extra.setdefault("findings", "老人身体状况良好，家中整洁")
    return services.record_visit(tree.users[who], resident=resident, **extra)


def due_pks(tree, who="microgrid_member", on=None):
    return [r["resident"] for r in queries.due_for(tree.users[who], on)]


def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def visit_rule(tree, points_each=2):
    return points.save_rule(
        by=tree.users["district_admin"], area=tree.district, action=Action.VISIT_DONE, kind=PointsKind.TASK,
        points=points_each,
    )  # fmt: skip


# ---- plans ----------------------------------------------------------------------------------------------------


def test_plans_are_seeded_for_the_care_tags(db):
    seeded = dict(CarePlan.objects.values_list("tag__code", "every_days"))
    assert seeded["elderly_alone"] == 7
    assert seeded["disabled"] == 30
    assert seeded["special_care"] == 90
    assert seeded["advanced_age"] == 14
    assert len(seeded) == 10


# ---- who is due -----------------------------------------------------------------------------------------------


def test_never_visited_subject_is_due_today_and_untagged_resident_is_not(tree):
    alone = subject(tree)
    subject(tree, name="李四", tags=())
    rows = queries.due_for(tree.users["microgrid_member"])
    assert [r["resident"] for r in rows] == [alone.pk]
    row = rows[0]
    assert row["due_on"] == timezone.localdate() and not row["overdue"]
    assert row["tags"] == ["独居老人"] and row["every_days"] == 7 and row["last_visited_at"] is None
    assert row["masked_phone"].startswith("138") and "*" in row["masked_phone"]
    assert row["address"].startswith("和美路")


def test_never_visited_is_overdue_once_the_interval_passed_since_tagging(tree):
    alone = subject(tree, since=days(-10))
    [row] = queries.due_for(tree.users["microgrid_member"])
    assert row["resident"] == alone.pk and row["overdue"] and row["due_on"] == days(-3)


def test_weekly_subject_is_due_after_seven_days_and_overdue_after(tree):
    alone = subject(tree)
    visit(tree, alone)
    assert due_pks(tree) == []  # just visited
    assert due_pks(tree, on=days(3)) == []  # due in 4 days: not yet within the 3 days
    [soon] = queries.due_for(tree.users["microgrid_member"], days(4))
    assert soon["due_in_days"] == 3 and not soon["overdue"]
    [due] = queries.due_for(tree.users["microgrid_member"], days(7))
    assert due["due_on"] == days(7) and not due["overdue"]
    [late] = queries.due_for(tree.users["microgrid_member"], days(8))
    assert late["overdue"] and late["days_overdue"] == 1


def test_disabled_monthly_and_the_shortest_interval_wins(tree):
    disabled = subject(tree, name="王五", tags=("disabled",))
    both = subject(tree, name="赵六", tags=("disabled", "elderly_alone"))
    visit(tree, disabled)
    visit(tree, both)
    assert due_pks(tree, on=days(7)) == [both.pk]
    assert set(due_pks(tree, on=days(30))) == {disabled.pk, both.pk}
    rows = {r["resident"]: r for r in queries.due_for(tree.users["microgrid_member"], days(30))}
    assert rows[both.pk]["every_days"] == 7 and rows[both.pk]["overdue"]
    assert rows[disabled.pk]["every_days"] == 30 and not rows[disabled.pk]["overdue"]
    assert list(rows) == [both.pk, disabled.pk]  # overdue first


def test_moved_out_dead_untagged_or_unplanned_subjects_are_not_listed(tree):
    gone = subject(tree, name="搬走")
    dead = subject(tree, name="去世")
    untagged = subject(tree, name="摘标")
    unplanned = subject(tree, name="优抚", tags=("special_care",))
    kept = subject(tree, name="留下")
    assert set(due_pks(tree)) == {gone.pk, dead.pk, untagged.pk, unplanned.pk, kept.pk}
    registry.end_residence(None, gone, status="moved_out")
    registry.end_residence(None, dead, status="deceased")
    registry.set_care_tags(None, untagged, [])
    CarePlan.objects.filter(tag__code="special_care").update(is_active=False)
    assert due_pks(tree) == [kept.pk]


def test_a_member_sees_the_subjects_of_their_whole_grid_only(tree):
    here = subject(tree)
    sibling = subject(tree, name="邻格", area=second_micro(tree, tree.grid_a1))
    other_grid = subject(tree, name="二网格", area=first_micro(tree, tree.grid_a2))
    street_b = subject(tree, name="青龙", area=first_micro(tree, tree.grid_b1))
    assert set(due_pks(tree)) == {here.pk, sibling.pk}
    assert set(due_pks(tree, "grid_leader")) == {here.pk, sibling.pk}
    assert due_pks(tree, "outsider_microgrid_member") == [street_b.pk]
    assert due_pks(tree, "community_staff") == []  # staff do not visit
    assert other_grid.pk not in due_pks(tree)


def test_due_list_queries_do_not_grow_with_subjects(tree, django_assert_max_num_queries):
    for i in range(3):
        subject(tree, name=f"甲{NUM[i]}")
    member = tree.users["microgrid_member"]
    queries.due_for(member)  # roles memoised on the user
    with django_assert_max_num_queries(2) as few:
        assert len(queries.due_for(member)) == 3
    for i in range(12):
        visit(tree, subject(tree, name=f"乙{NUM[i]}", tags=("disabled", "elderly_alone")))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(queries.due_for(member, days(7))) == 15


# ---- recording a visit ----------------------------------------------------------------------------------------


def test_record_visit_removes_from_due_list_and_is_audited_without_personal_data(tree):
    alone = subject(tree)
    done, created = visit(tree, alone, needs="", how="phone")
    assert created and done.resident == alone and done.how == "phone"
    assert done.area == alone.area and done.grid_pk == tree.grid_a1.pk and done.community_pk == tree.community_a.pk
    assert due_pks(tree) == []
    event = AuditEvent.objects.get(action="visits.recorded")
    assert event.object_id == str(done.pk) and event.area_id == alone.area_id
    assert event.data["resident"] == alone.pk
    assert "张三" not in str(event.data) and "老人" not in str(event.data)


def test_a_visit_earns_points_once_a_day_per_subject(tree):
    visit_rule(tree)
    alone = subject(tree)
    first, _ = visit(tree, alone, key="k-first-visit")
    visit(tree, alone, key="k-first-visit")  # replay
    visit(tree, alone, who="grid_leader")  # a second visit the same day earns nothing
    claims = Claim.objects.filter(action=Action.VISIT_DONE)
    member = tree.users["microgrid_member"]
    assert [(c.user_id, c.source_id, c.points) for c in claims] == [(member.pk, str(first.pk), 2)]


def test_visits_to_untagged_residents_are_allowed_but_earn_no_points(tree):
    visit_rule(tree)
    plain = subject(tree, tags=())
    done, created = visit(tree, plain)
    assert created and not Claim.objects.exists()
    assert due_pks(tree) == []


def test_need_with_a_service_category_raises_a_linked_service_request(tree):
    alone = subject(tree)
    done, _ = visit(tree, alone, needs="行动不便，需要每周送餐", need_category="G0301")
    case = Case.objects.get()
    assert done.case == case and done.is_service_request
    assert case.category.code == "G0301" and case.channel == "member" and case.area_id == alone.area_id
    assert "张三" not in case.description and "独居老人" in case.description and "送餐" in case.description
    assert alone.household.address in case.description


def test_need_with_another_category_is_a_case(tree):
    alone = subject(tree)
    done, _ = visit(tree, alone, needs="家门口路灯坏了，晚上出入不便", need_category="G0401")
    assert done.case.category.code == "G0401" and not done.is_service_request


def test_a_category_needing_a_photo_takes_the_visit_photo(tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    alone = subject(tree)
    with pytest.raises(ValidationError) as error:
        visit(tree, alone, needs="楼道堆满杂物，老人出入不便", need_category="G0206")
    assert "need_category" in error.value.message_dict and not Visit.objects.exists()
    photo = SimpleUploadedFile("door.png", PNG, content_type="image/png")
    done, _ = visit(tree, alone, needs="楼道堆满杂物，老人出入不便", need_category="G0206", photo=photo)
    assert done.photo and done.photo_type == "image/png"
    assert done.case.category.code == "G0206" and done.case.attachments.count() == 1


def test_need_without_category_raises_nothing(tree):
    done, _ = visit(tree, subject(tree), needs="想参加社区活动")
    assert done.needs == "想参加社区活动" and done.case is None and not Case.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"findings": "   "}, "findings"),
        ({"findings": "好" * 2001}, "findings"),
        ({"needs": "要" * 1001}, "needs"),
        ({"at": "future"}, "at"),
        ({"at": "long_ago"}, "at"),
        ({"need_category": "G0301"}, "needs"),
        ({"needs": "需要帮助", "need_category": "G99"}, "need_category"),
        ({"needs": "需要帮助", "need_category": "G03"}, "need_category"),  # a group, not a category
        ({"how": "letter"}, "how"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(tree, extra, field):
    alone = subject(tree)
    if extra.get("at") == "future":
        extra["at"] = timezone.now() + dt.timedelta(hours=1)
    elif extra.get("at") == "long_ago":
        extra["at"] = timezone.now() - dt.timedelta(days=8)
    with pytest.raises(ValidationError) as error:
        visit(tree, alone, **extra)
    assert field in error.value.message_dict
    assert not Visit.objects.exists() and not Case.objects.exists()
    assert not AuditEvent.objects.filter(action="visits.recorded").exists()


def test_retired_category_is_refused(tree):
    from fengchao.cases.models import Category

    Category.objects.filter(code="G0301").update(is_active=False)
    with pytest.raises(ValidationError) as error:
        visit(tree, subject(tree), needs="需要送餐", need_category="G0301")
    assert "need_category" in error.value.message_dict and not Visit.objects.exists()


def test_a_visit_may_be_backdated_within_seven_days(tree):
    at = timezone.now() - dt.timedelta(days=6)
    done, _ = visit(tree, subject(tree), at=at)
    assert done.at == at


def test_resident_no_longer_living_here_is_refused(tree):
    gone = subject(tree)
    registry.end_residence(None, gone, status="moved_out")
    gone.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        visit(tree, gone)
    assert "resident" in error.value.message_dict and not Visit.objects.exists()


def test_key_replay_returns_the_first_visit(tree):
    alone = subject(tree)
    first, created = visit(tree, alone, key="form-1234")
    again, created_again = visit(tree, alone, key="form-1234", findings="改了")
    assert created and not created_again and again.pk == first.pk
    assert Visit.objects.count() == 1 and AuditEvent.objects.filter(action="visits.recorded").count() == 1


def test_out_of_scope_resident_is_404_and_non_visitors_are_refused(tree):
    street_b = subject(tree, area=first_micro(tree, tree.grid_b1))
    other_grid = subject(tree, area=first_micro(tree, tree.grid_a2))
    with pytest.raises(Http404):
        visit(tree, street_b)
    with pytest.raises(Http404):
        visit(tree, other_grid)
    with pytest.raises(Http404):
        queries.resident_to_visit_or_404(tree.users["microgrid_member"], street_b.pk)
    with pytest.raises(PermissionDenied):
        visit(tree, subject(tree), who="community_staff")
    assert not Visit.objects.exists()


def test_visit_scope(tree):
    done, _ = visit(tree, subject(tree))
    for who in ("microgrid_member", "grid_leader", "community_staff", "street_staff", "district_admin"):
        assert queries.visit_or_404(tree.users[who], done.pk) == done
    for who in ("outsider_microgrid_member", "outsider_community_staff", "resident", "department_handler"):
        with pytest.raises(Http404):
            queries.visit_or_404(tree.users[who], done.pk)
    assert not queries.visits_visible_to(tree.users["outsider_grid_leader"]).exists()


# ---- coverage -------------------------------------------------------------------------------------------------


def test_area_status_per_child_area(tree):
    visited = subject(tree, name="已访")
    visit(tree, visited)
    subject(tree, name="逾期", since=days(-20))
    subject(tree, name="待访")  # never visited, tagged today: due today
    subject(tree, name="二网格", area=first_micro(tree, tree.grid_a2), since=days(-40), tags=("disabled",))
    rows = {r["area"].pk: r for r in coverage.area_status(tree.community_a)}
    a1 = rows[tree.grid_a1.pk]
    assert (a1["subjects"], a1["visited_in_time"], a1["due_soon"], a1["overdue"]) == (3, 1, 1, 1)
    assert a1["percent"] == 33
    a2 = rows[tree.grid_a2.pk]
    assert (a2["subjects"], a2["visited_in_time"], a2["overdue"]) == (1, 0, 1)
    assert rows[tree.dedicated_a.pk]["subjects"] == 0 and rows[tree.dedicated_a.pk]["percent"] is None
    total = coverage.totals(list(rows.values()))
    assert (total["subjects"], total["overdue"]) == (4, 2)
    micro = coverage.microgrid_status(tree.community_a)
    assert micro[first_micro(tree, tree.grid_a1).pk] == {"subjects": 3, "visited": 1, "overdue": 1}
    assert micro[first_micro(tree, tree.grid_a2).pk] == {"subjects": 1, "visited": 0, "overdue": 1}
    grid_rows = {r["area"].pk: r["subjects"] for r in coverage.area_status(tree.grid_a1)}
    assert grid_rows == {first_micro(tree, tree.grid_a1).pk: 3, second_micro(tree, tree.grid_a1).pk: 0}


def test_overdue_in_lists_the_overdue_under_an_area(tree):
    late = subject(tree, name="逾期", since=days(-20))
    subject(tree, name="待访")
    subject(tree, name="别街", area=first_micro(tree, tree.grid_b1), since=days(-20))
    rows = queries.overdue_in(tree.street_a)
    assert [r["resident"] for r in rows] == [late.pk] and rows[0]["days_overdue"] == 13


def test_coverage_queries_do_not_grow_with_subjects(tree, django_assert_max_num_queries):
    subject(tree)
    with django_assert_max_num_queries(3) as few:
        coverage.area_status(tree.community_a)
    for i in range(10):
        visit(tree, subject(tree, name=f"丙{NUM[i]}", tags=("disabled", "elderly_alone")))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert coverage.totals(coverage.area_status(tree.community_a))["subjects"] == 11
    with django_assert_max_num_queries(2):
        assert len(coverage.microgrid_status(tree.street_a)) == 1


# ---- plan changes ---------------------------------------------------------------------------------------------


def test_district_admin_changes_a_plan_with_audit(tree):
    plan = CarePlan.objects.get(tag__code="disabled")
    admin = tree.users["district_admin"]
    changed = services.set_plan(admin, "disabled", every_days=14, is_active=True, expected_version=plan.version)
    assert changed.every_days == 14 and changed.version == plan.version + 1 and changed.updated_by == admin
    event = AuditEvent.objects.get(action="visits.plan_changed")
    assert event.data["tag"] == "disabled" and event.data["every_days"] == 14
    assert event.data["before"] == {"every_days": 30, "is_active": True}
    assert event.area_id == tree.district.pk
    disabled = subject(tree, tags=("disabled",))
    visit(tree, disabled)
    assert due_pks(tree, on=days(14)) == [disabled.pk]


def test_stale_plan_change_is_refused(tree):
    plan = CarePlan.objects.get(tag__code="elderly_alone")
    admin = tree.users["district_admin"]
    services.set_plan(admin, "elderly_alone", every_days=5, expected_version=plan.version)
    with pytest.raises(StaleRecord):
        services.set_plan(admin, "elderly_alone", every_days=3, expected_version=plan.version)
    assert CarePlan.objects.get(pk=plan.pk).every_days == 5
    assert AuditEvent.objects.filter(action="visits.plan_changed").count() == 1


@pytest.mark.parametrize("value", [0, 367, "x", None])
def test_plan_interval_out_of_range_is_refused(tree, value):
    with pytest.raises(ValidationError) as error:
        services.set_plan(tree.users["district_admin"], "disabled", every_days=value)
    assert "every_days" in error.value.message_dict
    assert CarePlan.objects.get(tag__code="disabled").every_days == 30


def test_only_the_district_admin_changes_plans(tree):
    for who in ("street_staff", "community_staff", "microgrid_member"):
        with pytest.raises(PermissionDenied):
            services.set_plan(tree.users[who], "disabled", every_days=7)
    with pytest.raises(ValidationError) as error:
        services.set_plan(tree.users["district_admin"], "no_such_tag", every_days=7)
    assert "tag" in error.value.message_dict
    assert not AuditEvent.objects.filter(action="visits.plan_changed").exists()


def test_a_member_raises_a_need_anywhere_in_their_grid(tree):
    sibling = subject(tree, area=second_micro(tree, tree.grid_a1))
    done, _ = visit(tree, sibling, needs="需要送餐", need_category="G0301")
    assert done.case.area_id == sibling.area_id and done.case.reporter_id == tree.users["microgrid_member"].pk
