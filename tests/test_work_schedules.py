"""Recurring tasks (task schedules): the staff list page (published so far, link to the latest, pause / resume),
the create form, pausing and resuming (compare-and-set, audit, no burst of missed runs on resume), the API's
pause / resume, scope (another street's schedule: 404) and the list's query count."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.core.errors import StaleRecord
from fengchao.work import services
from fengchao.work.choices import Repeat
from fengchao.work.models import Task, TaskSchedule
from tests.api_client import post
from tests.page_client import count_queries, html, login

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def schedule(tree, *, by="community_staff", area=None, title="每周消防巡查", first=None, **kw):
    kw.setdefault("repeat", Repeat.WEEKLY)
    return services.create_schedule(
        tree.users[by], area=area or tree.community_a, title=title,
        first_run_at=first or NOW + dt.timedelta(hours=1), **kw,
    )  # fmt: skip


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


# --- services --------------------------------------------------------------------------------------------------------


def test_pausing_stops_runs_and_is_audited(tree):
    staff = tree.users["community_staff"]
    s = schedule(tree, first=NOW - dt.timedelta(minutes=1))
    services.pause_schedule(s, by=staff)
    assert TaskSchedule.objects.get(pk=s.pk).active is False and s.version == 2
    assert services.run_due_schedules(NOW) == []
    event = AuditEvent.objects.get(action="work.schedule_paused", object_id=str(s.pk))
    assert event.actor == staff
    assert refusal(lambda: services.pause_schedule(s, by=staff)) == {"schedule": ["The schedule is already paused."]}


def test_resuming_moves_a_missed_run_to_the_next_future_occurrence(tree):
    staff = tree.users["community_staff"]
    first = NOW - dt.timedelta(days=15, hours=1)  # three weekly runs missed while paused
    s = schedule(tree, first=first)
    services.pause_schedule(s, by=staff)
    services.resume_schedule(s, by=staff, now=NOW)
    s.refresh_from_db()
    assert s.active is True and s.next_run_at == first + dt.timedelta(days=21) and s.next_run_at > NOW
    assert services.run_due_schedules(NOW) == []  # no burst
    assert len(services.run_due_schedules(s.next_run_at)) == 1
    assert AuditEvent.objects.filter(action="work.schedule_resumed", object_id=str(s.pk)).count() == 1
    assert refusal(lambda: services.resume_schedule(s, by=staff)) == {"schedule": ["The schedule is already running."]}


def test_resuming_keeps_a_future_next_run(tree):
    staff = tree.users["community_staff"]
    s = schedule(tree, first=NOW + dt.timedelta(days=2))
    services.pause_schedule(s, by=staff)
    services.resume_schedule(s, by=staff, now=NOW)
    assert TaskSchedule.objects.get(pk=s.pk).next_run_at == NOW + dt.timedelta(days=2)


def test_pause_and_resume_refusals(tree):
    s = schedule(tree)
    with pytest.raises(PermissionDenied):
        services.pause_schedule(s, by=tree.users["microgrid_member"])
    with pytest.raises(PermissionDenied):
        services.pause_schedule(s, by=tree.users["outsider_community_staff"])
    stale = TaskSchedule.objects.get(pk=s.pk)
    services.pause_schedule(s, by=tree.users["community_staff"])
    services.resume_schedule(s, by=tree.users["community_staff"])
    with pytest.raises(StaleRecord):  # the copy still says active, but the version moved on
        services.pause_schedule(stale, by=tree.users["street_staff"])
    assert TaskSchedule.objects.get(pk=s.pk).active is True
    assert not AuditEvent.objects.filter(action="work.schedule_paused", actor=tree.users["street_staff"]).exists()


# --- pages -----------------------------------------------------------------------------------------------------------


def test_the_list_shows_schedules_with_their_tasks_and_pause_resume(client, tree):
    s = schedule(tree, first=NOW - dt.timedelta(minutes=1))
    [task] = services.run_due_schedules(NOW)
    login(client, tree, "street_staff")
    page = html(client, reverse("work:schedules"))
    assert f"schedule-{s.pk}" in page and "每周消防巡查" in page and "和美社区" in page
    assert "1 task published" in page and reverse("work:task", args=[task.pk]) in page
    assert f"pause-{s.pk}" in page and reverse("work:schedules") in html(client, reverse("work:tasks"))
    assert client.post(reverse("work:pause_schedule", args=[s.pk])).status_code == 302
    page = html(client, reverse("work:schedules"))
    assert f"resume-{s.pk}" in page and "Paused" in page
    assert client.post(reverse("work:resume_schedule", args=[s.pk])).status_code == 302
    assert TaskSchedule.objects.get(pk=s.pk).active is True
    # pausing twice (a stale page) is a message, not an error page
    client.post(reverse("work:pause_schedule", args=[s.pk]))
    response = client.post(reverse("work:pause_schedule", args=[s.pk]), follow=True)
    assert "The schedule is already paused." in response.content.decode()


def test_creating_a_schedule_from_the_form(client, tree):
    login(client, tree, "community_staff")
    form = html(client, reverse("work:new_schedule"))
    assert 'name="repeat"' in form and 'name="first_run_at"' in form and 'name="due_at"' not in form
    first = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "area": tree.community_a.pk, "title": "三天一次通道检查", "repeat": "days", "every_days": "3", "due_days": "2",
        "first_run_at": first, "assignee_role": "microgrid_member", "checklist": "消防通道\n楼道", "need_photo": "on",
    }  # fmt: skip
    response = client.post(reverse("work:new_schedule"), data)
    assert response.status_code == 302, response.content.decode()
    made = TaskSchedule.objects.get(title="三天一次通道检查")
    assert (made.repeat, made.every_days, made.due_days, made.checklist, made.need_photo) == (
        "days", 3, 2, ["消防通道", "楼道"], True,
    )  # fmt: skip
    bad = client.post(reverse("work:new_schedule"), {**data, "title": "缺天数", "every_days": ""})
    assert bad.status_code == 200 and "Repeat every 1 day or more." in bad.content.decode()
    assert not TaskSchedule.objects.filter(title="缺天数").exists()


def test_another_street_s_schedule_answers_404(client, tree):
    s = schedule(tree)
    login(client, tree, "outsider_street_staff")
    assert f"schedule-{s.pk}" not in html(client, reverse("work:schedules"))
    assert client.post(reverse("work:pause_schedule", args=[s.pk])).status_code == 404
    assert client.post(reverse("work:resume_schedule", args=[s.pk])).status_code == 404
    login(client, tree, "microgrid_member")
    html(client, reverse("work:schedules"), 404)
    html(client, reverse("work:new_schedule"), 404)
    assert TaskSchedule.objects.get(pk=s.pk).active is True


def test_the_list_takes_queries_constant_in_its_length(client, tree):
    schedule(tree, first=NOW - dt.timedelta(minutes=1))
    services.run_due_schedules(NOW)
    login(client, tree, "street_staff")
    one = count_queries(client, reverse("work:schedules"))
    for n in range(5):
        schedule(tree, title=f"计划{n}", first=NOW - dt.timedelta(minutes=1))
    services.run_due_schedules(NOW)
    assert Task.objects.count() == 6
    assert count_queries(client, reverse("work:schedules")) == one


# --- API -------------------------------------------------------------------------------------------------------------


def test_api_pause_and_resume(tree, as_):
    s = schedule(tree, first=NOW - dt.timedelta(days=8))
    paused = post(as_("community_staff"), f"/api/work/schedules/{s.pk}/pause")
    assert paused.status_code == 200, paused.content
    assert paused.json()["active"] is False
    again = post(as_("community_staff"), f"/api/work/schedules/{s.pk}/pause")
    assert again.status_code == 422 and again.json()["detail"][0]["loc"][-1] == "schedule"
    resumed = post(as_("street_staff"), f"/api/work/schedules/{s.pk}/resume")
    assert resumed.status_code == 200 and resumed.json()["active"] is True
    assert dt.datetime.fromisoformat(resumed.json()["next_run_at"]) > timezone.now()
    assert post(as_("outsider_street_staff"), f"/api/work/schedules/{s.pk}/pause").status_code == 404
    assert post(as_("microgrid_member"), f"/api/work/schedules/{s.pk}/pause").status_code == 404
    assert post(as_("community_staff"), "/api/work/schedules/999999/resume").status_code == 404
