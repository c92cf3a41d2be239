"""Point → area: which micro-grid (and which areas above it) a coordinate falls in.

An in-process index over the boundaries of all active areas, built with shapely 2 STRtrees.
Each process keeps its index until SpatialIndexVersion(layer="areas") changes in the database;
it asks at most every settings.LOCATOR_VERSION_CHECK_S seconds, so a lookup normally costs no
query, and several app servers converge on the same boundaries within that interval.

Rules (see docs/locator.md):
- The deepest area containing the point: a micro-grid if one contains it, else the deepest
  district/street/community/grid that does. Dedicated grids (专属网格) overlap the ordinary grids,
  so they are reported separately in `dedicated_ids`.
- A point on a shared edge (or in an overlap) resolves to ONE micro-grid: micro-grids under an
  ordinary grid win over those under a dedicated grid, then the lowest pk wins.
- A point inside the district but in no micro-grid is `in_gap`; it is given the nearest
  micro-grid within the deepest area containing it (so the lineage stays consistent), falling
  back to the nearest anywhere when that area has none, and the distance to it in metres (ties:
  the lowest pk). A point in no area at all gets no area and no micro-grid.

Geometry is kept in a local metric frame (equirectangular around the areas' mean latitude), so
nearest-neighbour distances are in metres; over a district the error is far below a metre.
"""

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry import shape

from .coords import check_crs, check_lon_lat, to_wgs84, to_wgs84_array
from .geometry import METRES_PER_DEGREE_LAT
from .levels import AreaKind

AREAS_LAYER = "areas"
NO_AREA = 0  # the id used in batch arrays for "no area" (pks start at 1)


@dataclass
class LocateResult:
    lon: float  # WGS84 actually used
    lat: float
    area_id: int | None  # deepest containing area (micro-grid when one contains the point)
    microgrid_id: int | None  # containing micro-grid, or the nearest one when the point is in a gap
    in_gap: bool
    distance_m: float | None  # 0 inside a micro-grid; metres to the nearest micro-grid in a gap; None outside
    dedicated_ids: list[int] = field(default_factory=list)
    ancestor_ids: list[int] = field(default_factory=list)  # root → deepest area, inclusive


@dataclass
class LocateBatch:
    """Results of locate_many as parallel numpy arrays (0 means "none" in the id arrays)."""

    lons: np.ndarray
    lats: np.ndarray
    area_ids: np.ndarray
    microgrid_ids: np.ndarray
    in_gap: np.ndarray
    distance_m: np.ndarray  # NaN where the point is in no area
    dedicated_pairs: np.ndarray  # shape (2, k): [point index, dedicated grid id]
    _ancestors: dict = field(repr=False, default_factory=dict)

    def __len__(self):
        return len(self.lons)

    def result(self, i: int) -> LocateResult:
        area_id = int(self.area_ids[i]) or None
        micro_id = int(self.microgrid_ids[i]) or None
        distance = float(self.distance_m[i])
        dedicated = self.dedicated_pairs[1][self.dedicated_pairs[0] == i]
        return LocateResult(
            lon=float(self.lons[i]),
            lat=float(self.lats[i]),
            area_id=area_id,
            microgrid_id=micro_id,
            in_gap=bool(self.in_gap[i]),
            distance_m=None if math.isnan(distance) else distance,
            dedicated_ids=sorted(int(d) for d in dedicated),
            ancestor_ids=list(self._ancestors.get(area_id, ())),
        )

    def results(self) -> list[LocateResult]:
        return [self.result(i) for i in range(len(self))]


class _Layer:
    """One STRtree over a set of areas, ordered so that the lowest tree index is the preferred hit.

    Single points skip geometry construction altogether: a uniform grid of buckets (about two
    cells per polygon) lists the polygons whose bounding box touches each cell, and candidates
    are tested with shapely.intersects_xy on prepared polygons (boundary counts as inside).
    """

    CELLS_PER_POLYGON = 2
    CELL_MARGIN_M = 0.001  # cells overlap by a millimetre so float rounding never drops a candidate

    def __init__(self, ids: list[int], geometries: list):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.geometries = np.empty(len(geometries), dtype=object)
        self.geometries[:] = geometries
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)
        self._build_buckets()

    def __len__(self):
        return len(self.ids)

    def _build_buckets(self) -> None:
        self.buckets: list[tuple[int, ...]] = []
        self.nx = self.ny = 0
        if not len(self):
            return
        min_x, min_y, max_x, max_y = shapely.total_bounds(self.geometries)
        width, height = max(max_x - min_x, 1e-6), max(max_y - min_y, 1e-6)
        cell = math.sqrt(width * height / (self.CELLS_PER_POLYGON * len(self)))
        self.nx, self.ny = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
        self.min_x, self.min_y, self.max_x, self.max_y = min_x, min_y, min_x + width, min_y + height
        self.cell_w, self.cell_h = width / self.nx, height / self.ny
        columns, rows = np.meshgrid(np.arange(self.nx), np.arange(self.ny))
        columns, rows = columns.ravel(), rows.ravel()
        margin = self.CELL_MARGIN_M
        boxes = shapely.box(
            min_x + columns * self.cell_w - margin,
            min_y + rows * self.cell_h - margin,
            min_x + (columns + 1) * self.cell_w + margin,
            min_y + (rows + 1) * self.cell_h + margin,
        )
        cell_idx, tree_idx = self.tree.query(boxes)
        cell_numbers = rows[cell_idx] * self.nx + columns[cell_idx]
        order = np.lexsort((tree_idx, cell_numbers))
        cell_numbers, tree_idx = cell_numbers[order], tree_idx[order]
        splits = np.searchsorted(cell_numbers, np.arange(self.nx * self.ny + 1))
        members = tree_idx.tolist()
        self.buckets = [tuple(members[splits[k] : splits[k + 1]]) for k in range(self.nx * self.ny)]

    def _candidates(self, x: float, y: float) -> tuple[int, ...]:
        if not self.buckets or not (self.min_x <= x <= self.max_x and self.min_y <= y <= self.max_y):
            return ()
        column = min(int((x - self.min_x) / self.cell_w), self.nx - 1)
        row = min(int((y - self.min_y) / self.cell_h), self.ny - 1)
        return self.buckets[row * self.nx + column]

    def first_hit(self, x: float, y: float) -> int:
        """Tree index of the preferred geometry covering the point, or -1."""
        geometries = self.geometries
        for index in self._candidates(x, y):
            if shapely.intersects_xy(geometries[index], x, y):
                return index
        return -1

    def all_hits(self, x: float, y: float) -> list[int]:
        geometries = self.geometries
        return [index for index in self._candidates(x, y) if shapely.intersects_xy(geometries[index], x, y)]

    def first_hits(self, points) -> np.ndarray:
        """For each point, the lowest tree index covering it, or -1."""
        best = np.full(len(points), -1, dtype=np.int64)
        if len(self) == 0 or len(points) == 0:
            return best
        point_idx, tree_idx = self.tree.query(points, predicate="intersects")
        if point_idx.size:
            # Sort by (point, tree index) and keep the first tree index of each point.
            order = np.lexsort((tree_idx, point_idx))
            point_idx, tree_idx = point_idx[order], tree_idx[order]
            first = np.ones(point_idx.size, dtype=bool)
            first[1:] = point_idx[1:] != point_idx[:-1]
            best[point_idx[first]] = tree_idx[first]
        return best

    def nearest(self, points) -> tuple[np.ndarray, np.ndarray]:
        """For each point, the lowest tree index among the nearest geometries, and the distance."""
        (point_idx, tree_idx), distances = self.tree.query_nearest(points, return_distance=True, all_matches=True)
        order = np.lexsort((tree_idx, point_idx))
        point_idx, tree_idx, distances = point_idx[order], tree_idx[order], distances[order]
        first = np.ones(point_idx.size, dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        best = np.full(len(points), -1, dtype=np.int64)
        best_distance = np.full(len(points), np.nan)
        best[point_idx[first]] = tree_idx[first]
        best_distance[point_idx[first]] = distances[first]
        return best, best_distance


class LocatorIndex:
    """An immutable snapshot of the area boundaries at one SpatialIndexVersion."""

    def __init__(self, rows, version: int | None = None):
        """rows: iterables of (pk, kind, path, parent_id, boundary GeoJSON dict) of active areas with boundaries."""
        self.version = version
        started = time.perf_counter()
        rows = list(rows)
        kind_of = {pk: kind for pk, kind, _path, _parent, _boundary in rows}
        lats = [b for row in rows for b in _bbox_lat(row[4])]
        self.lat0 = (min(lats) + max(lats)) / 2 if lats else 0.0
        lons = [b for row in rows for b in _bbox_lon(row[4])]
        self.lon0 = (min(lons) + max(lons)) / 2 if lons else 0.0
        self.ky = METRES_PER_DEGREE_LAT
        self.kx = METRES_PER_DEGREE_LAT * math.cos(math.radians(self.lat0))

        micro, areas, dedicated = [], [], []
        self.ancestors: dict[int, tuple[int, ...]] = {}
        for pk, kind, path, parent_id, boundary in rows:
            self.ancestors[pk] = tuple(int(part) for part in path.strip("/").split("/"))
            if kind == AreaKind.MICROGRID:
                under_dedicated = kind_of.get(parent_id) == AreaKind.DEDICATED
                micro.append(((under_dedicated, pk), pk, boundary))
            elif kind == AreaKind.DEDICATED:
                dedicated.append(((pk,), pk, boundary))
            else:
                level = path.count("/") - 1
                areas.append(((-level, pk), pk, boundary))
        self.micro = self._layer(micro)
        # For the gap rule: the micro-grid tree indices under each area (sorted, so argmin picks the lowest).
        under: dict[int, list[int]] = {}
        for tree_index, micro_pk in enumerate(self.micro.ids.tolist()):
            for ancestor in self.ancestors[micro_pk][:-1]:
                under.setdefault(ancestor, []).append(tree_index)
        self.micro_under = {pk: np.asarray(indices, dtype=np.int64) for pk, indices in under.items()}
        self.areas = self._layer(areas)
        self.dedicated = self._layer(dedicated)
        self.build_seconds = time.perf_counter() - started

    def _layer(self, entries) -> _Layer:
        entries.sort(key=lambda entry: entry[0])
        geometries = np.array([shape(boundary) for _key, _pk, boundary in entries], dtype=object)
        if geometries.size:
            geometries = shapely.transform(geometries, lambda xy: (xy - (self.lon0, self.lat0)) * (self.kx, self.ky))
        return _Layer([pk for _key, pk, _boundary in entries], list(geometries))

    NEAREST_MATRIX_LIMIT = 2_000_000  # above this many point×polygon distances, use the tree instead

    def _nearest_micro(self, container_id: int, points) -> tuple[np.ndarray, np.ndarray]:
        """Nearest micro-grid (tree index) and distance for points lying in the gaps of one area."""
        subset = self.micro_under.get(container_id)
        if subset is None or len(subset) == len(self.micro) or len(subset) * len(points) > self.NEAREST_MATRIX_LIMIT:
            return self.micro.nearest(points)
        distances = shapely.distance(self.micro.geometries[subset][np.newaxis, :], points[:, np.newaxis])
        best = distances.argmin(axis=1)
        return subset[best], distances[np.arange(len(points)), best]

    def locate(self, lon: float, lat: float) -> LocateResult:
        x, y = (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky
        hit = self.micro.first_hit(x, y)
        if hit >= 0:
            micro_id = int(self.micro.ids[hit])
            area_id, in_gap, distance = micro_id, False, 0.0
        else:
            container = self.areas.first_hit(x, y)
            if container < 0:
                micro_id = area_id = distance = None
                in_gap = False
            else:
                area_id = int(self.areas.ids[container])
                in_gap = True
                micro_id, distance = None, None
                if len(self.micro):
                    nearest, distances = self._nearest_micro(area_id, shapely.points([x], [y]))
                    micro_id, distance = int(self.micro.ids[nearest[0]]), float(distances[0])
        dedicated_ids = sorted(int(self.dedicated.ids[i]) for i in self.dedicated.all_hits(x, y))
        return LocateResult(
            lon=lon,
            lat=lat,
            area_id=area_id,
            microgrid_id=micro_id,
            in_gap=in_gap,
            distance_m=distance,
            dedicated_ids=dedicated_ids,
            ancestor_ids=list(self.ancestors[area_id]) if area_id else [],
        )

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> LocateBatch:
        points = shapely.points((lons - self.lon0) * self.kx, (lats - self.lat0) * self.ky)
        count = len(points)
        micro_hit = self.micro.first_hits(points)
        inside = micro_hit >= 0
        microgrid_ids = np.zeros(count, dtype=np.int64)
        microgrid_ids[inside] = self.micro.ids[micro_hit[inside]]
        area_ids = microgrid_ids.copy()
        distance_m = np.where(inside, 0.0, np.nan)
        in_gap = np.zeros(count, dtype=bool)

        missed = np.flatnonzero(~inside)
        if missed.size and len(self.areas):
            container = self.areas.first_hits(points[missed])
            in_area = container >= 0
            gap_points = missed[in_area]
            area_ids[gap_points] = self.areas.ids[container[in_area]]
            in_gap[gap_points] = True
            if gap_points.size and len(self.micro):
                containers = area_ids[gap_points]
                for container_id in np.unique(containers).tolist():
                    group = gap_points[containers == container_id]
                    nearest, distances = self._nearest_micro(container_id, points[group])
                    microgrid_ids[group] = self.micro.ids[nearest]
                    distance_m[group] = distances

        if len(self.dedicated):
            point_idx, tree_idx = self.dedicated.tree.query(points, predicate="intersects")
            dedicated_pairs = np.vstack([point_idx, self.dedicated.ids[tree_idx]])
        else:
            dedicated_pairs = np.empty((2, 0), dtype=np.int64)
        return LocateBatch(lons, lats, area_ids, microgrid_ids, in_gap, distance_m, dedicated_pairs, self.ancestors)


def _bbox_lon(boundary):
    return _extremes(boundary, 0)


def _bbox_lat(boundary):
    return _extremes(boundary, 1)


def _extremes(boundary, axis):
    coordinates = np.asarray(_flatten(boundary["coordinates"]), dtype=np.float64)
    return (coordinates[:, axis].min(), coordinates[:, axis].max()) if coordinates.size else ()


def _flatten(nested):
    if nested and isinstance(nested[0], (int, float)):
        return [nested]
    return [point for part in nested for point in _flatten(part)]


# --- the per-process cache -----------------------------------------------------------------------

_lock = threading.Lock()
_cache = {"index": None, "checked_at": 0.0}


def clear_cache() -> None:
    """Forget the cached index (tests call this; the version counter does it in production)."""
    with _lock:
        _cache["index"] = None
        _cache["checked_at"] = 0.0


def _database_version() -> int:
    from .models import SpatialIndexVersion

    return SpatialIndexVersion.objects.filter(layer=AREAS_LAYER).values_list("version", flat=True).first() or 0


def build_index(version: int | None = None) -> LocatorIndex:
    from .models import Area

    rows = (
        Area.objects.filter(is_active=True, boundary__isnull=False)
        .order_by()
        .values_list("pk", "kind", "path", "parent_id", "boundary")
    )
    return LocatorIndex(rows.iterator(chunk_size=2000), version=version)


def current_index(fresh: bool = False) -> LocatorIndex:
    """The cached index, rebuilt when the database's version counter has moved.

    fresh=True checks the version now (for writers such as layer imports that must not use stale boundaries).
    """
    now = time.monotonic()
    index = _cache["index"]
    if index is not None and not fresh and now - _cache["checked_at"] < settings.LOCATOR_VERSION_CHECK_S:
        return index
    version = _database_version()
    if index is not None and index.version == version:
        _cache["checked_at"] = now
        return index
    with _lock:
        index = _cache["index"]
        if index is None or index.version != version:
            index = build_index(version)
            _cache["index"] = index
        _cache["checked_at"] = now
    return index


def locate(lon, lat, crs: str = "wgs84") -> LocateResult:
    """Locate one point given in WGS84, GCJ-02 or BD-09 (ValidationError on bad input)."""
    lon, lat = to_wgs84(lon, lat, crs)
    return current_index().locate(lon, lat)


def locate_many(lons, lats, crs: str = "wgs84") -> LocateBatch:
    """Locate many points at once; returns parallel arrays (LocateBatch.results() gives LocateResults)."""
    lons, lats = to_wgs84_array(lons, lats, check_crs(crs))
    bad = ~(np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        check_lon_lat(lons[first], lats[first])  # raises the ValidationError naming the pair
    return current_index().locate_many(lons, lats)
