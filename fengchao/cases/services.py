"""Every change to a case: one transaction each, with its case event, its audit event and its tallies.

Every channel (resident page, member's phone, staff entry, API) ends in `submit_case`; every move
through the loop is `transition` (the table in `workflow.py`), compare-and-set on the case's
version. Notifications to whoever the case now waits on are written in the same transaction and
sent outside after commit.
"""

import datetime as dt
import math
import re
import secrets
from difflib import SequenceMatcher

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.roles import Role
from fengchao.areas import locator
from fengchao.areas.models import Area
from fengchao.audit.services import record
from fengchao.core.errors import StaleRecord
from fengchao.notices import services as notices
from fengchao.registry import validation

from . import calendar, photos, suggest, tallies
from .choices import (
    FINAL_STATES,
    RESIDENT_CHANNELS,
    STAFF_CHANNELS,
    TIER_ORDER,
    AttachmentKind,
    CaseState,
    Channel,
    Rating,
    Stage,
    SupervisionLevel,
    Tier,
    WhistleLevel,
)
from .hooks import case_stepped
from .models import Case, CaseAttachment, CaseEvent, Category, CoHandler, Supervision, Whistle
from .queries import (
    DISPATCHER_ROLES,
    GRID_ROLES,
    HANDLER_ROLES,
    QUEUE_ROLE_OF_TIER,
    STAFF_ROLES,
    SUPERVISOR_ROLES,
    VERIFIER_ROLES,
    actors_for,
    department_ids_for,
    held_roles,
    holders,
)
from .workflow import STAGE_OF_STATE, TIMESTAMP_OF_TRANSITION, TRANSITIONS, Actor

TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class WrongState(StaleRecord):
    """The case is no longer in a state this step can leave from (someone acted first)."""

    def __init__(self, case):
        super().__init__(
            _("Case %(number)s is now “%(state)s”; reload it to see what happened.")
            % {"number": case.number, "state": case.get_state_display()}
        )


# ---- intake ---------------------------------------------------------------------------------------


def submit_case(
    *,
    channel: str,
    category,
    description: str,
    idempotency_key: str,
    by=None,
    area: Area | int | None = None,
    lon=None,
    lat=None,
    crs: str = "wgs84",
    address: str = "",
    reporter_name: str = "",
    phone: str = "",
    anonymous: bool = False,
    external_number: str = "",
    handled_on_spot: bool = False,
    before_photos=(),
    after_photos=(),
    now: dt.datetime | None = None,
) -> tuple[Case, bool]:
    """Record a reported matter. Returns (case, created); a retry with the same key returns the first case.

    `area` is where a QR code or form places the matter (an Area, or its pk as sent); a point wins over it.
    """
    scope = f"user:{by.pk}" if by is not None and by.is_authenticated else "public"
    key = str(idempotency_key or "").strip()
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationError(
            {"idempotency_key": _("Each submission needs an idempotency key of 8 to 64 letters, digits, - or _.")}
        )
    # No look-up first: retries are rare. A retry meets the unique key on insert, or fails a check that has
    # changed since (a category retired), and gets the first case back either way.
    try:
        fields = _clean_intake(
            channel=channel,
            category=category,
            description=description,
            by=by,
            area=area,
            lon=lon,
            lat=lat,
            crs=crs,
            address=address,
            reporter_name=reporter_name,
            phone=phone,
            anonymous=anonymous,
            external_number=external_number,
            handled_on_spot=handled_on_spot,
        )
        befores = photos.check_photos(before_photos, "photos")
        afters = photos.check_photos(after_photos, "after_photos")
        category = fields["category"]
        if category.photo_required and not befores:
            raise ValidationError(
                {"photos": _("A photo is required for “%(category)s”.") % {"category": category.name}}
            )
        if handled_on_spot and not afters:
            raise ValidationError({"after_photos": _("A matter handled on the spot needs a photo of the result.")})
    except (ValidationError, PermissionDenied):
        existing = _first_case(scope, key)
        if existing is None:
            raise
        return existing, False

    now = now or timezone.now()
    case = Case(
        channel=channel,
        idempotency_scope=scope,
        idempotency_key=key,
        tracking_code="".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10)),
        state=CaseState.REPORTED,
        tier=category.default_tier
        if category.default_tier != Tier.DEPARTMENT or category.default_department_id
        else Tier.STREET,
        department_id=category.default_department_id if category.default_tier == Tier.DEPARTMENT else None,
        handling_mode=category.handling_mode,
        reported_at=now,
        **{k: v for k, v in fields.items() if k not in ("located_area", "phone")},
    )
    case.place_in(fields["located_area"])
    if fields["phone"]:
        case.set_phone(fields["phone"])
    _enter_stage(case, CaseState.REPORTED, now)
    try:
        # The insert comes first: a submission racing its own retry loses here, before anything else is written,
        # and the whole transaction rolls back.
        with transaction.atomic():
            case.save(force_insert=True)
            event = write_event(
                case, "report", by, now, to_state=CaseState.REPORTED, public=True, data={"channel": channel}
            )
            _attach(case, event, befores, AttachmentKind.BEFORE, by)
            record("case.report", case, actor=by, area=case.area, channel=channel, category=category.code)
            tallies.apply_change(None, case)
            if handled_on_spot:
                _handle_on_spot(case, by, now, afters)
            else:
                _announce(case, "report", by)
            if case.reporter_id is None:
                notices.text_case_contact(
                    case,
                    _("Your report %(number)s is received. Follow it with the code %(code)s: %(url)s")
                    % {"number": case.number, "code": case.tracking_code, "url": public_url(case)},
                )
    except IntegrityError:
        existing = _first_case(scope, key)
        if existing is None:
            raise
        return existing, False
    return case, True


def _first_case(scope: str, key: str) -> Case | None:
    return Case.objects.filter(idempotency_scope=scope, idempotency_key=key).first()


def _clean_intake(**raw) -> dict:
    channel, by = raw["channel"], raw["by"]
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel “%(value)s”.") % {"value": channel}})
    # Only the member and staff channels depend on the roles held (the API and residents' channels do not).
    serving_channel = channel not in RESIDENT_CHANNELS and channel != Channel.API
    roles = {h.role for h in held_roles(by)} if by is not None and serving_channel else set()
    is_superuser = by is not None and by.is_superuser
    if channel == Channel.MEMBER and not (roles & GRID_ROLES or is_superuser):
        raise PermissionDenied(_("Only grid members report on patrol."))
    if channel in STAFF_CHANNELS and not (roles & STAFF_ROLES or is_superuser):
        raise PermissionDenied(_("Only staff enter hotline and walk-in reports."))
    if raw["handled_on_spot"] and channel != Channel.MEMBER:
        raise ValidationError({"handled_on_spot": _("Only a grid member on patrol handles a matter on the spot.")})

    given = raw["category"]
    code = given.code if isinstance(given, Category) else str(given or "").strip()
    category = suggest.usable_category(code)
    if category is None:  # not in this process's table yet (just added): ask the database
        subcategories = Category.objects.filter(parent=OuterRef("pk"))
        category = Category.objects.filter(code=code, is_active=True).annotate(has_children=Exists(subcategories))
        category = category.first()
        if category is None or category.has_children:
            raise ValidationError({"category": _("Choose a category from the list.")})

    description = CONTROL.sub("", str(raw["description"] or "")).strip()
    if len(description) < 4:
        raise ValidationError({"description": _("Describe the matter in a few words (at least 4 characters).")})
    if len(description) > 2000:
        raise ValidationError({"description": _("At most 2,000 characters.")})

    located_area, lon, lat = _locate(raw["area"], raw["lon"], raw["lat"], raw["crs"])
    # Members and staff report where they serve (a micro-grid's members anywhere in its grid).
    serves_there = not (by is not None and serving_channel and not is_superuser) or any(
        located_area.path.startswith(h.reach_path) for h in held_roles(by)
    )
    if not serves_there:
        raise ValidationError({"location": _("This place is outside the areas where you serve.")})

    anonymous = bool(raw["anonymous"])
    reporter = by if by is not None and by.is_authenticated and channel not in STAFF_CHANNELS else None
    name = validation.clean_text(raw["reporter_name"], field="reporter_name", max_length=50)
    if reporter is not None and not name and not anonymous:
        name = reporter.display_name
    if anonymous:
        name = ""
    external_number = validation.clean_text(raw["external_number"], field="external_number", max_length=40)
    if channel == Channel.HOTLINE_12345 and not external_number:
        raise ValidationError({"external_number": _("Give the 12345 work-order number.")})
    return {
        "category": category,
        "description": description,
        "located_area": located_area,
        "lon": lon,
        "lat": lat,
        "address": validation.clean_text(raw["address"], field="address", max_length=200),
        "reporter": reporter,
        "reporter_name": name,
        "phone": validation.clean_phone(raw["phone"], field="phone"),
        "is_anonymous": anonymous,
        "external_number": external_number,
        "handled_on_spot": bool(raw["handled_on_spot"]),
    }


def _locate(area, lon, lat, crs) -> tuple[Area, float | None, float | None]:
    """The point wins when it falls in the district; a QR code's area (an Area, or its pk) is the fallback and check.

    With a pk, the area is read only when the point does not settle it: a point located in the QR code's area or
    below it needs one read (of the located area), as many reports from a QR code with GPS on do.
    """
    if lon not in (None, "") and lat not in (None, ""):
        lon = validation.clean_coordinate(lon, "lon", -180, 180)
        lat = validation.clean_coordinate(lat, "lat", -90, 90)
        result = locator.locate(lon, lat, crs or "wgs84")
        target = result.area_id if not result.in_gap else result.microgrid_id
        if target is not None:
            if isinstance(area, Area) and area.pk == target:  # the QR code's own area: no need to read it again
                located = area if area.is_active else None
            else:
                located = Area.objects.filter(pk=target, is_active=True).first()
            if located is not None and (area is None or _agrees(located, area)):
                return located, result.lon, result.lat
        if area is None:
            raise ValidationError({"location": _("This point is outside every grid of the district.")})
        return _given_area(area), result.lon, result.lat
    if area is None:
        raise ValidationError({"location": _("Give the place: scan the building's code, tap the map or allow GPS.")})
    area = _given_area(area)
    if not area.is_active:
        raise ValidationError({"location": _("The area %(name)s is no longer in use.") % {"name": area.name}})
    return area, None, None


def _given_area(area) -> Area:
    if isinstance(area, Area):
        return area
    found = Area.objects.filter(pk=area).first()
    if found is None:
        raise ValidationError({"area": _("No such area.")})
    return found


def _agrees(located: Area, given) -> bool:
    """The located area lies in the given one, or the given one in the located one (the QR code of a building)."""
    given_pk = given.pk if isinstance(given, Area) else int(given)
    if given_pk == located.pk or given_pk in located.ancestor_pks():
        return True
    return _given_area(given).path.startswith(located.path)


def _handle_on_spot(case: Case, by, now, afters) -> None:
    """当场解决: the member did it; the case still walks every step (each with its event) up to resolved."""
    note = _("Handled on the spot.")
    for name in ("accept", "register", "dispatch", "take"):
        _move(case, name, by, note=note, now=now, checked=True)
    _move(case, "resolve", by, note=note, now=now, checked=True, photos=afters, photo_kind=AttachmentKind.AFTER)


# ---- moving a case ------------------------------------------------------------------------------------


def transition(
    case: Case,
    name: str,
    *,
    by,
    note: str = "",
    photos_in=(),
    as_reporter: bool = False,
    expected_version: int | None = None,
    now=None,
    **changes,
) -> Case:
    """Make one step of the workflow table, if `by` may make it from the case's current state.

    `as_reporter` is for the public tracking page: whoever holds the tracking code acts as the reporter.
    `expected_version` (from the form or API call) refuses to act on a case changed since it was shown.
    """
    t = TRANSITIONS.get(name)
    if t is None:
        raise ValidationError({"action": _("Unknown action “%(name)s”.") % {"name": name}})
    actors = actors_for(by, case) if by is not None else set()
    if as_reporter:
        actors.add(Actor.REPORTER)
        # The reporter also checks the result (as `actors_for` grants a logged-in reporter), unless they resolved it.
        if by is None or case.resolved_by_id != by.pk:
            actors.add(Actor.VERIFIER)
    if case.state not in t.sources:
        raise WrongState(case)
    if expected_version is not None and int(expected_version) != case.version:
        raise StaleRecord
    if not t.actors & actors:
        raise PermissionDenied(_("“%(action)s” is not yours to do on this case.") % {"action": t.label})
    note = CONTROL.sub("", str(note or "")).strip()[:2000]
    if t.note_required and not note:
        raise ValidationError({"note": _("Give a reason.")})
    checked = photos.check_photos(photos_in)
    with transaction.atomic():
        return _move(case, name, by, note=note, now=now, checked=True, photos=checked, **changes)


def _move(case, name, by, *, note="", now=None, checked=False, photos=(), photo_kind=None, actor_label="", **changes):
    """The compare-and-set step itself; callers have checked who may make it."""
    assert checked
    t = TRANSITIONS[name]
    now = now or timezone.now()
    before = tallies.snapshot(case)
    from_state = case.state
    values = dict(changes)
    values["state"] = t.target
    stamp = TIMESTAMP_OF_TRANSITION.get(name)
    if stamp and getattr(case, stamp) is None:
        values[stamp] = now
    if name == "take":
        values["assignee"] = by if by is not None and by.is_authenticated else None
        if case.responded_on_time is None:
            values["responded_on_time"] = case.stage_deadline is None or now <= case.stage_deadline
    elif name == "resolve":
        values["resolved_by"] = by if by is not None and by.is_authenticated else None
    elif name == "rework":
        values["rework_count"] = case.rework_count + 1
        values["resolved_by"] = None
    elif name == "close":
        if case.closed_on_time is None:
            values["closed_on_time"] = case.due_at is None or now <= case.due_at
        values["supervision"] = SupervisionLevel.NONE
    elif name == "register" and case.due_at is None:
        values["due_at"] = _due_at(case.category, now)
    elif name == "reopen":
        # The last rating stays until the reporter rates again: a dissatisfied one counts meanwhile.
        values.update(assignee=None, resolved_by=None)
    for field, value in values.items():
        setattr(case, field, value)
    _enter_stage(case, t.target, now, keep_deadline=STAGE_OF_STATE.get(from_state) == STAGE_OF_STATE.get(t.target))
    stage_fields = {f: getattr(case, f) for f in ("stage", "stage_deadline", "stage_warned", "is_overdue")}
    updated = Case.objects.filter(pk=case.pk, version=case.version).update(
        version=F("version") + 1, updated_at=now, **values, **stage_fields
    )
    if updated != 1:
        raise StaleRecord
    case.version += 1
    event_data = {k: _plain(v) for k, v in changes.items()}
    event = write_event(
        case,
        name,
        by,
        now,
        from_state=from_state,
        to_state=t.target,
        note=note,
        public=t.public,
        data=event_data,
        actor_label=actor_label,
    )
    if photos:
        _attach(case, event, photos, photo_kind or _photo_kind_of(name), by)
    record(f"case.{name}", case, actor=by, area=case.area, from_state=from_state, to_state=t.target, **event_data)
    tallies.apply_change(before, case)
    _announce(case, name, by)
    case_stepped.send(sender=Case, case=case, name=name, by=by, now=now)
    return case


def _photo_kind_of(name):
    return {"resolve": AttachmentKind.AFTER, "verify": AttachmentKind.VERIFY}.get(name, AttachmentKind.OTHER)


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    return value


def _enter_stage(case: Case, state: str, now, keep_deadline: bool = False) -> None:
    stage = STAGE_OF_STATE.get(state, "")
    if keep_deadline and stage and case.stage == stage:
        return
    case.stage = stage
    case.stage_warned = False
    case.is_overdue = False
    if stage:
        amount, unit = case.category.limit(stage)
        case.stage_deadline = calendar.current().add(now, amount, unit)
    else:
        case.stage_deadline = None


def _due_at(category: Category, start) -> dt.datetime:
    """When the whole case should be closed: the stage limits after registration, one after another."""
    work = calendar.current()
    at = start
    for stage in (Stage.DISPATCH, Stage.TAKE, Stage.HANDLE, Stage.VERIFY):
        at = work.add(at, *category.limit(stage))
    return at


def write_event(case, action, by, now, *, from_state="", to_state="", note="", public=False, data=None, actor_label=""):
    if not actor_label:
        # An anonymous reporter's own steps are not signed with their name on the timeline.
        hidden = case.is_anonymous and by is not None and case.reporter_id == by.pk
        if by is not None and getattr(by, "is_authenticated", False) and not hidden:
            actor_label = by.display_name or by.username
        else:
            actor_label = _("Resident")
    return CaseEvent.objects.create(
        case=case,
        at=now,
        actor=by if by is not None and getattr(by, "is_authenticated", False) else None,
        actor_label=actor_label[:60],
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        is_public=public,
        data=data or {},
    )


def _attach(case, event, checked, kind, by) -> list[CaseAttachment]:
    saved = []
    for upload, extension, content_type in checked:
        attachment = CaseAttachment(
            case=case,
            event=event,
            kind=kind,
            token=photos.new_token(),
            extension=extension,
            content_type=content_type,
            size=upload.size,
            uploaded_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
        )
        attachment.file.save(f"{attachment.token}.{extension}", upload, save=False)
        attachment.save()
        saved.append(attachment)
    return saved


# ---- the named steps (thin wrappers that check their own arguments) -------------------------------------


def dispatch(case, *, by, tier: str, department=None, assignee=None, note: str = "", expected_version=None) -> Case:
    """派单: send the case to a tier (grid, community, street) or a department, optionally to one person."""
    if tier not in Tier.values:
        raise ValidationError({"tier": _("Choose where to send the case.")})
    if tier == Tier.DEPARTMENT:
        if department is None or not department.is_active:
            raise ValidationError({"department": _("Choose the department that takes the case.")})
    else:
        department = None
    if assignee is not None and not _handlers_at(case, tier, department).filter(user_id=assignee.pk).exists():
        raise ValidationError({"assignee": _("%(name)s does not handle cases there.") % {"name": assignee}})
    return transition(
        case,
        "dispatch",
        by=by,
        expected_version=expected_version,
        note=note,
        tier=tier,
        department=department,
        assignee=assignee,
    )


def _handlers_at(case, tier, department):
    if tier == Tier.DEPARTMENT:
        return holders(case, (), department_id=department.pk)
    return holders(case, HANDLER_ROLES[tier])


def take(case, *, by, note: str = "", expected_version=None) -> Case:
    return transition(case, "take", by=by, expected_version=expected_version, note=note)


def return_to_dispatcher(case, *, by, note: str, expected_version=None) -> Case:
    return transition(case, "return", by=by, expected_version=expected_version, note=note, assignee=None)


def escalate(case, *, by, note: str, department=None, expected_version=None) -> Case:
    """上报: hand the case to the tier above (grid → community → street → department)."""
    position = TIER_ORDER.index(case.tier)
    if position + 1 >= len(TIER_ORDER):
        raise ValidationError({"tier": _("A department case has no tier above; ask the grid centre to supervise.")})
    tier = TIER_ORDER[position + 1]
    department = department or (case.category.default_department if tier == Tier.DEPARTMENT else None)
    if tier == Tier.DEPARTMENT and (department is None or not department.is_active):
        raise ValidationError({"department": _("Choose the department that takes the case.")})
    return transition(
        case,
        "escalate",
        by=by,
        expected_version=expected_version,
        note=note,
        tier=tier,
        department=department,
        assignee=None,
    )


def resolve(case, *, by, note: str = "", photos_in=(), expected_version=None) -> Case:
    if case.category.photo_required and not photos_in:
        raise ValidationError({"photos": _("Add a photo of the result.")})
    return transition(case, "resolve", by=by, expected_version=expected_version, note=note, photos_in=photos_in)


def verify(case, *, by, note: str = "", photos_in=(), as_reporter: bool = False, expected_version=None) -> Case:
    """核查: the reporter, or a member or staff other than the one who resolved it, checks on site."""
    is_reporter = as_reporter or (by is not None and case.reporter_id == by.pk)
    if not photos_in and not is_reporter:
        raise ValidationError({"photos": _("Add a photo taken on site when verifying.")})
    return transition(
        case,
        "verify",
        by=by,
        expected_version=expected_version,
        note=note,
        photos_in=photos_in,
        as_reporter=as_reporter,
    )


def rework(case, *, by, note: str, photos_in=(), as_reporter: bool = False, expected_version=None) -> Case:
    return transition(
        case,
        "rework",
        by=by,
        expected_version=expected_version,
        note=note,
        photos_in=photos_in,
        as_reporter=as_reporter,
    )


def close(case, *, by, note: str = "", expected_version=None) -> Case:
    waiting = list(
        CoHandler.objects.filter(case=case, part_done_at__isnull=True).values_list("department__name", flat=True)
    )
    if waiting:
        raise ValidationError(
            {"action": _("Still waiting for the part of: %(names)s.") % {"names": "、".join(waiting)}}
        )
    if not case.events.filter(action="verify").exists():
        raise ValidationError({"action": _("A case is closed only after it has been verified.")})
    return transition(case, "close", by=by, expected_version=expected_version, note=note)


def rate(
    case,
    *,
    by,
    rating: str,
    comment: str = "",
    ask_reopen: bool = False,
    as_reporter: bool = False,
    expected_version=None,
) -> Case:
    """评价: the reporter rates (on the tracking page, too); staff may record a rating taken by phone."""
    if rating not in Rating.values:
        raise ValidationError({"rating": _("Choose satisfied, basically satisfied or dissatisfied.")})
    comment = validation.clean_text(comment, field="comment", max_length=500)
    if ask_reopen and rating != Rating.DISSATISFIED:
        raise ValidationError({"rating": _("Only a dissatisfied rating reopens a case.")})
    with transaction.atomic():
        case = transition(
            case,
            "rate",
            by=by,
            expected_version=expected_version,
            note=comment,
            as_reporter=as_reporter,
            rating=rating,
            rating_comment=comment,
        )
        if ask_reopen:
            _move(
                case,
                "reopen",
                by,
                note=_("Reopened at the reporter's request: %(comment)s") % {"comment": comment or "—"},
                checked=True,
                actor_label=_("Reporter") if as_reporter and by is None else "",
            )
    return case


def reopen(case, *, by, note: str, expected_version=None) -> Case:
    return transition(case, "reopen", by=by, expected_version=expected_version, note=note)


def reject(case, *, by, note: str, expected_version=None) -> Case:
    return transition(case, "reject", by=by, expected_version=expected_version, note=note)


def cancel(case, *, by, note: str, as_reporter: bool = False, expected_version=None) -> Case:
    return transition(case, "cancel", by=by, expected_version=expected_version, note=note, as_reporter=as_reporter)


def merge(case, *, into: Case, by, note: str = "", expected_version=None) -> Case:
    """The duplicate points to the original; both reporters hear how the original ends."""
    if into.pk == case.pk:
        raise ValidationError({"into": _("A case cannot be merged into itself.")})
    if into.state in FINAL_STATES:
        raise ValidationError({"into": _("Case %(number)s is already finished.") % {"number": into.number}})
    with transaction.atomic():
        case = transition(
            case,
            "merge",
            by=by,
            expected_version=expected_version,
            note=note or _("Same matter as %(number)s.") % {"number": into.number},
            merged_into=into,
        )
        write_event(
            into,
            "merged_in",
            by,
            timezone.now(),
            note=_("Case %(number)s was merged into this one.") % {"number": case.number},
            data={"case": case.pk},
        )
    return case


# ---- whistles, supervision, follow-ups --------------------------------------------------------------------


def whistle_minutes(level: str) -> int:
    return getattr(settings, "CASES_WHISTLE_REPORT_MINUTES", {}).get(level, 30)


def blow_whistle(case, *, by, level: str, departments, reason: str) -> Whistle:
    """吹哨: the community or street calls departments in; each must report in within the time limit."""
    if level not in WhistleLevel.values:
        raise ValidationError({"level": _("Choose daily, tough or emergency.")})
    departments = [d for d in departments if d is not None]
    if not departments:
        raise ValidationError({"departments": _("Name at least one department.")})
    reason = CONTROL.sub("", str(reason or "")).strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    if case.state in FINAL_STATES:
        raise WrongState(case)
    actors = actors_for(by, case)
    may_whistle = {Actor.DISPATCHER, Actor.SUPERVISOR} & actors and case.tier in (
        Tier.COMMUNITY,
        Tier.STREET,
        Tier.GRID,
    )
    if not may_whistle:
        raise PermissionDenied(_("Only the community or street handling the case blows the whistle."))
    now = timezone.now()
    deadline = now + dt.timedelta(minutes=whistle_minutes(level))
    with transaction.atomic():
        whistle = Whistle.objects.create(case=case, level=level, blown_by=by, blown_at=now, reason=reason)
        called = []
        for department in departments:
            try:
                with transaction.atomic():
                    CoHandler.objects.create(
                        whistle=whistle, case=case, department=department, report_deadline=deadline
                    )
                called.append(department)
            except IntegrityError:
                continue  # already called on this case: its first call stands
        if not called:
            raise ValidationError({"departments": _("These departments are already working on this case.")})
        _touch(case)
        write_event(
            case,
            "whistle",
            by,
            now,
            note=reason,
            public=True,
            data={"level": level, "departments": [d.pk for d in called]},
        )
        record("case.whistle", case, actor=by, area=case.area, level=level, departments=[d.pk for d in called])
        for department in called:
            notices.notify(
                holders(case, (), department_id=department.pk),
                kind="whistle",
                title=_("Whistle on case %(number)s: report in within %(minutes)d minutes")
                % {"number": case.number, "minutes": whistle_minutes(level)},
                body=reason,
                url=case_url(case),
                case=case,
            )
    return whistle


def _co_handler_for(case, by) -> CoHandler:
    departments = department_ids_for(by, case)
    row = CoHandler.objects.filter(case=case, department_id__in=departments).order_by("pk").first()
    if row is None:
        raise PermissionDenied(_("Your department has not been called on this case."))
    return row


def report_in(case, *, by) -> CoHandler:
    """报到: the called department says it is on the case (late if after the limit; recorded either way)."""
    row = _co_handler_for(case, by)
    now = timezone.now()
    with transaction.atomic():
        late = now > row.report_deadline
        if not CoHandler.objects.filter(pk=row.pk, reported_at__isnull=True).update(
            reported_at=now, reported_by=by, is_late=late
        ):
            raise ValidationError({"action": _("Your department has already reported in.")})
        _touch(case)
        write_event(case, "report_in", by, now, public=True, data={"department": row.department_id, "late": late})
        record("case.report_in", case, actor=by, area=case.area, department=row.department_id, late=late)
    row.refresh_from_db()
    return row


def report_part(case, *, by, note: str, photos_in=()) -> CoHandler:
    """The co-handler's part is done; the case closes only when every called department has reported its part."""
    row = _co_handler_for(case, by)
    note = CONTROL.sub("", str(note or "")).strip()
    if not note:
        raise ValidationError({"note": _("Say what your department did.")})
    if row.reported_at is None:
        raise ValidationError({"action": _("Report in first.")})
    checked = photos.check_photos(photos_in)
    now = timezone.now()
    with transaction.atomic():
        if not CoHandler.objects.filter(pk=row.pk, part_done_at__isnull=True).update(part_done_at=now, part_note=note):
            raise ValidationError({"action": _("Your department has already reported its part.")})
        _touch(case)
        event = write_event(case, "part_done", by, now, note=note, data={"department": row.department_id})
        _attach(case, event, checked, AttachmentKind.AFTER, by)
        record("case.part_done", case, actor=by, area=case.area, department=row.department_id)
        remaining = CoHandler.objects.filter(case=case, part_done_at__isnull=True).exists()
        if not remaining and case.assignee_id:
            notices.notify(
                [case.assignee_id],
                kind="parts_done",
                title=_("All called departments have done their part on %(number)s") % {"number": case.number},
                url=case_url(case),
                case=case,
            )
    row.refresh_from_db()
    return row


def supervise(case, *, by, level: int, instruction: str) -> Supervision:
    """督办 by hand: the grid centre raises the case's supervision with an instruction."""
    if Actor.SUPERVISOR not in actors_for(by, case):
        raise PermissionDenied(_("Only the grid centre supervises cases."))
    try:
        level = SupervisionLevel(int(level))
    except (TypeError, ValueError):
        raise ValidationError({"level": _("Choose supervised, yellow card or red card.")}) from None
    if level == SupervisionLevel.NONE:
        raise ValidationError({"level": _("Choose supervised, yellow card or red card.")})
    instruction = CONTROL.sub("", str(instruction or "")).strip()
    if not instruction:
        raise ValidationError({"instruction": _("Give an instruction.")})
    if case.state in FINAL_STATES:
        raise WrongState(case)
    return raise_supervision(case, level=level, by=by, instruction=instruction, area=area_above(case))


def raise_supervision(case, *, level, by, instruction, area, stage="", now=None) -> Supervision | None:
    """Record a supervision and raise the case's level (never lowers it). Used by hand and by the clock."""
    now = now or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = Supervision.objects.create(
                    case=case, level=level, by=by, at=now, area=area, stage=stage, instruction=instruction
                )
        except IntegrityError:
            return None  # the clock already raised this level for this stage
        before = tallies.snapshot(case)
        Case.objects.filter(pk=case.pk, supervision__lt=level).update(supervision=level, version=F("version") + 1)
        case.refresh_from_db()
        label = SupervisionLevel(level).label
        write_event(
            case,
            "supervise",
            by,
            now,
            note=instruction,
            data={"level": int(level), "stage": stage},
            actor_label="" if by is not None else _("Grid centre (automatic)"),
        )
        record("case.supervise", case, actor=by, area=case.area, level=int(level), stage=stage)
        tallies.apply_change(before, case)
        notices.notify(
            # Cards reach the grid centre too, not only the people the case waits on.
            [*waiting_on(case), *(holders(case, SUPERVISOR_ROLES) if level >= SupervisionLevel.YELLOW else [])],
            kind="supervision",
            title=_("%(level)s on case %(number)s") % {"level": label, "number": case.number},
            body=instruction,
            url=case_url(case),
            case=case,
            exclude=by,
        )
    return row


def area_above(case) -> Area:
    """The level above the tier that holds the case: who supervises it."""
    above = {Tier.GRID: case.community_pk, Tier.COMMUNITY: case.street_pk}.get(case.tier) or case.district_pk
    return Area.objects.get(pk=above or case.area_id)


def follow_up(case, *, by, note: str, rating: str = "") -> CaseEvent:
    """回访: staff record a call or visit to the reporter after the case closed."""
    if Actor.STAFF not in actors_for(by, case):
        raise PermissionDenied(_("Only staff record follow-ups."))
    note = CONTROL.sub("", str(note or "")).strip()
    if not note:
        raise ValidationError({"note": _("Say what the reporter said.")})
    if rating and rating not in Rating.values:
        raise ValidationError({"rating": _("Choose satisfied, basically satisfied or dissatisfied.")})
    now = timezone.now()
    with transaction.atomic():
        _touch(case)
        event = write_event(case, "follow_up", by, now, note=note, data={"rating": rating})
        record("case.follow_up", case, actor=by, area=case.area, rating=rating)
    return event


def add_note(case, *, by, note: str, photos_in=()) -> CaseEvent:
    """A remark or photo on the timeline without a change of state (anyone who may act on the case)."""
    if not actors_for(by, case) - {Actor.REPORTER} and case.reporter_id != getattr(by, "pk", None):
        raise PermissionDenied(_("You may not add notes to this case."))
    note = CONTROL.sub("", str(note or "")).strip()[:2000]
    checked = photos.check_photos(photos_in)
    if not note and not checked:
        raise ValidationError({"note": _("Write a note or add a photo.")})
    now = timezone.now()
    with transaction.atomic():
        _touch(case)
        event = write_event(case, "note", by, now, note=note)
        _attach(case, event, checked, AttachmentKind.OTHER, by)
        record("case.note", case, actor=by, area=case.area)
    return event


def _touch(case) -> None:
    """Bump the version so a form loaded before this change refuses to act on stale facts."""
    Case.objects.filter(pk=case.pk).update(version=F("version") + 1, updated_at=timezone.now())
    case.version += 1


# ---- who is told ------------------------------------------------------------------------------------------


def case_url(case) -> str:
    return f"/cases/{case.pk}/"


def public_url(case) -> str:
    return f"/track/{case.tracking_code}/"


def waiting_on(case):
    """The users the case now waits on, from its state and tier: a list of pks, or a query of them (`holders`)."""
    state = case.state
    if state in (CaseState.REPORTED, CaseState.ACCEPTED, CaseState.REGISTERED):
        return holders(case, {QUEUE_ROLE_OF_TIER[case.tier]})
    if state == CaseState.DISPATCHED:
        if case.assignee_id:
            return [case.assignee_id]
        return (
            _handlers_at(case, case.tier, case.department) if case.tier != Tier.DEPARTMENT or case.department_id else []
        )
    if state in (CaseState.TAKEN, CaseState.ON_HOLD):
        return [case.assignee_id] if case.assignee_id else []
    if state == CaseState.HOLD_REQUESTED:
        return holders(case, SUPERVISOR_ROLES)
    if state == CaseState.RESOLVED:
        pool = holders(case, VERIFIER_ROLES & (GRID_ROLES | {Role.COMMUNITY_STAFF}))
        return pool.exclude(user_id=case.resolved_by_id) if case.resolved_by_id else pool
    if state == CaseState.VERIFIED:
        return holders(case, DISPATCHER_ROLES[case.tier] & {QUEUE_ROLE_OF_TIER[case.tier]})
    return []


def _announce(case, action: str, by) -> None:
    title = _("Case %(number)s: %(state)s · %(category)s") % {
        "number": case.number,
        "state": case.get_state_display(),
        "category": case.category.name,
    }
    notices.notify(
        waiting_on(case),
        kind=f"case.{action}",
        title=title,
        body=case.description[:140],
        url=case_url(case),
        case=case,
        exclude=by,
    )
    t = TRANSITIONS.get(action)
    if t is not None and t.public:
        _tell_reporters(case, title, by)


def _tell_reporters(case, title, by) -> None:
    """The reporter (in the app, or by SMS if they left a phone), and the reporters of merged duplicates."""
    reporters = [case.reporter_id] if case.reporter_id else []
    merged = list(Case.objects.filter(merged_into=case).values_list("reporter_id", flat=True))
    notices.notify(reporters + merged, kind="case.public", title=title, url=public_url(case), case=case, exclude=by)
    if not case.reporter_id:
        notices.text_case_contact(case, f"{title} {public_url(case)}")
    for duplicate in Case.objects.filter(merged_into=case, reporter__isnull=True).exclude(phone_cipher=""):
        notices.text_case_contact(duplicate, f"{title} {public_url(case)}")


# ---- duplicates ---------------------------------------------------------------------------------------------


def possible_duplicates(
    *, category, lon=None, lat=None, area=None, description: str = "", at=None, exclude_pk=None, limit: int = 5
) -> list[Case]:
    """Open cases of the same or a sibling category nearby and recent, or with near-identical text."""
    at = at or timezone.now()
    radius = getattr(settings, "CASES_DUPLICATE_RADIUS_M", 250)
    window = dt.timedelta(days=getattr(settings, "CASES_DUPLICATE_DAYS", 7))
    recent = Case.objects.filter(reported_at__gte=at - window, reported_at__lte=at + dt.timedelta(minutes=5)).exclude(
        state__in=FINAL_STATES
    )
    if exclude_pk:
        recent = recent.exclude(pk=exclude_pk)
    related = Q(category=category)
    if category is not None and category.parent_id:
        related |= Q(category__parent_id=category.parent_id)
    found: dict[int, Case] = {}
    if lon is not None and lat is not None:
        dlat = radius / 111_320
        dlon = radius / (111_320 * max(0.1, math.cos(math.radians(lat))))
        near = recent.filter(related, lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon))
        for case in near.select_related("category")[:50]:
            if _metres(lon, lat, case.lon, case.lat) <= radius:
                found[case.pk] = case
    text = _normalise(description)
    if text and area is not None:
        community = area.community_pk or area.pk
        for case in recent.filter(community_pk=community).select_related("category").order_by("-reported_at")[:200]:
            if case.pk not in found and SequenceMatcher(None, text, _normalise(case.description)).ratio() >= 0.85:
                found[case.pk] = case
    return sorted(found.values(), key=lambda c: c.reported_at, reverse=True)[:limit]


def duplicates_of(case: Case, limit: int = 5) -> list[Case]:
    """Possible duplicates of a case already recorded (what a dispatcher may merge it into)."""
    return possible_duplicates(
        category=case.category,
        lon=case.lon,
        lat=case.lat,
        area=case.area,
        description=case.description,
        at=case.reported_at,
        exclude_pk=case.pk,
        limit=limit,
    )


def _normalise(text: str) -> str:
    return re.sub(r"[\W_]+", "", str(text or "")).lower()[:200]


def _metres(lon1, lat1, lon2, lat2) -> float:
    if lon2 is None or lat2 is None:
        return math.inf
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((rlat2 - rlat1) / 2) ** 2
        + math.cos(rlat1) * math.cos(rlat2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 6_371_000 * 2 * math.asin(math.sqrt(a))
