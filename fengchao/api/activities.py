"""Trainings, meetings and activities (培训, 例会, 主题党日, 邻里活动): the list and detail, publishing and
cancelling, sign-up with a waiting list, check-in and check-out by the rotating QR code's token, and the
organiser's attendance sheet and live marks.

Reads start from `fengchao.activities.queries`: an activity outside the caller's scope answers 404, exactly
like one that does not exist. Every change goes through `fengchao.activities.services`.

Answers: 404 what you cannot see; 403 what you see but may not do; 409 an activity changed meanwhile; 422 a
refusal naming the field (`token` for an expired or wrong code or a second check-in, `activity` outside the
check-in window or after a cancellation; `follow_up` for a follow-up that is done; `owner`, `due_on`, `text`).
"""

import datetime as dt
from typing import Literal

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from fengchao.activities import minutes as minutes_services
from fengchao.activities import queries, services
from fengchao.activities.choices import ActivityKind, ActivityState, Audience, CheckMethod, SignupState
from fengchao.activities.models import Activity, Attendance, FollowUp, Minutes, Signup
from fengchao.activities.services import waiting_position
from fengchao.activities.views import attendance_sheet, claim_of, confirmed_count
from fengchao.areas.models import Area, subtree_q
from fengchao.points.choices import ClaimState

from .cases import field_error, refusals
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from .registry_schemas import MAX_ID, SHORT, Input

router = Router(tags=["activities"])

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
ActivityId = Path(..., ge=1, le=MAX_ID, description="activity id")
Kind = Literal[tuple(ActivityKind.values)]  # type: ignore[valid-type]
KindFilter = Query(None, description="only this kind")
AreaFilter = Query(None, ge=1, le=MAX_ID, description="held for this area or below it")
FromFilter = Query(None, alias="from", description="ending at or after this time (default: now)")
CancelledFilter = Query(False, description="cancelled activities too")
AudienceName = Literal[tuple(Audience.values)]  # type: ignore[valid-type]


# ---- shapes -----------------------------------------------------------------------------------------------------


class Coded(Schema):
    code: str
    label: str


class AreaRef(Schema):
    id: int
    code: str
    name: str


class UserRef(Schema):
    id: int
    name: str


class ClaimOut(Schema):
    points: int
    kind: str
    state: Coded


class MySignup(Schema):
    state: Coded
    position: int | None = Field(description="place on the waiting list (1 is next), while waiting")


class AttendanceOut(Schema):
    id: int
    user: UserRef
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    method: Coded
    hours: float | None
    points: ClaimOut | None = Field(description="the participation points this attendance earned (or waits for)")


class ActivityOut(Schema):
    id: int
    area: AreaRef
    kind: Coded
    title: str
    description: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None
    confirmed: int
    places_left: int | None = Field(description="None: no limit; 0: new sign-ups go on the waiting list")
    audience: Coded
    state: Coded
    organiser: UserRef
    my_signup: MySignup | None
    organises: bool


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class SheetRow(Schema):
    user: UserRef
    signup: Coded | None
    attendance: AttendanceOut | None


class SheetOut(Schema):
    activity: int
    rows: list[SheetRow]


class PublishIn(Input):
    area: int = Field(ge=1, le=MAX_ID)
    kind: Kind
    title: str = Field(max_length=120)
    place: str = Field(max_length=200)
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None = Field(None, ge=1, le=100_000, description="leave out for no limit")
    audience: AudienceName = Audience.SERVING
    description: str = Field("", max_length=4000)


class TokenIn(Input):
    token: str = Field(max_length=200, description="the `t` of the check-in URL the QR code holds")


class ReasonIn(Input):
    reason: str = Field(max_length=SHORT)


class MarkIn(Input):
    user: int = Field(ge=1, le=MAX_ID)
    action: Literal["present", "left"] = Field("present", description="left: check out (hours-based kinds)")


# ---- shaping answers ---------------------------------------------------------------------------------------------


def _coded(choices, value) -> dict:
    return {"code": value, "label": str(dict(choices.choices).get(value, value))}


def _user(u) -> dict:
    return {"id": u.pk, "name": u.display_name or u.username}


def _claim(claim) -> dict | None:
    if claim is None:
        return None
    return {"points": claim.points, "kind": claim.kind, "state": _coded(ClaimState, claim.state)}


def attendance_out(a, claim=False) -> dict:
    return {
        "id": a.pk,
        "user": _user(a.user),
        "checked_in_at": a.checked_in_at,
        "checked_out_at": a.checked_out_at,
        "method": _coded(CheckMethod, a.method),
        "hours": float(a.hours) if a.hours is not None else None,
        "points": _claim(claim_of(a)) if claim else None,
    }


def _with_counts(qs, user):
    mine = Signup.objects.filter(activity=OuterRef("pk"), user=user)
    return qs.select_related("area", "organiser").annotate(
        n_confirmed=confirmed_count(),
        my_state=Subquery(mine.values("state")[:1]),
        my_pk=Subquery(mine.values("pk")[:1]),
    )


def activity_out(user, a, *, detail=False) -> dict:
    my = None
    if a.my_state and a.my_state != SignupState.CANCELLED:
        position = None
        if detail and a.my_state == SignupState.WAITLISTED:
            position = waiting_position(Signup.objects.get(pk=a.my_pk))
        my = {"state": _coded(SignupState, a.my_state), "position": position}
    return {
        "id": a.pk,
        "area": {"id": a.area.pk, "code": a.area.code, "name": a.area.name},
        "kind": _coded(ActivityKind, a.kind),
        "title": a.title,
        "description": a.description,
        "place": a.place,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "capacity": a.capacity,
        "confirmed": a.n_confirmed,
        "places_left": None if a.capacity is None else max(a.capacity - a.n_confirmed, 0),
        "audience": _coded(Audience, a.audience),
        "state": _coded(ActivityState, a.state),
        "organiser": _user(a.organiser),
        "my_signup": my,
        "organises": queries.organises(user, a),
    }


def _activity(user, pk: int) -> Activity:
    try:
        return queries.activity_or_404(user, pk)
    except Http404:
        raise Http404(_("No such activity for you.")) from None


def _detail(user, pk: int) -> dict:
    _activity(user, pk)
    return activity_out(user, _with_counts(Activity.objects.filter(pk=pk), user).get(), detail=True)


def _organised(user, pk: int) -> Activity:
    activity = _activity(user, pk)
    if not queries.organises(user, activity):
        raise HttpError(403, _("Only the organiser sees and marks the attendance."))
    return activity


# ---- endpoints ----------------------------------------------------------------------------------------------------


@router.get("", response=ActivityPage, summary="Activities I may see, soonest first")
def list_activities(
    request,
    kind: Kind | None = KindFilter,
    area: int | None = AreaFilter,
    start: dt.datetime | None = FromFilter,
    include_cancelled: bool = CancelledFilter,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Members see the activities of the areas where they hold a role and of the areas above; organisers also
    those in their subtree."""
    user = request.auth
    qs = queries.activities_visible_to(user).filter(ends_at__gte=start or timezone.now())
    if not include_cancelled:
        qs = qs.filter(state=ActivityState.PUBLISHED)
    if kind:
        qs = qs.filter(kind=kind)
    if area:
        place = Area.objects.filter(pk=area).first()
        if place is None:
            raise field_error("area", _("No such area."), "query")
        qs = qs.filter(area__path__startswith=place.path)
    rows, next_cursor = keyset_page(
        _with_counts(qs, user), ["starts_at", "pk"], cursor, limit, lambda a: (a.starts_at.isoformat(), a.pk)
    )
    return {"items": [activity_out(user, a) for a in rows], "next_cursor": next_cursor}


@router.post("", response={201: ActivityOut}, summary="Publish an activity (organisers)")
@refusals
def publish(request, payload: PublishIn):
    user = request.auth
    place = Area.objects.filter(pk=payload.area).first()
    if place is None:
        raise field_error("area", _("No such area."))
    values = payload.model_dump(exclude={"area"})
    activity = services.publish(user, area=place, **values)
    return Status(201, _detail(user, activity.pk))


@router.get("/{activity_id}", response=ActivityOut, summary="One activity")
def get_activity(request, activity_id: int = ActivityId):
    return _detail(request.auth, activity_id)


@router.post("/{activity_id}/signup", response=ActivityOut, summary="Sign up (or join the waiting list)")
@refusals
def sign_up(request, activity_id: int = ActivityId):
    user = request.auth
    services.sign_up(user, _activity(user, activity_id))
    return _detail(user, activity_id)


@router.post("/{activity_id}/cancel-signup", response=ActivityOut, summary="Cancel my sign-up")
@refusals
def cancel_signup(request, activity_id: int = ActivityId):
    """The first on the waiting list moves up and is told."""
    user = request.auth
    services.cancel_signup(user, _activity(user, activity_id))
    return _detail(user, activity_id)


@router.post("/{activity_id}/check-in", response=AttendanceOut, summary="Check in with the QR code's token")
@refusals
def check_in(request, payload: TokenIn, activity_id: int = ActivityId):
    user = request.auth
    attendance = services.check_in(user, _activity(user, activity_id), payload.token)
    return attendance_out(Attendance.objects.select_related("user").get(pk=attendance.pk), claim=True)


@router.post("/{activity_id}/check-out", response=AttendanceOut, summary="Check out (hours-based kinds)")
@refusals
def check_out(request, payload: TokenIn, activity_id: int = ActivityId):
    user = request.auth
    attendance = services.check_out(user, _activity(user, activity_id), payload.token)
    return attendance_out(Attendance.objects.select_related("user").get(pk=attendance.pk), claim=True)


@router.get("/{activity_id}/attendance", response=SheetOut, summary="The attendance sheet (organiser)")
def attendance(request, activity_id: int = ActivityId):
    activity = _organised(request.auth, activity_id)
    rows = [
        {
            "user": _user(row["user"]),
            "signup": _coded(SignupState, row["signup"].state) if row["signup"] else None,
            "attendance": attendance_out(row["attendance"]) if row["attendance"] else None,
        }
        for row in attendance_sheet(activity)
    ]
    return {"activity": activity.pk, "rows": rows}


@router.post("/{activity_id}/attendance", response=AttendanceOut, summary="Mark someone present or left (organiser)")
@refusals
def mark(request, payload: MarkIn, activity_id: int = ActivityId):
    user = request.auth
    activity = _activity(user, activity_id)
    person = get_user_model().objects.filter(pk=payload.user).first()
    if person is None:
        raise field_error("user", _("No such user."))
    step = services.mark_departure if payload.action == "left" else services.mark_attendance
    done = step(activity, person, by=user)
    return attendance_out(Attendance.objects.select_related("user").get(pk=done.pk), claim=True)


@router.post("/{activity_id}/cancel", response=ActivityOut, summary="Cancel the activity (organiser)")
@refusals
def cancel(request, payload: ReasonIn, activity_id: int = ActivityId):
    user = request.auth
    services.cancel_activity(_activity(user, activity_id), by=user, reason=payload.reason)
    return _detail(user, activity_id)


# ---- minutes (会议纪要) -------------------------------------------------------------------------------------------


class FollowUpOut(Schema):
    id: int
    text: str
    owner: UserRef
    due_on: dt.date
    kind: Coded
    task: int | None = Field(description="the platform task carrying it out (kind task)")
    case: int | None = Field(description="the case carrying it out (kind case)")
    created_at: dt.datetime
    version: str = Field(description="send it back as expected_version when changing the follow-up")


class MinutesOut(Schema):
    activity: int
    agenda: str
    decisions: str
    attendees: list[UserRef] = Field(description="the people marked present")
    written_by: UserRef
    published_at: dt.datetime | None
    version: int
    follow_ups: list[FollowUpOut]


class MinutesIn(Input):
    agenda: str = Field("", max_length=10_000)
    decisions: str = Field("", max_length=10_000)
    expected_version: int | None = Field(
        None, ge=0, description="the version you loaded: if the minutes changed since, the answer is 409"
    )


class FollowUpIn(Input):
    text: str = Field(max_length=200)
    owner: int = Field(ge=1, le=MAX_ID, description="one of the attendees")
    due_on: dt.date
    kind: Literal["task", "case"]
    area: int | None = Field(None, ge=1, le=MAX_ID, description="where the task or case goes (default: the activity's)")
    category: str | None = Field(None, max_length=20, description="the case's category code (kind case)")


class FollowUpPatch(Input):
    text: str | None = Field(None, max_length=200)
    owner: int | None = Field(None, ge=1, le=MAX_ID, description="one of the attendees")
    due_on: dt.date | None = None
    expected_version: str | None = Field(
        None, max_length=32, description="the follow-up's version you loaded: if it changed since, the answer is 409"
    )


def _follow_up_out(f: FollowUp, owner) -> dict:
    return {
        "id": f.pk,
        "text": f.text,
        "owner": _user(owner),
        "due_on": f.due_on,
        "kind": _coded(FollowUp.Kind, f.kind),
        "task": f.task_id,
        "case": f.case_id,
        "created_at": f.created_at,
        "version": minutes_services.follow_up_version(f),
    }


def _minutes_out(m: Minutes) -> dict:
    follow_ups = m.follow_ups.select_related("owner")
    return {
        "activity": m.activity_id,
        "agenda": m.agenda,
        "decisions": m.decisions,
        "attendees": [_user(u) for u in minutes_services.attendees(m.activity)],
        "written_by": _user(m.written_by),
        "published_at": m.published_at,
        "version": m.version,
        "follow_ups": [_follow_up_out(f, f.owner) for f in follow_ups],
    }


def _minutes(user, activity_id: int, *, organiser=False) -> Minutes:
    """The activity's minutes: 404 when none, or unpublished and the caller does not organise the activity."""
    activity = _activity(user, activity_id)
    found = Minutes.objects.filter(activity=activity).select_related("written_by", "activity__area").first()
    organises = queries.organises(user, activity)
    if found is None or not (organises or found.published_at):
        raise Http404(_("No minutes for you."))
    if organiser and not organises:
        raise HttpError(403, _("Only the organiser changes the minutes."))
    return found


@router.get("/{activity_id}/minutes", response=MinutesOut, summary="The minutes (organisers; everyone once published)")
def get_minutes(request, activity_id: int = ActivityId):
    return _minutes_out(_minutes(request.auth, activity_id))


@router.put("/{activity_id}/minutes", response=MinutesOut, summary="Write or edit the minutes (organiser)")
@refusals
def put_minutes(request, payload: MinutesIn, activity_id: int = ActivityId):
    user = request.auth
    written = minutes_services.write_minutes(
        _activity(user, activity_id),
        by=user,
        agenda=payload.agenda,
        decisions=payload.decisions,
        expected_version=payload.expected_version,
    )
    return _minutes_out(Minutes.objects.select_related("written_by", "activity__area").get(pk=written.pk))


@router.post(
    "/{activity_id}/minutes/follow-ups",
    response={201: FollowUpOut},
    summary="Add a follow-up action, carried out as a task or a case (organiser)",
)
@refusals
def add_follow_up(request, payload: FollowUpIn, activity_id: int = ActivityId):
    user = request.auth
    found = _minutes(user, activity_id, organiser=True)
    owner = minutes_services.attendees(found.activity).filter(pk=payload.owner).first()
    if owner is None and payload.owner == found.activity.organiser_id:
        owner = found.activity.organiser
    if owner is None:
        raise field_error("owner", _("Choose someone who attended."))
    area = None
    if payload.area is not None:
        area = Area.objects.filter(subtree_q(found.activity.area.path), pk=payload.area, is_active=True).first()
        if area is None:
            raise field_error("area", _("Choose an area of the activity's area or below it."))
    f = minutes_services.add_follow_up(
        found, by=user, text=payload.text, owner=owner, due_on=payload.due_on, kind=payload.kind, area=area,
        category=payload.category,
    )  # fmt: skip
    return Status(201, _follow_up_out(f, owner))


FollowUpId = Path(..., ge=1, le=MAX_ID, description="follow-up id")


@router.patch(
    "/{activity_id}/minutes/follow-ups/{follow_up_id}",
    response=FollowUpOut,
    summary="Change a follow-up's text, owner or due date while it is not done (organiser)",
)
@refusals
def edit_follow_up(request, payload: FollowUpPatch, activity_id: int = ActivityId, follow_up_id: int = FollowUpId):
    """Fields left out keep their value. A task follow-up moves its task's due time (and, for a task named to the
    owner, hands it to the new owner); a case follow-up changes only itself: the case keeps its own loop. 422
    `follow_up` once it is done; 409 when it changed since `expected_version`."""
    user = request.auth
    found = _minutes(user, activity_id, organiser=True)
    f = FollowUp.objects.filter(minutes=found, pk=follow_up_id).select_related("owner", "task", "case").first()
    if f is None:
        raise Http404(_("No such follow-up."))
    f.minutes = found
    owner = f.owner
    if payload.owner is not None and payload.owner != f.owner_id:
        owner = minutes_services.attendees(found.activity).filter(pk=payload.owner).first()
        if owner is None and payload.owner == found.activity.organiser_id:
            owner = found.activity.organiser
        if owner is None:
            raise field_error("owner", _("Choose someone who attended."))
    minutes_services.edit_follow_up(
        f, by=user, text=f.text if payload.text is None else payload.text, owner=owner,
        due_on=payload.due_on or f.due_on, expected_version=payload.expected_version,
    )  # fmt: skip
    return _follow_up_out(f, owner)


@router.post("/{activity_id}/minutes/publish", response=MinutesOut, summary="Publish to the area's board (organiser)")
@refusals
def publish_minutes(request, activity_id: int = ActivityId):
    user = request.auth
    found = _minutes(user, activity_id, organiser=True)
    minutes_services.publish_minutes(found, by=user)
    return _minutes_out(Minutes.objects.select_related("written_by", "activity__area").get(pk=found.pk))
