"""Who may manage which areas. Managers are found among the holders of MANAGING_ROLES."""

__all__ = ["can_edit", "can_manage_below", "is_manager", "managed_area_or_404", "visible_area_or_404"]

from django.http import Http404
from django.shortcuts import get_object_or_404

from fengchao.accounts.queries import is_manager, managing_holds
from fengchao.accounts.roles import Role

from ..levels import AreaKind
from ..models import Area


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


def visible_area_or_404(user, pk) -> Area:
    return get_object_or_404(Area.objects.visible_to(user), pk=pk)


def managed_area_or_404(user, pk, *, edit: bool) -> Area:
    """The area if the user may manage it; out of scope and not allowed look the same (404)."""
    area = visible_area_or_404(user, pk)
    if not (can_edit(user, area) if edit else can_manage_below(user, area)):
        raise Http404
    return area
