"""The demo population: buildings and rooms, households and residents with care tags, places and organisations.

Planned from the layout, so the same seed gives the same people: every micro-grid gets one to three
buildings with units and rooms, and households in those rooms (all of the households the micro-grid
is planned with at district scale, about one in twelve at small scale, where the demo accounts'
micro-grid is registered in full). A household has one to four residents, in the shapes families
take (a couple and their child, an old couple, grandparents with a left-behind grandchild ...), so
ages come out as a plausible pyramid; names follow each generation's fashion; ID numbers are valid
GB 11643 numbers whose birth date and sex agree with the resident; care tags follow age and
household (everyone 80 or over is 高龄, nine in ten of those over 70 who live alone 独居 ...).

Writing a million residents through create_resident would take hours, so rows are made here exactly
as the services would store them (search keys, encrypted ID numbers and phones with their keyed
hashes and last four, lineage copied from the area) and inserted in large batches with primary keys
chosen up front, so households, heads, care tags and members can point at each other before they
are written. Foreign keys are checked at commit. At district scale a forked helper plans the batches
(pure computation, in the same order, so the rows are the same) and another encrypts, while this
process inserts. The caller (services.seed_demo) writes the one audit event for the whole seeding,
with the ranges of primary keys written here so a reset removes exactly these rows.
"""

import bisect
import concurrent.futures
import contextlib
import datetime
import gc
import math
import multiprocessing
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate

import shapely
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max, ProtectedError
from django.utils import timezone

from fengchao.accounts.roles import Role
from fengchao.core import privacy
from fengchao.registry import idcard, search_keys
from fengchao.registry.choices import (
    Gender,
    IdType,
    OrganisationKind,
    PlaceKind,
    Relation,
    ResidenceType,
    ResidentStatus,
)
from fengchao.registry.models import (
    Building,
    CareTag,
    Household,
    MoveRecord,
    Organisation,
    OrganisationMember,
    Place,
    Resident,
    ResidentCareTag,
    Room,
)
from fengchao.registry.validation import CREDIT_CODE_CHARS, credit_code_check_char

from . import names
from .accounts import DEMO_ACCOUNTS

# Ages and care tags are as of this day (or of today, if the clock is earlier), so a seed gives the
# same people whenever it runs; the residents grow older afterwards, as real ones do.
POPULATION_DATE = datetime.date(2026, 11, 1)
# Bump when the population changes, so benchmark databases seeded before are seeded again.
VERSION = 1

# Share of a micro-grid's planned households that are in the registry, per scale.
HOUSEHOLD_SHARE = {"district": 1.0, "small": 0.08}
SIZE_WEIGHTS = {"settled": (20, 30, 30, 20), "floating": (34, 31, 25, 10)}
RESIDENCE_SHARES = [
    (ResidenceType.REGISTERED, 0.665),
    (ResidenceType.RESIDENT, 0.14),
    (ResidenceType.FLOATING, 0.19),
    (ResidenceType.OVERSEAS, 0.005),
]
# The age pyramid (per cent of people in each five-year band from 0-4), an urban Sichuan profile of
# the 2020 census; household heads are drawn from it, everyone else follows from the household shape.
AGE_BANDS = (4.3, 5.0, 4.6, 4.2, 5.4, 7.6, 9.2, 8.0, 7.1, 7.9, 8.3, 7.1, 5.0, 5.2, 3.8, 2.4, 1.6, 0.9, 0.35, 0.08, 0.01)
TRADITIONAL_SHARE = 0.012  # mainland residents whose names were keyed in traditional characters
DEPARTED_SHARE = 0.005  # household members who have since moved away or died (kept, as the registry does)
PARTY_SHARE_BY_AGE = ((18, 0.0), (30, 0.05), (60, 0.09), (200, 0.12))
BATCH = 20_000  # residents per flush; the other tables are flushed along with them
RESIDENT_ID, HMT_PERMIT = str(IdType.RESIDENT_ID.value), str(IdType.HK_MACAO_TAIWAN.value)
LARGE = 200_000  # from this many residents on: encrypt in a helper process, build indexes at the end
CACHE_KIB = 640_000  # and give SQLite a larger page cache (the setting is 64 MB)


@dataclass
class PopulationResult:
    counts: dict
    pk_ranges: dict
    seconds: float


@dataclass
class _Person:
    """A member of a household being planned; the age is in whole years on the reference date."""

    relation: str
    sex: str
    age: int
    surname: str
    pk: int = 0


@dataclass(frozen=True)
class _Member:
    """A resident who may join an organisation of their grid or community."""

    pk: int
    name: str
    age: int
    is_party_member: bool


@dataclass
class _Table:
    """Rows of one model waiting to be inserted, with primary keys handed out in advance."""

    model: type
    columns: tuple[str, ...]
    next_pk: int
    first_pk: int = 0
    rows: list = field(default_factory=list)

    def __post_init__(self):
        self.first_pk = self.next_pk

    def take_pk(self) -> int:
        pk = self.next_pk
        self.next_pk += 1
        return pk

    def add(self, *values) -> int:
        pk = self.take_pk()
        self.rows.append((pk, *values))
        return pk

    @property
    def count(self) -> int:
        return self.next_pk - self.first_pk


LINEAGE = ("area_id", "district_pk", "street_pk", "community_pk", "grid_pk")
STAMPS = ("created_at", "updated_at")
PHONE = ("phone_cipher", "phone_hash", "phone_last4")
COLUMNS = {
    Building: (*LINEAGE, "name", "address", "floors", "units", "lon", "lat", "notes", "is_active", *STAMPS),
    Room: ("building_id", "unit", "floor", "number"),
    Household: (
        *LINEAGE,
        *("room_id", "address", "address_key", "number", "head_id", "notes", "is_active", "moved_out_at", *STAMPS),
    ),
    Resident: (
        *LINEAGE,
        *("household_id", "relation", "name", "name_key", "pinyin_key", "initials_key", "gender", "id_type"),
        *("id_cipher", "id_hash", "id_last4", "birth_date", "residence_type", "is_party_member", "contact_name"),
        *("contact_phone_cipher", "notes", "status", "moved_in_on", "moved_out_at", *STAMPS, *PHONE),
    ),
    ResidentCareTag: ("resident_id", "tag_id", *LINEAGE, "is_living", "since"),
    MoveRecord: ("resident_id", "household_id", "at", "actor_id", "from_area_id", "to_area_id")
    + ("from_address", "to_address", "reason"),
    Place: (
        *LINEAGE,
        *("kind", "name", "name_key", "credit_code", "address", "building_id", "contact_name", "is_crowded"),
        *("is_fire_key_unit", "is_small_venue", "has_hazardous_materials", "lon", "lat", "notes", "is_active"),
        *STAMPS,
        *PHONE,
    ),
    Organisation: (
        *LINEAGE,
        *("kind", "name", "name_key", "credit_code", "address", "contact_name", "notes", "is_active", *STAMPS, *PHONE),
    ),
    OrganisationMember: ("organisation_id", "resident_id", "name", "position", "is_contact", "joined_on", "left_on")
    + PHONE,
}
# Insert order. Foreign keys are checked at commit, but while any is dangling SQLite looks up the children
# of every parent row inserted, so each batch leaves only one kind dangling: residents name their
# household, which comes right after them (and households name their head, already there).
MODELS = (Building, Room, Resident, Household, ResidentCareTag, MoveRecord, Place, Organisation, OrganisationMember)


def reference_date() -> datetime.date:
    return min(POPULATION_DATE, timezone.localdate())


def planned_residents(layout, scale: str) -> int:
    """About how many residents a layout gets (2.5 a household)."""
    households = sum(area.households or 0 for area in layout.areas() if area.kind == "microgrid")
    return int(households * HOUSEHOLD_SHARE.get(scale, 1.0) * 2.5)


class Sealer:
    """Encrypts and hashes ID numbers and phones as Resident.set_id_number, set_phone and set_contact_phone do.

    Fernet takes about 15 µs a value, half a minute for a district; with `processes` (on Linux) it runs
    in forked helper processes while this one inserts (and another helper plans, see `_planned_batches`).
    The helpers only compute: they never touch the database connection they inherit, and leave with
    os._exit as multiprocessing workers do, so it is neither used nor closed there. The first batch is
    checked against this process's keys all the same.
    """

    CHUNK = 2000

    def __init__(self, processes: int = 0):
        self.pool = None
        self.checked = False
        # Not forkserver or spawn: those import the caller's __main__ again, which a script may not allow.
        if processes and sys.platform == "linux":
            context = multiprocessing.get_context("fork")
            self.pool = concurrent.futures.ProcessPoolExecutor(processes, mp_context=context)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, ids: list[str], phones: list[str], contacts: list[str]):
        """A function that returns ([(id cipher, id hash)], [(phone cipher, phone hash)], [contact cipher])."""
        given = [p for p in phones if p]
        if self.pool is None:
            done = self._assemble(ids, phones, *self._seal(ids, given, contacts))
            return lambda: done
        work = [
            self.pool.map(function, values, chunksize=self.CHUNK)
            for function, values in (
                (privacy.encrypt, ids),
                (privacy.keyed_hash, ids),
                (privacy.encrypt, given),
                (privacy.keyed_hash, given),
                (privacy.encrypt, contacts),
            )
        ]

        def result():
            id_ciphers, id_hashes, phone_ciphers, phone_hashes, contact_ciphers = (list(m) for m in work)
            if not self.checked and ids:
                if privacy.decrypt(id_ciphers[0]) != ids[0] or privacy.keyed_hash(ids[0]) != id_hashes[0]:
                    raise RuntimeError("The helper process encrypts with other keys than this one.")
                self.checked = True
            return self._assemble(ids, phones, id_ciphers, id_hashes, phone_ciphers, phone_hashes, contact_ciphers)

        return result

    @staticmethod
    def _seal(ids, given, contacts):
        encrypt, keyed_hash = privacy.encrypt, privacy.keyed_hash
        return (
            [encrypt(v) for v in ids],
            [keyed_hash(v) for v in ids],
            [encrypt(v) for v in given],
            [keyed_hash(v) for v in given],
            [encrypt(v) for v in contacts],
        )

    @staticmethod
    def _assemble(ids, phones, id_ciphers, id_hashes, phone_ciphers, phone_hashes, contact_ciphers):
        sealed_phones = iter(zip(phone_ciphers, phone_hashes, strict=True))
        return (
            list(zip(id_ciphers, id_hashes, strict=True)),
            [next(sealed_phones) if p else ("", "") for p in phones],
            contact_ciphers,
        )


class PhoneNumbers:
    """Unique mobile numbers in 198xxxxxxxx, a block no seeded account uses (accounts have 199)."""

    PREFIX = "198"
    STRIDE = 61_803_399  # odd and not a multiple of 5: visits every number once

    def __init__(self, rnd: random.Random):
        self.start = rnd.randrange(10**8)
        self.issued = 0

    def next(self) -> str:
        number = (self.start + self.issued * self.STRIDE) % 10**8
        self.issued += 1
        return f"{self.PREFIX}{number:08d}"


class Names:
    """Surnames by frequency; given names by sex and generation; search keys cached per name."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        listed = dict(names.SURNAME_SHARES)
        rest = [s for s in names.SURNAMES if s not in listed]
        left = max(100 - sum(listed.values()) - sum(names.RARE_SURNAMES.values()), 1.0)
        decay = [1 / (i + 8) for i in range(len(rest))]
        surnames = {**listed, **{s: left * d / sum(decay) for s, d in zip(rest, decay, strict=True)}}
        surnames.update(names.RARE_SURNAMES)
        self.surnames = list(surnames)
        self.surname_cum = list(accumulate(surnames.values()))
        self.given = {key: text.split() for key, text in names.GIVEN_NAMES.items()}
        # Built names: a first character and a second one, each from where it stands in listed names.
        self.first_chars = {key: sorted({w[0] for w in words if len(w) == 2}) for key, words in self.given.items()}
        self.second_chars = {key: sorted({w[-1] for w in words}) for key, words in self.given.items()}
        self.keys: dict[str, tuple[str, str, str]] = {}

    def surname(self) -> str:
        return self.surnames[bisect.bisect(self.surname_cum, self.rnd.random() * self.surname_cum[-1])]

    def given_name(self, sex: str, birth_year: int) -> str:
        era = next(year for year in (1960, 1980, 2000, 9999) if birth_year < year)
        key = (sex, era)
        rnd = self.rnd
        if rnd.random() < 0.75:
            return rnd.choice(self.given[key])
        return rnd.choice(self.first_chars[key]) + rnd.choice(self.second_chars[key])

    def search_keys(self, name: str) -> tuple[str, str, str]:
        """(name key, pinyin, initials), exactly as the registry services compute them."""
        found = self.keys.get(name)
        if found is None:
            found = (search_keys.name_key(name), *search_keys.pinyin_keys(name))
            self.keys[name] = found
        return found


def traditional(name: str) -> str:
    return "".join(names.TRADITIONAL.get(char, char) for char in name)


class Ages:
    """Ages drawn from the pyramid, optionally within bounds."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.weights = [AGE_BANDS[min(age // 5, len(AGE_BANDS) - 1)] for age in range(101)]
        self.cache: dict[tuple[int, int], list[float]] = {}

    def between(self, low: int, high: int) -> int:
        cum = self.cache.get((low, high))
        if cum is None:
            cum = self.cache[(low, high)] = list(accumulate(self.weights[low : high + 1]))
        return low + bisect.bisect(cum, self.rnd.random() * cum[-1])


def _points_in(geometry, count: int, rnd: random.Random) -> list[tuple[float, float]]:
    """Random points inside a polygon (rounded to 1e-6°, about 10 cm)."""
    if count <= 0:
        return []
    min_x, min_y, max_x, max_y = geometry.bounds
    found: list[tuple[float, float]] = []
    shapely.prepare(geometry)
    for _attempt in range(20):
        xs = [rnd.uniform(min_x, max_x) for _ in range(count * 3)]
        ys = [rnd.uniform(min_y, max_y) for _ in range(count * 3)]
        inside = shapely.contains_xy(geometry, xs, ys)
        found += [(round(x, 6), round(y, 6)) for x, y, ok in zip(xs, ys, inside, strict=True) if ok]
        if len(found) >= count:
            return found[:count]
    centre = geometry.representative_point()
    return (found + [(round(centre.x, 6), round(centre.y, 6))] * count)[:count]


class PopulationWriter:
    def __init__(self, layout, by_code: dict, *, scale: str, seed: int):
        self.layout = layout
        self.ready: list[dict] = []  # batches of planned rows, waiting to be sealed and inserted
        self.by_code = by_code
        self.rnd = rnd = random.Random(seed * 1_000_003 + 17)
        self.share = HOUSEHOLD_SHARE.get(scale, 1.0)
        self.names = Names(rnd)
        self.ages = Ages(rnd)
        self.phones = PhoneNumbers(rnd)
        self.today = reference_date()
        self.today_ordinal = self.today.toordinal()
        self.now = timezone.now()
        ops = connection.ops
        self.stamp = ops.adapt_datetimefield_value(self.now)
        self.adapt_date = ops.adapt_datefield_value
        self.adapt_datetime = ops.adapt_datetimefield_value
        self.dates: dict[int, object] = {}
        self.tags = dict(CareTag.objects.values_list("code", "pk"))
        self.tables = {model: _Table(model, COLUMNS[model], _next_pk(model)) for model in MODELS}
        self.pending_residents: list[tuple] = []
        self.serials: dict[tuple[str, str], int] = {}
        regions = names.ID_REGIONS_LOCAL + names.ID_REGIONS_CHENGDU + names.ID_REGIONS_AWAY
        self.region_sums = {region: _weighted(region, idcard.WEIGHTS[:6]) for region in regions}
        self.birth_texts: dict[int, tuple[str, int]] = {}
        self.permits = rnd.randrange(10**7, 5 * 10**7)
        self.credit_codes = rnd.randrange(31**6)
        self.landlines = rnd.randrange(10**6)
        self.road_numbers: dict[str, int] = {}
        self.tag_counts: Counter = Counter()
        demo_usernames = {a.username for a in DEMO_ACCOUNTS}
        self.full_microgrids = {
            p.area_code
            for p in layout.people
            if p.username in demo_usernames and p.role in (Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER)
        }

    # --- small helpers ---------------------------------------------------------------------------

    def date(self, ordinal: int):
        """A date as the database driver takes it, cached (a million residents share 37,000 birth dates)."""
        value = self.dates.get(ordinal)
        if value is None:
            value = self.dates[ordinal] = self.adapt_date(datetime.date.fromordinal(ordinal))
        return value

    @staticmethod
    def lineage(area) -> tuple:
        return (area.pk, area.district_pk, area.street_pk, area.community_pk, area.grid_pk)

    def landline(self) -> str:
        self.landlines += 7919
        return f"028{6000_0000 + self.landlines % 10**7:08d}"

    def credit_code(self, individual: bool) -> str:
        self.credit_codes += 1
        number, body = self.credit_codes, ""
        for _ in range(7):
            number, digit = divmod(number, 31)
            body = CREDIT_CODE_CHARS[digit] + body
        first17 = ("92" if individual else "91") + "510108" + "MA" + body[-7:]
        return first17 + credit_code_check_char(first17)

    def sealed_phone(self, phone: str) -> tuple[str, str, str]:
        if not phone:
            return ("", "", "")
        return (privacy.encrypt(phone), privacy.keyed_hash(phone), phone[-4:])

    def person_name(self, sex: str, age: int, surname: str | None = None) -> str:
        birth_year = self.today.year - age
        return (surname or self.names.surname()) + self.names.given_name(sex, birth_year)

    def address_number(self, road: str) -> int:
        number = self.road_numbers.get(road, self.rnd.randint(1, 30)) + self.rnd.randint(2, 24)
        self.road_numbers[road] = number
        return number

    # --- the plan ----------------------------------------------------------------------------------

    def write(self, sealer: Sealer, helper: bool = False) -> None:
        self.insert_all(_planned_batches(self, helper=helper), sealer)
        _reset_sequences()

    def steps(self) -> list[tuple]:
        """The plan in order, in steps: each community, then its street's own organisations."""
        steps = []
        for street in self.layout.district.children:
            steps += [(self.community, community) for community in street.children]
            steps.append((self.street, street))
        return steps

    def plan_step(self, step: tuple, last: bool) -> tuple[list[dict], dict | None]:
        """Plan one step; returns the batches that filled up meanwhile and, after the last step, the totals."""
        method, planned = step
        method(planned)
        if not last:
            ready, self.ready = self.ready, []
            return ready, None
        self.cut()
        ready, self.ready = self.ready, []
        return ready, self.totals()

    def totals(self) -> dict:
        """What result() needs from the planning (a helper process hands it back with the last batch)."""
        return {"next_pks": {model: table.next_pk for model, table in self.tables.items()}, "tags": self.tag_counts}

    def adopt_totals(self, totals: dict) -> None:
        for model, next_pk in totals["next_pks"].items():
            self.tables[model].next_pk = next_pk
        self.tag_counts = totals["tags"]

    def street(self, planned) -> None:
        area = self.by_code[planned.code]
        stem = planned.name.removesuffix("街道")
        self.organisation(area, OrganisationKind.PARTY_BRANCH, f"{planned.name}党工委", members=[])
        for unit in self.rnd.sample(names.STATIONED_UNITS, 4):
            self.organisation(
                area,
                OrganisationKind.STATIONED_UNIT,
                f"成华区{stem}{unit}",
                address=f"{self.rnd.choice(names.ROADS)}{self.rnd.randint(1, 300)}号",
                members=[],
            )

    def community(self, planned) -> None:
        area = self.by_code[planned.code]
        elders: list[_Member] = []
        for grid in planned.children:
            if grid.kind == "dedicated":
                self.dedicated(grid)
            else:
                elders += self.grid(grid)
        self.organisation(area, OrganisationKind.PARTY_BRANCH, f"{planned.name}党委", address=planned.address)
        for name in self.rnd.sample(names.SOCIAL_ORGANISATIONS, self.rnd.randint(1, 2)):
            members = self.rnd.sample(elders, min(len(elders), self.rnd.randint(5, 12)))
            self.organisation(
                area, OrganisationKind.SOCIAL_ORGANISATION, f"{planned.name}{name}", members=members, staff=1
            )

    def grid(self, planned) -> list[_Member]:
        """The grid's micro-grids with their people, then its places and organisations; returns its elders."""
        area = self.by_code[planned.code]
        rnd = self.rnd
        road = rnd.choice(names.ROADS + names.MORE_ROADS)
        compound = planned.name_stem
        address = f"{road}{self.address_number(road)}号{compound}"
        residents: list[_Member] = []
        floating_rooms: list[tuple] = []
        for micro in planned.children:
            self.microgrid(micro, address, residents, floating_rooms)
        self.grid_places(planned, area, compound, road, address, floating_rooms)
        party = [p for p in residents if p.is_party_member]
        adults = residents
        branch_members = rnd.sample(party, min(len(party), rnd.randint(3, 15)))
        self.organisation(area, OrganisationKind.PARTY_BRANCH, f"{compound}网格党支部", members=branch_members)
        if rnd.random() < 0.75 and len(adults) >= 5:
            self.organisation(
                area, OrganisationKind.OWNERS_COMMITTEE, f"{compound}业主委员会", members=rnd.sample(adults, 5)
            )
        if rnd.random() < 0.85:
            brand = rnd.choice(names.PROPERTY_BRANDS)
            self.organisation(
                area,
                OrganisationKind.PROPERTY_COMPANY,
                f"成都{brand}物业服务有限公司{compound}项目部",
                address=address,
                members=[],
                staff=rnd.randint(2, 4),
                credit_code=self.credit_code(False),
            )
        return [p for p in residents if p.age >= 55]

    def microgrid(self, planned, address: str, grid_people: list, floating_rooms: list) -> None:
        area = self.by_code[planned.code]
        rnd = self.rnd
        full = planned.households or 60
        share = 1.0 if planned.code in self.full_microgrids else self.share
        registered = full if share >= 1 else max(1, round(full * share))
        count = rnd.choices((1, 2, 3), (50, 35, 15))[0]
        parts = _split(full, count, rnd)
        taken = _split(registered, count, rnd) if registered < full else parts
        points = _points_in(planned.geometry, count, rnd)
        seq = int(planned.local_code)
        for index, (capacity, households, (lon, lat)) in enumerate(zip(parts, taken, points, strict=True), start=1):
            name = f"{seq}栋" if count == 1 else f"{seq}-{index}栋"
            rooms = self.building(area, name, address, capacity, lon, lat)
            for room in rnd.sample(rooms, min(households, len(rooms))):
                self.household(area, room, grid_people, floating_rooms)
        if len(self.pending_residents) >= BATCH:
            self.cut()

    def building(self, area, name: str, address: str, households: int, lon: float, lat: float) -> list[tuple]:
        """A building with units and rooms for about 15 % more households than live there."""
        rnd = self.rnd
        per_floor = rnd.choice((2, 2, 3, 4))
        units = rnd.choice((1, 2, 2, 3))
        floors = math.ceil(households * 1.15 / (units * per_floor))
        while floors > 33:
            units += 1
            floors = math.ceil(households * 1.15 / (units * per_floor))
        floors = max(floors, 2)
        building_pk = self.tables[Building].add(
            *self.lineage(area), name, address, floors, units, lon, lat, "", True, self.stamp, self.stamp
        )
        rooms_table = self.tables[Room]
        prefix = f"{address}{name}"
        rooms = []
        for unit in [str(u) for u in range(1, units + 1)] if units > 1 else [""]:
            unit_label = f"{unit}单元" if unit else ""
            for floor in range(1, floors + 1):
                for index in range(1, per_floor + 1):
                    number = f"{floor}{index:02d}"
                    pk = rooms_table.add(building_pk, unit, floor, number)
                    rooms.append((pk, f"{prefix}{unit_label}{number}", building_pk, lon, lat))
        return rooms

    # --- households and residents ---------------------------------------------------------------------

    def household(self, area, room: tuple, grid_people: list, floating_rooms: list) -> None:
        rnd = self.rnd
        residence = _pick(RESIDENCE_SHARES, rnd.random())
        floating = residence in (ResidenceType.FLOATING, ResidenceType.OVERSEAS)
        size = rnd.choices((1, 2, 3, 4), SIZE_WEIGHTS["floating" if floating else "settled"])[0]
        if residence == ResidenceType.OVERSEAS:
            size = min(size, 2)
        people = self.family(size, floating)
        room_pk, address, _building_pk, _lon, _lat = room
        household_pk = self.tables[Household].take_pk()
        traditional_names = residence == ResidenceType.OVERSEAS or rnd.random() < TRADITIONAL_SHARE
        for person in people:
            person.pk = self.tables[Resident].take_pk()
        head = people[0]
        self.tables[Household].rows.append(
            (
                household_pk,
                *self.lineage(area),
                room_pk,
                address,
                address,  # address_key: addresses are written in simplified characters, without spaces
                "",
                head.pk,
                "",
                True,
                None,
                self.stamp,
                self.stamp,
            )
        )
        alone = size == 1
        old_couple = size >= 2 and all(p.age >= 60 for p in people)
        left_behind = any(p.relation == Relation.GRANDCHILD for p in people) and not any(
            p.relation in (Relation.CHILD,) for p in people
        )
        hardship = rnd.random() < 0.012 and residence == ResidenceType.REGISTERED
        for person in people:
            self.resident(
                area,
                household_pk,
                address,
                person,
                residence,
                traditional_names=traditional_names,
                alone=alone,
                old_couple=old_couple,
                left_behind=left_behind,
                hardship=hardship,
                grid_people=grid_people,
            )
        if residence == ResidenceType.FLOATING:
            floating_rooms.append((area, room))

    def family(self, size: int, floating: bool) -> list[_Person]:
        """The members of one household, head first: relation, sex and age in a plausible shape."""
        rnd, ages = self.rnd, self.ages
        male = "male" if rnd.random() < 0.78 else "female"
        other = "female" if male == "male" else "male"

        def child_sex():
            return "male" if rnd.random() < 0.52 else "female"

        def spouse_age(age):
            return max(20, min(100, age + (rnd.randint(-6, 2) if male == "male" else rnd.randint(-2, 6))))

        surname = self.names.surname()
        people: list[_Person] = []
        if size == 1:
            roll = rnd.random()
            if floating or roll < 0.33:
                age = ages.between(19, 39)
            elif roll < 0.47:
                age = ages.between(40, 59)
            else:
                age = ages.between(60, 100)
            sex = ("female" if rnd.random() < 0.62 else "male") if age >= 60 else child_sex()
            return [_Person(Relation.HEAD, sex, age, surname)]
        roll = rnd.random()
        if size == 2:
            if roll < 0.64:
                if floating:
                    age = ages.between(21, 45)
                else:
                    age = ages.between(58, 95) if rnd.random() < 0.5 else ages.between(22, 57)
                return [
                    _Person(Relation.HEAD, male, age, surname),
                    _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                ]
            if roll < 0.82:
                child = ages.between(0, 30)
                age = min(child + rnd.randint(22, 38), 95)
                sex = child_sex()
                return [
                    _Person(Relation.HEAD, sex, age, surname),
                    _Person(Relation.CHILD, child_sex(), child, surname if sex == "male" else self.names.surname()),
                ]
            age = ages.between(30, 62)
            parent = min(age + rnd.randint(22, 34), 100)
            return [
                _Person(Relation.HEAD, child_sex(), age, surname),
                _Person(Relation.PARENT, "female" if rnd.random() < 0.6 else "male", parent, surname),
            ]
        if size == 3:
            if roll < 0.80 or floating:
                child = ages.between(0, 28)
                age = min(child + rnd.randint(23, 36), 95)
                people = [
                    _Person(Relation.HEAD, male, age, surname),
                    _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                    _Person(Relation.CHILD, child_sex(), child, surname),
                ]
            elif roll < 0.91:
                age = ages.between(28, 55)
                people = [
                    _Person(Relation.HEAD, male, age, surname),
                    _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                    _Person(Relation.PARENT, "female", min(age + rnd.randint(22, 34), 100), surname),
                ]
            else:
                grandchild = ages.between(1, 15)
                age = min(grandchild + rnd.randint(48, 62), 90)
                people = [
                    _Person(Relation.HEAD, male, age, surname),
                    _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                    _Person(Relation.GRANDCHILD, child_sex(), grandchild, surname),
                ]
            return people
        if roll < 0.50 or floating:
            younger = ages.between(0, 24)
            older = min(younger + rnd.randint(1, 8), 35)
            age = min(older + rnd.randint(23, 34), 95)
            people = [
                _Person(Relation.HEAD, male, age, surname),
                _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                _Person(Relation.CHILD, child_sex(), older, surname),
                _Person(Relation.CHILD, child_sex(), younger, surname),
            ]
        elif roll < 0.91:
            child = ages.between(0, 22)
            age = min(child + rnd.randint(23, 36), 70)
            people = [
                _Person(Relation.HEAD, male, age, surname),
                _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                _Person(Relation.CHILD, child_sex(), child, surname),
                _Person(
                    Relation.PARENT,
                    "female" if rnd.random() < 0.6 else "male",
                    min(age + rnd.randint(22, 32), 100),
                    surname,
                ),
            ]
        else:
            first, second = ages.between(1, 15), ages.between(1, 15)
            age = min(max(first, second) + rnd.randint(48, 60), 88)
            people = [
                _Person(Relation.HEAD, male, age, surname),
                _Person(Relation.SPOUSE, other, spouse_age(age), self.names.surname()),
                _Person(Relation.GRANDCHILD, child_sex(), first, surname),
                _Person(Relation.GRANDCHILD, child_sex(), second, surname),
            ]
        return people

    def identity(self, residence: str, sex: str, birth_ordinal: int) -> tuple[str, str]:
        """(ID type, number): a resident ID card issued where the residence type suggests, or an HMT permit."""
        rnd = self.rnd
        if residence == ResidenceType.OVERSEAS:
            self.permits += 1
            return HMT_PERMIT, f"{rnd.choice('HHM')}{self.permits:08d}"
        if residence == ResidenceType.REGISTERED:
            region = "510108" if rnd.random() < 0.97 else rnd.choice(names.ID_REGIONS_CHENGDU)
        elif residence == ResidenceType.RESIDENT:
            region = rnd.choice(names.ID_REGIONS_CHENGDU) if rnd.random() < 0.7 else rnd.choice(names.ID_REGIONS_AWAY)
        else:
            region = rnd.choice(names.ID_REGIONS_AWAY)
        digits, weighted = self.birth_digits(birth_ordinal)
        prefix = region + digits
        key = (prefix, sex)
        issued = self.serials.get(key)
        if issued is None:
            issued = rnd.randrange(0, 60)
        self.serials[key] = issued + 1
        # The 17th digit is odd for men and even for women; a region issues at most 500 a day to each.
        if issued >= 500:
            raise RuntimeError(f"more than 500 ID numbers for {key}")
        serial = 2 * issued + (1 if sex == "male" else 0)
        # idcard.check_char, with the weighted sums of region, birth date and serial computed once each.
        weighted += self.region_sums[region] + SERIAL_SUMS[serial]
        return RESIDENT_ID, f"{prefix}{serial:03d}{idcard.CHECK_CHARS[weighted % 11]}"

    def birth_digits(self, ordinal: int) -> tuple[str, int]:
        """YYYYMMDD of a day, and its share of the ID number's check sum."""
        found = self.birth_texts.get(ordinal)
        if found is None:
            day = datetime.date.fromordinal(ordinal)
            text = f"{day.year:04d}{day.month:02d}{day.day:02d}"
            found = self.birth_texts[ordinal] = (text, _weighted(text, idcard.WEIGHTS[6:14]))
        return found

    def resident(
        self,
        area,
        household_pk: int,
        address: str,
        person: _Person,
        residence: str,
        *,
        traditional_names: bool,
        alone: bool,
        old_couple: bool,
        left_behind: bool,
        hardship: bool,
        grid_people: list,
    ) -> None:
        rnd = self.rnd
        birth_ordinal = self.today_ordinal - int((person.age + rnd.random()) * 365.2425)
        birth = datetime.date.fromordinal(birth_ordinal)
        age = idcard.age_on(birth, self.today)
        name = self.person_name(person.sex, age, person.surname)
        if traditional_names:
            name = traditional(name)
        key, pinyin, initials = self.names.search_keys(name)
        id_type, number = self.identity(residence, person.sex, birth_ordinal)
        if age < 12:
            phone = ""
        else:
            phone = self.phones.next() if rnd.random() < (0.97 if age < 70 else 0.8 if age < 80 else 0.5) else ""
        floating = residence in (ResidenceType.FLOATING, ResidenceType.OVERSEAS)
        if floating:
            moved_in = max(birth_ordinal, self.today_ordinal - rnd.randint(20, 5 * 365))
        elif age < 18 and rnd.random() < 0.6:
            moved_in = birth_ordinal
        else:
            moved_in = max(birth_ordinal, self.today_ordinal - rnd.randint(30, 365 * min(max(age, 1), 40)))
        party = age >= 18 and rnd.random() < next(share for limit, share in PARTY_SHARE_BY_AGE if age < limit)
        departed = person.relation != Relation.HEAD and rnd.random() < DEPARTED_SHARE
        status, moved_out_at = ResidentStatus.LIVING, None
        if departed:
            status = ResidentStatus.DECEASED if age >= 75 else ResidentStatus.MOVED_OUT
            when = self.now - datetime.timedelta(days=rnd.randint(1, 700), hours=rnd.randint(0, 8))
            moved_out_at = self.adapt_datetime(when)
            self.tables[MoveRecord].add(
                person.pk, None, moved_out_at, None, area.pk, None, address, "", "死亡注销" if age >= 75 else "迁出本区"
            )
        tags = self.care_tags(age, person, alone, old_couple, left_behind, hardship, residence)
        contact_name = contact_phone = ""
        if ("elderly_alone" in tags or "advanced_age" in tags or "disabled" in tags) and (alone or age >= 80):
            contact_name = self.person_name(rnd.choice((Gender.MALE, Gender.FEMALE)), max(age - 28, 20), person.surname)
            contact_phone = self.phones.next()
        lineage = self.lineage(area)
        self.pending_residents.append(
            (
                person.pk,
                *lineage,
                household_pk,
                person.relation,
                name,
                key,
                pinyin,
                initials,
                person.sex,
                id_type,
                number,
                self.date(birth_ordinal),
                residence,
                party,
                contact_name,
                contact_phone,
                status,
                self.date(moved_in),
                moved_out_at,
                phone,
            )
        )
        living = status == ResidentStatus.LIVING
        care_table = self.tables[ResidentCareTag]
        for code in tags:
            tag_pk = self.tags.get(code)
            if tag_pk is None:  # the deployment retired this tag
                continue
            if code == "advanced_age":
                since = birth_ordinal + int(80 * 365.2425)
            else:
                since = max(birth_ordinal, moved_in, self.today_ordinal - rnd.randint(30, 8 * 365))
            care_table.add(person.pk, tag_pk, *lineage, living, self.date(min(since, self.today_ordinal)))
            self.tag_counts[code] += 1
        if living and age >= 30:
            grid_people.append(_Member(person.pk, name, age, party))

    def care_tags(self, age, person, alone, old_couple, left_behind, hardship, residence) -> list[str]:
        rnd = self.rnd
        tags = []
        if alone and age >= 60 and rnd.random() < (0.9 if age >= 70 else 0.5):
            tags.append("elderly_alone")
        if old_couple and age >= 60 and rnd.random() < 0.7:
            tags.append("empty_nest")
        if age >= 80:
            tags.append("advanced_age")
        if rnd.random() < (0.012 if age < 18 else 0.02 if age < 60 else 0.06 if age < 80 else 0.12):
            tags.append("disabled")
        if left_behind and person.relation == Relation.GRANDCHILD and age < 16:
            tags.append("left_behind_child")
        if hardship:
            tags.append("subsistence")
            if alone and age >= 60 and rnd.random() < 0.3:
                tags.append("extreme_hardship")
        if age >= 45 and person.sex == "male" and residence == ResidenceType.REGISTERED and rnd.random() < 0.012:
            tags.append("special_care")
        if rnd.random() < (0.004 if age < 60 else 0.012):
            tags.append("serious_illness")
        if age >= 18 and rnd.random() < 0.004:
            tags.append("mental_disorder")
        return tags

    # --- places and organisations ------------------------------------------------------------------------

    def place(self, area, kind, name, flags, *, address="", lon=None, lat=None, building_pk=None, mobile=True):
        rnd = self.rnd
        contact = self.person_name(rnd.choice(("male", "female")), rnd.randint(28, 60))
        phone = self.phones.next() if mobile else self.landline()
        credit = "" if kind == PlaceKind.RENTAL_HOUSING else self.credit_code(kind == PlaceKind.SHOP)
        self.tables[Place].add(
            *self.lineage(area),
            kind,
            name,
            search_keys.name_key(name),
            credit,
            address,
            building_pk,
            contact,
            *flags,
            lon,
            lat,
            "",
            True,
            self.stamp,
            self.stamp,
            *self.sealed_phone(phone),
        )

    def grid_places(self, planned, area, compound: str, road: str, address: str, floating_rooms: list) -> None:
        rnd = self.rnd
        shops = rnd.randint(12, 25) if "沿街商铺" in compound else rnd.randint(3, 10)
        kinds = [(PlaceKind.SHOP, names.SHOPS)] * shops
        kinds += [(PlaceKind.ENTERPRISE, names.ENTERPRISES)] * rnd.choice((0, 0, 1, 1, 2, 3))
        kinds += [(PlaceKind.SCHOOL, names.SCHOOLS)] * (rnd.random() < 0.12)
        kinds += [(PlaceKind.HOSPITAL, names.CLINICS)] * (rnd.random() < 0.25)
        kinds += [(PlaceKind.PUBLIC_PLACE, names.PUBLIC_PLACES)] * (rnd.random() < 0.2)
        points = _points_in(planned.geometry, len(kinds), rnd)
        used = set()
        for (kind, patterns), (lon, lat) in zip(kinds, points, strict=True):
            pattern, flags = rnd.choice(patterns)
            name = pattern.format(s=self.names.surname(), c=compound.removesuffix("沿街商铺"), r=road)
            if name in used:
                continue
            used.add(name)
            self.place(
                area,
                kind,
                name,
                flags,
                address=f"{road}{self.address_number(road)}号",
                lon=lon,
                lat=lat,
                mobile=kind == PlaceKind.SHOP,
            )
        for micro, room in rnd.sample(floating_rooms, min(len(floating_rooms), rnd.randint(1, 4))):
            _room_pk, room_address, building_pk, lon, lat = room
            self.place(
                micro,
                PlaceKind.RENTAL_HOUSING,
                f"{room_address}出租屋",
                (False, False, False, False),
                address=room_address,
                lon=lon,
                lat=lat,
                building_pk=building_pk,
            )

    def dedicated(self, planned) -> None:
        area = self.by_code[planned.code]
        rnd = self.rnd
        own = planned.name.removesuffix("专属网格")
        kind, flags, tenants = names.DEDICATED_PLACES.get(planned.dedicated_kind, names.DEDICATED_PLACES["enterprise"])
        road = rnd.choice(names.ROADS)
        address = f"{road}{self.address_number(road)}号"
        centre = planned.geometry.representative_point()
        lon, lat = round(centre.x, 6), round(centre.y, 6)
        building_pk = self.tables[Building].add(
            *self.lineage(area),
            "主楼",
            f"{address}{own}",
            rnd.randint(5, 24),
            1,
            lon,
            lat,
            "",
            True,
            self.stamp,
            self.stamp,
        )
        self.place(area, kind, own, flags, address=address, lon=lon, lat=lat, building_pk=building_pk, mobile=False)
        for pattern in tenants:
            name = pattern.format(n=own, s=self.names.surname())
            self.place(
                area,
                PlaceKind.SHOP if "店" in name or "餐" in name else PlaceKind.ENTERPRISE,
                name,
                (False, False, True, False),
                address=address,
                lon=lon,
                lat=lat,
                building_pk=building_pk,
            )
        self.organisation(area, OrganisationKind.STATIONED_UNIT, own, address=address, members=[])
        self.organisation(area, OrganisationKind.PARTY_BRANCH, f"{own}党支部", members=[])

    def organisation(self, area, kind, name, *, address="", members=None, staff=None, credit_code=""):
        """An organisation with its officers (named people, the first is the contact) and resident members."""
        rnd = self.rnd
        positions = names.MEMBER_POSITIONS.get(kind, ["负责人"])
        staff = len(positions) if staff is None else staff
        officers = [
            (self.person_name(rnd.choice(("male", "female")), rnd.randint(30, 62)), positions[i % len(positions)])
            for i in range(max(staff, 1))
        ]
        contact_name, _position = officers[0]
        phone = (
            self.landline()
            if kind in (OrganisationKind.STATIONED_UNIT, OrganisationKind.PARTY_BRANCH)
            else self.phones.next()
        )
        org_pk = self.tables[Organisation].add(
            *self.lineage(area),
            kind,
            name,
            search_keys.name_key(name),
            credit_code,
            address,
            contact_name,
            "",
            True,
            self.stamp,
            self.stamp,
            *self.sealed_phone(phone),
        )
        table = self.tables[OrganisationMember]
        joined = self.date(self.today_ordinal - rnd.randint(60, 3650))
        for index, (person_name, position) in enumerate(officers):
            contact_phone = self.phones.next() if index == 0 else ""
            table.add(org_pk, None, person_name, position, index == 0, joined, None, *self.sealed_phone(contact_phone))
        for person in members or []:
            when = self.date(self.today_ordinal - rnd.randint(30, 3650))
            table.add(
                org_pk,
                person.pk,
                person.name,
                "党员" if kind == OrganisationKind.PARTY_BRANCH else "成员",
                False,
                when,
                None,
                "",
                "",
                "",
            )

    # --- writing -------------------------------------------------------------------------------------------

    def cut(self) -> None:
        """Set the waiting residents aside as a batch, with the other tables' rows."""
        batch = {model: table.rows for model, table in self.tables.items()}
        batch[Resident], self.pending_residents = self.pending_residents, []
        for table in self.tables.values():
            table.rows = []
        self.ready.append(batch)

    def insert_all(self, batches, sealer: Sealer) -> None:
        """Insert the batches, each once the next one is handed to the sealer (so the two overlap)."""
        in_flight = None
        for batch in batches:
            pending = batch[Resident]
            sealed = sealer.submit([r[14] for r in pending], [r[23] for r in pending], [r[19] for r in pending])
            if in_flight is not None:
                self.insert(*in_flight)
            in_flight = (batch, sealed)
        if in_flight is not None:
            self.insert(*in_flight)

    def insert(self, batch: dict, sealed) -> None:
        ids, phones, contacts = sealed()
        stamp = self.stamp
        residents = [
            (*r[:14], id_sealed[0], id_sealed[1], r[14][-4:], *r[15:19], contact, "", *r[20:23], stamp, stamp)
            + (phone_sealed[0], phone_sealed[1], r[23][-4:])
            for r, id_sealed, phone_sealed, contact in zip(batch[Resident], ids, phones, contacts, strict=True)
        ]
        with connection.cursor() as cursor:
            for model in MODELS:
                _insert(cursor, model, COLUMNS[model], residents if model is Resident else batch[model])

    def result(self, seconds: float) -> PopulationResult:
        counts = {table.model._meta.model_name: table.count for table in self.tables.values()}
        counts["care_tags"] = dict(sorted(self.tag_counts.items()))
        ranges = {
            table.model._meta.label_lower: [table.first_pk, table.next_pk - 1]
            for table in self.tables.values()
            if table.count
        }
        return PopulationResult(counts, ranges, seconds)


def write_population(layout, by_code: dict, *, scale: str, seed: int) -> PopulationResult:
    """Write the population of a freshly written layout (areas in `by_code`), inside the caller's transaction."""
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in MODELS)
        with connection.cursor() as cursor:
            # Primary keys are chosen here, not by the sequences: nobody else may insert meanwhile.
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    large = planned_residents(layout, scale) >= LARGE
    collecting = gc.isenabled()
    with _sqlite_cache(CACHE_KIB if large else 0), Sealer(processes=1 if large else 0) as sealer:
        writer = PopulationWriter(layout, by_code, scale=scale, seed=seed)
        # Millions of small tuples and nothing cyclic among them: the cycle collector would only rescan them.
        gc.disable()
        try:
            with _indexes_built_at_the_end(MODELS if large else ()):
                writer.write(sealer, helper=large)
        finally:
            if collecting:
                gc.enable()
    return writer.result(time.perf_counter() - started)


def remove_population(pk_ranges: dict) -> None:
    """Delete the rows write_population wrote (the ranges it returned), with what cascades from them.

    Rows added later that hang on them (a resident added to a seeded household, say) make this raise
    ProtectedError, like the areas they live in would; rows added later elsewhere in the demo are
    left for the area deletion to refuse.
    """

    def bounds(model) -> tuple[int, int]:
        low, high = pk_ranges.get(model._meta.label_lower, (0, -1))
        return low, high

    residents, households = bounds(Resident), bounds(Household)
    buildings, organisations = bounds(Building), bounds(Organisation)
    blocking = list(
        Resident.objects.filter(household__gte=households[0], household__lte=households[1]).exclude(
            pk__range=residents
        )[:5]
    ) + list(
        Household.objects.filter(room__building__gte=buildings[0], room__building__lte=buildings[1]).exclude(
            pk__range=households
        )[:5]
    )
    if blocking:
        raise ProtectedError("The seeded population is in use.", set(blocking))
    with connection.cursor() as cursor:

        def run(model, sql: str, *params) -> None:
            cursor.execute(sql.replace("{table}", connection.ops.quote_name(model._meta.db_table)), params)

        run(OrganisationMember, "DELETE FROM {table} WHERE organisation_id BETWEEN %s AND %s", *organisations)
        run(OrganisationMember, "UPDATE {table} SET resident_id = NULL WHERE resident_id BETWEEN %s AND %s", *residents)
        run(ResidentCareTag, "DELETE FROM {table} WHERE resident_id BETWEEN %s AND %s", *residents)
        run(
            MoveRecord,
            "DELETE FROM {table} WHERE resident_id BETWEEN %s AND %s OR household_id BETWEEN %s AND %s",
            *residents,
            *households,
        )
        run(Household, "UPDATE {table} SET head_id = NULL WHERE head_id BETWEEN %s AND %s", *residents)
        run(Place, "UPDATE {table} SET building_id = NULL WHERE building_id BETWEEN %s AND %s", *buildings)
        for model, column, (low, high) in (
            (Place, "id", bounds(Place)),
            (Organisation, "id", organisations),
            (Resident, "id", residents),
            (Household, "id", households),
            (Room, "building_id", buildings),  # with any room named in them later
            (Building, "id", buildings),
        ):
            run(model, f"DELETE FROM {{table}} WHERE {column} BETWEEN %s AND %s", low, high)  # noqa: S608 -- fixed names


# --- helpers ----------------------------------------------------------------------------------------------

AHEAD = 3  # steps a helper process plans ahead of the inserting
_FORKED = None  # (writer, steps) for the forked helper


def _planned_batches(writer: PopulationWriter, *, helper: bool):
    """The batches of rows to insert, in order; with `helper`, planned in a forked process meanwhile.

    Planning (Python) takes about as long as SQLite takes to insert the rows, so at district scale a
    helper plans while this process inserts (and the sealer's helper encrypts). The helper only
    computes: it inherits the writer and never touches the database connection it also inherits, and
    leaves with os._exit as multiprocessing workers do, so that connection is neither used nor closed
    there. One worker, fed the steps in order, keeps the writer's state (random draws, primary
    keys, serial numbers ...) the same as planning in this process would, so the rows are the same.
    """
    steps = writer.steps()
    if not helper or sys.platform != "linux":
        for k, step in enumerate(steps):
            ready, _totals = writer.plan_step(step, last=k == len(steps) - 1)
            yield from ready
        return
    global _FORKED
    _FORKED = (writer, steps)
    try:
        # Not forkserver or spawn: those import the caller's __main__ again, which a script may not allow.
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            ahead = [pool.submit(_plan_in_helper, k) for k in range(min(AHEAD, len(steps)))]
            for k in range(len(steps)):
                ready, totals = ahead.pop(0).result()
                if k + AHEAD < len(steps):
                    ahead.append(pool.submit(_plan_in_helper, k + AHEAD))
                yield from ready
        writer.adopt_totals(totals)
    finally:
        _FORKED = None


def _plan_in_helper(k: int) -> tuple[list[dict], dict | None]:
    writer, steps = _FORKED
    return writer.plan_step(steps[k], last=k == len(steps) - 1)


@contextlib.contextmanager
def _indexes_built_at_the_end(models):
    """Drop the plain indexes of these tables (when empty) and create them again once the rows are in.

    Building an index from a million sorted keys takes a fraction of growing it one key at a time,
    the more so for names, hashes and last four digits, which arrive in random order. Unique indexes
    stay (they check as rows arrive), and so do indexes that lead with a foreign key (the database
    looks children up by them while it checks). Should anything fail, the transaction rolls back, and
    the dropped indexes with it (SQLite and PostgreSQL both roll back DDL).
    """
    dropped: list[str] = []
    with connection.cursor() as cursor:
        for model in models:
            if model.objects.exists():
                continue
            foreign_keys = {f.column for f in model._meta.concrete_fields if f.is_relation}
            for name, sql, first_column in _plain_indexes(cursor, model._meta.db_table):
                if first_column not in foreign_keys:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                    dropped.append(sql)
    yield
    if not dropped:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # PostgreSQL builds no index on a table with foreign-key checks still pending: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in dropped:
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _plain_indexes(cursor, table: str) -> list[tuple[str, str, str]]:
    """(name, CREATE INDEX statement, first column) of each non-unique index of a table."""
    if connection.vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
            [table],
        )
        found = []
        for name, sql in cursor.fetchall():
            cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")
            found.append((name, sql, cursor.fetchone()[2]))
        return found
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid), a.attname FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary",
            [connection.ops.quote_name(table)],
        )
        return cursor.fetchall()
    return []


@contextlib.contextmanager
def _sqlite_cache(kib: int):
    """A larger SQLite page cache while seeding: the unique index of a million ID hashes grows at random places."""
    if not kib or connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _weighted(digits: str, weights) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


SERIAL_SUMS = [_weighted(f"{n:03d}", idcard.WEIGHTS[14:]) for n in range(1000)]


def _next_pk(model) -> int:
    return (model.objects.aggregate(highest=Max("pk"))["highest"] or 0) + 1


def _reset_sequences() -> None:
    """PostgreSQL: move the id sequences past the ids chosen here (SQLite's AUTOINCREMENT follows by itself)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(MODELS))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _insert(cursor, model, columns: tuple[str, ...], rows: list, batch: int = 5000) -> None:
    if not rows:
        return
    opts, quote = model._meta, connection.ops.quote_name
    names_sql = ", ".join(quote(opts.get_field(name).column) for name in ("id", *columns))
    if connection.vendor == "postgresql":
        # COPY takes rows several times faster than INSERT, even pipelined.
        with cursor.cursor.copy(f"COPY {quote(opts.db_table)} ({names_sql}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * (len(columns) + 1))
    # Table and column names come from the model's metadata; every value is a parameter.
    sql = f"INSERT INTO {quote(opts.db_table)} ({names_sql}) VALUES ({placeholders})"  # noqa: S608
    for start in range(0, len(rows), batch):
        cursor.executemany(sql, rows[start : start + batch])


def _split(total: int, parts: int, rnd: random.Random) -> list[int]:
    """`total` in `parts` uneven pieces of at least one (or zero, when there is not enough)."""
    if parts == 1:
        return [total]
    cuts = sorted(rnd.randint(0, total) for _ in range(parts - 1))
    pieces = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    if total >= parts:
        while min(pieces) == 0:
            largest = pieces.index(max(pieces))
            smallest = pieces.index(0)
            pieces[largest] -= 1
            pieces[smallest] += 1
    return pieces


def _pick(shares, roll: float):
    for value, share in shares:
        roll -= share
        if roll < 0:
            return value
    return shares[-1][0]
