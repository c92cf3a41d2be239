"""Who reads the report-in status and records a unit's report, and the limits of a note."""

from fengchao.accounts.roles import Role
from fengchao.registry.choices import OrganisationKind

# Community, street and district staff read the status of the communities in their subtrees and record units.
STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})
# The registry organisations that report in: stationed units (驻区单位).
UNIT_KINDS = frozenset({OrganisationKind.STATIONED_UNIT})

NOTE_MAX = 500
