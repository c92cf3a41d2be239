"""Registry endpoints (人地事物组织): residents, households, buildings, places, organisations, care tags, access log.

Reads start from the scoped querysets of fengchao.registry.queries (lists through fengchao.registry.filters,
the same filters the list pages and exports use); a record outside the caller's areas answers 404, exactly
like one that does not exist. Every write goes through fengchao.registry.services, which writes the audit
event. ID numbers and phones leave this module masked, except from the reveal endpoints, which go through
fengchao.registry.access (role check, reason, access-log row).

Refusals: a bad field answers 422 with `detail` as a list of {loc, msg, type} naming it (the same shape as
a malformed request); a record changed by someone else since it was loaded (`expected_updated_at`) answers
409; an action the caller's role does not allow on a record they can see answers 403.
"""

import datetime
import functools
import re

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.responses import Status

from fengchao.accounts.roles import AUDIT_ROLES
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import scope_q
from fengchao.core import privacy
from fengchao.registry import access, filters, idcard, queries, services, validation
from fengchao.registry.choices import (
    AccessAction,
    Gender,
    IdType,
    OrganisationKind,
    PlaceKind,
    Relation,
    ResidenceType,
    ResidentStatus,
)
from fengchao.registry.models import (
    PLACE_SAFETY_FLAGS,
    CareTag,
    Household,
    MoveRecord,
    Organisation,
    OrganisationMember,
    Place,
    Resident,
    ResidentCareTag,
    Room,
)

from . import registry_schemas as s
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor, keyset_page

router = Router(tags=["registry"])

MAX_ID = 2**63 - 1
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
AreaParam = Query(None, ge=1, le=MAX_ID, description="area id: records of that area and every area below it")
Since = Query(None, description="from this day (local time)")
Until = Query(None, description="up to and including this day")
MOVES_SHOWN = 20


def _pk(description: str):
    return Path(..., ge=1, le=MAX_ID, description=description)


# ---- refusals ----------------------------------------------------------------------------------------

# The registry's cleaning names fields as its models do; the API's bodies name some of them *_id.
BODY_FIELD = {
    "area": "area_id",
    "household": "household_id",
    "head": "head_id",
    "building": "building_id",
    "resident": "resident_id",
}


def _field_errors(error: ValidationError, where: str, body_fields: dict[str, str] = BODY_FIELD) -> list[dict]:
    """Errors shaped like ninja's own for a malformed request: body fields at ["body", "payload", name]."""
    prefix = ["body", "payload"] if where == "body" else [where]
    rows = []
    for field, messages in error.message_dict.items():
        name = body_fields.get(field, field) if where == "body" else field
        loc = prefix if field == NON_FIELD_ERRORS else [*prefix, name]
        rows += [{"type": "value_error", "loc": loc, "msg": str(message)} for message in messages]
    return rows


def refusals(view, body_fields: dict[str, str] = BODY_FIELD):
    """Turn the services' refusals into answers: 422 naming fields, 409 for a stale record, 403 for a role.

    `body_fields` names a model field as the request body calls it (the registry's bodies say `area_id`).
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except services.StaleRecord as error:
            raise HttpError(409, " ".join(error.messages)) from None
        except PermissionDenied as error:
            raise HttpError(403, str(error) or _("Your role does not allow this here.")) from None
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                raise RequestInvalid(_field_errors(error, "body", body_fields)) from None
            raise

    return wrapper


def _filtered(fn, user, params: dict):
    """A list's queryset from the shared filters; a malformed filter names its query parameter."""
    params = {key: str(value) for key, value in params.items() if value is not None}
    for key, value in params.items():
        if s.has_control_characters(value):
            raise RequestInvalid(
                [
                    {
                        "type": "value_error",
                        "loc": ["query", key],
                        "msg": _("Control characters (such as NUL) are not allowed here."),
                    }
                ]
            )
    try:
        return fn(user, params)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise RequestInvalid(_field_errors(error, "query")) from None
        raise


def _registry_user(request):
    user = request.auth
    if not queries.can_use_registry(user):
        raise HttpError(403, _("Your roles do not open the registry."))
    return user


def _require_edit(user, area) -> None:
    if not queries.can_edit_in(user, area):
        raise PermissionDenied(_("Your role does not allow changing the registry here."))


def _one(queryset, pk: int, message: str):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404(message)
    return obj


def _area(user, pk: int) -> Area:
    return _one(queries.areas_visible_to(user), pk, _("No such area in your areas."))


def _resident(user, pk: int) -> Resident:
    qs = queries.residents_visible_to(user).select_related("area", "household__room__building")
    return _one(qs, pk, _("No such resident in your areas."))


def _household(user, pk: int) -> Household:
    qs = queries.households_visible_to(user).select_related("area", "room__building", "head")
    return _one(qs, pk, _("No such household in your areas."))


def _building(user, pk: int):
    return _one(queries.buildings_visible_to(user).select_related("area"), pk, _("No such building in your areas."))


def _place(user, pk: int) -> Place:
    return _one(
        queries.places_visible_to(user).select_related("area", "building"), pk, _("No such place in your areas.")
    )


def _organisation(user, pk: int) -> Organisation:
    qs = queries.organisations_visible_to(user).select_related("area")
    return _one(qs, pk, _("No such organisation in your areas."))


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:45]


# ---- shared pieces -------------------------------------------------------------------------------------


def _masked_id(cipher: str) -> str:
    return idcard.mask(privacy.decrypt(cipher)) if cipher else ""


def _masked_phone(cipher: str) -> str:
    return privacy.mask_phone(privacy.decrypt(cipher)) if cipher else ""


def _coded(choices, code: str) -> dict:
    return {"code": code, "label": str(dict(choices.choices).get(code, code))}


def _label(choices, code: str) -> str:
    return str(dict(choices.choices).get(code, code)) if code else ""


def _area_ref(row: dict, prefix: str = "area") -> dict | None:
    pk = row[f"{prefix}_id"]
    return {"id": pk, "code": row[f"{prefix}__code"], "name": row[f"{prefix}__name"]} if pk else None


def _area_of(area) -> dict | None:
    return {"id": area.pk, "code": area.code, "name": area.name} if area else None


def _age(birth_date) -> int | None:
    return idcard.age_on(birth_date, timezone.localdate())


def _care_tags_by_resident(resident_ids) -> dict[int, list[dict]]:
    tags: dict[int, list[dict]] = {}
    rows = (
        ResidentCareTag.objects.filter(resident_id__in=list(resident_ids))
        .order_by("tag__position", "tag__code")
        .values_list("resident_id", "tag__code", "tag__name")
    )
    for resident_id, code, name in rows:
        tags.setdefault(resident_id, []).append({"code": code, "name": name})
    return tags


def _care_tags(codes, *, field: str = "care_tags", keep=()) -> list[CareTag]:
    """Care tags by code: those in use, and any the resident holds already (`keep`)."""
    codes = list(dict.fromkeys(str(c).strip() for c in codes if str(c).strip()))
    found = {t.code: t for t in CareTag.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found or (not found[c].is_active and found[c].pk not in keep)]
    if unknown:
        raise ValidationError({field: _("“%(value)s” is not a care tag.") % {"value": unknown[0][:40]}})
    return [found[c] for c in codes]


def _moves(queryset) -> list[dict]:
    rows = queryset.select_related("from_area", "to_area", "actor").order_by("-at", "-pk")[:MOVES_SHOWN]
    return [
        {
            "at": m.at,
            "from_address": m.from_address,
            "to_address": m.to_address,
            "from_area": _area_of(m.from_area),
            "to_area": _area_of(m.to_area),
            "reason": m.reason,
            "actor": (m.actor.display_name or m.actor.username) if m.actor else None,
        }
        for m in rows
    ]


def _reveal(request, obj, payload: s.RevealIn) -> dict:
    available = access.REVEALABLE[access.subject_type_of(obj)]
    wrong = [f for f in payload.fields or () if f not in available]
    if wrong:
        raise ValidationError(
            {
                "fields": _("“%(field)s” cannot be revealed; choose from: %(fields)s.")
                % {
                    "field": wrong[0][:40],
                    "fields": ", ".join(available),
                }
            }
        )
    return access.reveal(
        request.auth, obj, reason=payload.reason, fields=payload.fields, channel="api", ip=_client_ip(request)
    )


# ---- residents -----------------------------------------------------------------------------------------

RESIDENT_ROW = (
    "id",
    "name",
    "name_key",
    "gender",
    "birth_date",
    "id_cipher",
    "phone_cipher",
    "residence_type",
    "status",
    "relation",
    "is_party_member",
    "household_id",
    "household__address",
    "household__number",
    "area_id",
    "area__code",
    "area__name",
    "updated_at",
)
RESIDENT_ORDER = ["name_key", "pk"]


def _resident_item(row: dict, tags: list[dict]) -> dict:
    household = (
        {"id": row["household_id"], "address": row["household__address"], "number": row["household__number"]}
        if row["household_id"]
        else None
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "gender": row["gender"],
        "age": _age(row["birth_date"]),
        "masked_id_number": _masked_id(row["id_cipher"]),
        "masked_phone": _masked_phone(row["phone_cipher"]),
        "residence_type": _coded(ResidenceType, row["residence_type"]),
        "status": _coded(ResidentStatus, row["status"]),
        "relation": row["relation"],
        "is_party_member": row["is_party_member"],
        "household": household,
        "area": _area_ref(row),
        "care_tags": tags,
        "updated_at": row["updated_at"],
    }


def _resident_detail(user, resident: Resident) -> dict:
    household = resident.household
    room = household.room if household else None
    row = {
        "id": resident.pk,
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "id_cipher": resident.id_cipher,
        "phone_cipher": resident.phone_cipher,
        "residence_type": resident.residence_type,
        "status": resident.status,
        "relation": resident.relation,
        "is_party_member": resident.is_party_member,
        "household_id": resident.household_id,
        "household__address": household.address if household else "",
        "household__number": household.number if household else "",
        "area_id": resident.area_id,
        "area__code": resident.area.code,
        "area__name": resident.area.name,
        "updated_at": resident.updated_at,
    }
    tags = _care_tags_by_resident([resident.pk]).get(resident.pk, [])
    return {
        **_resident_item(row, tags),
        "gender_label": _label(Gender, resident.gender),
        "relation_label": _label(Relation, resident.relation),
        "id_type": _coded(IdType, resident.id_type),
        "birth_date": resident.birth_date,
        "contact_name": resident.contact_name,
        "masked_contact_phone": resident.masked_contact_phone,
        "address": household.address if household else "",
        "building": room.building.name if room else "",
        "notes": resident.notes,
        "moved_in_on": resident.moved_in_on,
        "moved_out_at": resident.moved_out_at,
        "created_at": resident.created_at,
        "can_reveal": queries.can_unmask(user, resident.area),
        "moves": _moves(MoveRecord.objects.filter(resident=resident)),
    }


@router.get("/residents", response=s.ResidentPage, summary="Residents in your areas")
def list_residents(
    request,
    area: int | None = AreaParam,
    q: str | None = Query(
        None, max_length=100, description="name, pinyin or initials; last four digits; a whole phone or ID; an address"
    ),
    care_tag: str | None = Query(None, max_length=100, description="care tag code, e.g. elderly_alone"),
    residence_type: str | None = Query(None, max_length=100, description="registered, resident, floating, overseas"),
    status: str | None = Query(None, max_length=100, description="living (default), moved_out, deceased, or all"),
    party_member: str | None = Query(None, max_length=10, description="1 or 0 (是/否, true/false)"),
    building: int | None = Query(None, ge=1, le=MAX_ID, description="building id"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """By name (simplified and traditional together). ID numbers and phones are masked."""
    user = _registry_user(request)
    params = {
        "area": area,
        "q": q,
        "care_tag": care_tag,
        "residence_type": residence_type,
        "status": status,
        "party_member": party_member,
        "building": building,
    }
    qs = _filtered(filters.filter_residents, user, params).values(*RESIDENT_ROW)
    rows, next_cursor = keyset_page(qs, RESIDENT_ORDER, cursor, limit, lambda r: [r["name_key"], r["id"]])
    tags = _care_tags_by_resident(r["id"] for r in rows) if rows else {}
    return {"items": [_resident_item(r, tags.get(r["id"], [])) for r in rows], "next_cursor": next_cursor}


@router.get("/residents/{resident_id}", response=s.ResidentDetail, summary="One resident")
def get_resident(request, resident_id: int = _pk("resident id")):
    return _resident_detail(request.auth, _resident(request.auth, resident_id))


@router.post("/residents", response={201: s.ResidentDetail}, summary="Add a resident")
@refusals
def create_resident(request, payload: s.ResidentIn):
    """In a household (household_id), or directly in a micro-grid or dedicated grid (area_id)."""
    user = request.auth
    household = _household(user, payload.household_id) if payload.household_id else None
    area = household.area if household else (_area(user, payload.area_id) if payload.area_id else None)
    if area is not None:
        _require_edit(user, area)
    data = payload.model_dump(exclude={"household_id", "area_id", "care_tags"})
    resident = services.create_resident(
        user, household=household, area=area, care_tags=_care_tags(payload.care_tags), **data
    )
    return Status(201, _resident_detail(user, _resident(user, resident.pk)))


@router.patch("/residents/{resident_id}", response=s.ResidentDetail, summary="Change a resident")
@refusals
def update_resident(request, payload: s.ResidentPatch, resident_id: int = _pk("resident id")):
    """Only the fields sent change. With `expected_updated_at`, a record changed meanwhile answers 409."""
    user = request.auth
    resident = _resident(user, resident_id)
    _require_edit(user, resident.area)
    data = payload.model_dump(exclude_unset=True)
    expected = data.pop("expected_updated_at", None)
    services.update_resident(user, resident, expected_updated_at=expected, **data)
    return _resident_detail(user, _resident(user, resident_id))


@router.post("/residents/{resident_id}/move", response=s.ResidentDetail, summary="Move a resident to a household")
@refusals
def move_resident(request, payload: s.ResidentMoveIn, resident_id: int = _pk("resident id")):
    user = request.auth
    resident = _resident(user, resident_id)
    _require_edit(user, resident.area)
    household = _household(user, payload.household_id)
    _require_edit(user, household.area)
    services.move_resident(user, resident, household=household, relation=payload.relation, reason=payload.reason)
    return _resident_detail(user, _resident(user, resident_id))


@router.post(
    "/residents/{resident_id}/leave", response=s.ResidentDetail, summary="A resident moved out of the district or died"
)
@refusals
def end_residence(request, payload: s.ResidentLeaveIn, resident_id: int = _pk("resident id")):
    user = request.auth
    resident = _resident(user, resident_id)
    _require_edit(user, resident.area)
    if payload.at is not None and payload.at > timezone.now():
        raise ValidationError(
            {"at": _("The date %(date)s is in the future.") % {"date": payload.at.date().isoformat()}}
        )
    status = validation.clean_choice(payload.status, ResidentStatus, "status")  # the code or its label
    services.end_residence(user, resident, status=status, reason=payload.reason, at=payload.at)
    return _resident_detail(user, _resident(user, resident_id))


@router.put("/residents/{resident_id}/care-tags", response=s.ResidentDetail, summary="Set a resident's care tags")
@refusals
def set_care_tags(request, payload: s.CareTagsIn, resident_id: int = _pk("resident id")):
    """The complete set: tags not listed are removed."""
    user = request.auth
    resident = _resident(user, resident_id)
    _require_edit(user, resident.area)
    held = set(ResidentCareTag.objects.filter(resident=resident).values_list("tag_id", flat=True))
    services.set_care_tags(user, resident, _care_tags(payload.codes, field="codes", keep=held))
    return _resident_detail(user, _resident(user, resident_id))


@router.post(
    "/residents/{resident_id}/reveal",
    response=s.RevealOut,
    summary="See a resident's ID number and phones in full (logged)",
)
@refusals
def reveal_resident(request, payload: s.RevealIn, resident_id: int = _pk("resident id")):
    """Only for roles allowed full view here (403 otherwise); the reason is written to the access log."""
    return _reveal(request, _resident(request.auth, resident_id), payload)


# ---- households ----------------------------------------------------------------------------------------

HOUSEHOLD_ROW = (
    "id",
    "address",
    "address_key",
    "number",
    "is_active",
    "area_id",
    "area__code",
    "area__name",
    "room_id",
    "room__unit",
    "room__floor",
    "room__number",
    "room__building_id",
    "room__building__name",
    "head__name",
    "living",
    "updated_at",
)


def _living_count():
    living = (
        Resident.objects.filter(household=OuterRef("pk"), status=ResidentStatus.LIVING)
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(living, output_field=IntegerField()), Value(0))


def _household_item(row: dict) -> dict:
    room = (
        {"id": row["room_id"], "unit": row["room__unit"], "floor": row["room__floor"], "number": row["room__number"]}
        if row["room_id"]
        else None
    )
    building = {"id": row["room__building_id"], "name": row["room__building__name"]} if row["room_id"] else None
    return {
        "id": row["id"],
        "address": row["address"],
        "number": row["number"],
        "is_active": row["is_active"],
        "area": _area_ref(row),
        "room": room,
        "building": building,
        "head": row["head__name"],
        "residents": row["living"],
        "updated_at": row["updated_at"],
    }


def _household_detail(user, household: Household) -> dict:
    row = (
        queries.households_visible_to(user)
        .filter(pk=household.pk)
        .annotate(living=_living_count())
        .values(*HOUSEHOLD_ROW)
        .get()
    )
    people = list(
        Resident.objects.filter(household=household)
        .order_by("pk")
        .values("id", "name", "relation", "gender", "birth_date", "id_cipher", "phone_cipher", "status")
    )
    people.sort(key=lambda p: (p["status"] != ResidentStatus.LIVING, p["id"] != household.head_id, p["id"]))
    tags = _care_tags_by_resident(p["id"] for p in people) if people else {}
    return {
        **_household_item(row),
        "notes": household.notes,
        "moved_out_at": household.moved_out_at,
        "created_at": household.created_at,
        "head_id": household.head_id,
        "members": [
            {
                "id": p["id"],
                "name": p["name"],
                "relation": p["relation"],
                "gender": p["gender"],
                "age": _age(p["birth_date"]),
                "masked_id_number": _masked_id(p["id_cipher"]),
                "masked_phone": _masked_phone(p["phone_cipher"]),
                "status": p["status"],
                "care_tags": tags.get(p["id"], []),
            }
            for p in people
        ],
        "moves": _moves(MoveRecord.objects.filter(household=household)),
    }


def _where(user, payload: s.WhereIn) -> tuple[Room | None, Area | None, str]:
    """The room or area (and address) a household body names; rooms named by number are added on first mention."""
    if payload.room_id:
        visible = queries.buildings_visible_to(user)
        room = _one(
            Room.objects.select_related("building__area").filter(building__in=visible),
            payload.room_id,
            _("No such room in your areas."),
        )
        return room, room.building.area, payload.address
    if payload.building_id:
        building = _building(user, payload.building_id)
        return services.room_for(building, payload.unit, payload.room), building.area, payload.address
    if payload.area_id:
        return None, _area(user, payload.area_id), payload.address
    raise ValidationError({"room_id": _("Give room_id, or building_id with room, or area_id with address.")})


@router.get("/households", response=s.HouseholdPage, summary="Households in your areas")
def list_households(
    request,
    area: int | None = AreaParam,
    q: str | None = Query(None, max_length=100, description="address contains, e.g. 3栋401"),
    status: str | None = Query(None, max_length=100, description="living (default), moved_out, or all"),
    building: int | None = Query(None, ge=1, le=MAX_ID, description="building id"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """By address."""
    user = _registry_user(request)
    params = {"area": area, "q": q, "status": status, "building": building}
    qs = _filtered(filters.filter_households, user, params).annotate(living=_living_count()).values(*HOUSEHOLD_ROW)
    rows, next_cursor = keyset_page(qs, ["address_key", "pk"], cursor, limit, lambda r: [r["address_key"], r["id"]])
    return {"items": [_household_item(r) for r in rows], "next_cursor": next_cursor}


@router.get("/households/{household_id}", response=s.HouseholdDetail, summary="One household, with its members")
def get_household(request, household_id: int = _pk("household id")):
    return _household_detail(request.auth, _household(request.auth, household_id))


@router.post("/households", response={201: s.HouseholdDetail}, summary="Add a household")
@refusals
def create_household(request, payload: s.HouseholdIn):
    """At a room (room_id, or building_id with unit and room), or at an address in a micro-grid (area_id)."""
    user = request.auth
    with transaction.atomic():  # a room added on first mention goes away with a refused household
        room, area, address = _where(user, payload)
        _require_edit(user, area)
        household = services.create_household(
            user, area=area, room=room, address=address, number=payload.number, notes=payload.notes
        )
    return Status(201, _household_detail(user, _household(user, household.pk)))


@router.patch("/households/{household_id}", response=s.HouseholdDetail, summary="Change a household")
@refusals
def update_household(request, payload: s.HouseholdPatch, household_id: int = _pk("household id")):
    user = request.auth
    household = _household(user, household_id)
    _require_edit(user, household.area)
    data = payload.model_dump(exclude_unset=True)
    head = _resident(user, data["head_id"]) if data.get("head_id") else None
    services.update_household(
        user,
        household,
        expected_updated_at=data.get("expected_updated_at"),
        number=data.get("number"),
        notes=data.get("notes"),
        head=head,
    )
    return _household_detail(user, _household(user, household_id))


@router.post("/households/{household_id}/move", response=s.HouseholdDetail, summary="Move a whole household")
@refusals
def move_household(request, payload: s.HouseholdMoveIn, household_id: int = _pk("household id")):
    """Its living residents come along; the move is kept in the history of the household."""
    user = request.auth
    household = _household(user, household_id)
    _require_edit(user, household.area)
    with transaction.atomic():
        room, area, address = _where(user, payload)
        _require_edit(user, area)
        services.move_household(user, household, room=room, area=area, address=address, reason=payload.reason)
    return _household_detail(user, _household(user, household_id))


@router.post(
    "/households/{household_id}/leave",
    response=s.HouseholdDetail,
    summary="A household moved out of the district",
)
@refusals
def household_moved_out(request, payload: s.ReasonIn, household_id: int = _pk("household id")):
    """The household and its living residents are kept, as moved out."""
    user = request.auth
    household = _household(user, household_id)
    _require_edit(user, household.area)
    services.household_moved_out(user, household, reason=payload.reason)
    return _household_detail(user, _household(user, household_id))


# ---- buildings -----------------------------------------------------------------------------------------

BUILDING_ROW = (
    "id",
    "name",
    "address",
    "floors",
    "units",
    "lon",
    "lat",
    "is_active",
    "area_id",
    "area__code",
    "area__name",
    "area__path",
    "updated_at",
)


def _building_item(row: dict) -> dict:
    return {
        **{f: row[f] for f in ("id", "name", "address", "floors", "units", "lon", "lat", "is_active", "updated_at")},
        "area": _area_ref(row),
    }


def _building_detail(user, building) -> dict:
    rooms = list(building.rooms.order_by("unit", "floor", "number", "pk").values("id", "unit", "floor", "number"))
    households = list(
        queries.households_visible_to(user)
        .filter(room__building=building, is_active=True)
        .order_by("pk")
        .values("id", "room_id", "number", "head_id")
    )
    people = list(
        Resident.objects.filter(household__in=[h["id"] for h in households], status=ResidentStatus.LIVING)
        .order_by("pk")
        .values("id", "name", "relation", "birth_date", "phone_cipher", "household_id")
    )
    tags = _care_tags_by_resident(p["id"] for p in people) if people else {}
    by_household: dict[int, list] = {}
    for p in people:
        by_household.setdefault(p["household_id"], []).append(
            {
                "id": p["id"],
                "name": p["name"],
                "relation": p["relation"],
                "age": _age(p["birth_date"]),
                "masked_phone": _masked_phone(p["phone_cipher"]),
                "care_tags": tags.get(p["id"], []),
            }
        )
    by_room: dict[int, list] = {}
    for h in households:
        residents = by_household.get(h["id"], [])
        residents.sort(key=lambda r, head=h["head_id"]: (r["id"] != head, r["id"]))
        by_room.setdefault(h["room_id"], []).append(
            {"id": h["id"], "number": h["number"], "head_id": h["head_id"], "residents": residents}
        )
    row = {f: getattr(building, f) for f in BUILDING_ROW if "__" not in f and f != "area_id"}
    row |= {"area_id": building.area_id, "area__code": building.area.code, "area__name": building.area.name}
    return {
        **_building_item(row),
        "notes": building.notes,
        "created_at": building.created_at,
        "households": len(households),
        "residents": len(people),
        "rooms": [{**room, "households": by_room.get(room["id"], [])} for room in rooms],
    }


@router.get("/buildings", response=s.BuildingPage, summary="Buildings in your areas")
def list_buildings(
    request,
    area: int | None = AreaParam,
    q: str | None = Query(None, max_length=100, description="name or address contains"),
    status: str | None = Query(None, max_length=100, description="active (default), inactive, or all"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """By area, then name."""
    user = _registry_user(request)
    qs = _filtered(filters.filter_buildings, user, {"area": area, "q": q, "status": status}).values(*BUILDING_ROW)
    order = ["area__path", "name", "pk"]
    rows, next_cursor = keyset_page(qs, order, cursor, limit, lambda r: [r["area__path"], r["name"], r["id"]])
    return {"items": [_building_item(r) for r in rows], "next_cursor": next_cursor}


@router.get("/buildings/{building_id}", response=s.BuildingDetail, summary="One building: rooms and who lives where")
def get_building(request, building_id: int = _pk("building id")):
    """Residents of each room with masked phones."""
    return _building_detail(request.auth, _building(request.auth, building_id))


@router.post("/buildings", response={201: s.BuildingDetail}, summary="Add a building")
@refusals
def create_building(request, payload: s.BuildingIn):
    user = request.auth
    area = _area(user, payload.area_id)
    _require_edit(user, area)
    building = services.create_building(user, area, **payload.model_dump(exclude={"area_id"}))
    return Status(201, _building_detail(user, _building(user, building.pk)))


@router.patch("/buildings/{building_id}", response=s.BuildingDetail, summary="Change a building")
@refusals
def update_building(request, payload: s.BuildingPatch, building_id: int = _pk("building id")):
    user = request.auth
    building = _building(user, building_id)
    _require_edit(user, building.area)
    data = payload.model_dump(exclude_unset=True)
    expected = data.pop("expected_updated_at", None)
    services.update_building(user, building, expected_updated_at=expected, **data)
    return _building_detail(user, _building(user, building_id))


@router.post("/buildings/{building_id}/rooms", response=s.RoomsOut, summary="Add the usual room numbering")
@refusals
def generate_rooms(request, payload: s.RoomsIn, building_id: int = _pk("building id")):
    """Units 1..n, rooms 101, 102 … on each floor; rooms that exist are kept."""
    user = request.auth
    building = _building(user, building_id)
    _require_edit(user, building.area)
    created = services.generate_rooms(
        user, building, units=payload.units, floors=payload.floors, rooms_per_floor=payload.rooms_per_floor
    )
    return {"created": created}


# ---- places --------------------------------------------------------------------------------------------

PLACE_ROW = (
    "id",
    "kind",
    "name",
    "name_key",
    "address",
    "credit_code",
    "phone_cipher",
    "contact_name",
    *PLACE_SAFETY_FLAGS,
    "building_id",
    "building__name",
    "area_id",
    "area__code",
    "area__name",
    "is_active",
    "updated_at",
)
_FLAG_LABELS = {name: Place._meta.get_field(name).verbose_name for name in PLACE_SAFETY_FLAGS}


def _place_item(row: dict) -> dict:
    return {
        "id": row["id"],
        "kind": _coded(PlaceKind, row["kind"]),
        "name": row["name"],
        "address": row["address"],
        "credit_code": row["credit_code"],
        "masked_phone": _masked_phone(row["phone_cipher"]),
        "contact_name": row["contact_name"],
        "flags": [{"code": f, "label": str(_FLAG_LABELS[f])} for f in PLACE_SAFETY_FLAGS if row[f]],
        "building": {"id": row["building_id"], "name": row["building__name"]} if row["building_id"] else None,
        "area": _area_ref(row),
        "is_active": row["is_active"],
        "updated_at": row["updated_at"],
    }


def _place_detail(user, place: Place) -> dict:
    row = {f: getattr(place, f) for f in PLACE_ROW if "__" not in f}
    row |= {
        "building__name": place.building.name if place.building else None,
        "area__code": place.area.code,
        "area__name": place.area.name,
    }
    return {
        **_place_item(row),
        "lon": place.lon,
        "lat": place.lat,
        "notes": place.notes,
        "created_at": place.created_at,
        "can_reveal": queries.can_unmask(user, place.area),
    }


@router.get("/places", response=s.PlacePage, summary="Places in your areas")
def list_places(
    request,
    area: int | None = AreaParam,
    q: str | None = Query(None, max_length=100, description="name starts with"),
    kind: str | None = Query(None, max_length=100, description="place kind code"),
    flag: str | None = Query(
        None, max_length=100, description="is_crowded, is_fire_key_unit, is_small_venue, has_hazardous_materials"
    ),
    building: int | None = Query(None, ge=1, le=MAX_ID, description="building id"),
    status: str | None = Query(None, max_length=100, description="active (default: open), inactive, or all"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Shops, enterprises, schools, hospitals, public places and rental housing, by name."""
    user = _registry_user(request)
    params = {"area": area, "q": q, "kind": kind, "flag": flag, "building": building, "status": status}
    qs = _filtered(filters.filter_places, user, params).values(*PLACE_ROW)
    rows, next_cursor = keyset_page(qs, ["name_key", "pk"], cursor, limit, lambda r: [r["name_key"], r["id"]])
    return {"items": [_place_item(r) for r in rows], "next_cursor": next_cursor}


@router.get("/places/{place_id}", response=s.PlaceDetail, summary="One place")
def get_place(request, place_id: int = _pk("place id")):
    return _place_detail(request.auth, _place(request.auth, place_id))


@router.post("/places", response={201: s.PlaceDetail}, summary="Add a place")
@refusals
def create_place(request, payload: s.PlaceIn):
    user = request.auth
    area = _area(user, payload.area_id)
    _require_edit(user, area)
    building = _building(user, payload.building_id) if payload.building_id else None
    data = payload.model_dump(exclude={"area_id", "building_id"})
    data["phone"] = data["phone"] or ""
    place = services.create_place(user, area, building=building, **data)
    return Status(201, _place_detail(user, _place(user, place.pk)))


@router.patch("/places/{place_id}", response=s.PlaceDetail, summary="Change a place, or move it to another area")
@refusals
def update_place(request, payload: s.PlacePatch, place_id: int = _pk("place id")):
    user = request.auth
    place = _place(user, place_id)
    _require_edit(user, place.area)
    data = payload.model_dump(exclude_unset=True)
    expected = data.pop("expected_updated_at", None)
    area_id = data.pop("area_id", None)
    area = _area(user, area_id) if area_id else None
    if area is not None:
        _require_edit(user, area)
    services.update_place(user, place, expected_updated_at=expected, area=area, **data)
    return _place_detail(user, _place(user, place_id))


@router.post("/places/{place_id}/reveal", response=s.RevealOut, summary="See a place's phone in full (logged)")
@refusals
def reveal_place(request, payload: s.RevealIn, place_id: int = _pk("place id")):
    return _reveal(request, _place(request.auth, place_id), payload)


# ---- organisations -------------------------------------------------------------------------------------

ORGANISATION_ROW = (
    "id",
    "kind",
    "name",
    "name_key",
    "address",
    "credit_code",
    "contact_name",
    "phone_cipher",
    "area_id",
    "area__code",
    "area__name",
    "is_active",
    "updated_at",
)


def _organisation_item(row: dict) -> dict:
    return {
        "id": row["id"],
        "kind": _coded(OrganisationKind, row["kind"]),
        "name": row["name"],
        "address": row["address"],
        "credit_code": row["credit_code"],
        "contact_name": row["contact_name"],
        "masked_phone": _masked_phone(row["phone_cipher"]),
        "area": _area_ref(row),
        "is_active": row["is_active"],
        "updated_at": row["updated_at"],
    }


def _member_out(member: OrganisationMember) -> dict:
    return {
        "id": member.pk,
        "name": member.name,
        "position": member.position,
        "is_contact": member.is_contact,
        "masked_phone": member.masked_phone,
        "resident_id": member.resident_id,
        "joined_on": member.joined_on,
        "left_on": member.left_on,
    }


def _organisation_detail(user, organisation: Organisation) -> dict:
    row = {f: getattr(organisation, f) for f in ORGANISATION_ROW if "__" not in f}
    row |= {"area__code": organisation.area.code, "area__name": organisation.area.name}
    members = sorted(organisation.members.all(), key=lambda m: (m.left_on is not None, not m.is_contact, m.name, m.pk))
    return {
        **_organisation_item(row),
        "notes": organisation.notes,
        "created_at": organisation.created_at,
        "can_reveal": queries.can_unmask(user, organisation.area),
        "members": [_member_out(m) for m in members],
    }


def _member(user, organisation_id: int, member_id: int) -> OrganisationMember:
    organisation = _organisation(user, organisation_id)
    member = _one(organisation.members.all(), member_id, _("No such member of this organisation."))
    member.organisation = organisation
    return member


@router.get("/organisations", response=s.OrganisationPage, summary="Organisations in your areas")
def list_organisations(
    request,
    area: int | None = AreaParam,
    q: str | None = Query(None, max_length=100, description="name starts with"),
    kind: str | None = Query(None, max_length=100, description="organisation kind code"),
    status: str | None = Query(None, max_length=100, description="active (default), inactive, or all"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Party branches, owners' committees, property companies, social organisations, departments, units; by name."""
    user = _registry_user(request)
    params = {"area": area, "q": q, "kind": kind, "status": status}
    qs = _filtered(filters.filter_organisations, user, params).values(*ORGANISATION_ROW)
    rows, next_cursor = keyset_page(qs, ["name_key", "pk"], cursor, limit, lambda r: [r["name_key"], r["id"]])
    return {"items": [_organisation_item(r) for r in rows], "next_cursor": next_cursor}


@router.get("/organisations/{organisation_id}", response=s.OrganisationDetail, summary="One organisation and members")
def get_organisation(request, organisation_id: int = _pk("organisation id")):
    return _organisation_detail(request.auth, _organisation(request.auth, organisation_id))


@router.post("/organisations", response={201: s.OrganisationDetail}, summary="Add an organisation")
@refusals
def create_organisation(request, payload: s.OrganisationIn):
    user = request.auth
    area = _area(user, payload.area_id)
    _require_edit(user, area)
    data = payload.model_dump(exclude={"area_id"})
    data["phone"] = data["phone"] or ""
    organisation = services.create_organisation(user, area, **data)
    return Status(201, _organisation_detail(user, _organisation(user, organisation.pk)))


@router.patch(
    "/organisations/{organisation_id}",
    response=s.OrganisationDetail,
    summary="Change an organisation, or move it to another area",
)
@refusals
def update_organisation(request, payload: s.OrganisationPatch, organisation_id: int = _pk("organisation id")):
    user = request.auth
    organisation = _organisation(user, organisation_id)
    _require_edit(user, organisation.area)
    data = payload.model_dump(exclude_unset=True)
    expected = data.pop("expected_updated_at", None)
    area_id = data.pop("area_id", None)
    area = _area(user, area_id) if area_id else None
    if area is not None:
        _require_edit(user, area)
    services.update_organisation(user, organisation, expected_updated_at=expected, area=area, **data)
    return _organisation_detail(user, _organisation(user, organisation_id))


@router.post(
    "/organisations/{organisation_id}/members",
    response={201: s.MemberOut},
    summary="Add a member to an organisation",
)
@refusals
def add_member(request, payload: s.MemberIn, organisation_id: int = _pk("organisation id")):
    """A resident of the registry (resident_id), or a person named here."""
    user = request.auth
    organisation = _organisation(user, organisation_id)
    _require_edit(user, organisation.area)
    resident = _resident(user, payload.resident_id) if payload.resident_id else None
    member = services.add_organisation_member(
        user,
        organisation,
        name=payload.name,
        resident=resident,
        position=payload.position,
        phone=payload.phone,
        is_contact=payload.is_contact,
        joined_on=payload.joined_on,
    )
    return Status(201, _member_out(member))


@router.post(
    "/organisations/{organisation_id}/members/{member_id}/end",
    response=s.MemberOut,
    summary="A member left the organisation",
)
@refusals
def end_membership(
    request, payload: s.MemberEndIn, organisation_id: int = _pk("organisation id"), member_id: int = _pk("member id")
):
    user = request.auth
    member = _member(user, organisation_id, member_id)
    _require_edit(user, member.organisation.area)
    if member.left_on is not None:
        raise ValidationError(_("This member has left already."))
    return _member_out(services.end_organisation_membership(user, member, left_on=payload.left_on))


@router.post(
    "/organisations/{organisation_id}/reveal",
    response=s.RevealOut,
    summary="See an organisation's phone in full (logged)",
)
@refusals
def reveal_organisation(request, payload: s.RevealIn, organisation_id: int = _pk("organisation id")):
    return _reveal(request, _organisation(request.auth, organisation_id), payload)


@router.post(
    "/organisations/{organisation_id}/members/{member_id}/reveal",
    response=s.RevealOut,
    summary="See a member's phone in full (logged)",
)
@refusals
def reveal_member(
    request, payload: s.RevealIn, organisation_id: int = _pk("organisation id"), member_id: int = _pk("member id")
):
    return _reveal(request, _member(request.auth, organisation_id, member_id), payload)


# ---- care tags -----------------------------------------------------------------------------------------


@router.get("/care-tags", response=list[s.CareTagItem], summary="Kinds of care subjects (关爱对象)")
def list_care_tags(request, inactive: bool = Query(False, description="also the tags no longer in use")):
    _registry_user(request)
    qs = CareTag.objects.order_by("position", "code")
    if not inactive:
        qs = qs.filter(is_active=True)
    return list(qs.values("id", "code", "name", "description", "position", "is_active"))


# ---- access log ----------------------------------------------------------------------------------------

ACCESS_ROW = (
    "id",
    "at",
    "actor_id",
    "actor__display_name",
    "actor__username",
    "action",
    "reason",
    "area_id",
    "area__code",
    "area__name",
    "subject_type",
    "subject_id",
    "subject_label",
    "fields",
    "count",
    "channel",
    "details",
)


_LONG_NUMBER = re.compile(r"\d{7,}[\dXx]?")


def _mask_numbers(value):
    """Free text of the log (a reason, an export's search filter) may hold a phone or an ID: mask them."""
    if isinstance(value, str):
        return _LONG_NUMBER.sub(lambda m: idcard.mask(m[0]) if len(m[0]) >= 15 else privacy.mask_phone(m[0]), value)
    if isinstance(value, dict):
        return {key: _mask_numbers(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_mask_numbers(v) for v in value]
    return value


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@router.get("/access-log", response=s.AccessLogPage, summary="Who saw personal data unmasked (auditors)")
def list_access_log(
    request,
    area: int | None = AreaParam,
    subject_type: s.SubjectType | None = None,
    subject_id: int | None = Query(None, ge=1, le=MAX_ID, description="with subject_type: one record's history"),
    actor_id: int | None = Query(None, ge=1, le=MAX_ID, description="what one user saw"),
    action: AccessAction | None = None,
    since: datetime.date | None = Since,
    until: datetime.date | None = Until,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Newest first. A record's history includes the unmasked exports that held it."""
    user = request.auth
    if not queries.can_audit(user):
        raise HttpError(403, _("Only auditors read the personal-data access log."))
    qs = queries.access_log_visible_to(user)
    if area is not None:
        scope = Area.objects.filter(scope_q(user, "", AUDIT_ROLES))
        qs = qs.filter(subtree_q(_one(scope, area, _("No such area in your areas.")).path, "area__"))
    if subject_type is not None:
        qs = qs.filter(subject_type=subject_type)
    if subject_id is not None:
        held = qs.filter(subjects__subject_id=subject_id)
        if subject_type is not None:
            held = held.filter(subjects__subject_type=subject_type)
        qs = qs.filter(Q(subject_id=subject_id) | Q(pk__in=held.values("pk")))
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if action is not None:
        qs = qs.filter(action=action)
    if since is not None:
        qs = qs.filter(at__gte=_day_start(since))
    if until is not None:
        qs = qs.filter(at__lt=_day_start(until + datetime.timedelta(days=1)))
    qs = qs.order_by("-pk")
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        qs = qs.filter(pk__lt=last)
    rows = list(qs.values(*ACCESS_ROW)[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1]["id"]]) if len(rows) > limit else None
    items = [
        {
            "id": r["id"],
            "at": r["at"],
            "actor": {"id": r["actor_id"], "name": r["actor__display_name"] or r["actor__username"]}
            if r["actor_id"]
            else None,
            "action": _coded(AccessAction, r["action"]),
            "reason": _mask_numbers(r["reason"]),
            "area": _area_ref(r),
            "subject_type": r["subject_type"],
            "subject_id": r["subject_id"],
            "subject_label": _mask_numbers(r["subject_label"]),
            "fields": r["fields"],
            "count": r["count"],
            "channel": r["channel"],
            "details": _mask_numbers(r["details"]),
        }
        for r in rows[:limit]
    ]
    return {"items": items, "next_cursor": next_cursor}
