"""Moving an open task's due time (`reschedule_task`), as a minutes follow-up does: its shares still to do move
with it (and are reminded again), handed-in ones keep theirs; a task named to one person may be handed to
another who serves in a micro-grid of its area; refusals and the audit event."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.core.errors import StaleRecord
from fengchao.work import services
from fengchao.work.choices import AssigneeRole, AssignmentState
from fengchao.work.models import Assignment, Task

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
LATER = NOW + dt.timedelta(days=5)


def publish(tree, **kw):
    return services.publish_task(
        tree.users["community_staff"], area=tree.community_a, title="清理楼道", due_at=NOW + dt.timedelta(days=1), **kw
    )


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


def test_the_due_time_moves_with_the_shares_still_to_do(tree):
    task = publish(tree)
    handed_in = Assignment.objects.select_related("task", "area").get(task=task, area=next(iter(tree.micro.values())))
    services.submit(handed_in, by=tree.users["microgrid_member"])
    Assignment.objects.filter(task=task).update(reminded_at=NOW)
    version = task.version
    services.reschedule_task(task, by=tree.users["street_staff"], due_at=LATER)
    assert Task.objects.get(pk=task.pk).due_at == LATER and task.version == version + 1
    open_shares = Assignment.objects.filter(task=task, state=AssignmentState.OPEN)
    assert open_shares.count() == 3 and set(open_shares.values_list("due_at", flat=True)) == {LATER}
    assert set(open_shares.values_list("reminded_at", flat=True)) == {None}
    handed_in.refresh_from_db()
    assert handed_in.due_at != LATER and handed_in.reminded_at == NOW
    event = AuditEvent.objects.get(action="work.rescheduled", object_id=str(task.pk))
    assert event.actor == tree.users["street_staff"] and event.data["assignments"] == 3


def test_a_named_task_is_handed_to_another_person(tree):
    task = publish(tree, assignee_role=AssigneeRole.NAMED, named_users=[tree.users["microgrid_member"]])
    services.reschedule_task(
        task, by=tree.users["community_staff"], due_at=LATER, assignee=tree.users["microgrid_leader"]
    )
    [share] = Assignment.objects.filter(task=task)
    assert share.assignee == tree.users["microgrid_leader"] and list(task.named_users.all()) == [
        tree.users["microgrid_leader"]
    ]
    assert refusal(
        lambda: services.reschedule_task(
            Task.objects.get(pk=task.pk),
            by=tree.users["community_staff"],
            due_at=LATER,
            assignee=tree.users["grid_leader"],
        )  # fmt: skip
    ) == {"assignee": ["grid_leader serves in no micro-grid of 和美社区."]}


def test_refusals(tree):
    task = publish(tree)
    staff = tree.users["community_staff"]
    with pytest.raises(PermissionDenied):
        services.reschedule_task(task, by=tree.users["microgrid_member"], due_at=LATER)
    with pytest.raises(PermissionDenied):
        services.reschedule_task(task, by=tree.users["outsider_community_staff"], due_at=LATER)
    assert set(refusal(lambda: services.reschedule_task(task, by=staff, due_at=NOW - dt.timedelta(hours=1)))) == {
        "due_at"
    }
    assert set(refusal(lambda: services.reschedule_task(task, by=staff, due_at=LATER, assignee=staff))) == {"assignee"}
    stale = Task.objects.get(pk=task.pk)
    services.reschedule_task(task, by=staff, due_at=LATER)
    with pytest.raises(StaleRecord):
        services.reschedule_task(stale, by=staff, due_at=LATER + dt.timedelta(days=1))
    services.close_task(task, by=staff)
    assert set(refusal(lambda: services.reschedule_task(task, by=staff, due_at=LATER))) == {"task"}
    assert AuditEvent.objects.filter(action="work.rescheduled").count() == 1
