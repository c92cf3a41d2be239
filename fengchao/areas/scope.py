"""The one place that decides which areas (and so which people and records) a user may see.

A user sees the union of the subtrees of the areas where they hold a serving role.
Every list, detail, export, dashboard and API endpoint filters through `scope_q`.
"""

from django.db.models import Q

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES

from .models import Area, subtree_q


def scope_paths(user, roles: frozenset = SCOPING_ROLES) -> list[str]:
    """The minimal set of area paths whose subtrees the user may see through these roles.

    Memoised on the user object per set of roles: one query per request and purpose.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    memo = user.__dict__.setdefault("_scope_paths_by_roles", {})
    if roles in memo:
        return memo[roles]
    if user.is_superuser:
        paths = ["/"]
    else:
        rows = RoleAssignment.objects.active().filter(user=user, role__in=roles)
        paths = sorted(set(rows.values_list("area__path", flat=True)))
        paths = [p for i, p in enumerate(paths) if not any(p.startswith(q) for q in paths[:i])]
    memo[roles] = paths
    return paths


def scope_q(user, prefix: str = "", roles: frozenset = SCOPING_ROLES) -> Q:
    """A filter for a queryset of Area (prefix '') or of anything with an area FK (prefix 'area__')."""
    paths = scope_paths(user, roles)
    if paths == ["/"]:
        return Q()
    if not paths:
        return Q(pk__in=[])
    condition = Q()
    for path in paths:
        condition |= subtree_q(path, prefix)
    return condition


def path_is_visible(user, path: str, roles: frozenset = SCOPING_ROLES) -> bool:
    return any(p == "/" or path.startswith(p) for p in scope_paths(user, roles))


def can_see_area(user, area) -> bool:
    return path_is_visible(user, area.path)


def scope_roots(user, roles: frozenset = SCOPING_ROLES):
    """The top areas the user may see: their scope's roots, or every district for a superuser."""
    paths = scope_paths(user, roles)
    if paths == ["/"]:
        return Area.objects.filter(parent__isnull=True)
    return Area.objects.filter(path__in=paths)
