"""Boundaries: GeoJSON polygons in WGS84, checked and measured with shapely 2."""

import math
from dataclasses import dataclass

import shapely
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape

METRES_PER_DEGREE_LAT = 111_320.0


def parse_boundary(geojson) -> shapely.Geometry:
    """Turn a GeoJSON geometry (or Feature) into a valid shapely (Multi)Polygon, or raise a clear error."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if isinstance(geojson, dict) and geojson.get("type") == "FeatureCollection":
        features = geojson.get("features") or []
        if len(features) != 1:
            raise ValidationError(
                _("The file holds %(n)s shapes; a boundary needs exactly one.") % {"n": len(features)}
            )
        geojson = features[0].get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError(_("A boundary must be a GeoJSON Polygon or MultiPolygon."))
    try:
        geometry = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValidationError(_("The boundary's coordinates are malformed: %(error)s") % {"error": exc}) from exc
    if geometry.is_empty:
        raise ValidationError(_("The boundary is empty."))
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValidationError(_("The boundary's coordinates are not longitude/latitude in WGS84."))
    if not geometry.is_valid:
        repaired = shapely.make_valid(geometry)
        polygons = [g for g in getattr(repaired, "geoms", [repaired]) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polygons:
            raise ValidationError(_("The boundary crosses itself and cannot be repaired."))
        geometry = shapely.union_all(polygons)
    if geometry.area == 0:
        raise ValidationError(_("The boundary has no area."))
    return geometry


def to_geojson(geometry: shapely.Geometry) -> dict:
    data = mapping(geometry)
    return {"type": data["type"], "coordinates": _listify(data["coordinates"])}


def _listify(value):
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return round(value, 7)


@dataclass(frozen=True)
class BoundaryMeasure:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    centre_lon: float
    centre_lat: float


def measure(geometry: shapely.Geometry) -> BoundaryMeasure:
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    centre = geometry.representative_point()
    return BoundaryMeasure(min_lon, min_lat, max_lon, max_lat, centre.x, centre.y)


def metres_to_degrees(metres: float, latitude: float) -> float:
    """A buffer distance in degrees, conservative (the larger of the lon and lat degrees)."""
    return metres / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(latitude)), 0.1))


def area_outside(child: shapely.Geometry, parent: shapely.Geometry, tolerance_m: float) -> float:
    """Square metres of child lying outside parent grown by the tolerance (0 when it fits)."""
    latitude = parent.centroid.y
    grown = parent.buffer(metres_to_degrees(tolerance_m, latitude))
    outside = child.difference(grown)
    if outside.is_empty:
        return 0.0
    metres_per_lon = METRES_PER_DEGREE_LAT * math.cos(math.radians(latitude))
    return outside.area * metres_per_lon * METRES_PER_DEGREE_LAT
