"""Fan-out: one assignment per micro-grid under a task's area, in batches, counting progress on the task.

Small tasks (up to `WORK_FANOUT_INLINE`, 200 micro-grids) are fanned out while publishing; larger ones in the
worker (`fan_out_task`, queued once the publishing transaction commits), while the task page shows progress.
Running it again adds only the micro-grids still missing: it skips those that have their assignment, and the
unique (task, area) constraint with `ignore_conflicts` covers two runs at once.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.tasks import task as background

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.areas.models import Area, AreaKind, subtree_q
from fengchao.audit.services import record

from .choices import AssigneeRole, TaskState
from .models import Assignment, Task

BATCH = 1000


def inline_limit() -> int:
    return int(getattr(settings, "WORK_FANOUT_INLINE", 200))


def microgrids_under(area):
    return Area.objects.filter(subtree_q(area.path), kind=AreaKind.MICROGRID)


def _named_assignees(task: Task) -> dict[int, int]:
    """micro-grid pk -> the first named person holding a micro-grid role there (named tasks only)."""
    rows = (
        RoleAssignment.objects.active()
        .filter(
            user__in=task.named_users.all(),
            role__in=[Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER],
            area__kind=AreaKind.MICROGRID,
        )
        .filter(subtree_q(task.area.path, "area__"))
        .order_by("user_id")
        .values_list("area_id", "user_id")
    )
    found: dict[int, int] = {}
    for area_id, user_id in rows:
        found.setdefault(area_id, user_id)
    return found


def targets(task: Task) -> list[tuple[int, int | None]]:
    """(micro-grid pk, assignee pk or None) for every assignment the task should have."""
    if task.assignee_role == AssigneeRole.NAMED:
        return sorted(_named_assignees(task).items())
    return [(pk, None) for pk in microgrids_under(task.area).order_by("pk").values_list("pk", flat=True)]


def fan_out(task_pk: int, *, batch: int = BATCH) -> Task:
    """Create the task's missing assignments in batches of `batch`, then open the task (compare-and-set)."""
    task = Task.objects.select_related("area").get(pk=task_pk)
    wanted = targets(task)
    existing = set(Assignment.objects.filter(task=task).values_list("area_id", flat=True))
    missing = [(area_id, user_id) for area_id, user_id in wanted if area_id not in existing]
    Task.objects.filter(pk=task.pk).update(total=len(wanted), fanned_out=len(existing))
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        with transaction.atomic():
            Assignment.objects.bulk_create(
                [
                    Assignment(task_id=task.pk, area_id=area_id, assignee_id=user_id, due_at=task.due_at)
                    for area_id, user_id in chunk
                ],
                batch_size=batch,
                ignore_conflicts=True,
            )
            Task.objects.filter(pk=task.pk).update(fanned_out=F("fanned_out") + len(chunk))
    with transaction.atomic():
        made = Assignment.objects.filter(task=task).count()
        opened = Task.objects.filter(pk=task.pk, state=TaskState.FANNING_OUT).update(
            state=TaskState.OPEN, fanned_out=made, version=F("version") + 1
        )
        if opened:
            record("work.fanned_out", task, area=task.area, assignments=made)
        else:
            Task.objects.filter(pk=task.pk).update(fanned_out=made)
    task.refresh_from_db()
    return task


@background
def fan_out_task(task_pk: int) -> None:
    fan_out(task_pk)
