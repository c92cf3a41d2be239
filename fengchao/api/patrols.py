"""Patrols (巡查) and the work log (工作日志): checking in on patrol with the phone's GPS, my check-ins of a week,
the coverage of an area for a week (staff), my work log (list, write, edit) and a person's work log (staff).

Reads start from `fengchao.patrols.queries`: an area or person outside the caller's scope answers 404, exactly
like one that does not exist. Every change goes through `fengchao.patrols.services`.

Answers: 404 what you cannot see; 403 what you may not do (checking in without serving a grid); 422 a refusal
naming the field (`location` for a point outside the micro-grids you patrol, `text`, `day`, `area`, `week`).
A check-in repeated with the same `key` answers 200 with the check-in already recorded; a new one 201. A
check-in's body is JSON, or multipart/form-data with the same fields and an optional `photo` (422 `photo` when it
is not a JPEG, PNG or WebP); its photo is served at /check-ins/{id}/photo to its author and staff in scope.
"""

import datetime as dt
from typing import Literal

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from fengchao.patrols import coverage as cov
from fengchao.patrols import queries, services
from fengchao.patrols.choices import LOG_TEXT_MAX, NOTE_MAX

from .cases import body_doc, field_error, read_body, refusals
from .registry_schemas import MAX_ID, Input

router = Router(tags=["patrols"])

LOG_LIMIT = 100
CHECK_IN_LIMIT = 500
WeekParam = Query(None, max_length=8, description="ISO week, like 2026-W49 (default: this week)")
AreaParam = Query(None, ge=1, le=MAX_ID, description="area id (default: the top of your scope)")
EntryId = Path(..., ge=1, le=MAX_ID, description="work-log entry id")
CheckInId = Path(..., ge=1, le=MAX_ID, description="check-in id")
UserId = Path(..., ge=1, le=MAX_ID, description="user id")
Crs = Literal["wgs84", "gcj02", "bd09"]


class AreaRef(Schema):
    id: int
    code: str
    name: str


class CheckInIn(Input):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Crs = Field("wgs84", description="the system of lon/lat: a phone's GPS gives wgs84, AMap/WeChat gcj02")
    note: str = Field("", max_length=NOTE_MAX)
    key: str = Field("", max_length=64, description="one per submission: a repeat returns the first check-in")


class CheckInOut(Schema):
    id: int
    area: AreaRef = Field(description="the micro-grid the point falls in")
    at: dt.datetime
    lon: float = Field(description="WGS84")
    lat: float = Field(description="WGS84")
    note: str
    has_photo: bool = Field(description="a photo was taken: GET /check-ins/{id}/photo serves it")


class CheckInList(Schema):
    week: str
    items: list[CheckInOut]


class MicroOut(Schema):
    area: AreaRef
    walked: bool
    check_ins: int
    last_at: dt.datetime | None


class GridOut(Schema):
    id: int
    name: str
    micro_grids: int
    walked: int
    full_walk_minutes: int | None = Field(description="the shortest full walk of the week; null: not fully walked")
    full_walk_day: dt.date | None
    items: list[MicroOut]


class CoverageOut(Schema):
    area: AreaRef
    week: str
    micro_grids: int
    walked: int
    grids: list[GridOut]


class LogIn(Input):
    text: str = Field(..., max_length=LOG_TEXT_MAX)
    day: dt.date | None = Field(None, description="today (default) or yesterday")
    area: int | None = Field(None, ge=1, le=MAX_ID, description="one of the areas where you serve (default: the first)")


class LogEdit(Input):
    text: str = Field(..., max_length=LOG_TEXT_MAX)


class LogOut(Schema):
    id: int
    day: dt.date
    text: str
    area: AreaRef
    created_at: dt.datetime
    updated_at: dt.datetime
    editable: bool


class LogList(Schema):
    items: list[LogOut]


def _area(a) -> dict:
    return {"id": a.pk, "code": a.code, "name": a.name}


def check_in_out(c) -> dict:
    return {
        "id": c.pk,
        "area": _area(c.area),
        "at": c.at,
        "lon": c.lon,
        "lat": c.lat,
        "note": c.note,
        "has_photo": bool(c.photo),
    }


def entry_out(user, e) -> dict:
    return {
        "id": e.pk,
        "day": e.day,
        "text": e.text,
        "area": _area(e.area),
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "editable": services.can_edit(user, e),
    }


def _patroller(user):
    if not queries.is_patroller(user):
        raise Http404(_("Patrols are for the people serving a grid."))


@router.post(
    "/check-ins",
    response={200: CheckInOut, 201: CheckInOut},
    summary="Check in on patrol here",
    openapi_extra=body_doc(CheckInIn, ("photo",)),
)
@refusals
def check_in(request):
    """The point (converted to WGS84) must fall in a micro-grid you patrol: those of your grid. JSON, or
    multipart/form-data with the same fields and an optional `photo` (one; JPEG, PNG or WebP, checked by content)."""
    payload, files = read_body(request, CheckInIn, ("photo",))
    photos = files.get("photo") or []
    if len(photos) > 1:
        raise field_error("photo", _("One photo per check-in."))
    done, created = services.check_in(request.auth, photo=photos[0] if photos else None, **payload.model_dump())
    return Status(201 if created else 200, check_in_out(done))


@router.get(
    "/check-ins/{check_in_id}/photo",
    summary="A check-in's photo",
    response={200: None},
)
def check_in_photo(request, check_in_id: int = CheckInId):
    """To the check-in's author and staff whose areas hold its micro-grid; 404 to anyone else, or without a photo."""
    try:
        found = queries.check_in_or_404(request.auth, check_in_id)
    except Http404:
        raise Http404(_("No such check-in for you.")) from None
    if not found.photo:
        raise Http404(_("This check-in has no photo."))
    try:
        handle = found.photo.open("rb")
    except FileNotFoundError:
        raise Http404(_("This check-in has no photo.")) from None
    response = FileResponse(handle, content_type=found.photo_type or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/check-ins", response=CheckInList, summary="My check-ins of a week, latest first")
@refusals
def my_check_ins(request, week: str | None = WeekParam):
    user = request.auth
    _patroller(user)
    monday = cov.parse_week(week)
    start, end = cov.week_bounds(monday)
    rows = queries.my_check_ins(user).filter(at__gte=start, at__lt=end)[:CHECK_IN_LIMIT]
    return {"week": cov.week_of(monday), "items": [check_in_out(c) for c in rows]}


@router.get("/coverage", response=CoverageOut, summary="Which micro-grids were walked in a week (staff)")
@refusals
def coverage(request, area: int | None = AreaParam, week: str | None = WeekParam):
    """Per micro-grid: walked (at least one check-in) or not, and the last check-in. Per grid: the shortest full
    walk of the week (the time from the first to the last check-in of a day on which every micro-grid of the grid
    was visited), or null."""
    user = request.auth
    if area is None:
        place = queries.staff_roots(user).first()
        if place is None:
            raise Http404(_("No area for you."))
    else:
        try:
            place = queries.staff_area_or_404(user, area)
        except Http404:
            raise Http404(_("No such area for you.")) from None
    report = cov.coverage(place, cov.parse_week(week))
    grids = [
        {
            "id": g.grid_id,
            "name": g.name,
            "micro_grids": len(g.micro),
            "walked": g.walked_count,
            "full_walk_minutes": None if g.full_walk is None else int(g.full_walk.total_seconds() // 60),
            "full_walk_day": g.full_walk_day,
            "items": [
                {"area": _area(m.area), "walked": m.walked, "check_ins": m.check_ins, "last_at": m.last_at}
                for m in g.micro
            ],
        }
        for g in report.grids
    ]
    return {
        "area": _area(place),
        "week": report.week,
        "micro_grids": report.micro_count,
        "walked": report.walked_count,
        "grids": grids,
    }


@router.get("/log", response=LogList, summary="My work log, latest first")
def my_log(request):
    user = request.auth
    _patroller(user)
    return {"items": [entry_out(user, e) for e in queries.my_log(user)[:LOG_LIMIT]]}


@router.post("/log", response={201: LogOut}, summary="Write a work-log entry")
@refusals
def write_log(request, payload: LogIn):
    user = request.auth
    _patroller(user)
    entry = services.write_log(user, **payload.model_dump())
    return Status(201, entry_out(user, entry))


@router.put("/log/{entry_id}", response=LogOut, summary="Edit my entry (its day and the next)")
@refusals
def edit_log(request, payload: LogEdit, entry_id: int = EntryId):
    user = request.auth
    try:
        entry = queries.my_entry_or_404(user, entry_id)
    except Http404:
        raise Http404(_("No such entry of yours.")) from None
    return entry_out(user, services.edit_log(user, entry, text=payload.text))


@router.get("/people/{user_id}/log", response=LogList, summary="A person's work log (staff)")
def person_log(request, user_id: int = UserId):
    user = request.auth
    try:
        person = queries.person_or_404(user, user_id)
    except Http404:
        raise Http404(_("No such person in your areas.")) from None
    return {"items": [entry_out(user, e) for e in queries.log_of(user, person)[:LOG_LIMIT]]}
