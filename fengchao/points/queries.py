"""The one place that scopes points reads, and decides who may act on points where.

- A person sees their own accounts, claims and history.
- Staff (district, street, community staff and grid leaders) see the claims and transfers that happened
  in their areas' subtrees, and the points of the people who serve there.
"""

from django.db.models import Q

from fengchao.accounts.access import holds_role_over
from fengchao.accounts.queries import people_visible_to
from fengchao.accounts.roles import Role
from fengchao.areas.scope import scope_q

from .models import Claim, Transfer

STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_LEADER})
# Earning rules are set by the community or above.
RULE_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})


holds_any = holds_role_over  # one of `roles` in `area` or above it


def is_points_staff(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    from fengchao.cases.queries import held_roles

    return user.is_superuser or any(h.role in STAFF_ROLES for h in held_roles(user))


def _staff_or_own(user) -> Q:
    scope = scope_q(user, "area__", roles=STAFF_ROLES)
    # A superuser's scope is the empty Q (everything); `Q() | Q(user=…)` would narrow it to their own rows.
    return scope if not scope else scope | Q(user=user)


def claims_visible_to(user):
    """Claims made in the areas the user serves as staff, plus the user's own."""
    return Claim.objects.filter(_staff_or_own(user))


def transfers_visible_to(user):
    return Transfer.objects.filter(_staff_or_own(user))


def holders_visible_to(user):
    """People whose points the user may look at: those serving in the user's staff scope, and the user."""
    from fengchao.accounts.models import User

    if not is_points_staff(user):
        return User.objects.filter(pk=user.pk)
    return people_visible_to(user) | User.objects.filter(pk=user.pk)
