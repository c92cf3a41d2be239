"""Shapes of the cases API: they document it (OpenAPI) and are an allow-list of what a response may hold.

A reporter's phone leaves the server masked (`masked_phone`) and only to staff; the public tracking shapes
have no field for a phone or a staff member's account at all. Codes (state, tier, channel…) come with a
label in the caller's language.
"""

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from .registry_schemas import LONG, MAX_ID, SHORT, Input
from .schemas import AreaRef

Crs = Literal["wgs84", "gcj02", "bd09"]
Lon = Field(None, ge=-180, le=180, allow_inf_nan=False, description="longitude, in the system named by crs")
Lat = Field(None, ge=-90, le=90, allow_inf_nan=False, description="latitude, in the system named by crs")
KEY_HELP = (
    "8 to 64 letters, digits, - _ . or : — the same key on a retry returns the first case "
    "(also accepted as the Idempotency-Key header)"
)


def _id(description: str):
    return Field(None, ge=1, le=MAX_ID, description=description)


# ---- requests --------------------------------------------------------------------------------------------


class IntakeIn(Input):
    category: str = Field(max_length=16, description="leaf category code (GET /api/cases/categories)")
    description: str = Field(max_length=LONG)
    lon: float | None = Lon
    lat: float | None = Lat
    crs: Crs = Field("wgs84", description="wgs84 (GPS), gcj02 (Amap, Tencent) or bd09 (Baidu)")
    area: int | None = _id("area id (e.g. from a micro-grid's QR code); the point wins when both are given")
    address: str = Field("", max_length=SHORT)
    channel: str = Field(
        "api",
        max_length=16,
        description="api (default); member (grid members on patrol); hotline, walk_in or hotline_12345 (staff)",
    )
    external_number: str = Field("", max_length=SHORT, description="the 12345 work-order number")
    reporter_name: str = Field("", max_length=SHORT)
    phone: str = Field("", max_length=40, description="the reporter's contact phone (stored encrypted)")
    anonymous: bool = False
    handled_on_spot: bool = Field(False, description="当场解决 (member channel): needs after_photos")
    idempotency_key: str | None = Field(None, max_length=64, description=KEY_HELP)


class PublicIntakeIn(Input):
    category: str = Field(max_length=16, description="leaf category code (GET /api/public/cases/categories)")
    description: str = Field(max_length=LONG)
    lon: float | None = Lon
    lat: float | None = Lat
    crs: Crs = "wgs84"
    area: int | None = _id("area id from the micro-grid's QR code")
    address: str = Field("", max_length=SHORT)
    channel: Literal["resident_qr", "resident_map"] | None = Field(
        None, description="resident_qr when an area is given, else resident_map"
    )
    reporter_name: str = Field("", max_length=SHORT)
    phone: str = Field("", max_length=40, description="to be told by SMS (optional, stored encrypted)")
    anonymous: bool = False
    idempotency_key: str | None = Field(
        None, max_length=64, description="at least 16 characters, e.g. a random UUID made when the form opens"
    )


class ActionIn(Input):
    note: str = Field("", max_length=LONG, description="required by reject, return, escalate, rework, cancel…")
    version: int | None = Field(
        None, ge=1, description="the case's version you saw; a different one answers 409 instead of acting"
    )
    tier: str | None = Field(None, max_length=16, description="dispatch: grid, community, street or department")
    department: int | None = _id("dispatch to / escalate to this department")
    assignee: int | None = _id("dispatch: user id of one handler (optional)")
    into: int | None = _id("merge: the id of the original case")
    rating: str | None = Field(None, max_length=24, description="rate: satisfied, basically_satisfied, dissatisfied")
    comment: str = Field("", max_length=LONG, description="rate: the reporter's words")
    ask_reopen: bool = Field(False, description="rate: dissatisfied, and asks for the case to be handled again")


class RatingIn(Input):
    rating: str = Field(max_length=24, description="satisfied, basically_satisfied or dissatisfied")
    comment: str = Field("", max_length=LONG)
    ask_reopen: bool = Field(False, description="with dissatisfied: please handle it again")
    version: int | None = Field(None, ge=1)


class WhistleIn(Input):
    level: str = Field(max_length=16, description="daily, tough or emergency")
    departments: list[int] = Field(max_length=50, description="ids of the departments called in")
    reason: str = Field(max_length=LONG)


class NoteIn(Input):
    note: str = Field("", max_length=LONG)


class SuperviseIn(Input):
    level: int = Field(ge=0, le=9, description="1 supervised, 2 yellow card, 3 red card")
    instruction: str = Field(max_length=LONG)


class FollowUpIn(Input):
    note: str = Field(max_length=LONG, description="what the reporter said")
    rating: str = Field("", max_length=24, description="optional: satisfied, basically_satisfied, dissatisfied")


class ReadIn(Input):
    ids: list[int] | None = Field(None, max_length=500, description="notification ids; leave out with all=true")
    all: bool = False


# ---- responses -------------------------------------------------------------------------------------------


class Coded(Schema):
    code: str
    label: str


class CategoryRef(Schema):
    code: str
    name: str


class Named(Schema):
    id: int
    name: str


class IntakeOut(Schema):
    id: int
    number: str = Field(description="the case number people quote: date of report and id")
    tracking_code: str = Field(description="lets the reporter follow the case without an account")
    state: Coded
    category: CategoryRef
    area: AreaRef
    reported_at: datetime
    version: int


class PublicIntakeOut(Schema):
    number: str
    tracking_code: str = Field(description="keep it: GET /api/public/cases/{tracking_code}")
    state: Coded
    category: CategoryRef
    area_name: str
    reported_at: datetime


class CaseItem(Schema):
    id: int
    number: str
    state: Coded
    category: CategoryRef
    area: AreaRef
    address: str
    reported_at: datetime
    stage_deadline: datetime | None
    is_overdue: bool
    supervision: Coded
    tier: Coded
    department: Named | None


class CasePage(Schema):
    items: list[CaseItem]
    next_cursor: str | None


class AttachmentOut(Schema):
    id: int
    kind: Coded
    content_type: str
    size: int
    url: str


class EventOut(Schema):
    id: int
    at: datetime
    action: Coded
    actor_label: str = Field(description="who acted, as shown (a name, 居民 for a resident, 系统 for the clock)")
    from_state: str
    to_state: str
    note: str
    is_public: bool
    data: dict[str, Any]
    attachments: list[AttachmentOut]


class CoHandlerOut(Schema):
    department: Named
    report_deadline: datetime
    reported_at: datetime | None
    is_late: bool
    part_done_at: datetime | None
    part_note: str


class SupervisionOut(Schema):
    level: Coded
    at: datetime
    by: str = Field(description="who supervised; empty for the clock")
    area: AreaRef = Field(description="the level above, which now watches the case")
    stage: str
    instruction: str


class ActionRef(Schema):
    name: str = Field(description="POST /api/cases/{case_id}/actions/{name}")
    label: str
    note_required: bool


class CaseDetail(CaseItem):
    tracking_code: str
    channel: Coded
    external_number: str
    description: str
    lon: float | None = Field(description="WGS84")
    lat: float | None = Field(description="WGS84")
    reporter_name: str
    masked_phone: str
    is_anonymous: bool
    handled_on_spot: bool
    handling_mode: Coded
    assignee: Named | None
    merged_into: int | None
    stage: str
    due_at: datetime | None
    accepted_at: datetime | None
    dispatched_at: datetime | None
    taken_at: datetime | None
    resolved_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    responded_on_time: bool | None
    closed_on_time: bool | None
    rework_count: int
    rating: str
    rating_comment: str
    version: int = Field(description="send it back with an action to act only on what you saw")
    full_view: bool = Field(description="false when you see the case only as its reporter: public timeline only")
    timeline: list[EventOut]
    co_handlers: list[CoHandlerOut]
    supervisions: list[SupervisionOut]
    actions: list[ActionRef] = Field(description="the steps you may take now")


class ActionOut(Schema):
    id: int
    number: str
    state: Coded
    version: int
    tier: Coded
    department_id: int | None
    assignee_id: int | None
    stage_deadline: datetime | None
    actions: list[ActionRef] = Field(description="the steps you may take now")


class InboxCounts(Schema):
    to_dispatch: int
    mine: int
    overdue: int
    supervised: int
    whistles: int
    to_verify: int


class CategoryItem(Schema):
    code: str
    name: str
    kind: Coded
    parent: str | None = Field(description="the parent's code")
    leaf: bool = Field(description="only leaf categories take cases")
    photo_required: bool
    handling_mode: Coded
    default_tier: Coded


class DuplicateOut(Schema):
    id: int | None = Field(description="null when the case is outside your areas")
    number: str
    category: CategoryRef
    state: Coded
    reported_at: datetime
    description: str | None = Field(description="only for cases you may open")
    address: str | None = Field(description="only for cases you may open")


class PublicPhoto(Schema):
    kind: Coded
    url: str


class PublicEvent(Schema):
    at: datetime
    action: Coded
    actor_label: str
    to_state: str
    note: str
    photos: list[PublicPhoto]


class PublicCase(Schema):
    number: str
    state: Coded
    category: CategoryRef
    area_name: str
    address: str
    description: str
    reported_at: datetime
    closed_at: datetime | None
    rating: str
    can_rate: bool
    version: int
    timeline: list[PublicEvent]


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    case_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int = Field(description="all your unread notifications (for a badge)")


class ReadOut(Schema):
    marked: int
