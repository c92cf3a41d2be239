"""Roles held in an area, and identity tags of the people who serve."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fengchao.areas.levels import AreaKind


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District grid-centre administrator")
    STREET_STAFF = "street_staff", _("Street staff")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    GRID_LEADER = "grid_leader", _("Grid leader")
    MICROGRID_LEADER = "microgrid_leader", _("Micro-grid leader")
    MICROGRID_MEMBER = "microgrid_member", _("Micro-grid member")
    DEDICATED_LEADER = "dedicated_leader", _("Dedicated-grid leader")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    MERCHANT = "merchant", _("Merchant")
    RESIDENT = "resident", _("Resident")
    AUDITOR = "auditor", _("Personal-data auditor")


# Where each role may be held.
ROLE_AREA_KINDS = {
    Role.DISTRICT_ADMIN: {AreaKind.DISTRICT},
    Role.STREET_STAFF: {AreaKind.STREET},
    Role.COMMUNITY_STAFF: {AreaKind.COMMUNITY},
    Role.GRID_LEADER: {AreaKind.GRID},
    Role.MICROGRID_LEADER: {AreaKind.MICROGRID},
    Role.MICROGRID_MEMBER: {AreaKind.MICROGRID},
    Role.DEDICATED_LEADER: {AreaKind.DEDICATED},
    Role.DEPARTMENT_HANDLER: {AreaKind.DISTRICT, AreaKind.STREET},
    Role.MERCHANT: {AreaKind.STREET, AreaKind.COMMUNITY},
    Role.RESIDENT: {AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.MICROGRID},
    Role.AUDITOR: {AreaKind.DISTRICT, AreaKind.STREET},
}

# Roles that open the subtree of their area to the holder. Merchants and residents serve
# nobody's registry: they see their own things (orders, reports), never an area's people.
SCOPING_ROLES = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.GRID_LEADER,
        Role.MICROGRID_LEADER,
        Role.MICROGRID_MEMBER,
        Role.DEDICATED_LEADER,
        Role.DEPARTMENT_HANDLER,
    }
)

# Roles that open the registry (residents, households, buildings, places, organisations) of their
# subtree. Department handlers take cases, they do not browse the people of an area.
REGISTRY_ROLES = SCOPING_ROLES - {Role.DEPARTMENT_HANDLER}

# Roles that may see ID numbers and phones in full (each time with a reason, which is logged).
# Micro-grid members and leaders are mostly volunteers: they see masked values only.
FULL_VIEW_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_LEADER})

# Roles that read the personal-data access log of their subtree. Auditors see nothing else.
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.DISTRICT_ADMIN})

# Roles that may edit the areas below the one they hold (and its duty list).
MANAGING_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})

# Roles shown on the public 亮身份 page of a micro-grid, in this order.
PUBLIC_SERVING_ROLES = [
    Role.MICROGRID_LEADER,
    Role.MICROGRID_MEMBER,
    Role.GRID_LEADER,
    Role.DEDICATED_LEADER,
]


class IdentityTag(models.TextChoices):
    PARTY_MEMBER = "party_member", _("Party member")
    BUILDING_HEAD = "building_head", _("Building head")
    PARTY_HOUSEHOLD = "party_household", _("Party-member household")
    VETERAN = "veteran", _("Veteran")
    OWNERS_COMMITTEE = "owners_committee", _("Owners' committee member")
    FAMILY_DOCTOR = "family_doctor", _("Family doctor")
    FIVE_ELDERS = "five_elders", _("Five-elders")
    PROPERTY_STAFF = "property_staff", _("Property staff")
    MOBILE_MEMBER = "mobile_member", _("Mobile member (courier/rider)")
    COMMUNITY_POLICE = "community_police", _("Community police")
    VOLUNTEER = "volunteer", _("Volunteer")
