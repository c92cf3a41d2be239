"""Safety inspections (安全隐患排查): the checklists, the buildings and places a member inspects, inspecting one
(multipart, with a photo of each failed item), the inspections a caller reads, one with its items, re-inspecting
its open failures (整改复查), and for staff the coverage of an area in a period and the open hazards.

Reads start from `fengchao.inspections.queries`: anything outside the caller's scope answers 404, exactly like
something that does not exist. Every change goes through `fengchao.inspections.services`.

Answers: 404 what you cannot see (a target, an inspection or an area outside your grid or scope); 403 what you may
not do (inspecting without serving a grid); 409 an inspection no longer open for re-inspection, or changed
meanwhile; 422 a refusal naming the field (`answers` names the item missing or answered wrongly, `photos` the
failed item without a photo, `template`, `target`, `note`, `since`). An inspection or re-inspection repeated
with the same `key` answers 200 with the one already recorded; a new one 201.

Photos travel as multipart files named `photo_<item code>` (required for a failed item) and `after_<item code>`
(optional: the result of a fix on the spot).
"""

import datetime as dt

import orjson
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Form, Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import can_see_area
from fengchao.core.keyset import keyset_page
from fengchao.inspections import coverage as cov
from fengchao.inspections import queries, services
from fengchao.inspections.choices import NOTE_MAX, State
from fengchao.inspections.models import Inspection

from .cases import field_error, refusals
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .registry_schemas import MAX_ID

router = Router(tags=["inspections"])

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
InspectionId = Path(..., ge=1, le=MAX_ID, description="inspection id")
AreaParam = Query(None, ge=1, le=MAX_ID, description="area id (default: the top of your scope)")
HAZARD_LIMIT = 500
KindParam = Query(None, pattern="^(building|place)$", description="only checklists for this kind")
SearchParam = Query("", max_length=60, description="part of the name")
AreaFilter = Query(None, ge=1, le=MAX_ID, description="only under this area")
StateParam = Query(None, pattern="^(passed|open|rectified)$", description="only this state")
SinceParam = Query(None, description="from this day (included)")
UntilParam = Query(None, description="up to this day (included)")


class AreaRef(Schema):
    id: int
    name: str


class ItemDef(Schema):
    code: str
    text: str
    category: str = Field(description="the case category code a failure raises (empty: the fallback)")


class TemplateOut(Schema):
    code: str
    name: str
    description: str
    applies_to_buildings: bool
    applies_to_places: bool
    version: int
    items: list[ItemDef]


class TargetOut(Schema):
    kind: str = Field(description="building or place")
    id: int
    name: str
    area: AreaRef
    last_inspected: dt.datetime | None


class TargetList(Schema):
    items: list[TargetOut]


class CaseRef(Schema):
    id: int
    number: str
    state: str


class ItemOut(Schema):
    id: int
    code: str
    text: str
    outcome: str
    note: str
    has_photo: bool
    has_after_photo: bool
    fixed_on_spot: bool
    case: CaseRef | None
    rectified_at: dt.datetime | None


class InspectionOut(Schema):
    id: int
    template: str
    template_version: int
    kind: str
    target_id: int
    target_name: str
    area: AreaRef
    inspector_id: int
    at: dt.datetime
    note: str
    state: str
    follows_id: int | None
    items: list[ItemOut] | None = Field(None, description="in the detail, not in lists")


class InspectionPage(Schema):
    items: list[InspectionOut]
    next_cursor: str | None


class CoverageRowOut(Schema):
    kind: str
    id: int
    name: str
    area_id: int
    area_name: str
    grid_id: int | None
    grid_name: str
    inspected: bool
    last_at: dt.datetime | None
    inspections: int
    open_failures: int


class CoverageOut(Schema):
    area: AreaRef
    since: dt.date
    until: dt.date
    targets: int
    inspected: int
    rows: list[CoverageRowOut]


class HazardOut(Schema):
    item_id: int
    inspection_id: int
    kind: str
    target_id: int
    target_name: str
    area: AreaRef
    text: str
    found_at: dt.datetime
    days_open: int
    case: CaseRef | None


class HazardList(Schema):
    area: AreaRef
    items: list[HazardOut]


def _multipart(fields: dict, required: list[str]) -> dict:
    """The multipart/form-data body of an operation that also takes photos named by item code."""
    photo = {"type": "string", "format": "binary"}
    schema = {
        "type": "object",
        "properties": fields,
        "required": required,
        "patternProperties": {"^photo_[a-z0-9_-]+$": photo, "^after_[a-z0-9_-]+$": photo},
    }
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


TEXT = {"type": "string"}
INSPECT_BODY = _multipart(
    {
        "template": TEXT, "answers": TEXT, "building": {"type": "integer"}, "place": {"type": "integer"},
        "note": TEXT, "key": TEXT, "lon": {"type": "number"}, "lat": {"type": "number"},
    },
    ["template", "answers"],
)  # fmt: skip
REINSPECT_BODY = _multipart({"answers": TEXT, "note": TEXT, "key": TEXT}, ["answers"])


def _area(a) -> dict:
    return {"id": a.pk, "name": a.name}


def _case(c) -> dict | None:
    return None if c is None else {"id": c.pk, "number": c.number, "state": c.state}


def inspection_dict(i: Inspection, items=None) -> dict:
    target = i.target
    out = {
        "id": i.pk, "template": i.template.code, "template_version": i.template_version, "kind": i.kind,
        "target_id": target.pk, "target_name": target.name, "area": _area(i.area), "inspector_id": i.inspector_id,
        "at": i.at, "note": i.note, "state": i.state, "follows_id": i.follows_id, "items": None,
    }  # fmt: skip
    if items is not None:
        out["items"] = [
            {
                "id": t.pk,
                "code": t.code,
                "text": t.text,
                "outcome": t.outcome,
                "note": t.note,
                "has_photo": bool(t.photo),
                "has_after_photo": bool(t.after_photo),
                "fixed_on_spot": t.fixed_on_spot,
                "case": _case(t.case),
                "rectified_at": t.rectified_at,
            }  # fmt: skip
            for t in items
        ]
    return out


def _answers(raw: str) -> list:
    try:
        answers = orjson.loads(raw)
        if not isinstance(answers, list):
            raise ValueError
    except ValueError:
        raise field_error("answers", _("Send the answers as a JSON list of {code, outcome, note}.")) from None
    return answers


def _photos(request) -> dict:
    photos = {}
    for name, upload in request.FILES.items():
        if name.startswith("photo_"):
            photos[name[len("photo_") :]] = upload
        elif name.startswith("after_"):
            photos[f"{name[len('after_') :]}:after"] = upload
    return photos


def _inspector(user) -> None:
    if not queries.is_inspector(user):
        raise Http404(_("Inspections are for the people serving a grid."))


def _staff_area(user, area):
    try:
        return queries.hazard_area_or_404(user, area)
    except Http404:
        raise Http404(_("No such area for you.")) from None


@router.get("/templates", response=list[TemplateOut], summary="The checklists in use")
def templates(request, kind: str | None = KindParam):
    if not queries.may_use(request.auth):
        raise Http404(_("Not found."))
    return [
        {
            "code": t.code,
            "name": t.name,
            "description": t.description,
            "applies_to_buildings": t.applies_to_buildings,
            "applies_to_places": t.applies_to_places,
            "version": t.version,
            "items": t.items,
        }  # fmt: skip
        for t in queries.templates_for(kind)
    ]


@router.get("/targets", response=TargetList, summary="The buildings and places I inspect, with the last inspection")
def targets(request, q: str = SearchParam):
    user = request.auth
    _inspector(user)
    rows = [("building", b) for b in queries.my_buildings(user, q.strip())]
    rows += [("place", p) for p in queries.my_places(user, q.strip())]
    return {
        "items": [
            {"kind": k, "id": t.pk, "name": t.name, "area": _area(t.area), "last_inspected": t.last_inspected}
            for k, t in rows
        ]
    }


@router.post(
    "",
    response={200: InspectionOut, 201: InspectionOut},
    summary="Inspect a building or place",
    openapi_extra=INSPECT_BODY,
)
@refusals
def inspect(
    request,
    template: str = Form(..., max_length=40, description="the checklist's code"),
    answers: str = Form(..., max_length=20000, description="JSON list of {code, outcome, note, fixed_on_spot}"),
    building: int | None = Form(None, ge=1, le=MAX_ID),
    place: int | None = Form(None, ge=1, le=MAX_ID),
    note: str = Form("", max_length=NOTE_MAX),
    key: str = Form("", max_length=64, description="one per submission: a repeat returns the first inspection"),
    lon: float | None = Form(None, ge=-180, le=180),
    lat: float | None = Form(None, ge=-90, le=90),
):
    """multipart/form-data with files `photo_<code>` (each failed item) and `after_<code>` (optional). Give
    `building` or `place`. A failed item not fixed on the spot raises a hazard case, linked on the item."""
    user = request.auth
    _inspector(user)
    try:
        target = queries.target_or_404(user, building=building, place=place)
    except Http404:
        raise Http404(_("No such building or place for you.")) from None
    kind = "building" if building else "place"
    try:
        chosen = queries.template_or_404(template, kind)
    except Http404:
        raise field_error("template", _("Choose a checklist in use for this kind of place.")) from None
    done, created = services.inspect(
        user, target=target, template=chosen, answers=_answers(answers), photos=_photos(request), key=key,
        note=note, lon=lon, lat=lat,
    )  # fmt: skip
    found = queries.inspection_or_404(user, done.pk)
    return Status(201 if created else 200, inspection_dict(found, queries.items_of(found)))


@router.get("", response=InspectionPage, summary="Inspections I may read, latest first")
@refusals
def list_inspections(
    request,
    area: int | None = AreaFilter,
    state: str | None = StateParam,
    since: dt.date | None = SinceParam,
    until: dt.date | None = UntilParam,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    user = request.auth
    if not queries.may_use(user):
        raise Http404(_("Not found."))
    qs = queries.with_target(queries.inspections_visible(user))
    if area is not None:
        under = Area.objects.filter(pk=area).first()
        if under is None or not (can_see_area(user, under) or queries.may_inspect_in(user, under)):
            raise Http404(_("No such area for you."))
        qs = qs.filter(subtree_q(under.path, "area__"))
    if state:
        qs = qs.filter(state=State(state))
    if since is not None:
        qs = qs.filter(at__gte=cov.bounds(since, since)[0])
    if until is not None:
        qs = qs.filter(at__lt=cov.bounds(until, until)[1])
    rows, after = keyset_page(qs, ["-at", "-pk"], lambda i: (i.at.isoformat(), i.pk), cursor, limit, strict=True)
    return {"items": [inspection_dict(i) for i in rows], "next_cursor": after}


@router.get("/coverage", response=CoverageOut, summary="Which buildings and places were inspected (staff)")
@refusals
def coverage(
    request, area: int | None = AreaParam, since: dt.date | None = SinceParam, until: dt.date | None = UntilParam
):
    """Every active building and place under the area: inspected in the period (both days included; default the
    last 30 days) or not, the last inspection, and the failures still awaiting rectification."""
    user = request.auth
    if not queries.is_staff(user):
        raise Http404(_("Not found."))
    place = _staff_area(user, area)
    since, until = cov.parse_period(since, until)
    rows = cov.target_coverage(place, since, until)
    return {
        "area": _area(place),
        "since": since,
        "until": until,
        "targets": len(rows),
        "inspected": sum(r.inspected for r in rows),
        "rows": [
            {
                "kind": r.kind,
                "id": r.pk,
                "name": r.name,
                "area_id": r.area_id,
                "area_name": r.area_name,
                "grid_id": r.grid_pk,
                "grid_name": r.grid_name,
                "inspected": r.inspected,
                "last_at": r.last_at,
                "inspections": r.inspections,
                "open_failures": r.open_failures,
            }  # fmt: skip
            for r in rows
        ],
    }


@router.get("/hazards", response=HazardList, summary="Failures awaiting rectification, oldest first (staff)")
def hazards(request, area: int | None = AreaParam):
    user = request.auth
    if not queries.is_staff(user):
        raise Http404(_("Not found."))
    place = _staff_area(user, area)
    now = timezone.now()
    items = queries.open_failures(area=place)[:HAZARD_LIMIT]
    return {
        "area": _area(place),
        "items": [
            {
                "item_id": t.pk,
                "inspection_id": t.inspection_id,
                "kind": t.inspection.kind,
                "target_id": t.inspection.target.pk,
                "target_name": t.inspection.target.name,
                "area": _area(t.inspection.area),
                "text": t.text,
                "found_at": t.inspection.at,
                "days_open": queries.days_open(t, now),
                "case": _case(t.case),
            }  # fmt: skip
            for t in items
        ],
    }


ItemId = Path(..., ge=1, le=MAX_ID, description="inspection item id")


@router.get("/items/{item_id}/photo", response={200: None}, summary="A failed item's photo")
def item_photo(request, item_id: int = ItemId):
    """To those who read the inspection; 404 to anyone else, and when there is no photo."""
    return _item_file(request, item_id, "photo")


@router.get("/items/{item_id}/after-photo", response={200: None}, summary="The photo after a fix on the spot")
def item_after_photo(request, item_id: int = ItemId):
    return _item_file(request, item_id, "after_photo")


def _item_file(request, item_id, which):
    try:
        item = queries.item_or_404(request.auth, item_id)
    except Http404:
        raise Http404(_("No such photo.")) from None
    stored = getattr(item, which)
    if not stored:
        raise Http404(_("No such photo."))
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404(_("No such photo.")) from None
    response = FileResponse(handle, content_type=getattr(item, f"{which}_type") or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@router.get("/{inspection_id}", response=InspectionOut, summary="One inspection with its items")
def get_inspection(request, inspection_id: int = InspectionId):
    try:
        found = queries.inspection_or_404(request.auth, inspection_id)
    except Http404:
        raise Http404(_("No such inspection.")) from None
    return inspection_dict(found, queries.items_of(found))


@router.post(
    "/{inspection_id}/reinspect",
    response={200: InspectionOut, 201: InspectionOut},
    summary="Re-inspect open failures",
    openapi_extra=REINSPECT_BODY,
)
@refusals
def reinspect(
    request,
    inspection_id: int = InspectionId,
    answers: str = Form(..., max_length=20000, description="JSON list of {code, outcome, note}, one per open failure"),
    note: str = Form("", max_length=NOTE_MAX),
    key: str = Form("", max_length=64, description="one per submission: a repeat returns the first re-inspection"),
):
    """multipart/form-data with optional files `photo_<code>`. A pass marks the failed item rectified; when none is
    left, the inspection becomes `rectified`. Refused (409) when the inspection is not open."""
    user = request.auth
    _inspector(user)
    try:
        found = queries.inspection_or_404(user, inspection_id)
    except Http404:
        raise Http404(_("No such inspection.")) from None
    before = services.already_recorded(user, key)
    again = services.reinspect(user, found, answers=_answers(answers), photos=_photos(request), key=key, note=note)
    again = queries.inspection_or_404(user, again.pk)
    return Status(200 if before is not None else 201, inspection_dict(again, queries.items_of(again)))
