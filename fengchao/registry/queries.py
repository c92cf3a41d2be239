"""The one place that scopes registry reads, and decides who may see personal data unmasked.

Lists, details, exports, search, roll-ups and the API all start from these querysets, so a
record outside the viewer's areas is never found (404), not merely hidden.
"""

from django.db.models import Q
from django.http import Http404

from fengchao.accounts.roles import AUDIT_ROLES, FULL_VIEW_ROLES, REGISTRY_ROLES
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import path_is_visible, scope_paths, scope_q

from .models import AccessLog, Building, Household, Organisation, Place, Resident

# Roles that may add and edit registry records: staff, and the members who keep the ledgers.
EDITING_ROLES = REGISTRY_ROLES


def can_use_registry(user) -> bool:
    return bool(scope_paths(user, REGISTRY_ROLES))


# Scopes rooted at a grid (or dedicated grid) or a micro-grid filter on the row's own lineage column:
# the join on the area path would make SQLite walk a district-wide name index for a 60-household scope.
# Wider scopes keep the path join, which measured faster there (bench group `registry`).
LINEAGE_COLUMN_OF_LEVEL = {4: "grid_pk", 5: "area_id"}


def registry_scope_q(user) -> Q:
    """The registry's scope filter for any model that sits in an area and carries lineage (InArea)."""
    paths = scope_paths(user, REGISTRY_ROLES)
    if paths == ["/"] or not paths:
        return scope_q(user, "area__", REGISTRY_ROLES)
    condition = Q()
    for path in paths:
        pks = path.strip("/").split("/")
        column = LINEAGE_COLUMN_OF_LEVEL.get(len(pks))
        condition |= Q(**{column: int(pks[-1])}) if column else subtree_q(path, "area__")
    return condition


def buildings_visible_to(user):
    return Building.objects.filter(registry_scope_q(user))


def households_visible_to(user):
    return Household.objects.filter(registry_scope_q(user))


def residents_visible_to(user):
    return Resident.objects.filter(registry_scope_q(user))


def places_visible_to(user):
    return Place.objects.filter(registry_scope_q(user))


def organisations_visible_to(user):
    return Organisation.objects.filter(registry_scope_q(user))


def areas_visible_to(user):
    return Area.objects.filter(scope_q(user, "", REGISTRY_ROLES))


def access_log_visible_to(user):
    return AccessLog.objects.filter(scope_q(user, "area__", AUDIT_ROLES))


def can_audit(user) -> bool:
    return bool(scope_paths(user, AUDIT_ROLES))


def can_unmask(user, area: Area) -> bool:
    """May this user see ID numbers and phones in this area in full (with a logged reason)?"""
    return path_is_visible(user, area.path, FULL_VIEW_ROLES)


def can_edit_in(user, area: Area) -> bool:
    return path_is_visible(user, area.path, EDITING_ROLES)


def object_or_404(queryset, pk):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def common_root(user) -> Area | None:
    """The lowest area above all of the user's registry scope: where an unfiltered export is logged."""
    paths = scope_paths(user, REGISTRY_ROLES)
    if not paths:
        return None
    if paths == ["/"]:
        return Area.objects.filter(parent__isnull=True).order_by("pk").first()
    parts = [p.strip("/").split("/") for p in paths]
    shared = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    if not shared:
        return None
    return Area.objects.filter(pk=int(shared[-1])).first()
