"""Roll-up counts per area, computed with one GROUP BY per measure (never a query per child).

Later domains (households, cases) add their measures here, counting on the lineage
columns their hot tables carry.
"""

from collections import defaultdict

from django.db.models import Count

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES

from .levels import LINEAGE_FIELD_OF_LEVEL, AreaKind
from .models import Area, subtree_q


def area_totals(area: Area) -> dict:
    """For one area: how many descendants of each kind, and how many people serve in its subtree."""
    by_kind = dict(
        Area.objects.subtree(area, include_self=False)
        .filter(is_active=True)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    members = (
        RoleAssignment.objects.active()
        .filter(subtree_q(area.path, "area__"), role__in=SCOPING_ROLES)
        .values("user")
        .distinct()
        .count()
    )
    return {"by_kind": {kind: by_kind.get(kind, 0) for kind in AreaKind.values}, "members": members}


def child_rollups(area: Area) -> dict[int, dict]:
    """For each child of `area`: descendants by kind and people serving in the child's subtree.

    A defaultdict: a child with nothing below it and nobody serving reads as zeros.
    """
    child_level = area.level + 1
    result: dict[int, dict] = defaultdict(lambda: {"by_kind": defaultdict(int), "members": 0})
    child_field = LINEAGE_FIELD_OF_LEVEL.get(child_level)
    if child_field is None:  # children are micro-grids: leaves, nothing below them
        rows = (
            RoleAssignment.objects.active()
            .filter(area__parent=area, role__in=SCOPING_ROLES)
            .values("area_id")
            .annotate(n=Count("user", distinct=True))
            .order_by()
        )
        for row in rows:
            result[row["area_id"]]["members"] = row["n"]
        return result
    descendants = (
        Area.objects.filter(subtree_q(area.path), level__gt=child_level, is_active=True)
        .values(child_field, "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in descendants:
        result[row[child_field]]["by_kind"][row["kind"]] += row["n"]
    members = (
        RoleAssignment.objects.active()
        .filter(subtree_q(area.path, "area__"), area__level__gte=child_level, role__in=SCOPING_ROLES)
        .values(f"area__{child_field}")
        .annotate(n=Count("user", distinct=True))
        .order_by()
    )
    for row in members:
        result[row[f"area__{child_field}"]]["members"] = row["n"]
    return result
