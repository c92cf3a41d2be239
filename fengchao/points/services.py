"""Every change to points: earning (claims), review and public listing, adjustments, rules, expiry.

Each function runs in one transaction, posts to the ledger through `ledger.post` and writes its audit
event in the same transaction. Claims and rules change by compare-and-set on their `version`.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area
from fengchao.areas.scope import path_is_visible
from fengchao.audit.services import record
from fengchao.core.errors import StaleRecord
from fengchao.notices.services import notify

from . import expiry, ledger, rules
from .choices import Action, Approval, ClaimState, PointsKind, TransferKind
from .models import Claim, Rule, RuleRevision
from .queries import RULE_ROLES, STAFF_ROLES, holds_any

MAX_ADJUSTMENT = 100_000
OWN_POINTS = _lazy("Your own points are adjusted by someone else.")


# --- earning ---------------------------------------------------------------------------------------------------------


def earn(user, action: str, *, source, area: Area, hours=None, at=None, label: str = "") -> Claim | None:
    """Claim the points of `action` on `source` for `user`, priced by the rule in force at `area`.

    Returns the claim (granted at once, or waiting for review), the existing claim if this source has
    already been claimed for this person and action (no points twice), or None when no rule prices the
    action there. Call it inside the transaction of the step that earns the points.
    """
    if user is None or not getattr(user, "pk", None):
        return None
    source_type, source_id = source._meta.label_lower, str(source.pk)
    existing = Claim.objects.filter(action=action, source_type=source_type, source_id=source_id, user=user).first()
    if existing is not None:
        return existing
    rule = rules.rule_for(action, area)
    if rule is None:
        return None
    at = at or timezone.now()
    points, counted = rules.points_of(rule, _hours(hours) if rule.points_per_hour else None)
    with transaction.atomic():
        # One person's claims are decided one at a time (their account row is the lock), so caps hold.
        ledger.lock_person(user.pk, [rule.kind])
        room = rules.room_under_caps(rule, user.pk, at)
        note = ""
        if room is not None and points > room:
            note = _("Capped: the rule allows %(n)d more points in this period.") % {"n": room}
            points = room
        state = _first_state(rule, points)
        try:
            with transaction.atomic():
                claim = Claim.objects.create(
                    user=user,
                    action=action,
                    source_type=source_type,
                    source_id=source_id,
                    source_label=(label or str(source))[:200],
                    rule=rule,
                    rule_version=rule.version,
                    area=area,
                    kind=rule.kind,
                    points=points,
                    hours=counted,
                    note=note,
                    state=state,
                    earned_at=at,
                )
        except IntegrityError:  # claimed meanwhile by a concurrent step
            return Claim.objects.get(action=action, source_type=source_type, source_id=source_id, user=user)
        record("points.claim", claim, area=area, user=user.pk, earned_by=action, points=points, state=state)
        if state == ClaimState.GRANTED:
            _grant(claim, approved_by=None, at=at)
    return claim


def _hours(raw) -> Decimal:
    try:
        value = Decimal(str(raw or 0))
    except InvalidOperation:
        raise ValidationError({"hours": _("Hours must be a number.")}) from None
    if value < 0:
        raise ValidationError({"hours": _("Hours cannot be negative.")})
    return value


def _first_state(rule: Rule, points: int) -> str:
    if points <= 0:
        return ClaimState.CAPPED
    if rule.approval == Approval.AUTO:
        return ClaimState.GRANTED
    return ClaimState.PENDING


def _grant(claim: Claim, *, approved_by, at) -> None:
    ledger.post(
        TransferKind.GRANT,
        claim.kind,
        claim.points,
        user_id=claim.user_id,
        at=at,
        area=claim.area,
        source_type=claim.source_type,
        source_id=claim.source_id,
        source_label=claim.source_label,
        claim=claim,
        rule=claim.rule,
        approved_by=approved_by,
        # No reason stored: the claim's action says why, in the reader's language.
        expires_at=expiry.expires_at_for(at),
    )
    record("points.grant", claim, area=claim.area, user=claim.user_id, points=claim.points, kind=claim.kind)
    notify(
        [claim.user_id],
        kind="points.granted",
        title=_("+%(n)d %(kind)s: %(source)s")
        % {"n": claim.points, "kind": PointsKind(claim.kind).label, "source": claim.source_label},
        url="/points/",
    )


def approve_claim(claim: Claim, *, by, expected_version: int | None = None, now=None) -> Claim:
    """Review passed: granted now, or publicly listed first when the rule asks for a listing."""
    _check_reviewer(by, claim)
    now = now or timezone.now()
    rule = claim.rule
    listing = rule is not None and rule.approval == Approval.LISTING and rule.listing_days > 0
    changes = {"reviewed_by": by, "reviewed_at": now}
    if listing:
        changes.update(state=ClaimState.LISTED, listed_until=now + dt.timedelta(days=rule.listing_days))
    else:
        changes.update(state=ClaimState.GRANTED)
    with transaction.atomic():
        _move_claim(claim, (ClaimState.PENDING,), expected_version, **changes)
        record("points.claim_approved", claim, actor=by, area=claim.area, state=claim.state)
        if claim.state == ClaimState.GRANTED:
            _grant(claim, approved_by=by, at=now)
    return claim


def reject_claim(claim: Claim, *, by, reason: str, expected_version: int | None = None, now=None) -> Claim:
    """Refused at review, or objected to during the public listing. A reason is required."""
    _check_reviewer(by, claim)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    now = now or timezone.now()
    with transaction.atomic():
        _move_claim(
            claim,
            (ClaimState.PENDING, ClaimState.LISTED),
            expected_version,
            state=ClaimState.REJECTED,
            reviewed_by=by,
            reviewed_at=now,
            reason=reason,
        )
        record("points.claim_rejected", claim, actor=by, area=claim.area, reason=reason)
    return claim


def grant_listed(now=None) -> int:
    """Grant the claims whose public listing has ended without objection (the worker runs this)."""
    now = now or timezone.now()
    granted = 0
    due = Claim.objects.filter(state=ClaimState.LISTED, listed_until__lte=now).order_by("listed_until", "pk")
    for claim in due.select_related("rule")[:1000]:
        with transaction.atomic():
            try:
                _move_claim(claim, (ClaimState.LISTED,), claim.version, state=ClaimState.GRANTED)
            except StaleRecord:  # rejected or granted meanwhile
                continue
            record("points.claim_listed_out", claim, area=claim.area)
            _grant(claim, approved_by=claim.reviewed_by, at=now)
            granted += 1
    return granted


def _move_claim(claim: Claim, sources, expected_version, **changes) -> None:
    version = claim.version if expected_version is None else int(expected_version)
    if claim.state not in sources:
        raise ValidationError({"state": _("This claim is “%(state)s”.") % {"state": claim.get_state_display()}})
    rows = Claim.objects.filter(pk=claim.pk, version=version, state__in=sources)
    if rows.update(version=F("version") + 1, **changes) != 1:
        raise StaleRecord()
    for name, value in changes.items():
        setattr(claim, name, value)
    claim.version = version + 1


def _check_reviewer(by, claim: Claim) -> None:
    if by is not None and claim.user_id == by.pk:
        raise PermissionDenied(_("Your own claims are reviewed by someone else."))
    if not holds_any(by, STAFF_ROLES, claim.area):
        raise PermissionDenied(_("Reviewing points claims here is not yours to do."))


# --- adjustments -----------------------------------------------------------------------------------------------------


def adjust(user, *, kind: str, points: int, reason: str, by, area: Area, now=None):
    """Add (positive) or take away (negative) points by hand, with a reason; staff of an area the person serves in."""
    if kind not in PointsKind.values:
        raise ValidationError({"kind": _("Choose task points or participation points.")})
    try:
        points = int(points)
    except (TypeError, ValueError):
        raise ValidationError({"points": _("Points must be a whole number.")}) from None
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        message = _("Points must be a whole number other than 0, at most %(n)d either way.")
        raise ValidationError({"points": message % {"n": MAX_ADJUSTMENT}})
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    if by is not None and user.pk == by.pk:
        raise PermissionDenied(OWN_POINTS)
    if not holds_any(by, STAFF_ROLES, area):
        raise PermissionDenied(_("Adjusting points here is not yours to do."))
    if not serves_in(user, area):
        raise ValidationError(
            {"area": _("%(name)s serves nowhere in %(area)s.") % {"name": user.display_name or user, "area": area.name}}
        )
    now = now or timezone.now()
    with transaction.atomic():
        transfer = ledger.post(
            TransferKind.ADJUST,
            kind,
            abs(points),
            user_id=user.pk,
            reverse=points < 0,
            at=now,
            area=area,
            actor=by,
            approved_by=by,
            reason=reason,
            expires_at=expiry.expires_at_for(now) if points > 0 else None,
        )
        record("points.adjust", transfer, actor=by, area=area, user=user.pk, kind=kind, points=points, reason=reason)
    return transfer


# --- rules -----------------------------------------------------------------------------------------------------------

RULE_FIELDS = (
    "kind",
    "points",
    "points_per_hour",
    "max_hours",
    "daily_cap",
    "monthly_cap",
    "approval",
    "listing_days",
    "is_active",
)
RULE_AREA_KINDS = {AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY}


def can_edit_rules(user, area: Area) -> bool:
    return area.kind in RULE_AREA_KINDS and holds_any(user, RULE_ROLES, area)


def save_rule(*, by, area: Area, action: str, expected_version: int | None = None, **fields) -> Rule:
    """Create the area's rule for an action, or change it; each version is kept (RuleRevision)."""
    if action not in Action.values:
        raise ValidationError({"action": _("Unknown action “%(name)s”.") % {"name": action}})
    if area.kind not in RULE_AREA_KINDS:
        raise ValidationError({"area": _("Rules are set for the district, a street or a community.")})
    if not can_edit_rules(by, area):
        raise PermissionDenied(_("Setting points rules here is not yours to do."))
    values = _clean_rule(fields)
    with transaction.atomic():
        rule = Rule.objects.filter(area=area, action=action).first()
        if rule is None:
            try:
                with transaction.atomic():
                    rule = Rule.objects.create(area=area, action=action, **values)
            except IntegrityError:
                raise StaleRecord() from None
            audit = "points.rule_created"
        else:
            version = rule.version if expected_version is None else int(expected_version)
            rows = Rule.objects.filter(pk=rule.pk, version=version)
            if rows.update(version=F("version") + 1, updated_at=timezone.now(), **values) != 1:
                raise StaleRecord()
            rule.refresh_from_db()
            audit = "points.rule_changed"
        snapshot = rule_snapshot(rule)
        RuleRevision.objects.create(rule=rule, version=rule.version, values=snapshot, changed_by=by)
        record(audit, rule, actor=by, area=area, rule=snapshot)
    return rule


def rule_snapshot(rule: Rule) -> dict:
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    values["max_hours"] = None if rule.max_hours is None else str(rule.max_hours)
    return {"action": rule.action, **values}


def _clean_rule(fields: dict) -> dict:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    errors, values = {}, {}
    kind = fields.get("kind", PointsKind.TASK)
    if kind not in PointsKind.values:
        errors["kind"] = _("Choose task points or participation points.")
    values["kind"] = kind
    for name in ("points", "points_per_hour", "listing_days"):
        values[name] = _whole(fields.get(name), name, errors, default=0)
    for name in ("daily_cap", "monthly_cap"):
        values[name] = _whole(fields.get(name), name, errors, default=None)
    raw_hours = fields.get("max_hours")
    if raw_hours in (None, ""):
        values["max_hours"] = None
    else:
        try:
            values["max_hours"] = Decimal(str(raw_hours))
            if values["max_hours"] <= 0 or values["max_hours"] > 24:
                raise InvalidOperation
        except InvalidOperation:
            errors["max_hours"] = _("Hours must be a number above 0 and at most 24.")
    approval = fields.get("approval", Approval.AUTO)
    if approval not in Approval.values:
        errors["approval"] = _("Choose how claims are approved.")
    values["approval"] = approval
    values["is_active"] = bool(fields.get("is_active", True))
    if not errors and not values["points"] and not values["points_per_hour"]:
        errors["points"] = _("Give the points, or the points per hour.")
    if not errors and approval == Approval.LISTING and not values["listing_days"]:
        errors["listing_days"] = _("A public listing lasts at least one day.")
    if errors:
        raise ValidationError(errors)
    return values


def _whole(raw, name, errors, *, default):
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = _("Enter a whole number.")
        return default
    if value < 0 or value > MAX_ADJUSTMENT:
        errors[name] = _("Enter a whole number from 0 to %(n)d.") % {"n": MAX_ADJUSTMENT}
    return value


# --- expiry ----------------------------------------------------------------------------------------------------------


def expire_due(now=None) -> int:
    """Write an expiry transfer for every person's points past their expiry date (oldest earned spent first)."""
    now = now or timezone.now()
    written = 0
    for user_id, kind, _amount in expiry.due(now):
        with transaction.atomic():
            # Two workers may sweep at once: the person's account row is the lock, and what is due is
            # read again behind it, so the second finds nothing left to expire.
            ledger.lock_person(user_id, [kind])
            amount = expiry.due_for(user_id, kind, now)
            if amount <= 0:
                continue
            transfer = ledger.post(
                TransferKind.EXPIRE, kind, amount, user_id=user_id, at=now, reason=_("Points past their expiry date")
            )
            record("points.expire", transfer, user=user_id, kind=kind, points=amount)
            notify(
                [user_id],
                kind="points.expired",
                title=_("%(n)d %(kind)s expired") % {"n": amount, "kind": PointsKind(kind).label},
                url="/points/",
            )
            written += 1
    return written


def warn_expiring(now=None) -> int:
    """Tell people whose points expire within the warning period, once per person, kind and expiry date."""
    now = now or timezone.now()
    warned = 0
    for user_id, kind, amount, expires_at in expiry.soon(now):
        stamp = timezone.localtime(expires_at).date().isoformat()
        with transaction.atomic():
            if not expiry.mark_warned(user_id, kind, stamp):
                continue
            notify(
                [user_id],
                kind="points.expiring",
                title=_("%(n)d %(kind)s expire on %(date)s")
                % {"n": amount, "kind": PointsKind(kind).label, "date": stamp},
                url="/points/",
            )
            warned += 1
    return warned


def serves_in(user, area: Area) -> bool:
    """Does the person hold a role (active) in the area, below it, or above it?"""
    from fengchao.accounts.models import RoleAssignment

    paths = RoleAssignment.objects.active().filter(user=user).values_list("area__path", flat=True)
    return any(path.startswith(area.path) or area.path.startswith(path) for path in paths)


def check_visible(user, area: Area) -> None:
    if not path_is_visible(user, area.path):
        raise PermissionDenied
