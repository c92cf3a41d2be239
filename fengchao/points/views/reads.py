"""The reads the points pages and the points API share: scopes, history rows, rules in force, the report.

Scopes: the staff pages and endpoints see the areas under the user's staff roles (`queries.STAFF_ROLES`);
the public listing board (公示栏) is open to everyone who serves in the area (any scoping role). A person's
own points, claims and history are always theirs to see. Out of scope answers 404, like no such thing.

Every list here is one query per page whatever its length (rows are annotated, never looked up per row).
"""

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES, Role
from fengchao.areas.levels import LINEAGE_FIELD_OF_LEVEL
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import path_is_visible, scope_paths, scope_q
from fengchao.core.keyset import keyset_page

from .. import evaluation, expiry, ledger, rules, services
from ..choices import Action, Approval, ClaimState, PointsKind, Purpose
from ..models import Account, Claim, Entry, Rule, Transfer
from ..queries import STAFF_ROLES, claims_visible_to, holders_visible_to, is_points_staff

WAITING_STATES = (ClaimState.PENDING, ClaimState.LISTED)
# Claims that go on the volunteer service record (志愿服务记录): granted, and either counted in hours or
# earning participation points (trainings, meetings, party-group activities, volunteering).
RECORD_Q = Q(state=ClaimState.GRANTED) & (
    Q(hours__isnull=False) | Q(kind=PointsKind.PARTICIPATION) | Q(action=Action.VOLUNTEER_HOURS)
)


# ---- scopes --------------------------------------------------------------------------------------------


def staff_area_or_404(user, raw) -> Area:
    area = _area(raw)
    if area is None or not path_is_visible(user, area.path, roles=STAFF_ROLES):
        raise Http404(_("No such area in your areas."))
    return area


def serving_area_or_404(user, raw) -> Area:
    """An area the user serves in (any scoping role, members too): for the public listing board."""
    area = _area(raw)
    if area is None or not path_is_visible(user, area.path, roles=SCOPING_ROLES):
        raise Http404(_("No such area in your areas."))
    return area


def _area(raw) -> Area | None:
    raw = str(raw or "").strip()
    if not raw.isdigit() or len(raw) > 18:
        return None
    return Area.objects.filter(pk=int(raw)).first()


def default_staff_area(user) -> Area | None:
    """The top of the user's staff scope (the first, when they serve several subtrees)."""
    paths = scope_paths(user, STAFF_ROLES)
    if not paths:
        return None
    if paths == ["/"]:
        return Area.objects.filter(parent__isnull=True).order_by("path").first()
    return Area.objects.filter(path=paths[0]).first()


def staff_crumbs(user, area: Area) -> list[dict]:
    """The area and the areas above it; those outside the user's staff scope carry no link."""
    trail = list(Area.objects.filter(pk__in=[*area.ancestor_pks(), area.pk]).only("pk", "name", "path"))
    trail.sort(key=lambda a: len(a.path))
    return [{"area": a, "linked": path_is_visible(user, a.path, roles=STAFF_ROLES)} for a in trail]


def staff_claims(user):
    """Claims made in the areas under the user's staff roles (what they review)."""
    return Claim.objects.filter(scope_q(user, "area__", roles=STAFF_ROLES))


def pending_count(user) -> int:
    """Claims waiting for this user's review (their own are someone else's to review): the count in the nav."""
    if not is_points_staff(user):
        return 0
    return staff_claims(user).filter(state=ClaimState.PENDING).exclude(user=user).count()


def visible_claim_or_404(user, pk) -> Claim:
    claim = claims_visible_to(user).select_related("rule", "area", "user").filter(pk=pk).first()
    if claim is None:
        raise Http404(_("No such claim in your areas."))
    return claim


def holder_or_404(user, pk):
    """A person whose points the user may look at as staff (their own included)."""
    if not is_points_staff(user):
        raise Http404(_("No such person in your areas."))
    person = holders_visible_to(user).filter(pk=pk).first()
    if person is None:
        raise Http404(_("No such person in your areas."))
    return person


def listed_claims(user, area: Area | None):
    """Claims in public listing (公示) where the user serves, or under one area of it."""
    qs = Claim.objects.filter(scope_q(user, "area__", roles=SCOPING_ROLES), state=ClaimState.LISTED)
    if area is not None:
        qs = qs.filter(subtree_q(area.path, "area__"))
    return qs


def serves_somewhere(user) -> bool:
    return bool(scope_paths(user, SCOPING_ROLES))


# ---- keyset pages --------------------------------------------------------------------------------------
# `keyset_page` is `fengchao.core.keyset`'s (the registry's lists use it too); the points views and API
# call it as `reads.keyset_page`.


def at_key(row):
    return (row.at.isoformat(), row.pk)


# ---- balances and history ------------------------------------------------------------------------------


def balances(user_id: int, now=None) -> list[dict]:
    """Both kinds of points side by side: available, frozen, and what expires soon (with the first date)."""
    now = now or timezone.now()
    found = ledger.balances(user_id)
    soon = {kind: (amount, first) for _uid, kind, amount, first in expiry.soon(now, user_id)}
    rows = []
    for kind, label in PointsKind.choices:
        expiring, first = soon.get(kind, (0, None))
        rows.append(
            {
                "kind": kind,
                "label": label,
                "available": found[kind][Purpose.AVAILABLE],
                "frozen": found[kind][Purpose.FROZEN],
                "expiring": expiring,
                "expires_at": first,
            }
        )
    return rows


def _change(purpose: str):
    """The signed amount a transfer moved on its person's account of this purpose (0 if it did not touch it)."""
    amount = Entry.objects.filter(
        transfer=OuterRef("pk"), account__user_id=OuterRef("user_id"), account__purpose=purpose
    ).values("amount")[:1]
    return Coalesce(Subquery(amount, output_field=IntegerField()), Value(0))


def history(user_id: int, kind: str | None = None):
    """A person's transfers with what each did to their available and frozen points, newest first."""
    qs = Transfer.objects.filter(user_id=user_id)
    if kind:
        qs = qs.filter(points_kind=kind)
    return qs.select_related("approved_by", "actor", "area", "rule__area", "merchant", "claim").annotate(
        available_change=_change(Purpose.AVAILABLE), frozen_change=_change(Purpose.FROZEN)
    )


def history_page(user_id: int, cursor, size, *, kind=None, strict=False):
    return keyset_page(history(user_id, kind), ["-at", "-pk"], at_key, cursor, size, strict=strict)


def source_url(source_type: str, source_id: str) -> str | None:
    """Where a claim's or transfer's source opens (a case opens on its case page, which checks who may see it)."""
    if source_type == "cases.case" and str(source_id).isdigit():
        return reverse("cases:detail", args=[int(source_id)])
    return None


def describe(transfer) -> dict:
    """What a history row shows: the signed change and where the points came from or went."""
    available = transfer.available_change
    frozen = transfer.frozen_change
    return {
        "transfer": transfer,
        "change": available if available else frozen,
        "amount": abs(available if available else frozen) or transfer.points,
        "from_frozen": not available and bool(frozen),
        "available_change": available,
        "frozen_change": frozen,
        "source_url": source_url(transfer.source_type, transfer.source_id),
    }


def waiting_claims(user_id: int, limit: int = 50):
    """A person's claims waiting for review or in public listing, oldest first."""
    qs = Claim.objects.filter(user_id=user_id, state__in=WAITING_STATES).select_related("area")
    return list(qs.order_by("earned_at", "pk")[:limit])


# ---- rules ---------------------------------------------------------------------------------------------


def rules_in_force(area: Area) -> list[dict]:
    """Per action: the area's own rule (if any) and the rule in force there (its own or the nearest above)."""
    lineage = rules.ancestors_and_self(area)
    found = list(Rule.objects.filter(area_id__in=lineage).select_related("area"))
    depth = {pk: i for i, pk in enumerate(lineage)}
    rows = []
    for action, label in Action.choices:
        mine = [r for r in found if r.action == action]
        own = next((r for r in mine if r.area_id == area.pk), None)
        active = sorted((r for r in mine if r.is_active), key=lambda r: depth[r.area_id], reverse=True)
        in_force = active[0] if active else None
        rows.append(
            {
                "action": action,
                "label": label,
                "own": own,
                "in_force": in_force,
                "inherited": in_force is not None and in_force.area_id != area.pk,
            }
        )
    return rows


def rules_below(area: Area, limit: int = 200) -> list[Rule]:
    """Rules set in the areas under this one (a community's own prices under a street's)."""
    qs = Rule.objects.filter(subtree_q(area.path, "area__")).exclude(area=area).select_related("area")
    return list(qs.order_by("area__path", "action")[:limit])


def rule_visible(user, rule: Rule) -> bool:
    """Staff see the rules of their subtree and the rules above it (which are in force in it)."""
    return any(
        p == "/" or rule.area.path.startswith(p) or p.startswith(rule.area.path) for p in scope_paths(user, STAFF_ROLES)
    )


def rule_or_404(user, pk) -> Rule:
    rule = Rule.objects.select_related("area").filter(pk=pk).first()
    if rule is None or not rule_visible(user, rule):
        raise Http404(_("No such rule in your areas."))
    return rule


RULE_FIELD_LABELS = {
    "action": gettext_lazy("Action"),
    "kind": gettext_lazy("Kind of points"),
    "points": gettext_lazy("Points"),
    "points_per_hour": gettext_lazy("Points per hour"),
    "max_hours": gettext_lazy("Most hours per activity"),
    "daily_cap": gettext_lazy("Daily cap"),
    "monthly_cap": gettext_lazy("Monthly cap"),
    "approval": gettext_lazy("Approval"),
    "listing_days": gettext_lazy("Days of public listing"),
    "is_active": gettext_lazy("Active"),
}


def shown_value(name: str, value) -> str:
    if value is None or value == "":
        return "—"
    if name == "kind":
        return str(PointsKind(value).label) if value in PointsKind.values else str(value)
    if name == "approval":
        return str(Approval(value).label) if value in Approval.values else str(value)
    if name == "action":
        return str(Action(value).label) if value in Action.values else str(value)
    if name == "is_active":
        return _("yes") if value else _("no")
    if name == "max_hours":
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def rule_history(rule: Rule) -> list[dict]:
    """Every version, newest first: who changed it, when, and each setting before and after."""
    revisions = list(rule.revisions.select_related("changed_by").order_by("version"))
    entries, before = [], None
    for revision in revisions:
        values = revision.values or {}
        changes = []
        if before is not None:
            for name, label in RULE_FIELD_LABELS.items():
                if before.get(name) != values.get(name):
                    changes.append(
                        {
                            "label": label,
                            "before": shown_value(name, before.get(name)),
                            "after": shown_value(name, values.get(name)),
                        }
                    )
        entries.append(
            {
                "version": revision.version,
                "by": revision.changed_by,
                "at": revision.changed_at,
                "created": before is None,
                "changes": changes,
                "values": [(label, shown_value(name, values.get(name))) for name, label in RULE_FIELD_LABELS.items()],
            }
        )
        before = values
    entries.reverse()
    return entries


def can_edit_rules(user, area: Area) -> bool:
    return services.can_edit_rules(user, area)


# ---- the report ----------------------------------------------------------------------------------------


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    return dt.datetime(year, 1, 1, tzinfo=zone), dt.datetime(year + 1, 1, 1, tzinfo=zone)


def report(area: Area, year: int, top: int = 10) -> dict:
    """Points earned per month and kind, top earners, claims by state, and the areas within: for one year."""
    start, end = year_bounds(year)
    earned = evaluation.earned_entries(area, start, end)
    months = {m: {k: 0 for k in PointsKind.values} for m in range(1, 13)}
    counts = {m: 0 for m in range(1, 13)}
    per_month = (
        earned.annotate(month=TruncMonth("transfer__at"))
        .values_list("month", "account__kind")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .order_by()
    )
    for month, kind, total, n in per_month:
        month_number = timezone.localtime(month).month if timezone.is_aware(month) else month.month
        months[month_number][kind] += total or 0
        counts[month_number] += n
    month_rows = [
        {
            "month": m,
            "first": dt.date(year, m, 1),
            "by_kind": [months[m][k] for k in PointsKind.values],
            "total": sum(months[m].values()),
            "grants": counts[m],
        }
        for m in range(1, 13)
    ]
    totals = [sum(row["by_kind"][i] for row in month_rows) for i in range(len(PointsKind.values))]
    task, participation = PointsKind.TASK, PointsKind.PARTICIPATION
    earners = (
        earned.values(
            user_id=F("account__user_id"),
            user__display_name=F("account__user__display_name"),
            user__username=F("account__user__username"),
        )
        .annotate(
            task=Coalesce(Sum("amount", filter=Q(account__kind=task)), 0),
            participation=Coalesce(Sum("amount", filter=Q(account__kind=participation)), 0),
            total=Sum("amount"),
        )
        .order_by("-total", "user_id")[:top]
    )
    claims = Claim.objects.filter(subtree_q(area.path, "area__"), earned_at__gte=start, earned_at__lt=end)
    by_state = {state: {"n": 0, "points": 0} for state in ClaimState.values}
    for state, n, points in claims.values_list("state").annotate(n=Count("pk"), points=Sum("points")).order_by():
        by_state[state] = {"n": n, "points": points or 0}
    state_rows = [{"state": state, "label": label, **by_state[state]} for state, label in ClaimState.choices]
    return {
        "year": year,
        "kinds": PointsKind.choices,
        "months": month_rows,
        "totals": totals,
        "kind_totals": [
            {"kind": kind, "label": label, "total": totals[i]} for i, (kind, label) in enumerate(PointsKind.choices)
        ],
        "total": sum(totals),
        "peak": max((row["total"] for row in month_rows), default=0),
        "earners": list(earners),
        "states": state_rows,
        "within": _within(area, earned),
    }


def _within(area: Area, earned) -> list[dict]:
    """Points earned per area one level down (streets of a district, communities of a street, …)."""
    child_level = area.level + 1
    column = LINEAGE_FIELD_OF_LEVEL.get(child_level)
    key = f"transfer__area__{column}" if column else "transfer__area_id"
    rows = earned.values_list(key, "account__kind").annotate(total=Sum("amount")).order_by() if child_level <= 5 else []
    sums: dict[int, dict[str, int]] = {}
    for pk, kind, total in rows:
        if pk is None or pk == area.pk:
            continue
        sums.setdefault(pk, {k: 0 for k in PointsKind.values})[kind] += total or 0
    children = Area.objects.filter(parent=area).order_by("path").only("pk", "name", "code", "kind")
    return [
        {
            "area": child,
            "by_kind": [sums.get(child.pk, {}).get(k, 0) for k in PointsKind.values],
            "total": sum(sums.get(child.pk, {}).values()),
        }
        for child in children
    ]


# ---- the volunteer service record ----------------------------------------------------------------------


def record_claims(person_id: int, date_from: dt.date | None, date_to: dt.date | None, limit: int):
    qs = Claim.objects.filter(RECORD_Q, user_id=person_id).select_related("area")
    zone = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(earned_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=zone))
    if date_to:
        qs = qs.filter(earned_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone))
    rows = list(qs.order_by("earned_at", "pk")[: limit + 1])
    return rows[:limit], len(rows) > limit


def serving_roles(person) -> list:
    """The person's active roles where they serve (not resident or merchant accounts), with their areas."""
    rows = RoleAssignment.objects.active().filter(user=person, role__in=SCOPING_ROLES).select_related("area")
    return list(rows.order_by("area__path", "role"))


def issuing_area(roles) -> Area | None:
    """Who issues a person's record: the community (or the street, the district) of their first serving area."""
    if not roles:
        return None
    area = roles[0].area
    if area.level <= 3:
        return area
    return Area.objects.filter(pk=area.community_pk).first() or area


def role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


def person_accounts(user_ids) -> dict[int, dict[str, int]]:
    """{user pk: {kind: available}} for a page of people, in one query."""
    found: dict[int, dict[str, int]] = {pk: {k: 0 for k in PointsKind.values} for pk in user_ids}
    rows = Account.objects.filter(user_id__in=list(user_ids), purpose=Purpose.AVAILABLE)
    for user_id, kind, amount in rows.values_list("user_id", "kind", "balance"):
        found[user_id][kind] = amount
    return found
