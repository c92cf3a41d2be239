"""Points endpoints (双积分): your balances, history and claims; earning rules; reviewing claims; adjustments;
a person's points; the public listing board; an area's report.

Reads come from `fengchao.points.views.reads` (the same scoped reads as the pages); every change goes through
`fengchao.points.services`, which checks who may act, compares-and-sets the version and writes the audit event.

Scopes: staff endpoints (rules, claims, adjustments, people, report) answer for the areas under the caller's
district, street, community staff or grid leader roles; the listing board for every area the caller serves in.
Answers: 404 a claim, rule, person or area out of your areas (exactly like one that does not exist); 403 what
your role does not allow where you can see it (and your own claims and points: someone else decides them);
409 a claim or rule that changed since you loaded it (`version`); 422 a refusal naming the field.
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from fengchao.areas.models import subtree_q
from fengchao.points import services
from fengchao.points.choices import Action, Approval, ClaimState, PointsKind, TransferKind
from fengchao.points.models import Claim, Rule
from fengchao.points.queries import is_points_staff
from fengchao.points.views import reads
from fengchao.points.views.people import adjust_areas
from fengchao.points.views.report import FIRST_YEAR

from .cases import body_doc, field_error, read_body
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .registry import refusals as _refusals
from .registry_schemas import MAX_ID, SHORT, Input
from .schemas import AreaRef

router = Router(tags=["points"])


def refusals(view):
    """The services' refusals as answers, with the points bodies' own field names."""
    return _refusals(view, body_fields={})


Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
AreaParam = Query(None, ge=1, le=MAX_ID, description="area id: that area and every area below it")
Kind = Literal[tuple(PointsKind.values)]  # type: ignore[valid-type]
ActionCode = Literal[tuple(Action.values)]  # type: ignore[valid-type]
StateCode = Literal[tuple(ClaimState.values)]  # type: ignore[valid-type]
ApprovalCode = Literal[tuple(Approval.values)]  # type: ignore[valid-type]
LABELS = {
    "kind": dict(PointsKind.choices),
    "action": dict(Action.choices),
    "state": dict(ClaimState.choices),
    "movement": dict(TransferKind.choices),
    "approval": dict(Approval.choices),
}


KindParam = Query(None, description="task or participation; by default both")
MyStateParam = Query(None, description="one state; by default pending and listed")
StateParam = Query(ClaimState.PENDING, description="pending (default), listed, granted, rejected, capped")
ActionParam = Query(None, description="one action")


def _pk(description: str):
    return Path(..., ge=1, le=MAX_ID, description=description)


# ---- shapes ------------------------------------------------------------------------------------------------


class Coded(Schema):
    code: str
    label: str


class PersonRef(Schema):
    id: int
    name: str


class SourceOut(Schema):
    type: str = Field(description="app_label.model of what earned the points, e.g. cases.case")
    id: str
    label: str
    url: str | None = Field(None, description="the page of the source, when it has one")


class BalanceOut(Schema):
    kind: Coded
    available: int
    frozen: int = Field(description="held by mall orders until verified or expired")
    expiring: int = Field(description="points that expire within the warning period")
    expires_at: datetime | None = Field(description="when the first of them expire")


class BalancesOut(Schema):
    user: PersonRef
    balances: list[BalanceOut]


class TransferOut(Schema):
    id: int
    at: datetime
    movement: Coded = Field(description="grant, adjust, freeze, spend, release, refund or expire")
    kind: Coded = Field(description="task or participation points")
    points: int
    available_change: int = Field(description="signed change of the person's available points")
    frozen_change: int = Field(description="signed change of the person's frozen points")
    source: SourceOut | None
    area: AreaRef | None
    rule_id: int | None
    rule_version: int | None
    claim_id: int | None
    approved_by: PersonRef | None
    actor: PersonRef | None
    reason: str
    expires_at: datetime | None


class HistoryPage(Schema):
    items: list[TransferOut]
    next_cursor: str | None


class ClaimOut(Schema):
    id: int
    user: PersonRef
    action: Coded
    source: SourceOut
    area: AreaRef
    kind: Coded
    points: int
    hours: Decimal | None
    note: str = Field(description="why fewer points than the rule gives (a cap)")
    state: Coded
    earned_at: datetime
    listed_until: datetime | None
    reviewed_by: PersonRef | None
    reviewed_at: datetime | None
    reason: str = Field(description="of a rejection")
    rule_id: int | None
    rule_version: int | None
    version: int = Field(description="send it back with approve or reject")


class ClaimPage(Schema):
    items: list[ClaimOut]
    next_cursor: str | None


class RuleOut(Schema):
    id: int
    area: AreaRef
    action: Coded
    kind: Coded
    points: int
    points_per_hour: int
    max_hours: Decimal | None
    daily_cap: int | None
    monthly_cap: int | None
    approval: Coded
    listing_days: int
    is_active: bool
    version: int
    updated_at: datetime
    editable: bool = Field(description="whether you may change it")


class RuleInForce(Schema):
    action: Coded
    own: RuleOut | None = Field(description="the area's own rule, in force or not")
    in_force: RuleOut | None = Field(description="the rule that prices the action here: own or the nearest above")
    inherited: bool


class RulesOut(Schema):
    area: AreaRef
    editable: bool = Field(description="whether you may set this area's rules")
    rules: list[RuleInForce]


class RevisionOut(Schema):
    version: int
    values: dict
    changed_by: PersonRef | None
    changed_at: datetime


class RuleDetail(RuleOut):
    revisions: list[RevisionOut] = Field(description="newest first")


class RuleSettings(Input):
    kind: Kind = Field(PointsKind.TASK, description="task or participation")
    points: int = Field(0, ge=0, le=services.MAX_ADJUSTMENT, description="points per action")
    points_per_hour: int = Field(0, ge=0, le=services.MAX_ADJUSTMENT, description="for hours-based volunteering")
    max_hours: Decimal | None = Field(None, gt=0, le=24, description="most hours paid per activity")
    daily_cap: int | None = Field(None, ge=0, le=services.MAX_ADJUSTMENT)
    monthly_cap: int | None = Field(None, ge=0, le=services.MAX_ADJUSTMENT)
    approval: ApprovalCode = Field(Approval.AUTO, description="auto, review, or listing (review then 公示)")
    listing_days: int = Field(0, ge=0, le=365, description="days of public listing (approval: listing)")
    is_active: bool = True


class RuleIn(RuleSettings):
    area: int = Field(ge=1, le=MAX_ID, description="a district, street or community you may set rules for")
    action: ActionCode


class RuleChangeIn(Input):
    """The settings to change; those left out keep their current values."""

    version: int = Field(ge=1, description="the rule's version you saw; another answers 409")
    kind: Kind | None = None
    points: int | None = Field(None, ge=0, le=services.MAX_ADJUSTMENT)
    points_per_hour: int | None = Field(None, ge=0, le=services.MAX_ADJUSTMENT)
    max_hours: Decimal | None = Field(None, gt=0, le=24)
    daily_cap: int | None = Field(None, ge=0, le=services.MAX_ADJUSTMENT)
    monthly_cap: int | None = Field(None, ge=0, le=services.MAX_ADJUSTMENT)
    approval: ApprovalCode | None = None
    listing_days: int | None = Field(None, ge=0, le=365)
    is_active: bool | None = None


class DecisionIn(Input):
    version: int | None = Field(None, ge=1, description="the claim's version you saw; another answers 409")


class RejectIn(DecisionIn):
    reason: str = Field(max_length=SHORT, description="why (or the objection raised during the listing)")


class AdjustmentIn(Input):
    user: int = Field(ge=1, le=MAX_ID, description="the person's user id")
    kind: Kind
    points: int = Field(
        ge=-services.MAX_ADJUSTMENT, le=services.MAX_ADJUSTMENT, description="positive adds, negative takes away"
    )
    reason: str = Field(max_length=SHORT)
    area: int | None = Field(
        None, ge=1, le=MAX_ID, description="where it is booked: an area the person serves in under your staff roles"
    )


class RoleRef(Schema):
    role: str
    role_label: str
    area: AreaRef


class PersonOut(Schema):
    user: PersonRef
    roles: list[RoleRef]
    balances: list[BalanceOut]
    waiting: list[ClaimOut]
    history: list[TransferOut]
    next_cursor: str | None = Field(description="for GET /people/{user_id}/history")


class ListingItem(Schema):
    id: int
    name: str = Field(description="the person's display name, as the board shows it")
    action: Coded
    source_label: str
    area: AreaRef
    kind: Coded
    points: int
    hours: Decimal | None
    listed_until: datetime


class ListingPage(Schema):
    items: list[ListingItem]
    next_cursor: str | None


class MonthOut(Schema):
    month: str = Field(description="YYYY-MM")
    by_kind: dict[str, int]
    total: int


class EarnerOut(Schema):
    user: PersonRef
    by_kind: dict[str, int]
    total: int


class StateCount(Schema):
    state: Coded
    claims: int
    points: int


class WithinOut(Schema):
    area: AreaRef
    by_kind: dict[str, int]
    total: int


class ReportOut(Schema):
    area: AreaRef
    year: int
    by_kind: dict[str, int]
    total: int
    months: list[MonthOut]
    top_earners: list[EarnerOut]
    claims: list[StateCount]
    within: list[WithinOut]


# ---- shaping -----------------------------------------------------------------------------------------------


def coded(vocabulary: str, code) -> dict:
    return {"code": str(code), "label": str(LABELS[vocabulary].get(code, code))}


def person_ref(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name or user.username}


def area_ref(area) -> dict | None:
    if area is None:
        return None
    return {"id": area.pk, "code": area.code, "name": area.name}


def source_out(source_type, source_id, label) -> dict | None:
    if not source_type and not label:
        return None
    return {"type": source_type, "id": source_id, "label": label, "url": reads.source_url(source_type, source_id)}


def balances_out(user_id: int) -> list[dict]:
    return [
        {
            "kind": coded("kind", b["kind"]),
            "available": b["available"],
            "frozen": b["frozen"],
            "expiring": b["expiring"],
            "expires_at": b["expires_at"],
        }
        for b in reads.balances(user_id)
    ]


def transfer_out(t) -> dict:
    return {
        "id": t.pk,
        "at": t.at,
        "movement": coded("movement", t.kind),
        "kind": coded("kind", t.points_kind),
        "points": t.points,
        "available_change": t.available_change,
        "frozen_change": t.frozen_change,
        "source": source_out(t.source_type, t.source_id, t.source_label),
        "area": area_ref(t.area),
        "rule_id": t.rule_id,
        "rule_version": t.claim.rule_version if t.claim_id else None,
        "claim_id": t.claim_id,
        "approved_by": person_ref(t.approved_by),
        "actor": person_ref(t.actor),
        "reason": t.reason,
        "expires_at": t.expires_at,
    }


def claim_out(c) -> dict:
    return {
        "id": c.pk,
        "user": person_ref(c.user),
        "action": coded("action", c.action),
        "source": source_out(c.source_type, c.source_id, c.source_label),
        "area": area_ref(c.area),
        "kind": coded("kind", c.kind),
        "points": c.points,
        "hours": c.hours,
        "note": c.note,
        "state": coded("state", c.state),
        "earned_at": c.earned_at,
        "listed_until": c.listed_until,
        "reviewed_by": person_ref(c.reviewed_by),
        "reviewed_at": c.reviewed_at,
        "reason": c.reason,
        "rule_id": c.rule_id,
        "rule_version": c.rule_version,
        "version": c.version,
    }


def rule_out(user, rule) -> dict | None:
    if rule is None:
        return None
    return {
        "id": rule.pk,
        "area": area_ref(rule.area),
        "action": coded("action", rule.action),
        "kind": coded("kind", rule.kind),
        "points": rule.points,
        "points_per_hour": rule.points_per_hour,
        "max_hours": rule.max_hours,
        "daily_cap": rule.daily_cap,
        "monthly_cap": rule.monthly_cap,
        "approval": coded("approval", rule.approval),
        "listing_days": rule.listing_days,
        "is_active": rule.is_active,
        "version": rule.version,
        "updated_at": rule.updated_at,
        "editable": services.can_edit_rules(user, rule.area),
    }


def _claims(qs):
    return qs.select_related("user", "area", "reviewed_by")


def _staff(request):
    user = request.auth
    if not is_points_staff(user):
        raise HttpError(403, _("Points are managed by district, street and community staff and grid leaders."))
    return user


# ---- your own points ---------------------------------------------------------------------------------------


@router.get("/me", response=BalancesOut, summary="Your points: both kinds, available and frozen, and what expires")
def my_points(request):
    user = request.auth
    return {"user": person_ref(user), "balances": balances_out(user.pk)}


@router.get("/me/history", response=HistoryPage, summary="Your points history, newest first")
def my_history(request, kind: Kind | None = KindParam, cursor: str | None = Cursor, limit: int = Limit):
    """Each movement with its source (a case, an activity), rule, approver and reason."""
    rows, next_cursor = reads.history_page(request.auth.pk, cursor, limit, kind=kind, strict=True)
    return {"items": [transfer_out(t) for t in rows], "next_cursor": next_cursor}


@router.get("/me/claims", response=ClaimPage, summary="Your claims: by default those waiting for review or listed")
def my_claims(
    request,
    state: StateCode | None = MyStateParam,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    qs = Claim.objects.filter(user=request.auth)
    qs = qs.filter(state=state) if state else qs.filter(state__in=reads.WAITING_STATES)
    rows, next_cursor = reads.keyset_page(_claims(qs), ["-earned_at", "-pk"], _earned_key, cursor, limit, strict=True)
    return {"items": [claim_out(c) for c in rows], "next_cursor": next_cursor}


def _earned_key(c):
    return (c.earned_at.isoformat(), c.pk)


# ---- rules -------------------------------------------------------------------------------------------------


@router.get("/rules", response=RulesOut, summary="The earning rules in force in an area (own and inherited)")
def list_rules(request, area: int | None = AreaParam):
    """Per action: the area's own rule and the one in force there (its own, or the nearest area's above).
    Without `area`, the top of your staff areas."""
    user = _staff(request)
    place = reads.staff_area_or_404(user, area) if area else reads.default_staff_area(user)
    if place is None:
        raise HttpError(404, _("No such area in your areas."))
    rows = reads.rules_in_force(place)
    return {
        "area": area_ref(place),
        "editable": services.can_edit_rules(user, place),
        "rules": [
            {
                "action": coded("action", row["action"]),
                "own": rule_out(user, row["own"]),
                "in_force": rule_out(user, row["in_force"]),
                "inherited": row["inherited"],
            }
            for row in rows
        ],
    }


@router.get("/rules/{rule_id}", response=RuleDetail, summary="One rule with its versions (who changed what)")
def get_rule(request, rule_id: int = _pk("rule id")):
    user = _staff(request)
    rule = reads.rule_or_404(user, rule_id)
    revisions = rule.revisions.select_related("changed_by").order_by("-version")
    return {
        **rule_out(user, rule),
        "revisions": [
            {
                "version": r.version,
                "values": r.values,
                "changed_by": person_ref(r.changed_by),
                "changed_at": r.changed_at,
            }
            for r in revisions
        ],
    }


def _settings(payload: Schema, fields) -> dict:
    values = {name: getattr(payload, name) for name in fields}
    if values.get("max_hours") is not None:
        values["max_hours"] = str(values["max_hours"])
    return values


@router.post("/rules", response={201: RuleOut}, summary="Set an area's rule for an action")
@refusals
def create_rule(request, payload: RuleIn):
    """For a district, street or community where you are staff. If the area already has its own rule for the
    action, 409: change that one with PUT /rules/{id}."""
    user = _staff(request)
    area = reads.staff_area_or_404(user, payload.area)
    existing = Rule.objects.filter(area=area, action=payload.action).first()
    if existing is not None:
        message = _("This area has its own rule for this action already (rule %(id)d): change it instead.")
        raise HttpError(409, message % {"id": existing.pk})
    fields = services.RULE_FIELDS
    rule = services.save_rule(by=user, area=area, action=payload.action, **_settings(payload, fields))
    return Status(201, rule_out(user, rule))


@router.put("/rules/{rule_id}", response=RuleOut, summary="Change a rule (a new version is kept)")
@refusals
def change_rule(request, payload: RuleChangeIn, rule_id: int = _pk("rule id")):
    """Fields left out keep their current values. `version` must be the one you saw."""
    user = _staff(request)
    rule = reads.rule_or_404(user, rule_id)
    given = payload.model_dump(exclude_unset=True, exclude={"version"})
    current = services.rule_snapshot(rule)
    current.pop("action")
    current.update(given)
    if current.get("max_hours") is not None:
        current["max_hours"] = str(current["max_hours"])
    rule = services.save_rule(by=user, area=rule.area, action=rule.action, expected_version=payload.version, **current)
    return rule_out(user, rule)


# ---- claims ------------------------------------------------------------------------------------------------


@router.get("/claims", response=ClaimPage, summary="Claims in your areas, for review (staff)")
def list_claims(
    request,
    state: StateCode = StateParam,
    area: int | None = AreaParam,
    action: ActionCode | None = ActionParam,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Pending claims oldest first, listed ones by the end of their listing, decided ones newest first."""
    user = _staff(request)
    qs = reads.staff_claims(user).filter(state=state)
    if area:
        qs = qs.filter(subtree_q(reads.staff_area_or_404(user, area).path, "area__"))
    if action:
        qs = qs.filter(action=action)
    if state == ClaimState.PENDING:
        fields, key = ["earned_at", "pk"], _earned_key
    elif state == ClaimState.LISTED:
        fields, key = ["listed_until", "pk"], lambda c: (c.listed_until.isoformat(), c.pk)
    else:
        fields, key = ["-earned_at", "-pk"], _earned_key
    rows, next_cursor = reads.keyset_page(_claims(qs), fields, key, cursor, limit, strict=True)
    return {"items": [claim_out(c) for c in rows], "next_cursor": next_cursor}


def _decide(request, claim_id, decide):
    user = request.auth
    claim = reads.visible_claim_or_404(user, claim_id)
    decide(user, claim)
    return claim_out(_claims(Claim.objects.filter(pk=claim.pk)).get())


@router.post(
    "/claims/{claim_id}/approve",
    response=ClaimOut,
    summary="Approve a pending claim",
    openapi_extra=body_doc(DecisionIn, required=False),
)
@refusals
def approve_claim(request, claim_id: int = _pk("claim id")):
    """Granted at once, or publicly listed first (`state: listed`, `listed_until`) when its rule asks for it.
    The body (`version`) may be left out."""
    payload, _files = read_body(request, DecisionIn)
    return _decide(
        request,
        claim_id,
        lambda user, claim: services.approve_claim(claim, by=user, expected_version=payload.version),
    )


@router.post(
    "/claims/{claim_id}/reject",
    response=ClaimOut,
    summary="Reject a claim (or object during its listing)",
    openapi_extra=body_doc(RejectIn),
)
@refusals
def reject_claim(request, claim_id: int = _pk("claim id")):
    """A reason is required: why the claim is refused, or the objection raised during its public listing."""
    payload, _files = read_body(request, RejectIn)
    return _decide(
        request,
        claim_id,
        lambda user, claim: services.reject_claim(
            claim, by=user, reason=payload.reason, expected_version=payload.version
        ),
    )


# ---- adjustments and people ----------------------------------------------------------------------------------


@router.post("/adjustments", response={201: TransferOut}, summary="Add or take away points by hand, with a reason")
@refusals
def adjust(request, payload: AdjustmentIn):
    """For a person serving in your areas (not yourself). 422 `points` when taking away more than they have."""
    user = _staff(request)
    try:
        person = reads.holder_or_404(user, payload.user)
    except Http404:
        raise field_error("user", _("No such person in your areas.")) from None
    if person.pk == user.pk:
        raise PermissionDenied(services.OWN_POINTS)
    areas = adjust_areas(user, person, reads.serving_roles(person))
    if payload.area is not None:
        area = next((a for a in areas if a.pk == payload.area), None)
    else:
        area = areas[0] if areas else None
    if area is None:
        raise field_error("area", _("Choose an area where this person serves and you are staff."))
    transfer = services.adjust(
        person, kind=payload.kind, points=payload.points, reason=payload.reason, by=user, area=area
    )
    row = reads.history(person.pk).get(pk=transfer.pk)
    return Status(201, transfer_out(row))


def _person(request, user_id):
    user = request.auth
    if not is_points_staff(user):
        raise HttpError(403, _("Points are managed by district, street and community staff and grid leaders."))
    return reads.holder_or_404(user, user_id)


@router.get("/people/{user_id}", response=PersonOut, summary="A person's points: balances, waiting claims, history")
def get_person(request, user_id: int = _pk("user id"), limit: int = Limit):
    person = _person(request, user_id)
    roles = reads.serving_roles(person)
    rows, next_cursor = reads.history_page(person.pk, None, limit, strict=True)
    waiting = _claims(Claim.objects.filter(user=person, state__in=reads.WAITING_STATES))
    return {
        "user": person_ref(person),
        "roles": [{"role": r.role, "role_label": reads.role_label(r.role), "area": area_ref(r.area)} for r in roles],
        "balances": balances_out(person.pk),
        "waiting": [claim_out(c) for c in waiting.order_by("earned_at", "pk")[:50]],
        "history": [transfer_out(t) for t in rows],
        "next_cursor": next_cursor,
    }


@router.get("/people/{user_id}/history", response=HistoryPage, summary="A person's points history, newest first")
def person_history(
    request,
    user_id: int = _pk("user id"),
    kind: Kind | None = KindParam,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    person = _person(request, user_id)
    rows, next_cursor = reads.history_page(person.pk, cursor, limit, kind=kind, strict=True)
    return {"items": [transfer_out(t) for t in rows], "next_cursor": next_cursor}


# ---- the listing board and the report --------------------------------------------------------------------------


@router.get("/listing", response=ListingPage, summary="Claims in public listing (公示) where you serve")
def listing(request, area: int | None = AreaParam, cursor: str | None = Cursor, limit: int = Limit):
    """Open to everyone who serves in the area, members too: name, action, source, points, listing end."""
    user = request.auth
    place = reads.serving_area_or_404(user, area) if area else None
    qs = reads.listed_claims(user, place).select_related("user", "area")
    rows, next_cursor = reads.keyset_page(
        qs, ["listed_until", "pk"], lambda c: (c.listed_until.isoformat(), c.pk), cursor, limit, strict=True
    )
    items = [
        {
            "id": c.pk,
            "name": c.user.display_name or c.user.username,
            "action": coded("action", c.action),
            "source_label": c.source_label,
            "area": area_ref(c.area),
            "kind": coded("kind", c.kind),
            "points": c.points,
            "hours": c.hours,
            "listed_until": c.listed_until,
        }
        for c in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/report", response=ReportOut, summary="An area's points for a year: by month, top earners, claims")
def report(
    request,
    area: int | None = AreaParam,
    year: int | None = Query(None, ge=FIRST_YEAR, le=2100, description="by default this year"),
):
    user = _staff(request)
    place = reads.staff_area_or_404(user, area) if area else reads.default_staff_area(user)
    if place is None:
        raise HttpError(404, _("No such area in your areas."))
    figures = reads.report(place, year or timezone.localdate().year)
    kinds = PointsKind.values
    return {
        "area": area_ref(place),
        "year": figures["year"],
        "by_kind": dict(zip(kinds, figures["totals"], strict=True)),
        "total": figures["total"],
        "months": [
            {
                "month": row["first"].strftime("%Y-%m"),
                "by_kind": dict(zip(kinds, row["by_kind"], strict=True)),
                "total": row["total"],
            }
            for row in figures["months"]
        ],
        "top_earners": [
            {
                "user": {"id": e["user_id"], "name": e["user__display_name"] or e["user__username"]},
                "by_kind": {PointsKind.TASK: e["task"], PointsKind.PARTICIPATION: e["participation"]},
                "total": e["total"],
            }
            for e in figures["earners"]
        ],
        "claims": [
            {"state": coded("state", s["state"]), "claims": s["n"], "points": s["points"]} for s in figures["states"]
        ],
        "within": [
            {
                "area": area_ref(row["area"]),
                "by_kind": dict(zip(kinds, row["by_kind"], strict=True)),
                "total": row["total"],
            }
            for row in figures["within"]
        ],
    }
