from django.utils.translation import gettext_lazy as _

from fengchao.areas.scope import scope_paths

from .models import RoleAssignment
from .roles import MANAGING_ROLES


def managed_role_count(user) -> int:
    if user.is_superuser:
        return 1
    return RoleAssignment.objects.active().filter(user=user, role__in=MANAGING_ROLES).count()


def menu_for(user) -> list[dict]:
    """Navigation entries for this user's roles, as (label, url name) dicts."""
    items = [{"label": _("Home"), "url": "home"}]
    if scope_paths(user):
        items.append({"label": _("Areas"), "url": "areas:browse"})
        items.append({"label": _("Locate"), "url": "areas:locate"})
    if managed_role_count(user):
        items.append({"label": _("Department layers"), "url": "departments:layers"})
        items.append({"label": _("Boundary check"), "url": "areas:boundary_check"})
    if user.is_staff:
        items.append({"label": _("Administration"), "url": "admin:index"})
    return items
