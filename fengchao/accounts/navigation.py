from django.utils.translation import gettext_lazy as _

from fengchao.areas.scope import scope_paths

from .access import holds_a_role
from .queries import is_manager


def menu_for(user) -> list[dict]:
    """Navigation entries for this user's roles, as (label, url name) dicts."""
    from fengchao.cases.catalogue import can_manage_catalogue
    from fengchao.cases.views.figures import sees_figures
    from fengchao.cases.views.inbox import actionable_count
    from fengchao.cases.views.member import is_grid_member
    from fengchao.cases.views.staff import can_work_cases
    from fengchao.inspections import queries as inspections
    from fengchao.mall import queries as mall
    from fengchao.notices.services import unread_count
    from fengchao.patrols import queries as patrols
    from fengchao.points.queries import is_points_staff
    from fengchao.points.views import reads as points
    from fengchao.registry import queries as registry
    from fengchao.registry.views.admin_pages import can_configure_care_tags
    from fengchao.reportin import queries as reportin
    from fengchao.visits import queries as visits
    from fengchao.work import queries as work

    items = [{"label": _("Home"), "url": "home"}]
    if holds_a_role(user):
        items.append({"label": _("Today"), "url": "today:today"})
    if can_work_cases(user):
        items.append({"label": _("Cases"), "url": "cases:list", "count": _once(actionable_count, user)})
    if is_grid_member(user):
        items.append({"label": _("On patrol"), "url": "cases_member:home"})
        items.append({"label": _("My tasks"), "url": "work:mine"})
        items.append({"label": _("Patrol"), "url": "patrols:home"})
    if work.is_staff(user):
        items.append({"label": _("Tasks"), "url": "work:tasks"})
        items.append({"label": _("Recurring tasks"), "url": "work:schedules"})
    if inspections.may_use(user):
        items.append({"label": _("Safety inspections"), "url": "inspections:home"})
    if visits.can_use(user):
        items.append({"label": _("Care visits"), "url": "visits:home"})
    if patrols.is_staff(user):
        items.append({"label": _("Patrol coverage"), "url": "patrols:coverage"})
        items.append({"label": _("Coverage map"), "url": "coverage:map"})
    if reportin.is_staff(user):
        items.append({"label": _("Report in"), "url": "reportin:status"})
    elif reportin.is_reporter(user):
        items.append({"label": _("Report in"), "url": "reportin:home"})
    if holds_a_role(user):
        items.append({"label": _("My points"), "url": "points:mine"})
        items.append({"label": _("Activities"), "url": "activities:home"})
    if is_points_staff(user):
        items.append({"label": _("Points"), "url": "points:approvals", "count": _once(points.pending_count, user)})
    if mall.uses_mall(user):
        items.append({"label": _("Points mall"), "url": "mall:home"})
    if mall.is_mall_staff(user):
        items.append({"label": _("Mall admin"), "url": "mall:merchants"})
    if sees_figures(user):
        items.append({"label": _("Figures"), "url": "cases_figures:home"})
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
    if can_manage_catalogue(user):
        items.append({"label": _("Case settings"), "url": "catalogue:categories"})
    if user.is_staff:
        items.append({"label": _("Administration"), "url": "admin:index"})
    # The bell sits apart from the menu (base.html), with the count of unread notifications.
    items.append({"label": _("Notifications"), "url": "notices:list", "count": _once(unread_count, user), "bell": True})
    return items


def _once(count, user):
    """A count the template asks for only when it draws it (partial pages never do), computed once."""

    def value():
        memo = user.__dict__.setdefault("_nav_counts", {})
        if count not in memo:
            memo[count] = count(user)
        return memo[count]

    return value
