"""Coordinate conversion: map SDK coordinates (GCJ-02, BD-09) become the WGS84 we store."""

import math

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from fengchao.areas import coords

# Published outputs of the widely used open-source coordtransform library (wandergis/coordtransform,
# test/app.js) for the input (116.404, 39.915). Its inverses (GCJ-02 → WGS84, BD-09 → GCJ-02) are
# one-step approximations that ours refines by iteration, so those agree only to about a metre.
REFERENCE_INPUT = (116.404, 39.915)
REFERENCE_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
REFERENCE_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
REFERENCE_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)

CHENGHUA = (104.10, 30.66)


def metres_between(a, b):
    lat = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320 * math.cos(lat), (a[1] - b[1]) * 111_320)


def test_forward_conversions_match_published_reference_values():
    assert coords.wgs84_to_gcj02(*REFERENCE_INPUT) == pytest.approx(REFERENCE_WGS_TO_GCJ, abs=1e-9)
    assert coords.gcj02_to_bd09(*REFERENCE_INPUT) == pytest.approx(REFERENCE_GCJ_TO_BD, abs=1e-9)
    assert coords.bd09_to_gcj02(*REFERENCE_INPUT) == pytest.approx(REFERENCE_BD_TO_GCJ, abs=2e-6)


def test_gcj02_shifts_chengdu_by_a_few_hundred_metres():
    shifted = coords.wgs84_to_gcj02(*CHENGHUA)
    assert 200 < metres_between(CHENGHUA, shifted) < 600
    baidu = coords.wgs84_to_bd09(*CHENGHUA)
    assert 600 < metres_between(CHENGHUA, baidu) < 1500  # BD-09 adds roughly another 700 m


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
@pytest.mark.parametrize("point", [CHENGHUA, (116.404, 39.915), (121.47, 31.23), (87.6, 43.8), (110.3, 20.0)])
def test_round_trip_to_wgs84_is_within_a_millionth_of_a_degree(crs, point):
    there = coords.from_wgs84(*point, crs)
    back = coords.to_wgs84(*there, crs)
    assert back == pytest.approx(point, abs=1e-6)


def test_points_outside_china_are_left_unchanged_by_gcj02():
    paris = (2.35, 48.86)
    assert coords.wgs84_to_gcj02(*paris) == paris
    assert coords.to_wgs84(*paris, "gcj02") == paris


def test_wgs84_input_is_returned_as_it_is():
    assert coords.to_wgs84(*CHENGHUA) == CHENGHUA
    assert coords.to_wgs84(*CHENGHUA, "WGS-84") == CHENGHUA


def test_batch_conversion_agrees_with_single_points():
    rng = np.random.default_rng(7)
    lons = np.append(rng.uniform(103.9, 104.3, 200), 2.35)
    lats = np.append(rng.uniform(30.5, 30.8, 200), 48.86)
    for crs in ("gcj02", "bd09"):
        there_lons, there_lats = coords.from_wgs84_array(lons, lats, crs)
        for i in (0, 57, 199, 200):
            assert (there_lons[i], there_lats[i]) == pytest.approx(coords.from_wgs84(lons[i], lats[i], crs), abs=1e-12)
        back_lons, back_lats = coords.to_wgs84_array(there_lons, there_lats, crs)
        assert np.abs(back_lons - lons).max() < 1e-6
        assert np.abs(back_lats - lats).max() < 1e-6


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValidationError, match="Unknown coordinate system"):
        coords.to_wgs84(104.1, 30.6, "mercator")
    with pytest.raises(ValidationError, match="must be numbers"):
        coords.to_wgs84("east", 30.6)
    with pytest.raises(ValidationError, match="not a longitude/latitude"):
        coords.to_wgs84(304.1, 30.6)
    with pytest.raises(ValidationError, match="as many longitudes"):
        coords.to_wgs84_array([1.0, 2.0], [3.0])
