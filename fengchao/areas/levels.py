"""The levels of the grid hierarchy (网格体系) and which kind may sit under which."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaKind(models.TextChoices):
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community grid")
    GRID = "grid", _("Grid")
    DEDICATED = "dedicated", _("Dedicated grid")
    MICROGRID = "microgrid", _("Micro-grid")


class DedicatedKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    MALL = "mall", _("Shopping mall")
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital")
    OFFICE_TOWER = "office_tower", _("Office tower")
    PARK = "park", _("Industrial park")
    OTHER = "other", _("Other")


# Depth in the tree: a parent is always exactly one level up.
LEVEL_OF_KIND = {
    AreaKind.DISTRICT: 1,
    AreaKind.STREET: 2,
    AreaKind.COMMUNITY: 3,
    AreaKind.GRID: 4,
    AreaKind.DEDICATED: 4,
    AreaKind.MICROGRID: 5,
}

PARENT_KINDS = {
    AreaKind.DISTRICT: frozenset(),
    AreaKind.STREET: frozenset({AreaKind.DISTRICT}),
    AreaKind.COMMUNITY: frozenset({AreaKind.STREET}),
    AreaKind.GRID: frozenset({AreaKind.COMMUNITY}),
    AreaKind.DEDICATED: frozenset({AreaKind.COMMUNITY}),
    AreaKind.MICROGRID: frozenset({AreaKind.GRID, AreaKind.DEDICATED}),
}

CHILD_KINDS = {kind: [child for child, parents in PARENT_KINDS.items() if kind in parents] for kind in AreaKind}

# The lineage columns an area carries: the pk of its ancestor (or itself) at each level.
LINEAGE_FIELD_OF_LEVEL = {1: "district_pk", 2: "street_pk", 3: "community_pk", 4: "grid_pk"}
