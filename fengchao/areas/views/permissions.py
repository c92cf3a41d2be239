"""Who may manage which areas. Managers are found among the holders of MANAGING_ROLES."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import MANAGING_ROLES, Role

from ..levels import AreaKind
from ..models import Area


def managing_holds(user) -> list[tuple[str, str]]:
    """(role, area path) of the user's active managing roles, memoised on the user object."""
    cached = getattr(user, "_managing_holds", None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.active().filter(user=user, role__in=MANAGING_ROLES).values_list("role", "area__path")
        )
        user._managing_holds = cached
    return cached


def can_manage_below(user, area: Area) -> bool:
    """Add children to the area, edit its duty lists: a managing role in the area or above it."""
    if user.is_superuser:
        return True
    return any(area.path.startswith(path) for _role, path in managing_holds(user))


def can_edit(user, area: Area) -> bool:
    """Rename, move or redraw the area itself: a managing role above it (district admins: also their district)."""
    if user.is_superuser:
        return True
    for role, path in managing_holds(user):
        if area.path.startswith(path) and (
            area.path != path or (role == Role.DISTRICT_ADMIN and area.kind == AreaKind.DISTRICT)
        ):
            return True
    return False


def is_manager(user) -> bool:
    return user.is_superuser or bool(managing_holds(user))


def visible_area_or_404(user, pk) -> Area:
    return get_object_or_404(Area.objects.visible_to(user), pk=pk)


def managed_area_or_404(user, pk, *, edit: bool) -> Area:
    """The area if the user may manage it; out of scope and not allowed look the same (404)."""
    area = visible_area_or_404(user, pk)
    if not (can_edit(user, area) if edit else can_manage_below(user, area)):
        raise Http404
    return area
