"""Response and request shapes: they document the API (OpenAPI) and act as an allow-list of fields."""

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class Detail(Schema):
    detail: str


class AreaRef(Schema):
    id: int
    code: str
    name: str


class RoleOut(Schema):
    role: str
    role_label: str
    area_id: int
    area_name: str
    area_code: str
    department: str | None = None


class MeOut(Schema):
    id: int
    username: str
    name: str
    masked_phone: str
    roles: list[RoleOut]


class AreaItem(Schema):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    level: int
    parent_id: int | None
    centre: list[float] | None = Field(None, description="[lon, lat], WGS84")


class AreaPage(Schema):
    items: list[AreaItem]
    next_cursor: str | None


class ChildItem(AreaItem):
    by_kind: dict[str, int]
    members: int
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON geometry, only with ?geometry=1")


class ChildPage(Schema):
    items: list[ChildItem]
    next_cursor: str | None


class Ancestor(AreaRef):
    visible: bool = Field(description="whether the caller may open this ancestor")


class Totals(Schema):
    by_kind: dict[str, int]
    members: int


class AreaDetail(AreaItem):
    dedicated_kind: str
    dedicated_kind_label: str
    service_phone: str
    address: str
    households: int | None
    is_active: bool
    ancestors: list[Ancestor]
    bbox: list[float] | None = Field(None, description="[min_lon, min_lat, max_lon, max_lat], WGS84")
    boundary: dict[str, Any] | None
    totals: Totals


class TagOut(Schema):
    tag: str
    label: str


class MemberItem(Schema):
    id: int = Field(description="the role assignment")
    user_id: int
    name: str
    role: str
    role_label: str
    area: AreaRef
    department: str | None
    tags: list[TagOut]
    masked_phone: str


class MemberPage(Schema):
    items: list[MemberItem]
    next_cursor: str | None


class DutyLine(Schema):
    id: int
    title: str
    detail: str


class DutyList(Schema):
    role: str
    role_label: str
    inherited: bool = Field(description="true when the list comes from an ancestor area")
    source_area: AreaRef
    items: list[DutyLine]


class DutiesOut(Schema):
    area_id: int
    roles: list[DutyList]


class LocateOut(Schema):
    lon: float = Field(description="WGS84 longitude used")
    lat: float = Field(description="WGS84 latitude used")
    area: AreaItem | None = Field(description="the deepest area containing the point, if visible to you")
    microgrid: AreaItem | None = Field(description="the micro-grid containing the point, or the nearest one")
    in_gap: bool
    distance_m: float | None = Field(description="0 inside a micro-grid, metres to the nearest one in a gap")
    dedicated: list[AreaItem]


class TokenIn(Schema):
    name: str = Field("", max_length=100)
    days: int | None = Field(365, ge=1, le=3650, description="lifetime in days; null for no expiry")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="the secret, shown only this once")
