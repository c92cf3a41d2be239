"""The one place that scopes activity reads and decides who organises them.

- People who hold a role see the activities of their areas and of the areas above them (a community's
  training is posted to everyone serving in the community, a street's joint meeting to the street).
- Organisers (district, street and community staff, grid leaders) also see every activity in their subtree.
"""

from django.db.models import Q
from django.http import Http404

from fengchao.accounts.access import holds_role_over
from fengchao.accounts.roles import Role
from fengchao.areas.scope import scope_q
from fengchao.cases.queries import held_roles

from .models import Activity, Signup

ORGANISER_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_LEADER})


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def areas_above_and_own(user) -> set[int]:
    """The areas of the user's roles and every area above them."""
    return {int(pk) for h in held_roles(user) for pk in h.path.strip("/").split("/") if pk}


def activities_visible_to(user):
    if not _active(user):
        return Activity.objects.none()
    if user.is_superuser:
        return Activity.objects.all()
    return Activity.objects.filter(Q(area_id__in=areas_above_and_own(user)) | scope_q(user, "area__", ORGANISER_ROLES))


def activity_or_404(user, pk) -> Activity:
    found = activities_visible_to(user).select_related("area", "organiser").filter(pk=pk).first()
    if found is None:
        raise Http404("No such activity.")
    return found


def my_signups(user):
    return Signup.objects.filter(user=user).select_related("activity", "activity__area")


def can_organise(user, area) -> bool:
    return holds_role_over(user, ORGANISER_ROLES, area)


def organises(user, activity: Activity) -> bool:
    return _active(user) and (activity.organiser_id == user.pk or can_organise(user, activity.area))
