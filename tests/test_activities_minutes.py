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
