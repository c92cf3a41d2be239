from django.utils.translation import gettext_lazy as _

from fengchao.areas.scope import scope_paths

from .queries import is_manager


def menu_for(user) -> list[dict]:
    """Navigation entries for this user's roles, as (label, url name) dicts."""
    from fengchao.registry import queries as registry
    from fengchao.registry.views.admin_pages import can_configure_care_tags

    items = [{"label": _("Home"), "url": "home"}]
    if scope_paths(user):
        items.append({"label": _("Areas"), "url": "areas:browse"})
    if registry.can_use_registry(user):
        items.append({"label": _("Residents"), "url": "registry:residents"})
        items.append({"label": _("Buildings"), "url": "registry:buildings"})
        items.append({"label": _("Places"), "url": "registry:places"})
        items.append({"label": _("Organisations"), "url": "registry:organisations"})
        items.append({"label": _("Excel imports"), "url": "registry_excel:imports"})
    if scope_paths(user):
        items.append({"label": _("Locate"), "url": "areas:locate"})
    if can_configure_care_tags(user):
        items.append({"label": _("Care tags"), "url": "registry:care_tags"})
    if registry.can_audit(user):
        items.append({"label": _("Access log"), "url": "registry:access_log"})
    if is_manager(user):
        items.append({"label": _("Department layers"), "url": "departments:layers"})
        items.append({"label": _("Boundary check"), "url": "areas:boundary_check"})
    if user.is_staff:
        items.append({"label": _("Administration"), "url": "admin:index"})
    return items
