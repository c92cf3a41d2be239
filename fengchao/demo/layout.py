"""The demo district planned in memory: areas with boundaries, and the people who serve them.

Nothing here touches the database, so the district-scale figures (81 / 961 / 6,316 / 8,362)
can be checked quickly, and the same seed always gives the same plan.

Boundaries: a district-sized polygon around Chenghua's real location is cut into streets,
each street into communities and so on, by Voronoi cells of seeded random points (relaxed
twice towards their centroids for even sizes) clipped to the parent. The cells tile the plane,
so the clipped pieces tile their parent with no gap and no overlap; coordinates are snapped to
1e-7° (about 1 cm), the precision GeoJSON is stored with.
"""

import math
import random
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import shapely

from fengchao.accounts.roles import IdentityTag, Role
from fengchao.areas.geometry import METRES_PER_DEGREE_LAT

from . import names
from .accounts import DEMO_ACCOUNTS

DEFAULT_SEED = 20261122
PRECISION = 1e-7
CENTRE_LON, CENTRE_LAT = 104.10, 30.66
DISTRICT_KM2 = 110.0


@dataclass(frozen=True)
class ScalePlan:
    """How many areas and members a scale has; the district figures are Chenghua's public ones."""

    streets: tuple[str, ...]
    communities: int
    grids: int
    microgrids: int
    members: int


SCALES = {
    "district": ScalePlan(tuple(names.STREET_NAMES), communities=81, grids=961, microgrids=6316, members=8362),
    "small": ScalePlan((names.SMALL_SCALE_STREET,), communities=6, grids=50, microgrids=380, members=500),
}


@dataclass
class PlannedArea:
    kind: str
    name: str
    local_code: str
    geometry: shapely.Geometry
    children: list["PlannedArea"] = field(default_factory=list)
    dedicated_kind: str = ""
    households: int | None = None
    service_phone: str = ""
    address: str = ""
    members: int = 0  # micro-grid members planned for a micro-grid
    code: str = ""
    name_stem: str = ""  # a grid's compound name, reused for its micro-grids

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class PlannedPerson:
    username: str
    display_name: str
    phone: str
    role: str
    area_code: str
    tags: tuple[str, ...] = ()
    department_code: str = ""


@dataclass
class DemoLayout:
    scale: str
    seed: int
    district: PlannedArea
    people: list[PlannedPerson]

    def areas(self):
        return self.district.walk()

    def counts(self) -> dict[str, int]:
        result = {"district": 0, "street": 0, "community": 0, "grid": 0, "dedicated": 0, "microgrid": 0}
        for area in self.areas():
            result[area.kind] += 1
        for role in Role.values:
            result[f"role.{role}"] = sum(1 for p in self.people if p.role == role)
        result["people"] = len({p.username for p in self.people})
        return result


# --- geometry ------------------------------------------------------------------------------


def _snap(geometry: shapely.Geometry) -> shapely.Geometry:
    snapped = shapely.set_precision(geometry, PRECISION)
    if snapped.geom_type == "GeometryCollection":  # keep only the polygonal parts of a clip
        snapped = shapely.union_all([g for g in snapped.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    return snapped


def district_polygon(rng: np.random.Generator) -> shapely.Geometry:
    """An irregular, roughly round polygon of about 110 km² centred on Chenghua."""
    corners = 36
    angles = np.linspace(0, 2 * math.pi, corners, endpoint=False)
    # A few low harmonics make a wobbly outline rather than a circle.
    wobble = np.ones(corners)
    for harmonic in (2, 3, 5):
        wobble += rng.uniform(0.03, 0.09) * np.sin(harmonic * angles + rng.uniform(0, 2 * math.pi))
    metres_per_lon = METRES_PER_DEGREE_LAT * math.cos(math.radians(CENTRE_LAT))
    xs = wobble * np.cos(angles) / metres_per_lon
    ys = wobble * np.sin(angles) * 1.25 / METRES_PER_DEGREE_LAT  # taller than wide, like the real district
    unit = shapely.Polygon(np.column_stack([xs, ys]))
    unit_m2 = unit.area * metres_per_lon * METRES_PER_DEGREE_LAT
    scale = math.sqrt(DISTRICT_KM2 * 1e6 / unit_m2)
    coords = np.column_stack([CENTRE_LON + xs * scale, CENTRE_LAT + ys * scale])
    return _snap(shapely.Polygon(coords))


def _points_inside(parent: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    min_x, min_y, max_x, max_y = parent.bounds
    found = np.empty((0, 2))
    shapely.prepare(parent)
    while len(found) < n:
        batch = rng.uniform((min_x, min_y), (max_x, max_y), size=(max(4 * n, 16), 2))
        found = np.vstack([found, batch[shapely.contains_xy(parent, batch[:, 0], batch[:, 1])]])
    return found[:n]


def _voronoi_pieces(parent: shapely.Geometry, points: np.ndarray) -> list[shapely.Geometry]:
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=parent, ordered=True)
    return list(shapely.intersection(np.array(cells.geoms), parent))


def split(parent: shapely.Geometry, n: int, rng: np.random.Generator, relax: int = 2) -> list[shapely.Geometry]:
    """Cut `parent` into n pieces that tile it, ordered north to south, then west to east."""
    if n == 1:
        return [parent]
    points = _points_inside(parent, n, rng)
    pieces = _voronoi_pieces(parent, points)
    for _ in range(relax):
        centroids = np.array([[p.centroid.x, p.centroid.y] for p in pieces])
        if not shapely.contains_xy(parent, centroids[:, 0], centroids[:, 1]).all():
            break  # a centroid fell outside a concave parent: keep the cells we have
        relaxed = _voronoi_pieces(parent, centroids)
        if any(piece.is_empty for piece in relaxed):
            break
        pieces = relaxed
    snapped = [_snap(piece) for piece in pieces]
    if any(piece.is_empty for piece in snapped):
        snapped = [_snap(piece) for piece in _voronoi_pieces(parent, points)]
    band = _band_height(parent, n)
    return sorted(snapped, key=lambda g: (-round(g.centroid.y / band), g.centroid.x))


def _band_height(parent: shapely.Geometry, n: int) -> float:
    """Rows of about sqrt(n) pieces, so sequence numbers read like lines of text on the map."""
    min_x, min_y, max_x, max_y = parent.bounds
    return max((max_y - min_y) / max(round(math.sqrt(n)), 1), 1e-9)


def dedicated_polygon(community: PlannedArea, rng: np.random.Generator, size_m: float = 120.0) -> shapely.Geometry:
    """A small block (a mall, a hospital, a tower) inside the community, near one of its grids' centres."""
    grid = community.children[int(rng.integers(len(community.children)))]
    centre = grid.geometry.representative_point()
    half_lat = size_m / 2 / METRES_PER_DEGREE_LAT
    half_lon = half_lat / math.cos(math.radians(centre.y))
    block = shapely.box(centre.x - half_lon, centre.y - half_lat, centre.x + half_lon, centre.y + half_lat)
    return _snap(shapely.intersection(block, community.geometry))


# --- counts and names ----------------------------------------------------------------------


def apportion(total: int, n: int, rnd: random.Random, spread: float = 0.35, minimum: int = 1) -> list[int]:
    """Split `total` into n uneven parts of at least `minimum` that add up exactly."""
    weights = [1 + rnd.uniform(-spread, spread) for _ in range(n)]
    raw = [total * w / sum(weights) for w in weights]
    parts = [max(minimum, math.floor(r)) for r in raw]
    order = sorted(range(n), key=lambda i: raw[i] - math.floor(raw[i]), reverse=True)
    i = 0
    while sum(parts) < total:
        parts[order[i % n]] += 1
        i += 1
    while sum(parts) > total:  # only when minimums pushed it over
        largest = max(range(n), key=lambda k: parts[k])
        parts[largest] -= 1
    return parts


def community_names(street: str, count: int, rnd: random.Random, used: set[str]) -> list[str]:
    result = list(names.KNOWN_COMMUNITIES.get(street, []))[:count]
    while len(result) < count:
        candidate = f"{rnd.choice(names.COMMUNITY_FIRST)}{rnd.choice(names.COMMUNITY_SECOND)}社区"
        if candidate not in used and candidate not in result and not _is_known_community(candidate):
            result.append(candidate)
    used.update(result)
    return result


def _is_known_community(name: str) -> bool:
    return any(name in known for known in names.KNOWN_COMMUNITIES.values())


def compound_names(count: int, rnd: random.Random) -> list[str]:
    """Residential compounds (小区) of one community; a few grids are street-front shops instead."""
    result: list[str] = []
    while len(result) < count:
        if rnd.random() < 0.08:
            candidate = f"{rnd.choice(names.ROADS)}沿街商铺"
        else:
            candidate = f"{rnd.choice(names.COMPOUND_FIRST)}{rnd.choice(names.COMPOUND_SECOND)}"
        if candidate not in result:
            result.append(candidate)
    return result


def person_name(rnd: random.Random) -> str:
    given = rnd.choice(names.GIVEN_CHARS) + (rnd.choice(names.GIVEN_CHARS) if rnd.random() < 0.7 else "")
    return rnd.choice(names.SURNAMES) + given


class PhoneNumbers:
    """Unique mobile numbers in 199xxxxxxxx: a stride coprime to 10^8 visits each number once."""

    STRIDE = 37_199_833  # odd and not a multiple of 5

    def __init__(self, rnd: random.Random):
        self.start = rnd.randrange(10**8)
        self.issued = 0

    def next(self) -> str:
        number = (self.start + self.issued * self.STRIDE) % 10**8
        self.issued += 1
        return f"199{number:08d}"


# Identity tags of micro-grid members and how common each is.
MEMBER_TAG_SHARES = [
    (IdentityTag.PARTY_MEMBER, 0.30),
    (IdentityTag.BUILDING_HEAD, 0.25),
    (IdentityTag.VOLUNTEER, 0.40),
    (IdentityTag.PARTY_HOUSEHOLD, 0.08),
    (IdentityTag.VETERAN, 0.05),
    (IdentityTag.OWNERS_COMMITTEE, 0.06),
    (IdentityTag.FIVE_ELDERS, 0.04),
    (IdentityTag.PROPERTY_STAFF, 0.05),
    (IdentityTag.MOBILE_MEMBER, 0.03),
    (IdentityTag.FAMILY_DOCTOR, 0.01),
    (IdentityTag.COMMUNITY_POLICE, 0.005),
]


def member_tags(rnd: random.Random) -> tuple[str, ...]:
    return tuple(tag for tag, share in MEMBER_TAG_SHARES if rnd.random() < share)


# --- the plan ------------------------------------------------------------------------------


def build_layout(scale: str = "small", seed: int = DEFAULT_SEED) -> DemoLayout:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    plan = SCALES[scale]
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)

    district = PlannedArea(
        "district", names.DISTRICT_NAME, names.DISTRICT_CODE, district_polygon(rng), address=names.DISTRICT_ADDRESS
    )
    district.code = district.local_code
    # The district is always cut into all twelve streets, so a street keeps its polygon and code
    # whichever scale is seeded; the small scale keeps only 保和街道.
    street_cells = sorted(split(district.geometry, len(names.STREET_NAMES), rng), key=lambda g: g.centroid.x)
    community_counts = dict(
        zip(plan.streets, apportion(plan.communities, len(plan.streets), rnd, spread=0.3, minimum=3), strict=True)
    )
    used_community_names: set[str] = set()
    all_communities: list[PlannedArea] = []
    for number, (street_name, cell) in enumerate(zip(names.STREET_NAMES, street_cells, strict=True), start=1):
        if street_name not in community_counts:
            continue
        street = _child(district, "street", street_name, number, cell)
        count = community_counts[street_name]
        cells = split(street.geometry, count, rng)
        for seq, (community_name, geometry) in enumerate(
            zip(community_names(street_name, count, rnd, used_community_names), cells, strict=True), start=1
        ):
            community = _child(street, "community", community_name, seq, geometry)
            community.service_phone = f"028-8431{len(used_community_names):02d}{seq:02d}"
            community.address = f"{rnd.choice(names.ROADS)}{rnd.randint(1, 399)}号"
            all_communities.append(community)

    grid_counts = apportion(plan.grids, len(all_communities), rnd, spread=0.4, minimum=3)
    all_grids: list[PlannedArea] = []
    for community, count in zip(all_communities, grid_counts, strict=True):
        for seq, (compound, geometry) in enumerate(
            zip(compound_names(count, rnd), split(community.geometry, count, rng), strict=True), start=1
        ):
            grid = _child(community, "grid", f"{compound}网格", seq, geometry)
            grid.name_stem = compound
            all_grids.append(grid)

    microgrid_counts = apportion(plan.microgrids, len(all_grids), rnd, spread=0.45, minimum=2)
    all_microgrids: list[PlannedArea] = []
    for grid, count in zip(all_grids, microgrid_counts, strict=True):
        for seq, geometry in enumerate(split(grid.geometry, count, rng, relax=3), start=1):
            micro = _child(grid, "microgrid", f"{grid.name_stem}{seq}栋微网格", seq, geometry)
            micro.households = rnd.randint(50, 80)
            micro.members = 1
            all_microgrids.append(micro)
        grid.households = sum(m.households for m in grid.children)
    # Some micro-grids have two members; exactly enough of them to reach the planned total.
    for micro in rnd.sample(all_microgrids, plan.members - len(all_microgrids)):
        micro.members = 2

    _add_dedicated_grids(district, rng)
    for community in all_communities:
        community.households = sum(g.households or 0 for g in community.children)

    people = _plan_people(district, rnd)
    return DemoLayout(scale, seed, district, people)


def _child(parent: PlannedArea, kind: str, name: str, seq: int, geometry) -> PlannedArea:
    local_code = f"{seq:03d}"
    child = PlannedArea(kind, name, local_code, geometry, code=parent.code + local_code)
    parent.children.append(child)
    return child


def _add_dedicated_grids(district: PlannedArea, rng: np.random.Generator) -> None:
    streets = {street.name: street for street in district.children}
    next_number: dict[str, int] = {}
    for street_name, community_index, kind, name in names.DEDICATED_GRIDS:
        street = streets.get(street_name)
        if street is None:
            continue
        # Community 0 of 保和街道 is 和美社区, so the demo_dedicated account's grid is a hospital there.
        community = street.children[community_index % len(street.children)]
        number = next_number.get(community.code, 901)
        next_number[community.code] = number + 1
        geometry = dedicated_polygon(community, rng)
        grid = _child(community, "dedicated", name, number, geometry)
        grid.dedicated_kind = kind


def _plan_people(district: PlannedArea, rnd: random.Random) -> list[PlannedPerson]:
    phones = PhoneNumbers(rnd)
    people: list[PlannedPerson] = []
    # A demo account fills one of the planned seats (grid leader of its grid, a member of its
    # micro-grid...), so the district figures stay exact with the demo accounts in them.
    seats_taken = Counter((a.role, _demo_place(district, a.place).code) for a in DEMO_ACCOUNTS)

    def add(prefix: str, number: int, role: str, area: PlannedArea, tags=(), department_code=""):
        if seats_taken[(role, area.code)] > 0:
            seats_taken[(role, area.code)] -= 1
            return
        people.append(
            PlannedPerson(
                f"{prefix}{number:05d}", person_name(rnd), phones.next(), role, area.code, tuple(tags), department_code
            )
        )

    for account in DEMO_ACCOUNTS:
        area = _demo_place(district, account.place)
        people.append(
            PlannedPerson(
                account.username,
                account.display_name,
                phones.next(),
                account.role,
                area.code,
                department_code=account.department_code,
            )
        )
    for n, (code, _name, _phone) in enumerate(names.DEPARTMENTS, start=1):
        add("bm", n, Role.DEPARTMENT_HANDLER, district, department_code=code)
    counters = {"street": 0, "community": 0, "grid": 0, "dedicated": 0, "member": 0}
    for street in district.children:
        for _ in range(2):
            counters["street"] += 1
            add("jd", counters["street"], Role.STREET_STAFF, street)
        for community in street.children:
            for _ in range(3):
                counters["community"] += 1
                add("sq", counters["community"], Role.COMMUNITY_STAFF, community)
            for grid in community.children:
                if grid.kind == "dedicated":
                    counters["dedicated"] += 1
                    add("zs", counters["dedicated"], Role.DEDICATED_LEADER, grid)
                    continue
                counters["grid"] += 1
                add("wgz", counters["grid"], Role.GRID_LEADER, grid, tags=[IdentityTag.PARTY_MEMBER])
                for micro in grid.children:
                    for _ in range(micro.members):
                        counters["member"] += 1
                        add("wgy", counters["member"], Role.MICROGRID_MEMBER, micro, tags=member_tags(rnd))
    return people


def _demo_place(district: PlannedArea, place: str) -> PlannedArea:
    street = next(s for s in district.children if s.name == names.SMALL_SCALE_STREET)
    community = next(c for c in street.children if c.name == names.ADAPTED_COMMUNITY)
    grid = next(g for g in community.children if g.kind == "grid")
    return {
        "district": district,
        "street": street,
        "community": community,
        "grid": grid,
        "microgrid": grid.children[0],
        "dedicated": next(g for g in community.children if g.kind == "dedicated"),
    }[place]
