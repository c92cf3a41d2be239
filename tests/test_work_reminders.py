"""The day-before reminder of a task (任务明天到期): sent by the work clock once per assignment still to do (open
or returned), to the named assignee or the holders of the task's role in the micro-grid; never for handed-in or
accepted work, never twice."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.notices.models import Notification
from fengchao.work import clock, services
from fengchao.work.choices import AssigneeRole
from fengchao.work.models import Assignment

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def publish(tree, *, hours=20, title="入户走访独居老人", **kw):
    return services.publish_task(
        tree.users["community_staff"], area=tree.community_a, title=title, due_at=NOW + dt.timedelta(hours=hours),
        now=NOW, **kw,
    )  # fmt: skip


def mine(tree, task):
    return Assignment.objects.select_related("task", "area").get(task=task, area=next(iter(tree.micro.values())))


def reminded(kind="work.reminder"):
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def test_holders_of_the_task_s_role_in_each_micro_grid_are_reminded_once(tree):
    task = publish(tree)
    assert services.remind_due_assignments(NOW) == 4  # community A1's four micro-grids
    assert reminded() == ["microgrid_member"]  # the only member holding a micro-grid there; not the leader
    note = Notification.objects.get(kind="work.reminder")
    assert note.title.startswith("Task due tomorrow: 入户走访独居老人")
    assert note.url == reverse("work:assignment", args=[mine(tree, task).pk])
    assert services.remind_due_assignments(NOW) == 0
    assert services.remind_due_assignments(NOW + dt.timedelta(hours=1)) == 0
    assert Notification.objects.filter(kind="work.reminder").count() == 1
    assert mine(tree, task).reminded_at == NOW


def test_a_leader_s_task_reminds_the_leaders_and_a_grid_leader_s_the_grid_leader(tree):
    publish(tree, assignee_role=AssigneeRole.MICROGRID_LEADER)
    publish(tree, assignee_role=AssigneeRole.GRID_LEADER, title="网格长任务")
    services.remind_due_assignments(NOW)
    assert reminded() == ["grid_leader", "grid_leader", "microgrid_leader"]  # grid A1's two micro-grids


def test_a_named_task_reminds_only_the_named_person(tree):
    publish(tree, assignee_role=AssigneeRole.NAMED, named_users=[tree.users["microgrid_leader"]])
    assert services.remind_due_assignments(NOW) == 1
    assert reminded() == ["microgrid_leader"]


def test_not_too_early_and_not_for_handed_in_or_accepted_work(tree):
    later = publish(tree, hours=30, title="后天到期")
    handed_in = mine(tree, publish(tree, title="已提交"))
    accepted = mine(tree, publish(tree, title="已验收"))
    member, staff = tree.users["microgrid_member"], tree.users["community_staff"]
    services.submit(handed_in, by=member, now=NOW)
    services.submit(accepted, by=member, now=NOW)
    services.accept(accepted, by=staff, now=NOW)
    services.remind_due_assignments(NOW)
    titles = list(Notification.objects.filter(kind="work.reminder").values_list("title", flat=True))
    assert not any("已提交" in t or "已验收" in t or "后天到期" in t for t in titles)
    assert mine(tree, later).reminded_at is None
    assert services.remind_due_assignments(NOW + dt.timedelta(hours=7)) >= 1  # now within a day
    assert mine(tree, later).reminded_at is not None


def test_returned_work_is_still_to_do_and_is_reminded(tree):
    assignment = mine(tree, publish(tree))
    services.submit(assignment, by=tree.users["microgrid_member"], now=NOW)
    services.return_(assignment, by=tree.users["community_staff"], reason="照片不清楚", now=NOW)
    services.remind_due_assignments(NOW)
    assert reminded() == ["microgrid_member"]


def test_each_pass_of_the_work_clock_sends_the_reminders(tree):
    publish(tree)
    clock.one_pass()
    clock.one_pass()
    assert reminded() == ["microgrid_member"]
