"""Coordinate systems used by Chinese map SDKs, converted to the WGS84 we store.

- WGS84: GPS, OpenStreetMap, GeoJSON; what Fengchao stores.
- GCJ-02 (国测局坐标, "Mars coordinates"): Amap/Gaode, Tencent, WeChat location; WGS84 shifted by a
  published non-linear offset of a few hundred metres. Points outside China are left as they are.
- BD-09: Baidu maps; GCJ-02 with a further published rotation and shift.

WGS84 → GCJ-02 and GCJ-02 → BD-09 are the standard closed formulas. Their inverses have no exact
closed form, so they are found by fixed-point iteration (the offsets vary slowly, so each step
gains several digits) until the round trip agrees to better than 1e-7 degrees (about 1 cm).

Scalar functions take and return (lon, lat); the `*_array` versions take numpy arrays.
"""

import math

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
CRS_CHOICES = (WGS84, GCJ02, BD09)

# Krasovsky 1940 ellipsoid, as the GCJ-02 formula specifies.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE_DEG = 1e-7
_INVERSE_MAX_STEPS = 30


def out_of_china(lon, lat):
    """The rough rectangle outside which GCJ-02 applies no offset (as every implementation does)."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset(lon, lat, xp):
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point; works on floats (math) and arrays (numpy)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = xp.sqrt(abs(x))
    common = (20.0 * xp.sin(6.0 * x * math.pi) + 20.0 * xp.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * xp.sin(y * math.pi) + 40.0 * xp.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * xp.sin(y / 12.0 * math.pi) + 320.0 * xp.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * xp.sin(x * math.pi) + 40.0 * xp.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * xp.sin(x / 12.0 * math.pi) + 300.0 * xp.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * xp.sin(rad_lat) ** 2
    sqrt_magic = xp.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * xp.cos(rad_lat) * math.pi)
    return dlon, dlat


def _largest_scalar(error_lon, error_lat):
    return max(abs(error_lon), abs(error_lat))


def _largest_array(error_lons, error_lats):
    return max(np.abs(error_lons).max(initial=0), np.abs(error_lats).max(initial=0))


def _invert(forward, lon, lat, guess_lon, guess_lat, largest):
    """Solve forward(x, y) == (lon, lat) by fixed-point iteration from a first guess (floats or arrays)."""
    for _step in range(_INVERSE_MAX_STEPS):
        there_lon, there_lat = forward(guess_lon, guess_lat)
        error_lon, error_lat = there_lon - lon, there_lat - lat
        guess_lon = guess_lon - error_lon
        guess_lat = guess_lat - error_lat
        if largest(error_lon, error_lat) < _INVERSE_TOLERANCE_DEG:
            break
    return guess_lon, guess_lat


# --- scalars -------------------------------------------------------------------------------------


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _offset(lon, lat, math)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    return _invert(wgs84_to_gcj02, lon, lat, lon, lat, _largest_scalar)


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The published approximate inverse, refined by iteration (it alone is off by up to ~1e-6°)."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lon, lat, z * math.cos(theta), z * math.sin(theta), _largest_scalar)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def check_crs(crs: str) -> str:
    normalised = (crs or WGS84).strip().lower().replace("-", "")
    if normalised not in CRS_CHOICES:
        raise ValidationError(
            _("Unknown coordinate system “%(crs)s”; use wgs84, gcj02 or bd09.") % {"crs": crs},
            code="crs",
        )
    return normalised


def check_lon_lat(lon, lat) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Longitude and latitude must be numbers."), code="coordinates") from exc
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(
            _("(%(lon)s, %(lat)s) is not a longitude/latitude pair.") % {"lon": lon, "lat": lat}, code="coordinates"
        )
    return lon, lat


def to_wgs84(lon: float, lat: float, crs: str = WGS84) -> tuple[float, float]:
    """Convert one point from the named system to WGS84 (ValidationError on a bad system or numbers)."""
    crs = check_crs(crs)
    lon, lat = check_lon_lat(lon, lat)
    if crs == GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if crs == BD09:
        return bd09_to_wgs84(lon, lat)
    return lon, lat


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    crs = check_crs(crs)
    if crs == GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if crs == BD09:
        return wgs84_to_bd09(lon, lat)
    return lon, lat


# --- numpy batches -------------------------------------------------------------------------------


def _as_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    if lons.shape != lats.shape:
        raise ValidationError(_("There must be as many longitudes as latitudes."), code="coordinates")
    return lons, lats


def wgs84_to_gcj02_array(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    lons, lats = _as_arrays(lons, lats)
    dlon, dlat = _offset(lons, lats, np)
    outside = out_of_china(lons, lats)
    return np.where(outside, lons, lons + dlon), np.where(outside, lats, lats + dlat)


def gcj02_to_wgs84_array(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    lons, lats = _as_arrays(lons, lats)
    return _invert(wgs84_to_gcj02_array, lons, lats, lons, lats, _largest_array)


def gcj02_to_bd09_array(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    lons, lats = _as_arrays(lons, lats)
    z = np.hypot(lons, lats) + 0.00002 * np.sin(lats * _X_PI)
    theta = np.arctan2(lats, lons) + 0.000003 * np.cos(lons * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02_array(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    lons, lats = _as_arrays(lons, lats)
    x, y = lons - 0.0065, lats - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(gcj02_to_bd09_array, lons, lats, z * np.cos(theta), z * np.sin(theta), _largest_array)


def to_wgs84_array(lons, lats, crs: str = WGS84) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays of points from the named system to WGS84."""
    crs = check_crs(crs)
    lons, lats = _as_arrays(lons, lats)
    if crs == GCJ02:
        return gcj02_to_wgs84_array(lons, lats)
    if crs == BD09:
        return gcj02_to_wgs84_array(*bd09_to_gcj02_array(lons, lats))
    return lons, lats


def from_wgs84_array(lons, lats, crs: str) -> tuple[np.ndarray, np.ndarray]:
    crs = check_crs(crs)
    if crs == GCJ02:
        return wgs84_to_gcj02_array(lons, lats)
    if crs == BD09:
        return gcj02_to_bd09_array(*wgs84_to_gcj02_array(lons, lats))
    return _as_arrays(lons, lats)
