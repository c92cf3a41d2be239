"""The one place that scopes report-in reads.

- A party member (identity tag) holding a role in a community's subtree reports to that community.
- Community, street and district staff read the status of the communities in their subtrees and record the
  reports of those communities' stationed units; anything else answers 404, like what does not exist.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils import timezone

from fengchao.accounts.models import MemberTag, RoleAssignment
from fengchao.accounts.roles import IdentityTag
from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import scope_q
from fengchao.cases.queries import held_roles
from fengchao.registry.models import Organisation

from .choices import STAFF_ROLES, UNIT_KINDS
from .models import ReportIn


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def month_of(when=None) -> dt.date:
    """The first day of the (local) month of `when` (a date or datetime; default: now)."""
    if when is None:
        when = timezone.now()
    if isinstance(when, dt.datetime):
        when = timezone.localdate(when)
    return when.replace(day=1)


def parse_month(text) -> dt.date:
    """'2026-12' (or a full date) → its first day; empty or unreadable → this month."""
    text = str(text or "").strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date().replace(day=1)
        except ValueError:
            continue
    return month_of()


def is_party_member(user) -> bool:
    if not _active(user):
        return False
    memo = user.__dict__.get("_is_party_member")
    if memo is None:
        memo = MemberTag.objects.filter(user=user, tag=IdentityTag.PARTY_MEMBER).exists()
        user.__dict__["_is_party_member"] = memo
    return memo


def my_communities(user):
    """The communities where this party member holds a role (in the community or below it)."""
    if not is_party_member(user):
        return Area.objects.none()
    pks = set()
    for held in held_roles(user):
        parts = held.path.strip("/").split("/")
        if len(parts) >= 3:
            pks.add("/" + "/".join(parts[:3]) + "/")
    if not pks:
        return Area.objects.none()
    return Area.objects.filter(path__in=pks, kind=AreaKind.COMMUNITY, is_active=True).order_by("path")


def is_reporter(user) -> bool:
    """A party member holding a role in some community's subtree (cheap: no area query)."""
    serves = any(len(h.path.strip("/").split("/")) >= 3 for h in held_roles(user))
    return serves and is_party_member(user)


def is_staff(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in STAFF_ROLES for h in held_roles(user)))


def my_reports(user):
    return ReportIn.objects.filter(user=user).select_related("community")


def staff_communities(user):
    if not is_staff(user):
        return Area.objects.none()
    return Area.objects.filter(scope_q(user, "", STAFF_ROLES), kind=AreaKind.COMMUNITY, is_active=True).order_by("path")


def staff_community_or_404(user, pk) -> Area:
    """A community in the staff member's scope; no pk: the first one."""
    communities = staff_communities(user)
    if pk in (None, ""):
        found = communities.first()
    else:
        found = communities.filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404("No such community for you.")
    return found


def unit_or_404(user, pk) -> Organisation:
    """A stationed unit of a community in the staff member's scope."""
    found = None
    if is_staff(user) and str(pk).isdigit():
        community_pks = staff_communities(user).values("pk")
        found = Organisation.objects.filter(
            pk=pk, kind__in=UNIT_KINDS, is_active=True, community_pk__in=community_pks
        ).first()
    if found is None:
        raise Http404("No such unit for you.")
    return found


def party_members_of(community: Area):
    """Active party members holding an active role in the community's subtree."""
    serving = RoleAssignment.objects.active().filter(subtree_q(community.path, "area__")).values("user_id")
    return (
        get_user_model()
        .objects.filter(pk__in=serving, is_active=True, tags__tag=IdentityTag.PARTY_MEMBER)
        .distinct()
        .order_by("display_name", "pk")
    )


def units_of(community: Area):
    return Organisation.objects.filter(community_pk=community.pk, kind__in=UNIT_KINDS, is_active=True).order_by(
        "name", "pk"
    )


def serves_in(user, community: Area) -> bool:
    return party_members_of(community).filter(pk=user.pk).exists()


@dataclass
class Row:
    subject: object  # a user or an organisation
    report: ReportIn | None

    @property
    def reported_at(self):
        return self.report.reported_at if self.report else None


@dataclass
class Status:
    community: Area
    month: dt.date
    people: list[Row] = field(default_factory=list)
    units: list[Row] = field(default_factory=list)

    @property
    def people_reported(self) -> int:
        return sum(1 for r in self.people if r.report)

    @property
    def units_reported(self) -> int:
        return sum(1 for r in self.units if r.report)


def status(community: Area, month: dt.date) -> Status:
    """Who has and has not reported in the month: three queries, whatever the number of people and units."""
    month = month_of(month)
    reports = list(ReportIn.objects.filter(community=community, month=month))
    by_user = {r.user_id: r for r in reports if r.user_id}
    by_unit = {r.organisation_id: r for r in reports if r.organisation_id}
    result = Status(community=community, month=month)
    result.people = [Row(u, by_user.get(u.pk)) for u in party_members_of(community)]
    result.units = [Row(o, by_unit.get(o.pk)) for o in units_of(community)]
    return result
