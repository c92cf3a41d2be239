"""Cases endpoints (事件/诉求): intake, lists, detail with timeline, every step of the loop, photos.

Residents without an account have their own router in cases_public.py.

Reads start from fengchao.cases.queries (lists through fengchao.cases.filters, the same filters as the
pages); a case outside the caller's scope answers 404, exactly like one that does not exist. Every change
goes through fengchao.cases.services, which checks who may act, compares-and-sets the version and writes
the case event and the audit event. This module only reads requests and shapes answers.

Answers: 404 a case you cannot see; 403 a case you see but may not act on; 409 a case that moved on
since you loaded it (another state, or `version` no longer current); 422 a refusal naming the field.

Bodies that may carry photos (intake, actions, a department's part, notes) are JSON, or multipart/form-data
with the same fields as form fields and the photos as files: one request, so a step and its photos are
one change (a resolve cannot happen without the photo it was sent with).
"""

from typing import Literal

import orjson
import pydantic
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import File, Form, Path, Query, Router
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.files import UploadedFile
from ninja.responses import Status

from fengchao.areas import coords, locator
from fengchao.areas.models import Area
from fengchao.cases import filters, queries, services
from fengchao.cases.choices import (
    AttachmentKind,
    CaseState,
    CategoryKind,
    Channel,
    HandlingMode,
    SupervisionLevel,
    Tier,
)
from fengchao.cases.models import Case, CaseAttachment, Category
from fengchao.cases.workflow import TRANSITIONS, Actor, available
from fengchao.departments.models import Department

from . import cases_schemas as s
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from .registry import _filtered
from .registry import refusals as _refusals

router = Router(tags=["cases"])


def refusals(view):
    """The registry's refusal answers, with the case bodies' own field names (`area`, not `area_id`)."""
    return _refusals(view, body_fields={})


MAX_ID = s.MAX_ID
CaseId = Path(..., ge=1, le=MAX_ID, description="case id")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
ActionName = Literal[tuple(TRANSITIONS)]  # type: ignore[valid-type]
ActionPath = Path(..., description="a transition of the workflow table")
CrsParam = Query("wgs84", description="wgs84, gcj02 or bd09")
PhotoToken = Path(..., max_length=32, pattern=r"^[0-9a-f]+$", description="the photo's token")
PhotoFiles = File(..., description="JPEG, PNG or WebP; checked by content and size")

# The OpenAPI document speaks the source language, whatever the server's default.
with translation.override(None):
    FILTER_HELP = {key: str(text) for key, text in filters.FILTER_KEYS.items()}

LABELS = {
    "state": dict(CaseState.choices),
    "tier": dict(Tier.choices),
    "channel": dict(Channel.choices),
    "mode": dict(HandlingMode.choices),
    "kind": dict(CategoryKind.choices),
    "attachment": dict(AttachmentKind.choices),
    "supervision": dict(SupervisionLevel.choices),
}
# Timeline steps that are not transitions of the workflow table.
EVENT_LABELS = {name: t.label for name, t in TRANSITIONS.items()} | {
    "report": gettext_lazy("Reported"),
    "whistle": gettext_lazy("Whistle blown"),
    "report_in": gettext_lazy("Reported in"),
    "part_done": gettext_lazy("Part done"),
    "supervise": gettext_lazy("Supervised"),
    "follow_up": gettext_lazy("Follow-up"),
    "note": gettext_lazy("Note"),
    "merged_in": gettext_lazy("Duplicate merged in"),
}
# Named steps whose service takes photos; the steps without a named service take them through `transition`.
PHOTO_STEPS = frozenset({"resolve", "verify", "rework"})


def coded(kind: str, code) -> dict:
    return {"code": str(code), "label": str(LABELS[kind].get(code, code))}


def event_label(action: str) -> dict:
    return {"code": action, "label": str(EVENT_LABELS.get(action, action))}


def case_number(pk: int, reported_at) -> str:
    return Case(pk=pk, reported_at=reported_at).number


# ---- reading bodies -------------------------------------------------------------------------------------


def read_body(request, schema, file_fields=()):
    """(payload, {field: [files]}) from a JSON body, or a multipart form with the same fields plus files."""
    files = {}
    if request.content_type == "multipart/form-data":
        # A blank form field means "not given", as in JSON leaving it out, so defaults apply.
        data = {key: value for key in request.POST if (value := request.POST.get(key)) != ""}
        files = {name: request.FILES.getlist(name) for name in file_fields}
    elif request.body:
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise HttpError(400, _("The body is not valid JSON.")) from None
    else:
        data = {}
    if not isinstance(data, dict):
        raise RequestInvalid([{"type": "dict_type", "loc": ["body", "payload"], "msg": _("Send a JSON object.")}])
    try:
        return schema.model_validate(data), files
    except pydantic.ValidationError as error:
        rows = [
            {"type": e["type"], "loc": ["body", "payload", *e["loc"]], "msg": e["msg"]}
            for e in error.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise RequestInvalid(rows) from None


def body_doc(schema, file_fields=(), required=True) -> dict:
    """The requestBody of an operation whose body read_body reads: JSON, or multipart with photo files."""
    fields = schema.model_json_schema()
    form = {
        **fields,
        "properties": {
            **fields.get("properties", {}),
            **{name: {"type": "array", "items": {"type": "string", "format": "binary"}} for name in file_fields},
        },
    }
    content = {"application/json": {"schema": fields}}
    if file_fields:
        content["multipart/form-data"] = {"schema": form}
    return {"requestBody": {"required": required, "content": content}}


def field_error(field: str, message: str, where: str = "body") -> RequestInvalid:
    """A refusal of one request field, shaped like ninja's own (and not renamed like the registry's)."""
    loc = ["body", "payload", field] if where == "body" else [where, field]
    return RequestInvalid([{"type": "value_error", "loc": loc, "msg": message}])


# ---- shared pieces ------------------------------------------------------------------------------------------


def visible_case(user, case_id: int, queryset=None) -> Case:
    try:
        return queries.case_or_404(user, case_id, queryset)
    except Http404:
        raise Http404(_("No such case in your areas.")) from None


def _full_view(user, case, actors) -> bool:
    """Staff, members and departments see the whole case; someone who only reported it sees the public part."""
    if user.is_superuser or actors - {Actor.REPORTER, Actor.VERIFIER}:
        return True
    return any(h.role in queries.CASE_ROLES and h.covers(case) for h in queries.held_roles(user))


def action_refs(case, actors) -> list[dict]:
    return [
        {"name": t.name, "label": str(t.label), "note_required": t.note_required} for t in available(case.state, actors)
    ]


def action_out(user, case) -> dict:
    return {
        "id": case.pk,
        "number": case.number,
        "state": coded("state", case.state),
        "version": case.version,
        "tier": coded("tier", case.tier),
        "department_id": case.department_id,
        "assignee_id": case.assignee_id,
        "stage_deadline": case.stage_deadline,
        "actions": action_refs(case, queries.actors_for(user, case)),
    }


def _area_ref(area) -> dict:
    return {"id": area.pk, "code": area.code, "name": area.name}


def _attachment_out(case, attachment) -> dict:
    return {
        "id": attachment.pk,
        "kind": coded("attachment", attachment.kind),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": f"/api/cases/{case.pk}/attachments/{attachment.token}",
    }


def event_out(case, event) -> dict:
    return {
        "id": event.pk,
        "at": event.at,
        "action": event_label(event.action),
        "actor_label": event.actor_label,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "note": event.note,
        "is_public": event.is_public,
        "data": event.data,
        "attachments": [_attachment_out(case, a) for a in event.attachments.all()],
    }


def _department(pk, field="department") -> Department | None:
    if pk is None:
        return None
    department = Department.objects.filter(pk=pk).first()
    if department is None:
        raise field_error(field, _("No such department."))
    return department


def _category(code: str, where="body") -> Category:
    category = Category.objects.filter(code=str(code or "").strip()).first()
    if category is None:
        raise field_error("category", _("Unknown category “%(value)s”.") % {"value": str(code)[:40]}, where)
    return category


def given_area(pk, where="body") -> Area | None:
    if pk is None:
        return None
    area = Area.objects.filter(pk=pk).first()
    if area is None:
        raise field_error("area", _("No such area."), where)
    return area


def categories_out() -> list[dict]:
    rows = list(
        Category.objects.filter(is_active=True)
        .order_by("code")
        .values(
            "id", "code", "name", "kind", "parent_id", "parent__code", "photo_required", "handling_mode", "default_tier"
        )
    )
    parents = {row["parent_id"] for row in rows}
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "kind": coded("kind", row["kind"]),
            "parent": row["parent__code"],
            "leaf": row["id"] not in parents,
            "photo_required": row["photo_required"],
            "handling_mode": coded("mode", row["handling_mode"]),
            "default_tier": coded("tier", row["default_tier"]),
        }
        for row in rows
    ]


def suggestions_out(text: str) -> list[dict]:
    from fengchao.cases.suggest import suggest_categories  # written alongside; imported on use

    return [{"code": c.code, "name": c.name} for c in suggest_categories(text, limit=3)]


# ---- intake -----------------------------------------------------------------------------------------------


INTAKE_PHOTOS = ("photos", "after_photos")


@router.post(
    "",
    response={200: s.IntakeOut, 201: s.IntakeOut},
    summary="Report a case",
    openapi_extra=body_doc(s.IntakeIn, INTAKE_PHOTOS),
)
@refusals
def submit(request):
    """JSON, or multipart/form-data with `photos` (before) and `after_photos` (handled on the spot).

    201 with the new case; 200 with the first case when the same `idempotency_key` (or `Idempotency-Key`
    header) comes again from you. The point (`lon`, `lat`, `crs`) is located to its micro-grid; `area`
    (from a QR code) is the fallback. Refusals answer 422 naming the field (`category`, `location`, …).
    """
    payload, files = read_body(request, s.IntakeIn, INTAKE_PHOTOS)
    case, created = services.submit_case(
        channel=payload.channel,
        category=payload.category,
        description=payload.description,
        idempotency_key=payload.idempotency_key or request.headers.get("Idempotency-Key", ""),
        by=request.auth,
        area=payload.area,  # read only if the point does not settle it; an unknown pk answers 422
        lon=payload.lon,
        lat=payload.lat,
        crs=payload.crs,
        address=payload.address,
        reporter_name=payload.reporter_name,
        phone=payload.phone,
        anonymous=payload.anonymous,
        external_number=payload.external_number,
        handled_on_spot=payload.handled_on_spot,
        before_photos=files.get("photos", ()),
        after_photos=files.get("after_photos", ()),
    )
    body = {
        "id": case.pk,
        "number": case.number,
        "tracking_code": case.tracking_code,
        "state": coded("state", case.state),
        "category": {"code": case.category.code, "name": case.category.name},
        "area": _area_ref(case.area),
        "reported_at": case.reported_at,
        "version": case.version,
    }
    return Status(201 if created else 200, body)


# ---- lists, counts, look-ups ----------------------------------------------------------------------------

LIST_ROW = (
    "id",
    "reported_at",
    "state",
    "category__code",
    "category__name",
    "area_id",
    "area__code",
    "area__name",
    "address",
    "stage_deadline",
    "is_overdue",
    "supervision",
    "tier",
    "department_id",
    "department__name",
)


def _item(row: dict) -> dict:
    department = row["department_id"]
    return {
        "id": row["id"],
        "number": case_number(row["id"], row["reported_at"]),
        "state": coded("state", row["state"]),
        "category": {"code": row["category__code"], "name": row["category__name"]},
        "area": {"id": row["area_id"], "code": row["area__code"], "name": row["area__name"]},
        "address": row["address"],
        "reported_at": row["reported_at"],
        "stage_deadline": row["stage_deadline"],
        "is_overdue": row["is_overdue"],
        "supervision": coded("supervision", row["supervision"]),
        "tier": coded("tier", row["tier"]),
        "department": {"id": department, "name": row["department__name"]} if department else None,
    }


def _newest_first(qs, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Keyset pages on the id, descending: the newest case first, each page after the last id seen."""
    qs = qs.order_by("-pk")
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if not isinstance(last, int):
            raise ValidationError(_("The cursor is not valid: start again from the first page."))
        qs = qs.filter(pk__lt=last)
    rows = list(qs.values(*LIST_ROW)[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor([rows[limit - 1]["id"]])


LIST_HELP = "Newest first. Filters (all optional, combined with AND):\n\n" + "\n".join(
    f"- `{key}`: {text}" for key, text in FILTER_HELP.items()
)


@router.get("", response=s.CasePage, summary="Cases in your areas", description=LIST_HELP)
def list_cases(
    request,
    inbox: str | None = Query(None, max_length=20, description=FILTER_HELP["inbox"]),
    area: int | None = Query(None, ge=1, le=MAX_ID, description=FILTER_HELP["area"]),
    category: str | None = Query(None, max_length=16, description=FILTER_HELP["category"]),
    state: str | None = Query(None, max_length=20, description=FILTER_HELP["state"]),
    channel: str | None = Query(None, max_length=20, description=FILTER_HELP["channel"]),
    tier: str | None = Query(None, max_length=20, description=FILTER_HELP["tier"]),
    department: int | None = Query(None, ge=1, le=MAX_ID, description=FILTER_HELP["department"]),
    date_from: str | None = Query(None, alias="from", max_length=10, description=FILTER_HELP["from"]),
    date_to: str | None = Query(None, alias="to", max_length=10, description=FILTER_HELP["to"]),
    overdue: str | None = Query(None, max_length=5, description=FILTER_HELP["overdue"]),
    q: str | None = Query(None, max_length=100, description=FILTER_HELP["q"]),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    params = {
        "inbox": inbox,
        "area": area,
        "category": category,
        "state": state,
        "channel": channel,
        "tier": tier,
        "department": department,
        "from": date_from,
        "to": date_to,
        "overdue": overdue,
        "q": q,
    }
    qs = _filtered(filters.filter_cases, request.auth, params)
    rows, next_cursor = _newest_first(qs, cursor, limit)
    return {"items": [_item(row) for row in rows], "next_cursor": next_cursor}


@router.get("/inboxes", response=s.InboxCounts, summary="How many cases wait in each of your inboxes")
def inbox_counts(request):
    """For a phone app's badges: to_dispatch, mine, overdue, supervised, whistles, to_verify."""
    return {name: inbox(request.auth).count() for name, inbox in queries.INBOXES.items()}


@router.get("/categories", response=list[s.CategoryItem], summary="The category tree")
def list_categories(request):
    """Every category in use, parents before children; only leaves (`leaf: true`) take cases."""
    return categories_out()


@router.get("/categories/suggest", response=list[s.CategoryRef], summary="Categories suggested by a description")
def suggest(request, text: str = Query(..., max_length=2000, description="what the reporter wrote")):
    return suggestions_out(text)


def _duplicates_out(user, found) -> list[dict]:
    visible = set(queries.cases_visible_to(user).filter(pk__in=[c.pk for c in found]).values_list("pk", flat=True))
    rows = []
    for case in found:
        opens = case.pk in visible
        rows.append(
            {
                "id": case.pk if opens else None,
                "number": case.number,
                "category": {"code": case.category.code, "name": case.category.name},
                "state": coded("state", case.state),
                "reported_at": case.reported_at,
                "description": case.description if opens else None,
                "address": case.address if opens else None,
            }
        )
    return rows


@router.get("/duplicates", response=list[s.DuplicateOut], summary="Open cases that may be the same matter")
@refusals
def duplicates(
    request,
    category: str = Query(..., max_length=16, description="category code"),
    lon: float | None = Query(None, ge=-180, le=180, allow_inf_nan=False),
    lat: float | None = Query(None, ge=-90, le=90, allow_inf_nan=False),
    crs: s.Crs = CrsParam,
    area: int | None = Query(None, ge=1, le=MAX_ID, description="area id (e.g. from a QR code)"),
    description: str = Query("", max_length=2000),
):
    """Before reporting: the same or a sibling category nearby and recent, or near-identical text in the
    community. Cases outside your areas show only their number, category and state."""
    found_category = _category(category, "query")
    place = given_area(area, "query")
    if lon is not None and lat is not None:
        lon, lat = coords.to_wgs84(lon, lat, crs)
        if place is None:
            located = locator.locate(lon, lat)
            place = Area.objects.filter(pk=located.area_id or located.microgrid_id).first()
    else:
        lon = lat = None
    found = services.possible_duplicates(category=found_category, lon=lon, lat=lat, area=place, description=description)
    return _duplicates_out(request.auth, found)


# ---- one case ---------------------------------------------------------------------------------------------


def case_detail(user, case) -> dict:
    actors = queries.actors_for(user, case)
    full = _full_view(user, case, actors)
    events = case.events.order_by("at", "pk").prefetch_related(
        Prefetch("attachments", queryset=CaseAttachment.objects.order_by("pk"))
    )
    if not full:
        events = events.filter(is_public=True)
    co_handlers = case.co_handlers.select_related("department").order_by("pk") if full else []
    supervisions = case.supervisions.select_related("by", "area").order_by("at", "pk") if full else []
    item = _item(
        {
            "id": case.pk,
            "reported_at": case.reported_at,
            "state": case.state,
            "category__code": case.category.code,
            "category__name": case.category.name,
            "area_id": case.area_id,
            "area__code": case.area.code,
            "area__name": case.area.name,
            "address": case.address,
            "stage_deadline": case.stage_deadline,
            "is_overdue": case.is_overdue,
            "supervision": case.supervision,
            "tier": case.tier,
            "department_id": case.department_id,
            "department__name": case.department.name if case.department_id else "",
        }
    )
    assignee = case.assignee
    return {
        **item,
        "tracking_code": case.tracking_code,
        "channel": coded("channel", case.channel),
        "external_number": case.external_number,
        "description": case.description,
        "lon": case.lon,
        "lat": case.lat,
        "reporter_name": case.reporter_name,
        "masked_phone": case.masked_phone,
        "is_anonymous": case.is_anonymous,
        "handled_on_spot": case.handled_on_spot,
        "handling_mode": coded("mode", case.handling_mode),
        "assignee": {"id": assignee.pk, "name": assignee.display_name or assignee.username} if assignee else None,
        "merged_into": case.merged_into_id,
        "stage": case.stage,
        "due_at": case.due_at,
        "accepted_at": case.accepted_at,
        "dispatched_at": case.dispatched_at,
        "taken_at": case.taken_at,
        "resolved_at": case.resolved_at,
        "verified_at": case.verified_at,
        "closed_at": case.closed_at,
        "responded_on_time": case.responded_on_time,
        "closed_on_time": case.closed_on_time,
        "rework_count": case.rework_count,
        "rating": case.rating,
        "rating_comment": case.rating_comment,
        "version": case.version,
        "full_view": full,
        "timeline": [event_out(case, event) for event in events],
        "co_handlers": [
            {
                "department": {"id": row.department_id, "name": row.department.name},
                "report_deadline": row.report_deadline,
                "reported_at": row.reported_at,
                "is_late": row.is_late,
                "part_done_at": row.part_done_at,
                "part_note": row.part_note,
            }
            for row in co_handlers
        ],
        "supervisions": [
            {
                "level": coded("supervision", row.level),
                "at": row.at,
                "by": (row.by.display_name or row.by.username) if row.by else "",
                "area": _area_ref(row.area),
                "stage": row.stage,
                "instruction": row.instruction,
            }
            for row in supervisions
        ],
        "actions": action_refs(case, actors),
    }


def _detail_queryset(user):
    return queries.cases_visible_to(user).select_related("department", "assignee")


@router.get("/{case_id}", response=s.CaseDetail, summary="One case with its timeline")
def get_case(request, case_id: int = CaseId):
    """The reporter's phone is masked. Someone who sees the case only as its reporter gets the public
    timeline (`full_view: false`). `actions` are the steps you may take now; send `version` with them."""
    user = request.auth
    return case_detail(user, visible_case(user, case_id, _detail_queryset(user)))


@router.get("/{case_id}/duplicates", response=list[s.DuplicateOut], summary="Possible duplicates of a case")
def case_duplicates(request, case_id: int = CaseId):
    """For the dispatcher deciding whether to merge (POST …/actions/merge with `into`)."""
    user = request.auth
    case = visible_case(user, case_id)
    found = services.duplicates_of(case)
    return _duplicates_out(user, found)


# ---- steps --------------------------------------------------------------------------------------------------


def _assignee(pk):
    if pk is None:
        return None
    user = get_user_model().objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise field_error("assignee", _("No such user."))
    return user


def _into(user, pk) -> Case:
    if pk is None:
        raise field_error("into", _("Name the case to merge into."))
    original = queries.cases_visible_to(user).select_related("category").filter(pk=pk).first()
    if original is None:
        raise field_error("into", _("No such case in your areas."))
    return original


def _act(user, case, name: str, p: s.ActionIn, photos: list):
    """One step of the workflow table, through its named service where there is one."""
    common = {"by": user, "expected_version": p.version}
    named = {
        "dispatch": lambda: services.dispatch(
            case,
            tier=p.tier or "",
            department=_department(p.department),
            assignee=_assignee(p.assignee),
            note=p.note,
            **common,
        ),
        "take": lambda: services.take(case, note=p.note, **common),
        "return": lambda: services.return_to_dispatcher(case, note=p.note, **common),
        "escalate": lambda: services.escalate(case, note=p.note, department=_department(p.department), **common),
        "resolve": lambda: services.resolve(case, note=p.note, photos_in=photos, **common),
        "verify": lambda: services.verify(case, note=p.note, photos_in=photos, **common),
        "rework": lambda: services.rework(case, note=p.note, photos_in=photos, **common),
        "close": lambda: services.close(case, note=p.note, **common),
        "rate": lambda: services.rate(
            case, rating=p.rating or "", comment=p.comment, ask_reopen=p.ask_reopen, **common
        ),
        "reopen": lambda: services.reopen(case, note=p.note, **common),
        "reject": lambda: services.reject(case, note=p.note, **common),
        "cancel": lambda: services.cancel(case, note=p.note, **common),
        "merge": lambda: services.merge(case, into=_into(user, p.into), note=p.note, **common),
    }
    if photos and name in named and name not in PHOTO_STEPS:
        raise field_error("photos", _("This step takes no photos."))
    if name in named:
        return named[name]()
    return services.transition(case, name, note=p.note, photos_in=photos, **common)


@router.post(
    "/{case_id}/actions/{name}",
    response=s.ActionOut,
    summary="Take a step: accept, dispatch, take, resolve, verify, close, rate…",
    openapi_extra=body_doc(s.ActionIn, ("photos",), required=False),
)
@refusals
def act(request, case_id: int = CaseId, name: ActionName = ActionPath):
    """JSON, or multipart/form-data with `photos` (resolve, verify, rework: the after / on-site photos).

    Which fields each step reads: dispatch `tier`, `department`, `assignee`; escalate `department`
    (optional); merge `into`; rate `rating`, `comment`, `ask_reopen`; all `note` and `version`.
    """
    user = request.auth
    case = visible_case(user, case_id)
    payload, files = read_body(request, s.ActionIn, ("photos",))
    case = _act(user, case, name, payload, files.get("photos", []))
    return action_out(user, case)


@router.post("/{case_id}/whistle", response=s.ActionOut, summary="Blow the whistle: call departments in (吹哨)")
@refusals
def whistle(request, payload: s.WhistleIn, case_id: int = CaseId):
    """Each department must report in (POST …/report-in) within the level's time limit, then do its part."""
    user = request.auth
    case = visible_case(user, case_id)
    ids = list(dict.fromkeys(payload.departments))
    found = {d.pk: d for d in Department.objects.filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise field_error("departments", _("No such department: %(id)s.") % {"id": missing[0]})
    services.blow_whistle(case, by=user, level=payload.level, departments=list(found.values()), reason=payload.reason)
    return action_out(user, case)


@router.post("/{case_id}/report-in", response=s.ActionOut, summary="Report in on a whistle (报到)")
@refusals
def report_in(request, case_id: int = CaseId):
    user = request.auth
    case = visible_case(user, case_id)
    services.report_in(case, by=user)
    return action_out(user, case)


@router.post(
    "/{case_id}/part",
    response=s.ActionOut,
    summary="Your department's part is done",
    openapi_extra=body_doc(s.NoteIn, ("photos",)),
)
@refusals
def report_part(request, case_id: int = CaseId):
    """JSON `{note}`, or multipart with `note` and `photos`. The case closes once every called
    department has reported its part."""
    user = request.auth
    case = visible_case(user, case_id)
    payload, files = read_body(request, s.NoteIn, ("photos",))
    services.report_part(case, by=user, note=payload.note, photos_in=files.get("photos", []))
    return action_out(user, case)


@router.post("/{case_id}/supervise", response=s.ActionOut, summary="Supervise a case (督办)")
@refusals
def supervise(request, payload: s.SuperviseIn, case_id: int = CaseId):
    user = request.auth
    case = visible_case(user, case_id)
    services.supervise(case, by=user, level=payload.level, instruction=payload.instruction)
    return action_out(user, case)


@router.post("/{case_id}/follow-up", response={201: s.EventOut}, summary="Record a follow-up call or visit (回访)")
@refusals
def follow_up(request, payload: s.FollowUpIn, case_id: int = CaseId):
    user = request.auth
    case = visible_case(user, case_id)
    event = services.follow_up(case, by=user, note=payload.note, rating=payload.rating)
    return Status(201, event_out(case, event))


@router.post(
    "/{case_id}/notes",
    response={201: s.EventOut},
    summary="Add a note (and photos) to the timeline",
    openapi_extra=body_doc(s.NoteIn, ("photos",)),
)
@refusals
def add_note(request, case_id: int = CaseId):
    user = request.auth
    case = visible_case(user, case_id)
    payload, files = read_body(request, s.NoteIn, ("photos",))
    event = services.add_note(case, by=user, note=payload.note, photos_in=files.get("photos", []))
    return Status(201, event_out(case, event))


@router.post("/{case_id}/attachments", response={201: s.EventOut}, summary="Add photos to the timeline")
@refusals
def add_photos(
    request,
    case_id: int = CaseId,
    photos: list[UploadedFile] = PhotoFiles,
    note: str = Form("", max_length=s.LONG),
):
    """multipart/form-data. The photos join the timeline as a note; a step's own photos go with the step."""
    user = request.auth
    case = visible_case(user, case_id)
    event = services.add_note(case, by=user, note=note, photos_in=photos)
    return Status(201, event_out(case, event))


@router.get("/{case_id}/attachments/{token}", summary="One photo of a case", response={200: None})
def get_photo(request, case_id: int = CaseId, token: str = PhotoToken):
    """The image itself (JPEG, PNG or WebP), for anyone who may open the case."""
    user = request.auth
    case = visible_case(user, case_id)
    attachment = CaseAttachment.objects.filter(case=case, token=token).select_related("event").first()
    public_only = not _full_view(user, case, queries.actors_for(user, case))
    if attachment is None or (public_only and not (attachment.event and attachment.event.is_public)):
        raise Http404(_("No such photo."))
    return photo_response(attachment)


def photo_response(attachment) -> FileResponse:
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
