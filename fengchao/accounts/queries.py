"""Reads of people who serve, always scoped through fengchao.areas.scope."""

from django.db.models import Prefetch

from fengchao.areas.models import subtree_q
from fengchao.areas.scope import scope_q

from .models import MemberTag, RoleAssignment, User
from .roles import SCOPING_ROLES


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
