"""What the staff case pages share: who may open them, and the pickers of areas, categories and people."""

from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.areas.models import Area
from fengchao.departments.models import Department

from .. import queries
from ..choices import Tier
from ..models import Category

# Roles that work cases on the staff pages; residents follow their reports on the tracking page instead.
WORKING_ROLES = queries.CASE_ROLES | {Role.DEPARTMENT_HANDLER}
FILTER_AREA_MAX_LEVEL = 4  # down to grids in the list's area filter; micro-grids are found by search
FILTER_AREA_OPTIONS = 300


def can_work_cases(user) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or any(h.role in WORKING_ROLES for h in queries.held_roles(user))


def can_enter_cases(user) -> bool:
    """Hotline, walk-in and 12345 entry: the staff roles `services.submit_case` accepts for those channels."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or any(h.role in queries.STAFF_ROLES for h in queries.held_roles(user))


def staff_view(view):
    """Logged in and working cases somewhere; to everyone else these pages do not exist (404)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_work_cases(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_messages(error: ValidationError) -> dict[str, list[str]]:
    """A service refusal as {field: [messages]}; refusals without a field go under '__all__'."""
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {"__all__": list(error.messages)}


# ---- pickers ---------------------------------------------------------------------------------------------


def area_filter_options(user, current: Area | None) -> list[tuple[str, str]]:
    areas = list(
        Area.objects.visible_to(user)
        .filter(is_active=True, level__lte=FILTER_AREA_MAX_LEVEL)
        .order_by("path")
        .only("pk", "name", "level")[:FILTER_AREA_OPTIONS]
    )
    top = min((a.level for a in areas), default=0)
    options = [(str(a.pk), "\u3000" * (a.level - top) + a.name) for a in areas]
    if current is not None and all(a.pk != current.pk for a in areas):
        options.insert(0, (str(current.pk), current.name))
    return [("", _("All my areas")), *options]


def category_filter_options() -> list[tuple[str, str]]:
    """Every category, indented under its parent; filtering by a parent takes in the ones under it."""
    rows = list(Category.objects.filter(is_active=True).order_by("code").values_list("pk", "code", "name", "parent_id"))
    parent_of = {pk: parent for pk, _code, _name, parent in rows}

    def depth(pk):
        steps = 0
        while parent_of.get(pk) is not None and steps < 5:
            pk, steps = parent_of[pk], steps + 1
        return steps

    return [("", _("Any category"))] + [(code, "\u3000" * depth(pk) + name) for pk, code, name, _parent in rows]


def leaf_category_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active leaf categories grouped under their parent's name, for the intake form's picker."""
    categories = list(Category.objects.filter(is_active=True).select_related("parent").order_by("code"))
    parents = {c.parent_id for c in categories if c.parent_id}
    groups: dict[str, list] = {}
    for category in categories:
        if category.pk in parents:
            continue
        label = category.parent.name if category.parent_id else _("Other")
        groups.setdefault(label, []).append((category.code, category.name))
    return list(groups.items())


def departments_over(case):
    """Active departments working over the case's area: those of its district or of its street."""
    return Department.objects.filter(is_active=True, area_id__in=[*case.area.ancestor_pks(), case.area_id]).order_by(
        "code"
    )


def department_or_none(case, raw, field="department"):
    raw = str(raw or "").strip()
    if not raw:
        return None
    department = departments_over(case).filter(pk=int(raw)).first() if raw.isdigit() else None
    if department is None:
        raise ValidationError({field: _("Choose a department from the list.")})
    return department


def assignee_candidates(case, departments) -> list[dict]:
    """Who a dispatcher may send the case to by name, per tier (and per department), from one query.

    The same people `services.dispatch` accepts: holders of a tier's handler roles in the case's area or
    above it, and the handlers of each department.
    """
    area_pks = [*case.area.ancestor_pks(), case.area_id]
    tier_of_role = {}
    for tier in (Tier.GRID, Tier.COMMUNITY, Tier.STREET):
        for role in queries.HANDLER_ROLES[tier]:
            tier_of_role.setdefault(role, []).append(tier)
    department_pks = [d.pk for d in departments]
    rows = (
        RoleAssignment.objects.active()
        .filter(area_id__in=area_pks, role__in=list(tier_of_role))
        .select_related("user")
        .order_by("role", "user__display_name", "user_id")
    )
    handlers = (
        RoleAssignment.objects.active()
        .filter(role=Role.DEPARTMENT_HANDLER, department_id__in=department_pks)
        .select_related("user")
        .order_by("department_id", "user__display_name", "user_id")
    )
    seen, candidates = set(), []
    for row in [*rows, *handlers]:
        tiers = tier_of_role.get(row.role, [Tier.DEPARTMENT])
        for tier in tiers:
            key = (tier, row.department_id if tier == Tier.DEPARTMENT else None, row.user_id)
            if key in seen or not row.user.is_active:
                continue
            seen.add(key)
            candidates.append(
                {
                    "tier": tier,
                    "department_id": key[1],
                    "user_id": row.user_id,
                    "label": f"{row.user.display_name or row.user.username} · {Role(row.role).label}",
                }
            )
    return candidates


def assignee_or_none(case, tier, department, raw):
    """The person picked in the dispatch form, if they are among the candidates for that tier (or department)."""
    raw = str(raw or "").strip()
    if not raw:
        return None
    allowed = {
        c["user_id"]
        for c in assignee_candidates(case, [department] if department is not None else [])
        if c["tier"] == tier and (tier != Tier.DEPARTMENT or department is not None)
    }
    if not raw.isdigit() or int(raw) not in allowed:
        raise ValidationError({"assignee": _("Choose a person who handles cases there.")})
    return get_user_model().objects.get(pk=int(raw))
