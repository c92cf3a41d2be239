"""Care visits (入户走访): the visit plans per care tag (read; changed by the district administrator), who is due a
visit in my grids, recording a visit (its need raised as a service request or case), the visits in scope (keyset
pages, filters), one visit, and the coverage of an area per child area (staff).

Reads start from `fengchao.visits.queries`: a resident, visit or area outside the caller's scope answers 404,
exactly like one that does not exist. Every change goes through `fengchao.visits.services`. Personal data stays
masked (names, addresses and masked phones only).

Answers: 404 what you cannot see (a resident outside the grids you serve, so anyone's for staff who serve
none); 403 what you may not do (changing a plan without being the district administrator); 409 a plan changed
meanwhile (`expected_version`); 422 a refusal naming the field (`resident` no longer living there, `findings`,
`needs`, `need_category`, `at`, `how`, `photo`, `every_days`, `tag`, `cursor`). A visit repeated with the same
`key` answers 200 with the visit already recorded; a new one 201. Recording takes JSON, or multipart/form-data
with the same fields and an optional `photo`, served at /{id}/photo to those who read the visit.
"""

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from fengchao.areas.models import Area
from fengchao.core.keyset import keyset_page
from fengchao.registry.models import CareTag
from fengchao.visits import coverage as cov
from fengchao.visits import queries, services
from fengchao.visits.choices import FINDINGS_MAX, NEEDS_MAX, SERVICE_PREFIX, How

from .cases import body_doc, field_error, read_body, refusals
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .registry_schemas import MAX_ID, Input

router = Router(tags=["visits"])

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
VisitId = Path(..., ge=1, le=MAX_ID, description="visit id")
TagCode = Path(..., max_length=32, pattern=r"^[-a-zA-Z0-9_]+$", description="care tag code, like elderly_alone")
AreaParam = Query(None, ge=1, le=MAX_ID, description="area id (default: the top of your scope)")
AreaFilter = Query(None, ge=1, le=MAX_ID, description="only under this area")
ResidentFilter = Query(None, ge=1, le=MAX_ID, description="only this resident")
SinceFilter = Query(None, description="visited on or after this day")
UntilFilter = Query(None, description="visited on or before this day")
HowName = Literal[tuple(How.values)]  # type: ignore[valid-type]


class Ref(Schema):
    id: int
    name: str


class TagRef(Schema):
    code: str
    name: str


class PlanOut(Schema):
    tag: TagRef
    every_days: int
    is_active: bool
    version: int
    updated_at: dt.datetime


class PlanList(Schema):
    items: list[PlanOut]


class PlanIn(Input):
    every_days: int = Field(..., description="visit every n days, 1 to 366")
    is_active: bool = True
    expected_version: int | None = Field(None, ge=1, description="the version shown; refused (409) if changed since")


class DueOut(Schema):
    resident: int
    name: str
    address: str
    masked_phone: str
    area: Ref
    tags: list[str]
    every_days: int = Field(description="the shortest interval of the resident's planned care tags")
    last_visited_at: dt.datetime | None
    due_on: dt.date
    overdue: bool
    due_in_days: int = Field(description="negative: days overdue")


class DueList(Schema):
    on: dt.date
    items: list[DueOut]


class VisitIn(Input):
    resident: int = Field(..., ge=1, le=MAX_ID, description="resident id (of a grid you serve)")
    findings: str = Field(..., max_length=FINDINGS_MAX)
    needs: str = Field("", max_length=NEEDS_MAX)
    how: HowName = Field("in_person", description="in_person, or phone (a phone visit is shown as one)")
    need_category: str | None = Field(
        None, max_length=16, description="a case category code for the need: G03xx is a service request"
    )
    at: dt.datetime | None = Field(None, description="when visited (default now; up to 7 days back)")
    key: str = Field("", max_length=64, description="one per submission: a repeat returns the first visit")


class CaseRef(Schema):
    id: int
    number: str
    category: str
    kind: Literal["service_request", "case"]


class VisitOut(Schema):
    id: int
    resident: Ref
    visitor: Ref
    at: dt.datetime
    area: Ref
    how: str
    findings: str
    needs: str
    case: CaseRef | None
    has_photo: bool
    created_at: dt.datetime


class VisitList(Schema):
    items: list[VisitOut]
    next_cursor: str | None


class AreaRow(Schema):
    area: Ref
    subjects: int
    visited_in_time: int
    due_soon: int
    overdue: int
    percent: int | None


class OverviewOut(Schema):
    area: Ref
    on: dt.date
    subjects: int
    visited_in_time: int
    due_soon: int
    overdue: int
    percent: int | None
    items: list[AreaRow]


def plan_out(p) -> dict:
    return {
        "tag": {"code": p.tag.code, "name": p.tag.name},
        "every_days": p.every_days,
        "is_active": p.is_active,
        "version": p.version,
        "updated_at": p.updated_at,
    }


def visit_out(v) -> dict:
    case = None
    if v.case_id:
        code = v.case.category.code
        kind = "service_request" if code.startswith(SERVICE_PREFIX) else "case"
        case = {"id": v.case_id, "number": v.case.number, "category": code, "kind": kind}
    return {
        "id": v.pk,
        "resident": {"id": v.resident_id, "name": v.resident.name},
        "visitor": {"id": v.visitor_id, "name": v.visitor.display_name or v.visitor.username},
        "at": v.at,
        "area": {"id": v.area_id, "name": v.area.name},
        "how": v.how,
        "findings": v.findings,
        "needs": v.needs,
        "case": case,
        "has_photo": bool(v.photo),
        "created_at": v.created_at,
    }


def _user(user):
    if not queries.can_use(user):
        raise Http404(_("Care visits are for the people serving a grid and staff."))


@router.get("/plans", response=PlanList, summary="The visit plans per care tag")
def list_plans(request):
    _user(request.auth)
    return {"items": [plan_out(p) for p in queries.plans()]}


@router.put("/plans/{tag_code}", response=PlanOut, summary="Change a visit plan (district administrator)")
@refusals
def put_plan(request, payload: PlanIn, tag_code: str = TagCode):
    user = request.auth
    _user(user)
    if not CareTag.objects.filter(code=tag_code).exists():
        raise Http404(_("No such care tag."))
    plan = services.set_plan(user, tag_code, **payload.model_dump())
    return plan_out(plan)


@router.get("/due", response=DueList, summary="Who is due a visit in my grids")
def due(request):
    """Overdue first, then by due day: the care subjects due today, overdue, or due within the next 3 days."""
    user = request.auth
    _user(user)
    on = timezone.localdate()
    items = [{**r, "area": {"id": r["area"], "name": r["area_name"]}} for r in queries.due_for(user, on)]
    return {"on": on, "items": items}


@router.post(
    "",
    response={200: VisitOut, 201: VisitOut},
    summary="Record a visit",
    openapi_extra=body_doc(VisitIn, ("photo",)),
)
@refusals
def record(request):
    """JSON, or multipart/form-data with the same fields and an optional `photo` (one; JPEG, PNG or WebP, checked
    by content). A need with `need_category` becomes a service request (G03xx) or case, linked as `case`."""
    user = request.auth
    payload, files = read_body(request, VisitIn, ("photo",))
    data = payload.model_dump()
    if not queries.is_visitor(user):
        raise Http404(_("No such resident for you."))
    try:
        resident = queries.resident_to_visit_or_404(user, data.pop("resident"))
    except Http404:
        raise Http404(_("No such resident for you.")) from None
    photos = files.get("photo") or []
    if len(photos) > 1:
        raise field_error("photo", _("One photo per visit."))
    visit, created = services.record_visit(user, resident=resident, photo=photos[0] if photos else None, **data)
    return Status(201 if created else 200, visit_out(queries.visit_or_404(user, visit.pk)))


@router.get("", response=VisitList, summary="Visits in my scope, latest first")
@refusals
def list_visits(
    request,
    area: int | None = AreaFilter,
    resident: int | None = ResidentFilter,
    since: dt.date | None = SinceFilter,
    until: dt.date | None = UntilFilter,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    user = request.auth
    _user(user)
    qs = queries.visits_visible_to(user).select_related("resident", "visitor", "area", "case__category")
    if area is not None:
        place = Area.objects.filter(pk=area).first()
        qs = qs.filter(queries.lineage_q([place.path])) if place else qs.none()
    if resident is not None:
        qs = qs.filter(resident_id=resident)
    tz = timezone.get_current_timezone()
    if since is not None:
        qs = qs.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz))
    if until is not None:
        qs = qs.filter(at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    try:
        rows, after = keyset_page(qs, ["-at", "-pk"], lambda v: (v.at.isoformat(), v.pk), cursor, limit, strict=True)
    except ValidationError:
        raise field_error("cursor", _("The cursor is not valid: start again from the first page."), "query") from None
    return {"items": [visit_out(v) for v in rows], "next_cursor": after}


@router.get("/overview", response=OverviewOut, summary="Visit coverage of an area per child area (staff)")
def overview(request, area: int | None = AreaParam):
    """Per child area: care subjects, visited within their interval, due within 3 days, overdue, and the share
    visited in time."""
    user = request.auth
    if not queries.is_staff(user):
        raise Http404(_("No area for you."))
    if area is None:
        place = queries.staff_roots(user).first()
        if place is None:
            raise Http404(_("No area for you."))
    else:
        try:
            place = queries.staff_area_or_404(user, area)
        except Http404:
            raise Http404(_("No such area for you.")) from None
    on = timezone.localdate()
    rows = cov.area_status(place, on)
    items = [
        {
            "area": {"id": r["area"].pk, "name": r["area"].name},
            **{k: r[k] for k in ("subjects", "visited_in_time", "due_soon", "overdue", "percent")},
        }
        for r in rows
    ]
    return {"area": {"id": place.pk, "name": place.name}, "on": on, **cov.totals(rows), "items": items}


@router.get("/{visit_id}", response=VisitOut, summary="One visit")
def one(request, visit_id: int = VisitId):
    try:
        found = queries.visit_or_404(request.auth, visit_id)
    except Http404:
        raise Http404(_("No such visit.")) from None
    return visit_out(found)


@router.get(
    "/{visit_id}/photo",
    summary="A visit's photo",
    response={200: None},
)
def photo(request, visit_id: int = VisitId):
    """To those who read the visit; 404 to anyone else, or without a photo."""
    try:
        found = queries.visit_or_404(request.auth, visit_id)
    except Http404:
        raise Http404(_("No such visit.")) from None
    if not found.photo:
        raise Http404(_("This visit has no photo."))
    try:
        handle = found.photo.open("rb")
    except FileNotFoundError:
        raise Http404(_("This visit has no photo.")) from None
    response = FileResponse(handle, content_type=found.photo_type or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
