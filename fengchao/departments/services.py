"""Department grid layers (多网合一): import a department's own grids and map them onto the unified micro-grids.

A department (urban management, police, market supervision …) keeps its own grid layer. Each of
its grids is mapped to every unified micro-grid it overlaps, with the fraction of the micro-grid
that lies inside it, so a case located in a micro-grid can be shown on the department's own layer
(case.microgrid → DepartmentGridOverlap → DepartmentGrid; see docs/locator.md).
"""

from dataclasses import dataclass, field

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fengchao.accounts.queries import is_manager
from fengchao.areas import coords, locator
from fengchao.areas.geojson_io import (
    CODE_KEYS,
    NAME_KEYS,
    feature_problem,
    first_property,
    geometry_to_wgs84,
    load_feature_collection,
    name_problems,
)
from fengchao.areas.geometry import parse_boundary, to_geojson
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import can_see_area, scope_q
from fengchao.audit.services import record

from .models import Department, DepartmentGrid, DepartmentGridOverlap, DepartmentLayer

# Overlaps covering less than this fraction of a micro-grid are drawing slivers along shared edges.
MIN_OVERLAP_SHARE = 0.01


@dataclass
class ImportResult:
    layer: DepartmentLayer
    grid_count: int
    overlap_count: int
    replaced: bool
    unmapped_codes: list[str] = field(default_factory=list)  # grids overlapping no unified micro-grid


@dataclass
class _Feature:
    code: str
    name: str
    geometry: shapely.Geometry  # WGS84


def departments_for_import(user):
    """Departments whose layers this user may import: managing role holders, departments in their scope."""
    if not is_manager(user):
        return Department.objects.none()
    return Department.objects.filter(scope_q(user, "area__"), is_active=True).select_related("area")


def layers_visible_to(user):
    return DepartmentLayer.objects.filter(scope_q(user, "department__area__"))


def _read_features(features: list, crs: str) -> list[_Feature]:
    """Check every feature; one ValidationError lists every bad one (number, code, reason)."""
    good, problems, seen = [], [], {}
    for number, feature in enumerate(features, start=1):
        properties = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        code = first_property(properties, CODE_KEYS) if isinstance(properties, dict) else ""
        name = first_property(properties, NAME_KEYS) if isinstance(properties, dict) else ""
        reasons = []
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            reasons.append(_("it is not a GeoJSON Feature"))
        if not code:
            reasons.append(_("it has no code (property “code” or “编码”)"))
        elif len(code) > 64:
            reasons.append(_("its code is longer than 64 characters"))
        elif code in seen:
            reasons.append(_("its code repeats feature %(other)s") % {"other": seen[code]})
        reasons.extend(name_problems(name))
        geometry = None
        if isinstance(feature, dict):
            try:
                geometry = geometry_to_wgs84(parse_boundary(feature.get("geometry")), crs)
            except ValidationError as exc:
                reasons.extend(exc.messages)
        if code and code not in seen:
            seen[code] = number
        if reasons:
            problems.append(feature_problem(number, code, reasons))
        else:
            good.append(_Feature(code, name, geometry))
    if problems:
        raise ValidationError(problems, code="bad_features")
    return good


def _overlaps(department: Department, grids: list[DepartmentGrid], geometries: list) -> list[DepartmentGridOverlap]:
    """Overlap rows between the new department grids and the unified micro-grids under the department's area."""
    index = locator.current_index(fresh=True)
    micro = index.micro
    if not len(micro) or not grids:
        return []
    framed = shapely.transform(
        np.asarray(geometries, dtype=object), lambda xy: (xy - (index.lon0, index.lat0)) * (index.kx, index.ky)
    )
    grid_idx, micro_idx = micro.tree.query(framed, predicate="intersects")
    if not grid_idx.size:
        return []
    under_department = np.array(
        [department.area_id in index.ancestors[pk] for pk in micro.ids[micro_idx].tolist()], dtype=bool
    )
    grid_idx, micro_idx = grid_idx[under_department], micro_idx[under_department]
    micro_geometries = micro.geometries[micro_idx]
    shares = shapely.area(shapely.intersection(framed[grid_idx], micro_geometries)) / shapely.area(micro_geometries)
    keep = shares >= MIN_OVERLAP_SHARE
    return [
        DepartmentGridOverlap(department_grid=grids[g], area_id=int(micro.ids[m]), share_of_area=round(float(s), 4))
        for g, m, s in zip(grid_idx[keep].tolist(), micro_idx[keep].tolist(), shares[keep].tolist(), strict=True)
    ]


def import_layer(
    department: Department, name: str, grid_type: str, data, *, by, crs: str = coords.WGS84
) -> ImportResult:
    """Import (or replace) a department's grid layer from a GeoJSON FeatureCollection; all or nothing."""
    name = (name or "").strip()
    grid_type = (grid_type or "").strip()
    if not name:
        raise ValidationError(_("The layer needs a name."), code="name")
    if len(name) > 100 or len(grid_type) > 64:
        raise ValidationError(_("The layer name or grid type is too long."), code="name")
    if by is not None and not (is_manager(by) and can_see_area(by, department.area)):
        raise ValidationError(_("You may not import layers for this department."), code="forbidden")
    crs = coords.check_crs(crs)
    features = _read_features(load_feature_collection(data), crs)

    with transaction.atomic():
        previous = list(DepartmentLayer.objects.filter(department=department, name=name).values_list("pk", flat=True))
        replaced = bool(previous)
        if previous:
            DepartmentLayer.objects.filter(pk__in=previous).delete()
        layer = DepartmentLayer.objects.create(department=department, name=name, grid_type=grid_type)
        grids = []
        for feature in features:
            min_lon, min_lat, max_lon, max_lat = feature.geometry.bounds
            grids.append(
                DepartmentGrid(
                    layer=layer,
                    code=feature.code,
                    name=feature.name,
                    boundary=to_geojson(feature.geometry),
                    min_lon=min_lon,
                    min_lat=min_lat,
                    max_lon=max_lon,
                    max_lat=max_lat,
                )
            )
        grids = DepartmentGrid.objects.bulk_create(grids, batch_size=500)
        if any(grid.pk is None for grid in grids):  # backends that do not return ids from bulk inserts
            grids = list(DepartmentGrid.objects.filter(layer=layer).order_by("pk"))
        overlaps = _overlaps(department, grids, [f.geometry for f in features])
        DepartmentGridOverlap.objects.bulk_create(overlaps, batch_size=1000)
        mapped = {overlap.department_grid.pk for overlap in overlaps}
        unmapped = [grid.code for grid in grids if grid.pk not in mapped]
        record(
            "department.layer_imported",
            layer,
            actor=by,
            area=department.area,
            department=department.pk,
            name=name,
            grid_type=grid_type,
            crs=crs,
            grids=len(grids),
            overlaps=len(overlaps),
            replaced_layer_ids=previous,
        )
    return ImportResult(layer, len(grids), len(overlaps), replaced, unmapped)


def unified_areas_for_department_grid(grid: DepartmentGrid) -> list[DepartmentGridOverlap]:
    """The unified micro-grids a department grid covers (overlap rows with .area), largest share first."""
    return list(grid.overlaps.select_related("area").order_by("-share_of_area", "area__path"))


def department_grids_for_area(area: Area, department: Department | None = None):
    """Department grids overlapping an area: a micro-grid directly, a larger area through its micro-grids."""
    grids = DepartmentGrid.objects.select_related("layer__department")
    if area.kind == "microgrid":
        grids = grids.filter(overlaps__area=area)
    else:
        grids = grids.filter(subtree_q(area.path, "overlaps__area__")).distinct()
    if department is not None:
        grids = grids.filter(layer__department=department)
    return grids.order_by("layer__department__code", "layer__name", "code")
