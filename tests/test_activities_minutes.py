"""Meeting minutes (会议纪要): writing and editing (stale versions refused), organisers only, follow-up actions
carried out as a platform task or a case, publishing to the area's board once, the page and the API."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fengchao.activities import minutes as m
from fengchao.activities import services
from fengchao.activities.models import FollowUp, Minutes
from fengchao.audit.models import AuditEvent
from fengchao.cases.models import Case
from fengchao.core.errors import StaleRecord
from fengchao.notices.models import Notification
from fengchao.work.models import Assignment, Task
from tests.api_client import fields_of, post, put
from tests.case_factories import build_categories

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def u(tree):
    return tree.users


@pytest.fixture
def meeting(tree, u):
    start = timezone.now() - dt.timedelta(minutes=10)
    activity = services.publish(
        u["community_staff"], area=tree.community_a, kind="training", title="社区联席会议",
        place="和美社区党群服务中心", starts_at=start, ends_at=start + dt.timedelta(hours=2),
    )  # fmt: skip
    for who in ("microgrid_member", "grid_leader"):
        services.mark_attendance(activity, u[who], by=u["community_staff"])
    return activity


@pytest.fixture
def written(meeting, u):
    return m.write_minutes(meeting, by=u["community_staff"], agenda="一、垃圾分类", decisions="每周三集中清运")


def test_write_then_edit_and_a_stale_version_is_refused(meeting, u, written):
    assert written.version == 1 and written.written_by == u["community_staff"] and written.published_at is None
    assert list(m.attendees(meeting)) == [u["microgrid_member"], u["grid_leader"]]
    edited = m.write_minutes(meeting, by=u["street_staff"], agenda="一", decisions="二", expected_version=1)
    assert edited.pk == written.pk and edited.version == 2 and edited.decisions == "二"
    with pytest.raises(StaleRecord):
        m.write_minutes(meeting, by=u["community_staff"], agenda="x", decisions="y", expected_version=1)
    assert Minutes.objects.get(pk=written.pk).decisions == "二"
    assert AuditEvent.objects.filter(action="activities.minutes_written").count() == 2
    with pytest.raises(ValidationError) as refused:
        m.write_minutes(meeting, by=u["community_staff"], agenda="", decisions="")
    assert set(refused.value.message_dict) == {"decisions"}


def test_only_organisers_write_add_and_publish(meeting, u, written):
    for who in ("microgrid_member", "outsider_community_staff"):
        with pytest.raises(PermissionDenied):
            m.write_minutes(meeting, by=u[who], agenda="a", decisions="b")
        with pytest.raises(PermissionDenied):
            m.add_follow_up(
                written, by=u[who], text="清理楼道", owner=u["microgrid_member"], due_on=TOMORROW, kind="task"
            )
        with pytest.raises(PermissionDenied):
            m.publish_minutes(written, by=u[who])


def test_a_follow_up_as_a_task_is_published_to_its_owner_by_name(meeting, u, written):
    f = m.add_follow_up(
        written, by=u["community_staff"], text="清理三号楼楼道杂物", owner=u["microgrid_member"], due_on=TOMORROW,
        kind="task",
    )  # fmt: skip
    task = Task.objects.get(pk=f.task_id)
    assert f.kind == "task" and f.case_id is None and task.title == "清理三号楼楼道杂物"
    assert task.area_id == meeting.area_id and task.assignee_role == "named" and task.state == "open"
    assert timezone.localtime(task.due_at).date() == TOMORROW
    assignees = Assignment.objects.filter(task=task).values_list("assignee_id", flat=True)
    assert list(assignees) == [u["microgrid_member"].pk]
    assert AuditEvent.objects.filter(action="activities.follow_up_added").count() == 1


def test_a_follow_up_is_refused_naming_its_fields(meeting, u, written):
    with pytest.raises(ValidationError) as refused:
        m.add_follow_up(
            written, by=u["community_staff"], text="x", owner=u["microgrid_leader"], due_on=None, kind="case"
        )
    assert set(refused.value.message_dict) == {"text", "owner", "due_on", "category"}
    assert not FollowUp.objects.exists()


def test_a_follow_up_as_a_case_enters_a_case_in_the_activitys_area(tree, meeting, u, written):
    cats = build_categories()
    f = m.add_follow_up(
        written, by=u["community_staff"], text="三号楼外墙脱落需处置", owner=u["grid_leader"], due_on=TOMORROW,
        kind="case", category=cats.litter,
    )  # fmt: skip
    case = Case.objects.get(pk=f.case_id)
    assert f.task_id is None and case.channel == "walk_in" and case.category == cats.litter
    assert case.area.path.startswith(tree.community_a.path)


def test_publishing_notifies_the_areas_people_once(tree, meeting, u, written):
    published = m.publish_minutes(written, by=u["community_staff"])
    assert published.published_at is not None
    sent = Notification.objects.filter(kind="activities.minutes")
    serving = {"community_staff", "grid_leader", "microgrid_leader", "microgrid_member", "dedicated_leader"}
    assert set(sent.values_list("recipient__username", flat=True)) == serving and sent.count() == len(serving)
    assert sent.first().url == f"/activities/{meeting.pk}/minutes/"
    with pytest.raises(ValidationError):
        m.publish_minutes(Minutes.objects.get(pk=written.pk), by=u["community_staff"])
    assert sent.count() == len(serving)


# ---- pages --------------------------------------------------------------------------------------------------------


def test_the_page_for_organisers_then_members_after_publishing(client, tree, meeting, u, written):
    url = f"/activities/{meeting.pk}/minutes/"
    client.force_login(u["community_staff"])
    assert f'href="{url}"' in client.get(f"/activities/{meeting.pk}/").content.decode()
    page = client.get(url).content.decode()
    assert "每周三集中清运" in page and 'id="minutes-form"' in page and 'id="follow-up-form"' in page
    assert u["microgrid_member"].display_name in page
    response = client.post(
        f"{url}follow-ups",
        {"text": "清理楼道杂物", "owner": u["microgrid_member"].pk, "due_on": TOMORROW.isoformat(), "kind": "task"},
    )
    assert response.status_code == 302
    task = FollowUp.objects.get().task
    assert f'href="/work/tasks/{task.pk}/"' in client.get(url).content.decode()
    response = client.post(url, {"agenda": "新议程", "decisions": "新决定", "version": "1"})
    assert response.status_code == 302 and Minutes.objects.get().decisions == "新决定"

    client.force_login(u["microgrid_member"])
    assert client.get(url).status_code == 404  # not published yet
    assert client.post(f"{url}publish").status_code == 404
    client.force_login(u["community_staff"])
    assert client.post(f"{url}publish").status_code == 302
    client.force_login(u["microgrid_member"])
    page = client.get(url).content.decode()
    assert "新决定" in page and 'id="minutes-form"' not in page and 'id="minutes-published"' in page
    client.force_login(u["outsider_community_staff"])
    assert client.get(url).status_code == 404


# ---- API ----------------------------------------------------------------------------------------------------------


def test_api_round_trip(tree, meeting, u, as_):
    url = f"/api/activities/{meeting.pk}/minutes"
    staff, member = as_("community_staff"), as_("microgrid_member")
    assert staff.get(url).status_code == 404
    response = put(staff, url, {"agenda": "议程", "decisions": "决定"})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1 and [a["id"] for a in response.json()["attendees"]] == [
        u["microgrid_member"].pk,
        u["grid_leader"].pk,
    ]
    assert put(staff, url, {"agenda": "议程", "decisions": "决定二", "expected_version": 1}).json()["version"] == 2
    assert put(staff, url, {"agenda": "议程", "decisions": "旧的", "expected_version": 1}).status_code == 409
    assert put(member, url, {"agenda": "a", "decisions": "b"}).status_code == 403
    assert member.get(url).status_code == 404

    body = {"text": "清理楼道杂物", "owner": u["microgrid_member"].pk, "due_on": TOMORROW.isoformat(), "kind": "task"}
    response = post(staff, f"{url}/follow-ups", body)
    assert response.status_code == 201, response.content
    assert response.json()["task"] == Task.objects.get().pk
    assert fields_of(post(staff, f"{url}/follow-ups", body | {"owner": u["microgrid_leader"].pk})) == {"owner"}
    assert fields_of(post(staff, f"{url}/follow-ups", body | {"kind": "case"})) == {"category"}
    assert post(member, f"{url}/follow-ups", body).status_code == 404  # unpublished: not theirs to see

    assert post(staff, f"{url}/publish").status_code == 200
    assert post(staff, f"{url}/publish").status_code == 422
    got = member.get(url)
    assert got.status_code == 200 and got.json()["decisions"] == "决定二" and len(got.json()["follow_ups"]) == 1
    assert post(member, f"{url}/publish").status_code == 403
    assert as_("outsider_community_staff").get(url).status_code == 404


# ---- changing a follow-up -----------------------------------------------------------------------------------------

IN_THREE_DAYS = timezone.localdate() + dt.timedelta(days=3)


@pytest.fixture
def task_follow_up(meeting, u, written):
    services.mark_attendance(meeting, u["microgrid_leader"], by=u["community_staff"])
    return m.add_follow_up(
        written, by=u["community_staff"], text="清理三号楼楼道杂物", owner=u["microgrid_member"], due_on=TOMORROW,
        kind="task",
    )  # fmt: skip


@pytest.fixture
def case_follow_up(meeting, u, written):
    cats = build_categories()
    return m.add_follow_up(
        written, by=u["community_staff"], text="三号楼外墙脱落需处置", owner=u["grid_leader"], due_on=TOMORROW,
        kind="case", category=cats.litter,
    )  # fmt: skip


def fresh(f):
    return FollowUp.objects.select_related("minutes__activity", "owner", "task", "case").get(pk=f.pk)


def test_changing_a_task_follow_up_moves_its_task_and_hands_it_to_the_new_owner(u, task_follow_up):
    f = fresh(task_follow_up)
    Assignment.objects.filter(task=f.task).update(reminded_at=timezone.now())
    m.edit_follow_up(
        f, by=u["community_staff"], text="清理三号楼和四号楼楼道", owner=u["microgrid_leader"], due_on=IN_THREE_DAYS,
        expected_version=m.follow_up_version(f),
    )  # fmt: skip
    f = fresh(f)
    assert (f.text, f.owner, f.due_on) == ("清理三号楼和四号楼楼道", u["microgrid_leader"], IN_THREE_DAYS)
    task = Task.objects.get(pk=f.task_id)
    assert timezone.localtime(task.due_at).date() == IN_THREE_DAYS and list(task.named_users.all()) == [
        u["microgrid_leader"]
    ]
    [share] = Assignment.objects.filter(task=task)
    assert share.assignee == u["microgrid_leader"] and share.due_at == task.due_at
    assert share.reminded_at is None  # reminded again before the new date
    edited = AuditEvent.objects.get(action="activities.follow_up_edited")
    assert (
        edited.data["before"]["owner"] == u["microgrid_member"].pk and edited.data["owner"] == u["microgrid_leader"].pk
    )
    assert AuditEvent.objects.filter(action="work.rescheduled", object_id=str(task.pk)).count() == 1


def test_changing_only_the_text_leaves_the_task_alone(u, task_follow_up):
    f = fresh(task_follow_up)
    version = f.task.version
    m.edit_follow_up(f, by=u["community_staff"], text="清理楼道杂物（三号楼）", owner=f.owner, due_on=f.due_on)
    assert Task.objects.get(pk=f.task_id).version == version
    assert not AuditEvent.objects.filter(action="work.rescheduled").exists()


def test_changing_a_follow_up_is_refused_naming_its_fields(u, task_follow_up):
    f = fresh(task_follow_up)
    with pytest.raises(ValidationError) as refused:
        m.edit_follow_up(f, by=u["community_staff"], text="x", owner=None, due_on=TOMORROW - dt.timedelta(days=2))
    assert set(refused.value.message_dict) == {"text", "owner", "due_on"}
    with pytest.raises(ValidationError) as refused:  # serves in no micro-grid: the named task cannot go to them
        m.edit_follow_up(f, by=u["community_staff"], text=f.text, owner=u["grid_leader"], due_on=f.due_on)
    assert set(refused.value.message_dict) == {"owner"}
    with pytest.raises(ValidationError) as refused:  # did not attend
        m.edit_follow_up(f, by=u["community_staff"], text=f.text, owner=u["street_staff"], due_on=f.due_on)
    assert set(refused.value.message_dict) == {"owner"}
    for who in ("microgrid_member", "outsider_community_staff"):
        with pytest.raises(PermissionDenied):
            m.edit_follow_up(f, by=u[who], text="清理楼道杂物", owner=f.owner, due_on=IN_THREE_DAYS)
    with pytest.raises(StaleRecord):
        m.edit_follow_up(
            f, by=u["community_staff"], text="清理楼道杂物", owner=f.owner, due_on=IN_THREE_DAYS,
            expected_version="0" * 12,
        )  # fmt: skip
    assert fresh(f).text == "清理三号楼楼道杂物" and fresh(f).due_on == TOMORROW
    assert not AuditEvent.objects.filter(action="activities.follow_up_edited").exists()


def test_a_stale_copy_of_a_follow_up_is_refused(u, task_follow_up):
    first, second = fresh(task_follow_up), fresh(task_follow_up)
    m.edit_follow_up(first, by=u["community_staff"], text="清理楼道杂物一", owner=first.owner, due_on=first.due_on)
    with pytest.raises(StaleRecord):
        m.edit_follow_up(
            second, by=u["community_staff"], text="清理楼道杂物二", owner=second.owner, due_on=IN_THREE_DAYS
        )
    assert fresh(first).text == "清理楼道杂物一" and fresh(first).due_on == TOMORROW


def test_a_done_task_follow_up_is_no_longer_changed(u, task_follow_up):
    from fengchao.work import services as work

    f = fresh(task_follow_up)
    work.submit(Assignment.objects.get(task=f.task), by=u["microgrid_member"])
    with pytest.raises(ValidationError) as refused:
        m.edit_follow_up(fresh(f), by=u["community_staff"], text=f.text, owner=f.owner, due_on=IN_THREE_DAYS)
    assert set(refused.value.message_dict) == {"follow_up"}
    assert fresh(f).due_on == TOMORROW


def test_a_case_follow_up_changes_only_itself(u, case_follow_up):
    f = fresh(case_follow_up)
    case_before = Case.objects.filter(pk=f.case_id).values().get()
    m.edit_follow_up(f, by=u["community_staff"], text=f.text, owner=u["microgrid_member"], due_on=IN_THREE_DAYS)
    f = fresh(f)
    assert (f.owner, f.due_on) == (u["microgrid_member"], IN_THREE_DAYS)
    assert Case.objects.filter(pk=f.case_id).values().get() == case_before  # the case keeps its own loop
    Case.objects.filter(pk=f.case_id).update(state="resolved")
    with pytest.raises(ValidationError) as refused:
        m.edit_follow_up(fresh(f), by=u["community_staff"], text=f.text, owner=f.owner, due_on=TOMORROW)
    assert set(refused.value.message_dict) == {"follow_up"}


def test_the_minutes_page_edits_a_follow_up(client, meeting, u, task_follow_up, case_follow_up):
    url = f"/activities/{meeting.pk}/minutes/"
    f = fresh(task_follow_up)
    client.force_login(u["community_staff"])
    page = client.get(url).content.decode()
    assert f'id="follow-up-edit-{f.pk}"' in page and f'value="{m.follow_up_version(f)}"' in page
    assert "The case keeps its own handling and deadlines" in page
    body = {
        "text": "清理三号楼楼道", "owner": u["microgrid_leader"].pk, "due_on": IN_THREE_DAYS.isoformat(),
        "version": m.follow_up_version(f),
    }  # fmt: skip
    response = client.post(f"{url}follow-ups/{f.pk}", body, follow=True)
    assert "Follow-up changed." in response.content.decode()
    assert (fresh(f).owner, fresh(f).due_on) == (u["microgrid_leader"], IN_THREE_DAYS)
    stale = client.post(f"{url}follow-ups/{f.pk}", body | {"text": "再改一次楼道"}, follow=True)
    assert "Someone else changed this record" in stale.content.decode() and fresh(f).text == "清理三号楼楼道"
    from fengchao.work import services as work

    work.submit(Assignment.objects.get(task=f.task), by=u["microgrid_leader"])
    assert f'id="follow-up-edit-{f.pk}"' not in client.get(url).content.decode()  # done: no form
    client.force_login(u["outsider_community_staff"])
    assert client.post(f"{url}follow-ups/{f.pk}", body).status_code == 404
    client.force_login(u["microgrid_member"])
    assert client.post(f"{url}follow-ups/{f.pk}", body).status_code == 404


def test_api_patch_a_follow_up(tree, meeting, u, as_, task_follow_up):
    from tests.api_client import patch

    url = f"/api/activities/{meeting.pk}/minutes"
    staff = as_("community_staff")
    [listed] = staff.get(url).json()["follow_ups"]
    item = f"{url}/follow-ups/{listed['id']}"
    changed = patch(staff, item, {"due_on": IN_THREE_DAYS.isoformat(), "expected_version": listed["version"]})
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["due_on"] == IN_THREE_DAYS.isoformat() and body["owner"]["id"] == u["microgrid_member"].pk
    assert body["text"] == "清理三号楼楼道杂物" and body["version"] != listed["version"]
    assert timezone.localtime(Task.objects.get().due_at).date() == IN_THREE_DAYS
    assert patch(staff, item, {"text": "过期的修改", "expected_version": listed["version"]}).status_code == 409
    assert fields_of(patch(staff, item, {"owner": u["street_staff"].pk})) == {"owner"}
    assert fields_of(patch(staff, item, {"owner": u["grid_leader"].pk})) == {"owner"}
    assert patch(as_("microgrid_member"), item, {"text": "成员不能改"}).status_code == 404  # unpublished
    assert patch(as_("outsider_community_staff"), item, {"text": "别的街道"}).status_code == 404
    assert patch(staff, f"{url}/follow-ups/999999", {"text": "不存在的"}).status_code == 404
    from fengchao.work import services as work

    work.submit(Assignment.objects.get(task_id=listed["task"]), by=u["microgrid_member"])
    assert fields_of(patch(staff, item, {"text": "已经做完了"})) == {"follow_up"}
