"""The one place that scopes patrol and work-log reads.

- A member patrols the micro-grids of their grid: a role held in a micro-grid opens the parent grid's
  micro-grids; a grid (or dedicated-grid) leader's role opens the micro-grids below their area.
- Staff (district, street, community staff, grid leaders) read coverage of the areas in their subtrees and the
  work logs of the people serving there; anything else answers 404, like what does not exist.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404

from fengchao.accounts.models import RoleAssignment
from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import scope_q, scope_roots
from fengchao.cases.queries import held_roles

from .choices import PATROL_ROLES, STAFF_ROLES
from .models import PatrolCheckIn, WorkLogEntry


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_patroller(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in PATROL_ROLES for h in held_roles(user)))


def is_staff(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in STAFF_ROLES for h in held_roles(user)))


def patrol_paths(user) -> list[str]:
    """The subtrees whose micro-grids this user patrols."""
    if not _active(user):
        return []
    if user.is_superuser:
        return ["/"]
    return sorted({held.reach_path for held in held_roles(user) if held.role in PATROL_ROLES})


def patrols_in(user, area: Area) -> bool:
    return area.kind == AreaKind.MICROGRID and any(p == "/" or area.path.startswith(p) for p in patrol_paths(user))


def log_areas(user):
    """The areas a work-log entry may name: those of the user's grid roles (member, leader)."""
    if not _active(user):
        return Area.objects.none()
    pks = {h.area_id for h in held_roles(user) if h.role in PATROL_ROLES}
    return Area.objects.filter(pk__in=pks, is_active=True).order_by("path")


def my_check_ins(user):
    return PatrolCheckIn.objects.filter(user=user).select_related("area")


def check_in_or_404(user, pk) -> PatrolCheckIn:
    """One's own check-in, or one in an area of the staff member's scope."""
    if not _active(user):
        raise Http404("No such check-in.")
    found = PatrolCheckIn.objects.filter(Q(user=user) | scope_q(user, "area__", STAFF_ROLES), pk=pk).first()
    if found is None:
        raise Http404("No such check-in.")
    return found


def my_log(user):
    return WorkLogEntry.objects.filter(user=user).select_related("area")


def my_entry_or_404(user, pk) -> WorkLogEntry:
    found = my_log(user).filter(pk=pk).first()
    if found is None:
        raise Http404("No such entry.")
    return found


def staff_areas(user):
    """Areas whose coverage the user reads."""
    if not is_staff(user):
        return Area.objects.none()
    return Area.objects.filter(scope_q(user, "", STAFF_ROLES), is_active=True)


def staff_roots(user):
    return scope_roots(user, STAFF_ROLES).filter(is_active=True).order_by("path")


def staff_area_or_404(user, pk) -> Area:
    found = staff_areas(user).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404("No such area for you.")
    return found


def person_or_404(staff, user_id):
    """Someone serving in an area of the staff member's scope (404 for anyone else)."""
    if not is_staff(staff) or not str(user_id).isdigit():
        raise Http404("No such person for you.")
    serving = RoleAssignment.objects.active().filter(
        scope_q(staff, "area__", STAFF_ROLES), user_id=user_id, role__in=PATROL_ROLES | STAFF_ROLES
    )
    person = get_user_model().objects.filter(pk=user_id, is_active=True).first() if serving.exists() else None
    if person is None:
        raise Http404("No such person for you.")
    return person


def serving_under(area: Area, limit: int = 200):
    """The people serving (members, leaders) in an area's subtree, one row per role held."""
    rows = RoleAssignment.objects.active().filter(subtree_q(area.path, "area__"), role__in=PATROL_ROLES)
    return rows.select_related("user", "area").order_by("area__path", "user_id")[:limit]


def log_of(staff, person):
    """The person's entries written for areas the staff member sees."""
    return WorkLogEntry.objects.filter(scope_q(staff, "area__", STAFF_ROLES), user=person).select_related("area")


def microgrids_under(area: Area):
    return Area.objects.filter(subtree_q(area.path), kind=AreaKind.MICROGRID, is_active=True).order_by("path")
