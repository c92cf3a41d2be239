"""Shapes of the registry API: they document it (OpenAPI) and are an allow-list of what a response may hold.

No response shape has a field for a full ID number or phone except RevealOut: everything else carries
the masked form only (`masked_*`). Request bodies take text as people type it (full-width digits, Chinese
labels of coded values, dates as 2024-03-01 or 2024年3月1日): the registry's cleaning functions read it
and answer with messages naming the field, in the caller's language.
"""

import re
from datetime import date, datetime
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field, field_validator

from .schemas import AreaRef

# Bounds on request text: generous, so the registry's own (translated) length checks speak first.
SHORT = 200
LONG = 5000
MAX_ID = 2**63 - 1

Id = Field(ge=1, le=MAX_ID)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value) -> bool:
    return isinstance(value, str) and bool(CONTROL_CHARACTERS.search(value))


class Input(Schema):
    """A request body: text with control characters (NUL and friends) is refused, naming the field."""

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value):
        if any(has_control_characters(v) for v in (value if isinstance(value, list) else [value])):
            raise ValueError(_("Control characters (such as NUL) are not allowed here."))
        return value


def _id(description: str):
    return Field(None, ge=1, le=MAX_ID, description=description)


class Coded(Schema):
    code: str
    label: str


class CareTagOut(Schema):
    code: str
    name: str


class CareTagItem(CareTagOut):
    id: int
    description: str
    position: int
    is_active: bool


class HouseholdRef(Schema):
    id: int
    address: str
    number: str = ""


class MoveOut(Schema):
    at: datetime
    from_address: str
    to_address: str
    from_area: AreaRef | None
    to_area: AreaRef | None
    reason: str
    actor: str | None = Field(description="who recorded the move")


# ---- residents -------------------------------------------------------------------------------------


class ResidentItem(Schema):
    id: int
    name: str
    gender: str
    age: int | None = Field(description="whole years today, from the birth date")
    masked_id_number: str = Field(description="e.g. 5101**********1234; the full number only through reveal")
    masked_phone: str
    residence_type: Coded
    status: Coded
    relation: str
    is_party_member: bool
    household: HouseholdRef | None
    area: AreaRef
    care_tags: list[CareTagOut]
    updated_at: datetime


class ResidentPage(Schema):
    items: list[ResidentItem]
    next_cursor: str | None


class ResidentDetail(ResidentItem):
    gender_label: str
    relation_label: str
    id_type: Coded
    birth_date: date | None
    contact_name: str
    masked_contact_phone: str
    address: str = Field(description="the household's address")
    building: str = Field(description="the building of the household's room, if any")
    notes: str
    moved_in_on: date | None
    moved_out_at: datetime | None
    created_at: datetime
    can_reveal: bool = Field(description="whether you may ask for the full ID number and phones (with a reason)")
    moves: list[MoveOut] = Field(description="the latest moves, newest first")


class ResidentFields(Input):
    """A resident's values as people type them; coded values take the code or its label."""

    name: str | None = Field(None, max_length=SHORT)
    id_type: str | None = Field(
        None, max_length=SHORT, description="resident_id (default), passport, hmt_permit, foreign_permanent, other"
    )
    id_number: str | None = Field(
        None, max_length=SHORT, description="for a resident ID card the birth date and gender come from it"
    )
    gender: str | None = Field(None, max_length=SHORT, description="male or female")
    birth_date: str | None = Field(None, max_length=SHORT, description="2024-03-01 (ignored with a resident ID)")
    phone: str | None = Field(None, max_length=SHORT)
    residence_type: str | None = Field(
        None, max_length=SHORT, description="registered (default), resident, floating, overseas"
    )
    relation: str | None = Field(
        None,
        max_length=SHORT,
        description="head, spouse, child, parent, grandchild, grandparent, sibling, tenant, other",
    )
    is_party_member: bool | None = None
    contact_name: str | None = Field(None, max_length=SHORT)
    contact_phone: str | None = Field(None, max_length=SHORT)
    notes: str | None = Field(None, max_length=LONG)
    moved_in_on: str | None = Field(None, max_length=SHORT, description="2024-03-01")


class ResidentIn(ResidentFields):
    name: str | None = Field(None, max_length=SHORT, description="required")
    household_id: int | None = _id("the household the resident lives in (or give area_id)")
    area_id: int | None = _id("the micro-grid or dedicated grid, for a resident without a household")
    care_tags: list[str] = Field([], max_length=50, description="care tag codes")


class ResidentPatch(ResidentFields):
    """Only the fields sent are changed; null clears a field."""

    expected_updated_at: datetime | None = Field(
        None,
        description="the updated_at you loaded: if the record changed since, the answer is 409 and nothing is saved",
    )


class ResidentMoveIn(Input):
    household_id: int = Id
    relation: str = Field("", max_length=SHORT)
    reason: str = Field("", max_length=SHORT)


class ResidentLeaveIn(Input):
    status: str = Field("", max_length=SHORT, description="moved_out or deceased (required)")
    reason: str = Field("", max_length=SHORT)
    at: datetime | None = Field(None, description="when (default: now); not in the future")


class CareTagsIn(Input):
    codes: list[str] = Field(max_length=50, description="the complete set of care tag codes")


class RevealIn(Input):
    reason: str = Field(
        "", max_length=SHORT, description="required: why you need the full values; it is logged for auditors"
    )
    fields: list[str] | None = Field(None, max_length=10, description="which fields (default: all there are)")


class RevealOut(Schema):
    """Full values: the only response that holds them. Each one asked for is logged (who, whom, when, why)."""

    id_number: str | None = None
    phone: str | None = None
    contact_phone: str | None = None


# ---- households --------------------------------------------------------------------------------------


class RoomRef(Schema):
    id: int
    unit: str
    floor: int | None
    number: str


class BuildingRef(Schema):
    id: int
    name: str


class HouseholdItem(Schema):
    id: int
    address: str
    number: str
    is_active: bool
    area: AreaRef
    room: RoomRef | None
    building: BuildingRef | None
    head: str | None = Field(description="the head of household's name")
    residents: int = Field(description="residents living here")
    updated_at: datetime


class HouseholdPage(Schema):
    items: list[HouseholdItem]
    next_cursor: str | None


class HouseholdMember(Schema):
    id: int
    name: str
    relation: str
    gender: str
    age: int | None
    masked_id_number: str
    masked_phone: str
    status: str
    care_tags: list[CareTagOut]


class HouseholdDetail(HouseholdItem):
    notes: str
    moved_out_at: datetime | None
    created_at: datetime
    head_id: int | None
    members: list[HouseholdMember] = Field(description="everyone recorded in the household, living ones first")
    moves: list[MoveOut]


class WhereIn(Input):
    """Where a household lives: a room (room_id, or building_id with unit and room), or an area and an address."""

    room_id: int | None = _id("an existing room")
    building_id: int | None = _id("a building; with `room` (and `unit`) the room is found or added")
    unit: str = Field("", max_length=SHORT, description="unit (单元), e.g. 2")
    room: str = Field("", max_length=SHORT, description="room number, e.g. 301")
    area_id: int | None = _id("a micro-grid or dedicated grid, for an address without a building")
    address: str = Field("", max_length=SHORT, description="the address (made from the building and room if empty)")


class HouseholdIn(WhereIn):
    number: str = Field("", max_length=SHORT, description="household register number")
    notes: str = Field("", max_length=LONG)


class HouseholdPatch(Input):
    number: str | None = Field(None, max_length=SHORT)
    notes: str | None = Field(None, max_length=LONG)
    head_id: int | None = _id("a resident of this household")
    expected_updated_at: datetime | None = None


class HouseholdMoveIn(WhereIn):
    reason: str = Field("", max_length=SHORT)


class ReasonIn(Input):
    reason: str = Field("", max_length=SHORT)


# ---- buildings ---------------------------------------------------------------------------------------


class BuildingItem(Schema):
    id: int
    name: str
    address: str
    floors: int | None
    units: int | None
    lon: float | None
    lat: float | None
    is_active: bool
    area: AreaRef
    updated_at: datetime


class BuildingPage(Schema):
    items: list[BuildingItem]
    next_cursor: str | None


class RoomResident(Schema):
    id: int
    name: str
    relation: str
    age: int | None
    masked_phone: str
    care_tags: list[CareTagOut]


class RoomHousehold(Schema):
    id: int
    number: str
    head_id: int | None
    residents: list[RoomResident]


class RoomOut(RoomRef):
    households: list[RoomHousehold] = Field(description="households living in the room (usually one)")


class BuildingDetail(BuildingItem):
    notes: str
    created_at: datetime
    households: int
    residents: int
    rooms: list[RoomOut] = Field(description="every room, with who lives there (phones masked)")


class BuildingIn(Input):
    area_id: int = Field(ge=1, le=MAX_ID, description="the micro-grid or dedicated grid")
    name: str = Field("", max_length=SHORT, description="required: as people say it, e.g. 3栋")
    address: str = Field("", max_length=SHORT)
    floors: int | None = Field(None, ge=1, le=200)
    units: int | None = Field(None, ge=1, le=100)
    lon: float | None = Field(None, allow_inf_nan=False, description="WGS84")
    lat: float | None = Field(None, allow_inf_nan=False, description="WGS84")
    notes: str = Field("", max_length=LONG)


class BuildingPatch(Input):
    name: str | None = Field(None, max_length=SHORT)
    address: str | None = Field(None, max_length=SHORT)
    floors: int | None = Field(None, ge=1, le=200)
    units: int | None = Field(None, ge=1, le=100)
    lon: float | None = Field(None, allow_inf_nan=False)
    lat: float | None = Field(None, allow_inf_nan=False)
    notes: str | None = Field(None, max_length=LONG)
    expected_updated_at: datetime | None = None


class RoomsIn(Input):
    units: int = Field(ge=1, le=1000)
    floors: int = Field(ge=1, le=1000)
    rooms_per_floor: int = Field(ge=1, le=1000)


class RoomsOut(Schema):
    created: int = Field(description="rooms added; rooms that existed are kept")


# ---- places ------------------------------------------------------------------------------------------


class PlaceItem(Schema):
    id: int
    kind: Coded
    name: str
    address: str
    credit_code: str
    masked_phone: str
    contact_name: str
    flags: list[Coded] = Field(description="safety flags that apply")
    building: BuildingRef | None
    area: AreaRef
    is_active: bool
    updated_at: datetime


class PlacePage(Schema):
    items: list[PlaceItem]
    next_cursor: str | None


class PlaceDetail(PlaceItem):
    lon: float | None
    lat: float | None
    notes: str
    created_at: datetime
    can_reveal: bool


class PlaceFields(Input):
    kind: str | None = Field(
        None, max_length=SHORT, description="shop, enterprise, school, hospital, public_place, rental_housing"
    )
    name: str | None = Field(None, max_length=SHORT)
    credit_code: str | None = Field(None, max_length=SHORT, description="unified social credit code, 18 characters")
    address: str | None = Field(None, max_length=SHORT)
    contact_name: str | None = Field(None, max_length=SHORT)
    phone: str | None = Field(None, max_length=SHORT)
    is_crowded: bool | None = None
    is_fire_key_unit: bool | None = None
    is_small_venue: bool | None = None
    has_hazardous_materials: bool | None = None
    lon: float | None = Field(None, allow_inf_nan=False)
    lat: float | None = Field(None, allow_inf_nan=False)
    notes: str | None = Field(None, max_length=LONG)


class PlaceIn(PlaceFields):
    """kind and name are required."""

    area_id: int = Field(ge=1, le=MAX_ID, description="the grid, micro-grid or dedicated grid")
    building_id: int | None = _id("the building it is in, if any")


class PlacePatch(PlaceFields):
    area_id: int | None = _id("move the place to this grid, micro-grid or dedicated grid")
    expected_updated_at: datetime | None = None


# ---- organisations -----------------------------------------------------------------------------------


class OrganisationItem(Schema):
    id: int
    kind: Coded
    name: str
    address: str
    credit_code: str
    contact_name: str
    masked_phone: str
    area: AreaRef
    is_active: bool
    updated_at: datetime


class OrganisationPage(Schema):
    items: list[OrganisationItem]
    next_cursor: str | None


class MemberOut(Schema):
    id: int
    name: str
    position: str
    is_contact: bool
    masked_phone: str
    resident_id: int | None
    joined_on: date | None
    left_on: date | None


class OrganisationDetail(OrganisationItem):
    notes: str
    created_at: datetime
    can_reveal: bool
    members: list[MemberOut] = Field(description="current members first, then those who left")


class OrganisationFields(Input):
    kind: str | None = Field(
        None,
        max_length=SHORT,
        description="party_branch, owners_committee, property_company, social_organisation, department, stationed_unit",
    )
    name: str | None = Field(None, max_length=SHORT)
    credit_code: str | None = Field(None, max_length=SHORT)
    address: str | None = Field(None, max_length=SHORT)
    contact_name: str | None = Field(None, max_length=SHORT)
    phone: str | None = Field(None, max_length=SHORT)
    notes: str | None = Field(None, max_length=LONG)


class OrganisationIn(OrganisationFields):
    """kind and name are required."""

    area_id: int = Field(ge=1, le=MAX_ID, description="the street, community, grid or dedicated grid")


class OrganisationPatch(OrganisationFields):
    area_id: int | None = _id("move the organisation to this area")
    expected_updated_at: datetime | None = None


class MemberIn(Input):
    name: str = Field("", max_length=SHORT, description="the member's name (default: the resident's)")
    resident_id: int | None = _id("the member as a resident of the registry")
    position: str = Field("", max_length=SHORT)
    phone: str = Field("", max_length=SHORT)
    is_contact: bool = False
    joined_on: str | None = Field(None, max_length=SHORT, description="2024-03-01")


class MemberEndIn(Input):
    left_on: str | None = Field(None, max_length=SHORT, description="2024-03-01 (default: today)")


# ---- access log --------------------------------------------------------------------------------------


class Actor(Schema):
    id: int
    name: str


class AccessLogItem(Schema):
    id: int
    at: datetime
    actor: Actor | None
    action: Coded
    reason: str
    area: AreaRef | None
    subject_type: str
    subject_id: int | None
    subject_label: str
    fields: list[str]
    count: int
    channel: str
    details: dict[str, Any]


class AccessLogPage(Schema):
    items: list[AccessLogItem]
    next_cursor: str | None


SubjectType = Literal["resident", "place", "organisation", "organisation_member"]
