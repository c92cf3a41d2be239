"""The one place that scopes task reads and decides who does, reviews and publishes them.

- Staff (district, street and community staff, grid leaders) see the tasks published in their subtree and the
  tasks published above them (a district task reaches every grid), and the assignments in their subtree.
- Members see the assignments of their micro-grids that are theirs to do (by role, or by name).
Anything else answers 404, exactly like something that does not exist.
"""

from django.db.models import Count, Max, Q
from django.http import Http404

from fengchao.accounts.access import holds_role_over
from fengchao.accounts.roles import Role
from fengchao.areas.models import subtree_q
from fengchao.areas.scope import scope_q
from fengchao.cases.queries import held_roles

from .choices import DOER_ROLES
from .models import Assignment, Task, TaskSchedule

STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_LEADER})


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_staff(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in STAFF_ROLES for h in held_roles(user)))


def can_publish(user, area) -> bool:
    """District, street and community staff, and grid leaders, over the area."""
    return holds_role_over(user, STAFF_ROLES, area)


can_review_area = can_publish  # whoever may publish over a micro-grid may accept or return its work


def can_review(user, assignment: Assignment) -> bool:
    return can_review_area(user, assignment.area)


def may_do(user, assignment: Assignment) -> bool:
    """The named assignee, or a holder of one of the task's doer roles over the micro-grid."""
    if not _active(user):
        return False
    if assignment.assignee_id is not None:
        return assignment.assignee_id == user.pk
    roles = DOER_ROLES.get(assignment.task.assignee_role, frozenset())
    return any(h.role in roles and assignment.area.path.startswith(h.path) for h in held_roles(user))


def mine_q(user) -> Q:
    """The assignments the user is to do, as a filter on Assignment."""
    condition = Q(assignee=user)
    for held in held_roles(user):
        roles = [r for r, doers in DOER_ROLES.items() if held.role in doers]
        if roles:
            condition |= Q(assignee__isnull=True, task__assignee_role__in=roles) & subtree_q(held.path, "area__")
    return condition


def my_assignments(user):
    if not _active(user):
        return Assignment.objects.none()
    return Assignment.objects.filter(mine_q(user))


def assignments_visible_to(user):
    if not _active(user):
        return Assignment.objects.none()
    if user.is_superuser:
        return Assignment.objects.all()
    return Assignment.objects.filter(mine_q(user) | scope_q(user, "area__", STAFF_ROLES))


def assignment_or_404(user, pk) -> Assignment:
    found = (
        assignments_visible_to(user).select_related("task", "area", "assignee", "located_area").filter(pk=pk).first()
    )
    if found is None:
        raise Http404("No such assignment.")
    return found


def _staff_ancestors(user) -> set[int]:
    return {int(pk) for h in held_roles(user) if h.role in STAFF_ROLES for pk in h.path.strip("/").split("/") if pk}


def tasks_visible_to(user):
    """Tasks over the staff's subtree, or over an area above it (their share is in their subtree)."""
    if not _active(user):
        return Task.objects.none()
    if user.is_superuser:
        return Task.objects.all()
    if not is_staff(user):
        return Task.objects.none()
    return Task.objects.filter(scope_q(user, "area__", STAFF_ROLES) | Q(area_id__in=_staff_ancestors(user)))


def task_or_404(user, pk) -> Task:
    found = tasks_visible_to(user).select_related("area", "created_by").filter(pk=pk).first()
    if found is None:
        raise Http404("No such task.")
    return found


def task_assignments(user, task: Task):
    """The task's assignments the user sees (staff: those in their subtree)."""
    return assignments_visible_to(user).filter(task=task)


def schedules_visible_to(user):
    """Schedules over the staff's subtree."""
    if not is_staff(user):
        return TaskSchedule.objects.none()
    if user.is_superuser:
        return TaskSchedule.objects.all()
    return TaskSchedule.objects.filter(scope_q(user, "area__", STAFF_ROLES))


def schedule_or_404(user, pk) -> TaskSchedule:
    found = schedules_visible_to(user).select_related("area").filter(pk=pk).first()
    if found is None:
        raise Http404("No such schedule.")
    return found


def schedules_with_counts(user):
    """The schedules the user sees, each with `published` (tasks so far) and `latest_task_id`."""
    return (
        schedules_visible_to(user)
        .select_related("area")
        .annotate(published=Count("tasks"), latest_task_id=Max("tasks"))
    )
