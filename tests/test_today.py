"""A member's day (/today/ and /api/today): open tasks due first with the overdue ones counted, the care visits
due, the events ahead the member signed up for or could join; nothing from another grid; queries constant."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.activities import services as activities
from fengchao.activities.choices import ActivityKind
from fengchao.registry import services as registry
from fengchao.registry.models import CareTag, ResidentCareTag
from fengchao.visits import services as visits
from fengchao.work import services as work
from fengchao.work.models import Assignment
from tests.api_client import token_client
from tests.factories import first_micro
from tests.page_client import count_queries, html, login

pytestmark = pytest.mark.django_db


def staff_of(tree, area):
    return tree.users["outsider_community_staff" if area == tree.community_b else "community_staff"]


def task(tree, title, *, hours, area=None):
    area = area or tree.community_a
    published = work.publish_task(
        staff_of(tree, area), area=area, title=title,
        due_at=timezone.now() + dt.timedelta(hours=hours),
    )  # fmt: skip
    return published


def overdue(task_obj):
    """Move a task's due time into the past (publishing refuses a past due time, as it should)."""
    past = timezone.now() - dt.timedelta(hours=5)
    task_obj.__class__.objects.filter(pk=task_obj.pk).update(due_at=past)
    Assignment.objects.filter(task=task_obj).update(due_at=past)


def event(tree, title, *, days, area=None):
    start = timezone.now() + dt.timedelta(days=days)
    area = area or tree.community_a
    return activities.publish(
        staff_of(tree, area), area=area, kind=ActivityKind.TRAINING, title=title,
        place="党群服务中心", starts_at=start, ends_at=start + dt.timedelta(hours=2),
    )  # fmt: skip


def test_today_lists_my_tasks_due_first_and_counts_the_overdue(client, tree):
    task(tree, "明天到期的任务", hours=30)
    overdue(task(tree, "已经超期的任务", hours=30))
    task(tree, "别的社区的任务", hours=10, area=tree.community_b)
    page = html(login(client, tree, "microgrid_member"), reverse("today:today"))
    assert page.index("已经超期的任务") < page.index("明天到期的任务")
    assert "别的社区的任务" not in page
    assert 'id="today-task-count">2<' in page
    assert 'id="today-task-overdue" data-overdue="1"' in page
    outsider = html(login(client, tree, "outsider_microgrid_member"), reverse("today:today"))
    assert "明天到期的任务" not in outsider and "别的社区的任务" in outsider


def care_subject(tree, name, *, grid, tagged_days_ago):
    """An elderly resident living alone (visited weekly by plan), tagged `tagged_days_ago` days ago."""
    household = registry.create_household(None, area=first_micro(tree, grid), address=f"{name}家")
    resident = registry.create_resident(
        None, household=household, name=name, care_tags=list(CareTag.objects.filter(code="elderly_alone"))
    )
    since = timezone.localdate() - dt.timedelta(days=tagged_days_ago)
    ResidentCareTag.objects.filter(resident=resident).update(since=since)
    return resident


def test_today_lists_the_care_visits_due_and_a_visit_takes_one_off(client, tree):
    overdue_one = care_subject(tree, "王大爷", grid=tree.grid_a1, tagged_days_ago=30)
    care_subject(tree, "李奶奶", grid=tree.grid_a1, tagged_days_ago=0)  # never visited: due today
    care_subject(tree, "别的街道的老人", grid=tree.grid_b1, tagged_days_ago=30)
    page = html(login(client, tree, "microgrid_member"), reverse("today:today"))
    due = page[page.index('id="today-visits"') : page.index('id="today-events"')]
    assert due.index("王大爷") < due.index("李奶奶")  # overdue first
    assert "别的街道的老人" not in page
    assert 'id="today-visit-count">2<' in due and 'id="today-visit-overdue" data-overdue="1"' in due
    assert f"?resident={overdue_one.pk}" in due
    visits.record_visit(tree.users["microgrid_member"], resident=overdue_one, findings="身体不错，已提醒冬季用电安全")
    after = html(client, reverse("today:today"))
    assert "王大爷" not in after and "李奶奶" in after
    body = token_client(tree.users["microgrid_member"]).get("/api/today").json()
    assert [row["name"] for row in body["visit_rows"]] == ["李奶奶"] and body["visits"] == {"total": 1, "overdue": 0}


def test_today_shows_my_events_of_the_week_and_those_i_could_join(client, tree):
    mine = event(tree, "十二月业务培训", days=2)
    event(tree, "可以报名的碰头会", days=3)
    event(tree, "下个月的会", days=20)
    event(tree, "别的街道的培训", days=2, area=tree.community_b)
    activities.sign_up(tree.users["microgrid_member"], mine)
    page = html(login(client, tree, "microgrid_member"), reverse("today:today"))
    events = page[page.index('id="today-events"') :]
    assert "十二月业务培训" in events and "可以报名的碰头会" in events
    assert events.index("十二月业务培训") < events.index("可以报名的碰头会")  # mine first, then the joinable
    assert "下个月的会" not in page and "别的街道的培训" not in page


def test_the_day_over_the_api_matches_the_page(tree):
    task(tree, "明天到期的任务", hours=30)
    overdue(task(tree, "已经超期的任务", hours=30))
    event(tree, "十二月业务培训", days=2)
    body = token_client(tree.users["microgrid_member"]).get("/api/today").json()
    assert body["tasks"] == {"total": 2, "overdue": 1}
    assert [row["task"] for row in body["task_rows"]] == ["已经超期的任务", "明天到期的任务"]
    assert [row["overdue"] for row in body["task_rows"]] == [True, False]
    assert [(e["title"], e["signup"]) for e in body["events"]] == [("十二月业务培训", None)]
    assert token_client(tree.users["outsider_microgrid_member"]).get("/api/today").json()["tasks"]["total"] == 0


def test_the_page_asks_the_same_number_of_queries_for_two_tasks_or_twenty(client, tree):
    login(client, tree, "microgrid_member")
    for i in range(2):
        task(tree, f"任务{i}", hours=30 + i)
    few = count_queries(client, reverse("today:today"))
    for i in range(2, 22):
        task(tree, f"任务{i}", hours=30 + i)
    assert count_queries(client, reverse("today:today")) == few


def test_today_needs_a_sign_in(client):
    response = client.get(reverse("today:today"))
    assert response.status_code == 302 and "login" in response["Location"]
