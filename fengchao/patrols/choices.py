"""Who patrols, who reads coverage and logs, and the limits of a work log entry."""

from fengchao.accounts.roles import Role
from fengchao.cases.queries import GRID_ROLES, MICROGRID_ROLES

# People on patrol: micro-grid members and leaders, grid leaders, dedicated-grid leaders.
PATROL_ROLES = GRID_ROLES
# People who read coverage and others' work logs, in the subtrees of these roles.
STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_LEADER})
# Roles held in a micro-grid patrol their whole grid (the micro-grids of the parent grid): Held.reach_path.
__all__ = ["MICROGRID_ROLES", "PATROL_ROLES", "STAFF_ROLES", "LOG_TEXT_MAX", "NOTE_MAX"]

LOG_TEXT_MAX = 2000
NOTE_MAX = 500
