"""Reading uploaded GeoJSON FeatureCollections: shared by area import and department layer import."""

import json

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import coords
from .geometry import parse_boundary, to_geojson

MAX_FEATURES = 20_000
CODE_KEYS = ("code", "编码", "CODE", "Code")
NAME_KEYS = ("name", "名称", "NAME", "Name")


def load_feature_collection(data) -> list:
    """The features of a FeatureCollection given as bytes or a parsed dict, or a ValidationError naming the problem."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = json.loads(bytes(data).decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The file is not UTF-8 text."), code="encoding") from exc
        except ValueError as exc:
            raise ValidationError(_("The file is not valid JSON: %(error)s") % {"error": exc}, code="json") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationError(_("The file must be a GeoJSON FeatureCollection."), code="not_collection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise ValidationError(_("The file holds no features."), code="empty")
    if len(features) > MAX_FEATURES:
        raise ValidationError(
            _("The file holds %(n)s features; at most %(max)s are accepted.")
            % {"n": len(features), "max": MAX_FEATURES},
            code="too_many",
        )
    return features


def first_property(properties: dict, keys) -> str:
    for key in keys:
        value = properties.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def geometry_to_wgs84(geometry: shapely.Geometry, crs: str) -> shapely.Geometry:
    if crs == coords.WGS84:
        return geometry

    def convert(xy):
        lons, lats = coords.to_wgs84_array(xy[:, 0], xy[:, 1], crs)
        return np.column_stack([lons, lats])

    return parse_boundary(to_geojson(shapely.transform(geometry, convert)))


def name_problems(name: str) -> list[str]:
    if not name:
        return [_("it has no name (property “name” or “名称”)")]
    if len(name) > 100:
        return [_("its name is longer than 100 characters")]
    return []


def feature_problem(number: int, code: str, reasons: list) -> str:
    """One line of an import report: which feature, and everything wrong with it."""
    label = _("Feature %(number)s (code %(code)s)") if code else _("Feature %(number)s")
    return f"{label % {'number': number, 'code': code}}: {'; '.join(str(r) for r in reasons)}"
