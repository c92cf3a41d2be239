"""Locator figures over the district-scale demo: index build, batch and single lookups.

Uses the seeded district database (bench/_setup.ensure_district_db). Where the seed_demo command
is not available, it builds a synthetic tiling of 6,316 micro-grids (jittered quadrilaterals
sharing their corners, so they tile without gaps) around Chenghua and indexes that instead.
"""

import statistics
import sys
import time

import numpy as np

MICROGRIDS = 6316
SAMPLE_POINTS = 100_000
SINGLE_CALLS = 10_000
SEED = 20261101


def synthetic_rows(count: int = MICROGRIDS, seed: int = SEED) -> list[tuple]:
    """(pk, kind, path, parent_id, boundary) rows: a district box tiled by `count` micro-grid quads."""
    rng = np.random.default_rng(seed)
    columns = 80
    rows_needed = -(-count // columns)
    west, south, east, north = 104.03, 30.62, 104.19, 30.73
    xs = np.linspace(west, east, columns + 1)
    ys = np.linspace(south, north, rows_needed + 1)
    grid_x, grid_y = np.meshgrid(xs, ys)
    step_x, step_y = xs[1] - xs[0], ys[1] - ys[0]
    # Jitter interior corners only, so the outer edge stays the district box and cells still tile.
    interior = (slice(1, -1), slice(1, -1))
    grid_x[interior] += rng.uniform(-0.3, 0.3, grid_x[interior].shape) * step_x
    grid_y[interior] += rng.uniform(-0.3, 0.3, grid_y[interior].shape) * step_y
    district = (1, "district", "/1/", None, _box(west, south, east, north))
    rows = [district]
    for n in range(count):
        r, c = divmod(n, columns)
        ring = [
            [grid_x[r, c], grid_y[r, c]],
            [grid_x[r, c + 1], grid_y[r, c + 1]],
            [grid_x[r + 1, c + 1], grid_y[r + 1, c + 1]],
            [grid_x[r + 1, c], grid_y[r + 1, c]],
            [grid_x[r, c], grid_y[r, c]],
        ]
        pk = n + 2
        rows.append((pk, "microgrid", f"/1/{pk}/", 1, {"type": "Polygon", "coordinates": [ring]}))
    return rows


def _box(west, south, east, north):
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def _district_index():
    """Build the index from the district database, or from a synthetic tiling; returns (index, source, ms)."""
    from fengchao.areas import locator

    try:
        import _setup

        _setup.ensure_district_db()
        started = time.perf_counter()
        index = locator.build_index(version=locator._database_version())
        elapsed_ms = (time.perf_counter() - started) * 1000
        if len(index.micro) >= 6000:
            return index, "database", elapsed_ms
    except Exception as exc:  # seed_demo missing or failing: fall back, say so
        print(
            f"locator: district database unavailable ({type(exc).__name__}: {exc}); synthetic tiling", file=sys.stderr
        )
    rows = synthetic_rows()
    started = time.perf_counter()
    index = locator.LocatorIndex(rows, version=None)
    return index, "synthetic", (time.perf_counter() - started) * 1000


def run(emit):
    index, source, build_ms = _district_index()
    print(f"locator: {len(index.micro)} micro-grids from the {source} data", file=sys.stderr)
    emit("locator.index_build_ms", build_ms, "ms")

    bounds = np.array([g.bounds for g in index.micro.geometries])
    # Sample in WGS84 over the micro-grids' bounding box.
    min_x, min_y = bounds[:, 0].min(), bounds[:, 1].min()
    max_x, max_y = bounds[:, 2].max(), bounds[:, 3].max()
    west, east = index.lon0 + min_x / index.kx, index.lon0 + max_x / index.kx
    south, north = index.lat0 + min_y / index.ky, index.lat0 + max_y / index.ky
    rng = np.random.default_rng(SEED)
    lons = rng.uniform(west, east, SAMPLE_POINTS)
    lats = rng.uniform(south, north, SAMPLE_POINTS)

    best = float("inf")
    for _attempt in range(3):
        started = time.perf_counter()
        batch = index.locate_many(lons, lats)
        best = min(best, time.perf_counter() - started)
    located = int((batch.microgrid_ids > 0).sum())
    print(f"locator: {located} of {SAMPLE_POINTS} sample points got a micro-grid", file=sys.stderr)
    emit("locator.batch_lookups_per_s", SAMPLE_POINTS / best, "lookups/s")

    # Single lookups through the public function (CRS check, validation, cached index); the
    # version check (one query every LOCATOR_VERSION_CHECK_S seconds) is left out of the timing.
    from django.test.utils import override_settings

    from fengchao.areas import locator

    timings = []
    clock = time.perf_counter_ns
    with override_settings(LOCATOR_VERSION_CHECK_S=float("inf")):
        locator._cache.update(index=index, checked_at=time.monotonic())
        for lon, lat in zip(lons[:SINGLE_CALLS].tolist(), lats[:SINGLE_CALLS].tolist(), strict=True):
            started = clock()
            locator.locate(lon, lat)
            timings.append(clock() - started)
    locator.clear_cache()
    emit("locator.single_lookup_us", statistics.median(timings) / 1000, "µs")
