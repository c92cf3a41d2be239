"""Reads of people who serve, always scoped through fengchao.areas.scope."""

from django.db.models import Prefetch

from fengchao.areas.models import subtree_q
from fengchao.areas.scope import scope_q

from .models import MemberTag, RoleAssignment, User
from .roles import MANAGING_ROLES, SCOPING_ROLES


def members_of(area, *, include_subtree: bool = False):
    """Active serving role assignments in an area (or its subtree), people and tags loaded in bulk."""
    qs = RoleAssignment.objects.active().filter(role__in=SCOPING_ROLES)
    qs = qs.filter(subtree_q(area.path, "area__")) if include_subtree else qs.filter(area=area)
    return (
        qs.select_related("user", "area", "department")
        .prefetch_related(Prefetch("user__tags", queryset=MemberTag.objects.order_by("tag")))
        .order_by("area__path", "role", "user__display_name", "pk")
    )


def people_visible_to(viewer):
    """Users who hold a role (any role, active) in an area the viewer may see."""
    holders = RoleAssignment.objects.active().filter(scope_q(viewer, "area__")).values("user_id")
    return User.objects.filter(pk__in=holders)


def managing_holds(user) -> list[tuple[str, str]]:
    """(role, area path) of the user's active managing roles, memoised on the user object."""
    cached = getattr(user, "_managing_holds", None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.active().filter(user=user, role__in=MANAGING_ROLES).values_list("role", "area__path")
        )
        user._managing_holds = cached
    return cached


def is_manager(user) -> bool:
    """Holds a managing role anywhere (or is a superuser): may edit areas and import layers in scope."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or bool(managing_holds(user))
