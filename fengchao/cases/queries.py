"""The one place that scopes case reads and works out how a user stands to a case.

- Staff and members see the cases in the subtrees of the areas where they serve.
- Department handlers see only the cases dispatched to their department or whistled to it, within the
  area (district or street) where they hold the role.
- Anyone who reported a case sees it (residents see nothing else).

Lists, details, inboxes, exports, KPIs and the API all start from `cases_visible_to`.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role

from .choices import FINAL_STATES, TO_DISPATCH_STATES, CaseState, Tier
from .models import Case, CoHandler
from .workflow import Actor

LINEAGE_OF_LEVEL = {1: "district_pk", 2: "street_pk", 3: "community_pk", 4: "grid_pk", 5: "area_id"}

GRID_ROLES = frozenset({Role.GRID_LEADER, Role.DEDICATED_LEADER, Role.MICROGRID_LEADER, Role.MICROGRID_MEMBER})
MICROGRID_ROLES = frozenset({Role.MICROGRID_LEADER, Role.MICROGRID_MEMBER})
STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_LEADER})
SUPERVISOR_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF})
# Who may dispatch (and accept, register, close) a case at each tier; higher levels may always step in.
DISPATCHER_ROLES = {
    Tier.GRID: frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}),
    Tier.COMMUNITY: frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}),
    Tier.STREET: frozenset({Role.STREET_STAFF, Role.DISTRICT_ADMIN}),
    Tier.DEPARTMENT: frozenset({Role.STREET_STAFF, Role.DISTRICT_ADMIN}),
}
# Whose queue a case at each tier sits in (the owner; the levels above may act but are not nagged).
QUEUE_ROLE_OF_TIER = {
    Tier.GRID: Role.COMMUNITY_STAFF,
    Tier.COMMUNITY: Role.COMMUNITY_STAFF,
    Tier.STREET: Role.STREET_STAFF,
    Tier.DEPARTMENT: Role.DISTRICT_ADMIN,
}
HANDLER_ROLES = {
    Tier.GRID: GRID_ROLES,
    Tier.COMMUNITY: frozenset({Role.COMMUNITY_STAFF}),
    Tier.STREET: frozenset({Role.STREET_STAFF}),
    Tier.DEPARTMENT: frozenset({Role.DEPARTMENT_HANDLER}),
}
VERIFIER_ROLES = GRID_ROLES | {Role.COMMUNITY_STAFF}
CASE_ROLES = frozenset(Role) - {Role.MERCHANT, Role.RESIDENT, Role.AUDITOR, Role.DEPARTMENT_HANDLER}


@dataclass(frozen=True)
class Held:
    role: str
    area_id: int
    level: int
    path: str
    department_id: int | None

    @property
    def reach_path(self) -> str:
        """Where the holder works in the field: a micro-grid role reaches its whole grid, since the members of a
        grid patrol, report and inspect in each other's micro-grids; any other role, its own subtree."""
        if self.role in MICROGRID_ROLES:
            return self.path.rstrip("/").rsplit("/", 1)[0] + "/"
        return self.path

    def covers(self, case: Case) -> bool:
        return case.area.path.startswith(self.path)

    def lineage_q(self) -> Q:
        return Q(**{LINEAGE_OF_LEVEL[self.level]: self.area_id})


def held_roles(user) -> list[Held]:
    """The user's active roles with their areas, memoised on the user object (one query per request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    memo = user.__dict__.get("_held_roles")
    if memo is None:
        rows = RoleAssignment.objects.active().filter(user=user)
        memo = [
            Held(role, area_id, level, path, department_id)
            for role, area_id, level, path, department_id in rows.values_list(
                "role", "area_id", "area__level", "area__path", "department_id"
            )
        ]
        user.__dict__["_held_roles"] = memo
    return memo


def _pool_q(user, roles) -> Q:
    condition = Q(pk__in=[])
    for held in held_roles(user):
        if held.role in roles:
            condition |= held.lineage_q()
    return condition


def department_roles(user) -> list[Held]:
    """A department handler's roles: each a department, over the area (district or street) it is held in."""
    return [h for h in held_roles(user) if h.role == Role.DEPARTMENT_HANDLER and h.department_id]


def department_ids(user) -> set[int]:
    return {h.department_id for h in department_roles(user)}


def department_ids_for(user, case: Case) -> set[int]:
    """The departments through which this user serves the case's area."""
    return {h.department_id for h in department_roles(user) if h.covers(case)}


def _department_q(user, *, whistled: bool, waiting_only: bool = False) -> Q:
    """Cases of the user's departments within the areas their handler roles are held in.

    `whistled` adds the cases those departments were called to by a whistle (only those still
    waiting for the department's part, with `waiting_only`).
    """
    condition = Q(pk__in=[])
    for held in department_roles(user):
        mine = Q(pk__in=[]) if waiting_only else Q(department_id=held.department_id)
        if whistled:
            called = CoHandler.objects.filter(case=OuterRef("pk"), department_id=held.department_id)
            if waiting_only:
                called = called.filter(part_done_at__isnull=True)
            mine |= Exists(called)
        condition |= mine & held.lineage_q()
    return condition


def scope_q(user) -> Q:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    condition = _pool_q(user, CASE_ROLES) | Q(reporter=user)
    if department_roles(user):
        condition |= _department_q(user, whistled=True)
    return condition


def cases_visible_to(user):
    return Case.objects.filter(scope_q(user))


def case_or_404(user, pk, queryset=None):
    case = (
        (queryset if queryset is not None else cases_visible_to(user))
        .select_related("area", "category")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404
    return case


def _holds(user, roles, case) -> bool:
    return user.is_superuser or any(h.role in roles and h.covers(case) for h in held_roles(user))


def actors_for(user, case: Case) -> set[Actor]:
    """How this user stands to this case; the workflow table turns these into allowed transitions."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    actors = set()
    if case.reporter_id == user.pk:
        actors.add(Actor.REPORTER)
    if _holds(user, DISPATCHER_ROLES[case.tier], case):
        actors.add(Actor.DISPATCHER)
    if case.tier == Tier.DEPARTMENT:
        if user.is_superuser or case.department_id in department_ids_for(user, case):
            actors.add(Actor.HANDLER)
    elif _holds(user, HANDLER_ROLES[case.tier], case):
        actors.add(Actor.HANDLER)
    if case.assignee_id == user.pk:
        actors.add(Actor.HANDLER)
    departments = department_ids_for(user, case)
    if departments and CoHandler.objects.filter(case=case, department_id__in=departments).exists():
        actors.add(Actor.CO_HANDLER)
    if case.resolved_by_id != user.pk and (Actor.REPORTER in actors or _holds(user, VERIFIER_ROLES, case)):
        actors.add(Actor.VERIFIER)
    if _holds(user, SUPERVISOR_ROLES, case):
        actors.add(Actor.SUPERVISOR)
    if _holds(user, STAFF_ROLES, case):
        actors.add(Actor.STAFF)
    return actors


# ---- inboxes --------------------------------------------------------------------------------------

OPEN_HANDLING_STATES = (CaseState.DISPATCHED, CaseState.TAKEN, CaseState.HOLD_REQUESTED, CaseState.ON_HOLD)


def inbox_to_dispatch(user):
    condition = Q(pk__in=[])
    for tier, role in QUEUE_ROLE_OF_TIER.items():
        condition |= Q(tier=tier) & _pool_q(user, {role})
    if user.is_superuser:
        condition = Q()
    return cases_visible_to(user).filter(condition, state__in=TO_DISPATCH_STATES)


def inbox_mine(user):
    """Dispatched to me, or to a pool I belong to and not yet taken; taken by me."""
    pool = Q(pk__in=[])
    for tier, roles in HANDLER_ROLES.items():
        if tier == Tier.DEPARTMENT:
            pool |= Q(tier=tier) & _department_q(user, whistled=False)
        else:
            pool |= Q(tier=tier) & _pool_q(user, roles)
    waiting = Q(state=CaseState.DISPATCHED) & pool & (Q(assignee__isnull=True) | Q(assignee=user))
    return cases_visible_to(user).filter(waiting | Q(assignee=user, state__in=OPEN_HANDLING_STATES[1:]))


def inbox_overdue(user):
    return cases_visible_to(user).filter(is_overdue=True).exclude(state__in=FINAL_STATES)


def inbox_supervised(user):
    return cases_visible_to(user).filter(supervision__gt=0).exclude(state__in=FINAL_STATES)


def inbox_whistles(user):
    if not department_roles(user):
        return Case.objects.none()
    return Case.objects.filter(_department_q(user, whistled=True, waiting_only=True)).exclude(state__in=FINAL_STATES)


def inbox_to_verify(user):
    pool = _pool_q(user, VERIFIER_ROLES) | Q(reporter=user)
    if user.is_superuser:
        pool = Q()
    return cases_visible_to(user).filter(pool, state=CaseState.RESOLVED).exclude(resolved_by=user)


INBOXES = {
    "to_dispatch": inbox_to_dispatch,
    "mine": inbox_mine,
    "overdue": inbox_overdue,
    "supervised": inbox_supervised,
    "whistles": inbox_whistles,
    "to_verify": inbox_to_verify,
}


# ---- who a case waits on (for notices) ---------------------------------------------------------------


def holders(case: Case, roles, department_id=None):
    """Users holding one of `roles` (or handling for `department_id`) in the case's area or any area above it.

    A query of user pks (one per assignment): `notices.notify` writes its rows from it by INSERT … SELECT.
    """
    area_pks = [*case.area.ancestor_pks(), case.area_id]
    qs = RoleAssignment.objects.active().filter(role__in=roles, area_id__in=area_pks)
    if department_id is not None:
        qs = RoleAssignment.objects.active().filter(
            role=Role.DEPARTMENT_HANDLER, department_id=department_id, area_id__in=area_pks
        )
    return qs.order_by().values_list("user_id", flat=True)
