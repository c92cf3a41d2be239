"""Area endpoints: the tree, one area, its children, the people serving it, its duties, and locate.

Every read goes through fengchao.areas.scope; an area out of the caller's scope answers 404,
exactly like one that does not exist.
"""

from typing import Literal

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router

from fengchao.accounts.queries import members_of
from fengchao.accounts.roles import IdentityTag, Role
from fengchao.areas import locator
from fengchao.areas.duties import duty_lists
from fengchao.areas.levels import AreaKind, DedicatedKind
from fengchao.areas.models import Area
from fengchao.areas.rollups import area_totals, child_rollups
from fengchao.areas.scope import path_is_visible, scope_roots

from .pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from .schemas import AreaDetail, AreaPage, ChildPage, DutiesOut, LocateOut, MemberPage

router = Router(tags=["areas"])

MAX_ID = 2**63 - 1  # larger ids would overflow the database integer, not just miss
AreaId = Path(..., ge=1, le=MAX_ID, description="area id")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")

AREA_FIELDS = ("id", "code", "name", "kind", "level", "parent_id", "path", "centre_lon", "centre_lat")
_KIND_LABELS = dict(AreaKind.choices)


def area_item(row: dict) -> dict:
    """A plain dict for a row of Area.values(*AREA_FIELDS)."""
    centre = [row["centre_lon"], row["centre_lat"]] if row["centre_lon"] is not None else None
    return {
        "id": row["id"],
        "code": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "kind_label": str(_KIND_LABELS.get(row["kind"], row["kind"])),
        "level": row["level"],
        "parent_id": row["parent_id"],
        "centre": centre,
    }


def visible_area(user, area_id: int) -> Area:
    area = Area.objects.visible_to(user).filter(pk=area_id).first()
    if area is None:
        raise Http404(_("No such area in your areas."))
    return area


def _path_key(row):
    return [row["path"]]


@router.get("/areas", response=AreaPage, summary="Areas visible to you")
def list_areas(
    request,
    parent_id: int | None = Query(None, ge=1, le=MAX_ID, description="only the children of this area"),
    level: int | None = Query(None, ge=1, le=5),
    kind: AreaKind | None = None,
    q: str | None = Query(None, min_length=1, max_length=100, description="name contains, or code starts with"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """With no filter: your scope roots (the top areas you may see). With filters: any visible area."""
    user = request.auth
    if parent_id is None and level is None and kind is None and q is None:
        qs = scope_roots(user)
    else:
        qs = Area.objects.visible_to(user)
        if parent_id is not None:
            qs = qs.filter(parent=visible_area(user, parent_id))
        if level is not None:
            qs = qs.filter(level=level)
        if kind is not None:
            qs = qs.filter(kind=kind)
        if q:
            qs = qs.filter(Q(name__icontains=q.strip()) | Q(code__startswith=q.strip()))
    rows, next_cursor = keyset_page(qs.values(*AREA_FIELDS), ["path"], cursor, limit, _path_key)
    return {"items": [area_item(row) for row in rows], "next_cursor": next_cursor}


@router.get("/areas/{area_id}", response=AreaDetail, summary="One area")
def get_area(request, area_id: int = AreaId):
    user = request.auth
    area = visible_area(user, area_id)
    ancestors = Area.objects.filter(pk__in=area.ancestor_pks()).order_by("level").values("id", "code", "name", "path")
    bbox = [area.min_lon, area.min_lat, area.max_lon, area.max_lat] if area.min_lon is not None else None
    return {
        **area_item({field: getattr(area, field) for field in AREA_FIELDS}),
        "dedicated_kind": area.dedicated_kind,
        "dedicated_kind_label": str(DedicatedKind(area.dedicated_kind).label) if area.dedicated_kind else "",
        "service_phone": area.service_phone,
        "address": area.address,
        "households": area.households,
        "is_active": area.is_active,
        "ancestors": [
            {
                "id": a["id"],
                "code": a["code"],
                "name": a["name"],
                "visible": path_is_visible(user, a["path"]),
            }
            for a in ancestors
        ],
        "bbox": bbox,
        "boundary": area.boundary,
        "totals": area_totals(area),
    }


@router.get("/areas/{area_id}/children", response=ChildPage, summary="Children of an area, with roll-up counts")
def list_children(
    request,
    area_id: int = AreaId,
    geometry: bool = Query(False, description="include each child's GeoJSON boundary"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    area = visible_area(request.auth, area_id)
    fields = AREA_FIELDS + (("boundary",) if geometry else ())
    rows, next_cursor = keyset_page(area.children.values(*fields), ["path"], cursor, limit, _path_key)
    rollups = child_rollups(area) if rows else {}
    items = []
    for row in rows:
        rollup = rollups[row["id"]]
        item = area_item(row)
        item["by_kind"] = {kind: rollup["by_kind"].get(kind, 0) for kind in AreaKind.values}
        item["members"] = rollup["members"]
        if geometry:
            item["boundary"] = row["boundary"]
        items.append(item)
    return {"items": items, "next_cursor": next_cursor}


_ROLE_LABELS = dict(Role.choices)
_TAG_LABELS = dict(IdentityTag.choices)
MEMBER_ORDER = ["area__path", "role", "user__display_name", "pk"]


def _member_key(assignment):
    return [assignment.area.path, assignment.role, assignment.user.display_name, assignment.pk]


@router.get("/areas/{area_id}/members", response=MemberPage, summary="People serving in an area")
def list_members(
    request,
    area_id: int = AreaId,
    subtree: bool = Query(False, description="also the people serving in the areas below"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Phones are always masked here: the full number is never part of an API response."""
    area = visible_area(request.auth, area_id)
    rows, next_cursor = keyset_page(members_of(area, include_subtree=subtree), MEMBER_ORDER, cursor, limit, _member_key)
    items = [
        {
            "id": a.pk,
            "user_id": a.user_id,
            "name": a.user.display_name or a.user.username,
            "role": a.role,
            "role_label": str(_ROLE_LABELS.get(a.role, a.role)),
            "area": {"id": a.area.pk, "code": a.area.code, "name": a.area.name},
            "department": a.department.name if a.department else None,
            "tags": [{"tag": t.tag, "label": str(_TAG_LABELS.get(t.tag, t.tag))} for t in a.user.tags.all()],
            "masked_phone": a.user.masked_phone,
        }
        for a in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/areas/{area_id}/duties", response=DutiesOut, summary="Duty lists per role, inherited from above")
def get_duties(request, area_id: int = AreaId):
    area = visible_area(request.auth, area_id)
    roles = [
        {
            "role": duties.role,
            "role_label": str(duties.role_label),
            "inherited": duties.inherited,
            "source_area": {"id": duties.source.pk, "code": duties.source.code, "name": duties.source.name},
            "items": [{"id": item.pk, "title": item.title, "detail": item.detail} for item in duties.items],
        }
        for duties in duty_lists(area)
    ]
    return {"area_id": area.pk, "roles": roles}


@router.get("/locate", response=LocateOut, summary="Which of your areas a point falls in")
def locate_point(
    request,
    lon: float = Query(..., ge=-180, le=180, allow_inf_nan=False, description="longitude"),
    lat: float = Query(..., ge=-90, le=90, allow_inf_nan=False, description="latitude"),
    crs: Literal["wgs84", "gcj02", "bd09"] = Query("wgs84", description="coordinate system of lon/lat"),
):
    """GCJ-02 (Amap, Tencent) and BD-09 (Baidu) input is converted to WGS84 first."""
    result = locator.locate(lon, lat, crs=crs)
    wanted = {result.area_id, result.microgrid_id, *(result.dedicated_ids or [])} - {None}
    visible = {
        row["id"]: row for row in Area.objects.visible_to(request.auth).filter(pk__in=wanted).values(*AREA_FIELDS)
    }
    area = visible.get(result.area_id)
    microgrid = visible.get(result.microgrid_id)
    if area is None and microgrid is None:
        raise Http404(_("This point is not in your areas."))
    return {
        "lon": result.lon,
        "lat": result.lat,
        "area": area_item(area) if area else None,
        "microgrid": area_item(microgrid) if microgrid else None,
        "in_gap": bool(result.in_gap),
        "distance_m": result.distance_m,
        "dedicated": [area_item(visible[pk]) for pk in (result.dedicated_ids or []) if pk in visible],
    }
