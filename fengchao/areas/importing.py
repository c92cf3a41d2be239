"""Import the grid hierarchy from a GeoJSON FeatureCollection, all or nothing.

Each feature carries an area code (6, 9, 12, 15 or 18 digits; 14-digit unit-grid codes and the
17-digit micro-grid codes built on them are accepted and widened), a name, and optionally a
boundary and, for dedicated grids, `dedicated_kind`. The kind follows from the code
(docs/area-codes.md). A code that exists is updated (name, boundary); a new one is created under
its parent, which must be in the file or already in the system. Every row goes through the area
services, so each gets its own audit event, and one more records the import as a whole.
"""

from dataclasses import dataclass, field

import shapely
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fengchao.audit.services import record

from . import coords, services
from .codes import DEDICATED_SEQUENCE_START, normalise_imported_code
from .geojson_io import (
    CODE_KEYS,
    NAME_KEYS,
    feature_problem,
    first_property,
    geometry_to_wgs84,
    load_feature_collection,
    name_problems,
)
from .geometry import parse_boundary, to_geojson
from .levels import AreaKind, DedicatedKind
from .models import Area


@dataclass
class AreaImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    code: str
    name: str
    kind: str
    dedicated_kind: str
    geometry: shapely.Geometry | None


def kind_for_code(code: str) -> str:
    if len(code) == 15:
        return AreaKind.DEDICATED if int(code[12:]) >= DEDICATED_SEQUENCE_START else AreaKind.GRID
    return {6: AreaKind.DISTRICT, 9: AreaKind.STREET, 12: AreaKind.COMMUNITY, 18: AreaKind.MICROGRID}[len(code)]


def parent_code(code: str) -> str | None:
    return code[:-3] if len(code) > 6 else None


def _read_rows(features: list, within: Area | None, crs: str) -> list[_Row]:
    rows, problems, seen = [], [], {}
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        properties = properties if isinstance(properties, dict) else {}
        raw_code = first_property(properties, CODE_KEYS)
        name = first_property(properties, NAME_KEYS)
        reasons, code, kind = [], "", ""
        if not raw_code:
            reasons.append(_("it has no code (property “code” or “编码”)"))
        else:
            try:
                code = normalise_imported_code(raw_code)
                kind = kind_for_code(code)
            except ValidationError as exc:
                reasons.extend(exc.messages)
        if code and code in seen:
            reasons.append(_("its code repeats feature %(other)s") % {"other": seen[code]})
        if code and within is not None and not (code.startswith(within.code) and code != within.code):
            reasons.append(_("it is not inside %(area)s, the area you manage") % {"area": within.name})
        reasons.extend(name_problems(name))
        dedicated_kind = first_property(properties, ("dedicated_kind", "专属网格类型"))
        if kind == AreaKind.DEDICATED:
            dedicated_kind = dedicated_kind or DedicatedKind.OTHER
            if dedicated_kind not in DedicatedKind.values:
                reasons.append(_("“%(value)s” is not a dedicated grid type") % {"value": dedicated_kind})
        geometry = None
        if isinstance(feature, dict) and feature.get("geometry") is not None:
            try:
                geometry = geometry_to_wgs84(parse_boundary(feature["geometry"]), crs)
            except ValidationError as exc:
                reasons.extend(exc.messages)
        if code and code not in seen:
            seen[code] = number
        if reasons:
            problems.append(feature_problem(number, raw_code, reasons))
        else:
            rows.append(_Row(number, code, name, kind, dedicated_kind if kind == AreaKind.DEDICATED else "", geometry))
    if problems:
        raise ValidationError(problems, code="bad_features")
    return rows


def _check_parents(rows: list[_Row]) -> dict[str, Area]:
    """Existing areas by code for the rows and their parents; every new row's parent must be known."""
    codes = {row.code for row in rows}
    wanted = codes | {parent_code(row.code) for row in rows if parent_code(row.code)}
    existing = {area.code: area for area in Area.objects.filter(code__in=wanted)}
    problems = []
    for row in rows:
        parent = parent_code(row.code)
        if row.code not in existing and parent and parent not in codes and parent not in existing:
            problems.append(
                _("Feature %(number)s (code %(code)s): its parent %(parent)s is neither in the file nor in the system")
                % {"number": row.number, "code": row.code, "parent": parent}
            )
        area = existing.get(row.code)
        if area is not None and area.kind != row.kind:
            problems.append(
                _("Feature %(number)s (code %(code)s): the code belongs to “%(name)s”, a %(kind)s")
                % {"number": row.number, "code": row.code, "name": area.name, "kind": AreaKind(area.kind).label}
            )
    if problems:
        raise ValidationError(problems, code="bad_parents")
    return existing


def import_areas(data, *, by=None, within: Area | None = None, crs: str = coords.WGS84) -> AreaImportResult:
    """Create or update the areas in a FeatureCollection; on any problem, raise one error listing them all."""
    crs = coords.check_crs(crs)
    rows = _read_rows(load_feature_collection(data), within, crs)
    result = AreaImportResult()
    with transaction.atomic():
        by_code = _check_parents(rows)
        for row in sorted(rows, key=lambda r: (len(r.code), r.code)):
            boundary = to_geojson(row.geometry) if row.geometry is not None else None
            area = by_code.get(row.code)
            if area is None:
                change = services.create_area(
                    parent=by_code.get(parent_code(row.code)) if parent_code(row.code) else None,
                    kind=row.kind,
                    name=row.name,
                    local_code=row.code[-3:] if len(row.code) > 6 else row.code,
                    boundary=boundary,
                    dedicated_kind=row.dedicated_kind,
                    by=by,
                )
                by_code[row.code] = change.area
                result.created.append(row.code)
                result.warnings.extend(change.warnings)
                continue
            changed = False
            if area.name != row.name:
                services.update_area(area, name=row.name, by=by)
                changed = True
            if boundary is not None and boundary != area.boundary:
                result.warnings.extend(services.set_boundary(area, boundary, by=by).warnings)
                changed = True
            (result.updated if changed else result.unchanged).append(row.code)
        anchor = within or by_code[min(by_code, key=len)]
        record(
            "areas.imported",
            anchor,
            actor=by,
            area=anchor,
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
            crs=crs,
        )
    return result
