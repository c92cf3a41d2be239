from django.utils.translation import gettext_lazy as _

from fengchao.areas.scope import scope_paths

from .queries import is_manager


def menu_for(user) -> list[dict]:
    """Navigation entries for this user's roles, as (label, url name) dicts."""
    items = [{"label": _("Home"), "url": "home"}]
    if scope_paths(user):
        items.append({"label": _("Areas"), "url": "areas:browse"})
        items.append({"label": _("Locate"), "url": "areas:locate"})
    if is_manager(user):
        items.append({"label": _("Department layers"), "url": "departments:layers"})
        items.append({"label": _("Boundary check"), "url": "areas:boundary_check"})
    if user.is_staff:
        items.append({"label": _("Administration"), "url": "admin:index"})
    return items
