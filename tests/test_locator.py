"""The locator: a point (WGS84, GCJ-02 or BD-09) → the micro-grid and areas containing it.

Geography of tests.factories.build_tree: micro-grids split each grid at latitude 30.65;
grid A1 spans 104.00–104.05, grid A2 104.05–104.10, grid B1 104.10–104.20; the hospital
dedicated grid is the box 104.01–104.02 × 30.61–30.62 inside micro-grid A1-1.
"""

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from fengchao.areas import coords, locator
from fengchao.areas import services as areas
from tests.factories import box

pytestmark = pytest.mark.usefixtures("locator_checks_every_call")


def micro(tree, grid_name, number):
    return tree.micro[f"{grid_name}{number}号微网格"]


def test_a_point_inside_a_micro_grid_finds_it_and_its_ancestors(bare_tree):
    t = bare_tree
    a1_1 = micro(t, "和美一网格", 1)
    result = locator.locate(104.03, 30.63)
    assert result.area_id == result.microgrid_id == a1_1.pk
    assert not result.in_gap
    assert result.distance_m == 0
    assert result.ancestor_ids == [t.district.pk, t.street_a.pk, t.community_a.pk, t.grid_a1.pk, a1_1.pk]
    assert result.dedicated_ids == []


def test_a_point_in_a_dedicated_grid_lists_it_beside_the_micro_grid(bare_tree):
    t = bare_tree
    result = locator.locate(104.015, 30.615)
    assert result.microgrid_id == micro(t, "和美一网格", 1).pk
    assert result.dedicated_ids == [t.dedicated_a.pk]


def test_a_point_on_a_shared_edge_resolves_to_the_lowest_pk_every_time(bare_tree):
    t = bare_tree
    south, north = micro(t, "和美一网格", 1), micro(t, "和美一网格", 2)
    assert south.pk < north.pk
    for _ in range(3):
        assert locator.locate(104.025, 30.65).microgrid_id == south.pk
    # The corner shared by four micro-grids of two grids.
    corner = locator.locate(104.05, 30.65)
    assert corner.microgrid_id == min(micro(t, g, n).pk for g in ("和美一网格", "和美二网格") for n in (1, 2))
    batch = locator.locate_many([104.025, 104.05], [30.65, 30.65])
    assert batch.microgrid_ids.tolist() == [south.pk, corner.microgrid_id]


def test_a_point_in_a_gap_gets_the_nearest_micro_grid_of_its_grid(bare_tree):
    t = bare_tree
    a2_1 = micro(t, "和美二网格", 1)
    areas.set_boundary(a2_1, box(104.05, 30.6, 104.07, 30.65))
    # 104.09 is 0.02° from A2-1 but only 0.01° from B1-1 in the neighbouring grid: the own grid wins.
    result = locator.locate(104.09, 30.62)
    assert result.in_gap
    assert result.area_id == t.grid_a2.pk
    assert result.microgrid_id == a2_1.pk
    assert result.ancestor_ids == [t.district.pk, t.street_a.pk, t.community_a.pk, t.grid_a2.pk]
    assert result.distance_m == pytest.approx(0.02 * 111_320 * np.cos(np.radians(30.65)), rel=0.01)


def test_a_point_outside_the_district_is_in_no_area(bare_tree):
    result = locator.locate(105.0, 31.0)
    assert result.area_id is None
    assert result.microgrid_id is None
    assert not result.in_gap
    assert result.distance_m is None
    assert result.ancestor_ids == []


@pytest.mark.parametrize(
    "crs, convert, wgs, naive_number, right_number",
    [
        # GCJ-02 moves Chengdu ~270 m south: a point 110 m north of the A1-1/A1-2 edge reads as A1-1.
        ("gcj02", coords.wgs84_to_gcj02, (104.03, 30.651), 1, 2),
        # BD-09 moves it ~400 m north: a point 170 m south of the edge reads as A1-2.
        ("bd09", coords.wgs84_to_bd09, (104.03, 30.6485), 2, 1),
    ],
)
def test_map_sdk_coordinates_land_in_the_right_micro_grid_only_after_conversion(
    bare_tree, crs, convert, wgs, naive_number, right_number
):
    t = bare_tree
    sdk_lon, sdk_lat = convert(*wgs)
    assert locator.locate(sdk_lon, sdk_lat).microgrid_id == micro(t, "和美一网格", naive_number).pk
    result = locator.locate(sdk_lon, sdk_lat, crs=crs)
    assert result.microgrid_id == micro(t, "和美一网格", right_number).pk
    assert (result.lon, result.lat) == pytest.approx(wgs, abs=1e-6)


def test_batch_results_agree_with_single_lookups(bare_tree):
    t = bare_tree
    areas.set_boundary(micro(t, "和美二网格", 1), box(104.05, 30.6, 104.07, 30.65))
    rng = np.random.default_rng(3)
    lons = np.concatenate([rng.uniform(103.95, 104.25, 300), [104.025, 104.05, 104.015, 105.0]])
    lats = np.concatenate([rng.uniform(30.55, 30.75, 300), [30.65, 30.65, 30.615, 31.0]])
    batch = locator.locate_many(lons, lats)
    assert len(batch) == len(lons)
    assert batch.in_gap.any() and (batch.area_ids == 0).any()
    for i, expected in enumerate(locator.locate(lon, lat) for lon, lat in zip(lons, lats, strict=True)):
        got = batch.result(i)
        assert (got.area_id, got.microgrid_id, got.in_gap, got.dedicated_ids, got.ancestor_ids) == (
            expected.area_id,
            expected.microgrid_id,
            expected.in_gap,
            expected.dedicated_ids,
            expected.ancestor_ids,
        )
        assert got.distance_m == pytest.approx(expected.distance_m)


def test_batch_accepts_map_sdk_coordinates(bare_tree):
    t = bare_tree
    lon, lat = coords.wgs84_to_gcj02(104.03, 30.651)
    batch = locator.locate_many(np.array([lon]), np.array([lat]), crs="gcj02")
    assert batch.microgrid_ids.tolist() == [micro(t, "和美一网格", 2).pk]


def test_bad_points_get_a_clear_error(bare_tree):
    with pytest.raises(ValidationError, match="Unknown coordinate system"):
        locator.locate(104.03, 30.63, crs="epsg3857")
    with pytest.raises(ValidationError, match="not a longitude/latitude"):
        locator.locate(104.03, 130.63)
    with pytest.raises(ValidationError, match="not a longitude/latitude"):
        locator.locate_many([104.03, float("nan")], [30.63, 30.63])


def test_the_index_follows_boundary_changes_through_the_version_counter(bare_tree, settings):
    t = bare_tree
    a2_1 = micro(t, "和美二网格", 1)
    assert locator.locate(104.09, 30.62).microgrid_id == a2_1.pk

    areas.set_boundary(a2_1, box(104.05, 30.6, 104.07, 30.65))
    assert locator.locate(104.09, 30.62).in_gap

    areas.move_area(a2_1, t.grid_a1, local_code="3")
    assert locator.locate(104.06, 30.62).ancestor_ids == [
        t.district.pk,
        t.street_a.pk,
        t.community_a.pk,
        t.grid_a1.pk,
        a2_1.pk,
    ]


def test_within_the_check_interval_a_lookup_costs_no_query(bare_tree, settings, django_assert_num_queries):
    t = bare_tree
    settings.LOCATOR_VERSION_CHECK_S = 3600
    locator.locate(104.03, 30.63)  # builds the index
    with django_assert_num_queries(0):
        for _ in range(5):
            locator.locate(104.03, 30.63)
    # A change is not seen until the interval has passed (other processes converge the same way) ...
    areas.set_boundary(micro(t, "和美一网格", 1), box(104.0, 30.6, 104.02, 30.65))
    assert not locator.locate(104.03, 30.63).in_gap
    # ... and then it is, at the cost of one query for the version.
    settings.LOCATOR_VERSION_CHECK_S = 0
    assert locator.locate(104.03, 30.63).in_gap
