"""A year of synthetic cases for the demo district, ending now: about 5,000 at small scale, a million at district scale.

Every case walks the closed loop as `cases.services` walks it: reported by a member on patrol, a
resident (anonymous, or with a 198 phone shown masked) or staff taking a call; accepted, registered
and dispatched by the community's (or the street's) desk to a tier or a department; taken, resolved,
verified on site by someone else, closed and mostly rated, about nine in ten satisfied or basically
satisfied. Time limits come from each category and the work calendar, so `responded_on_time`,
`closed_on_time`, the stage deadlines, overdue marks and supervision (督办, raised by the deadline
worker from the level above) follow from the times drawn. Some cases are rejected, merged or
cancelled; some are reworked, escalated, put on hold or whistled (吹哨) with departments called in;
recent ones are open in every state, and a few stick in one until they are overdue and supervised.

A million cases through the services would take hours, so the rows are made here as the services
store them and inserted in bulk (COPY on PostgreSQL), with primary keys chosen up front in the order
of the reports. Cases that go straight along the main path (about seven in eight) are planned a chunk
at a time with numpy: their times, states, supervision and tallies are array arithmetic, and their
timelines are written by one INSERT … SELECT per step and chunk from the case rows themselves, with each
area's desk and verifier in small temporary tables. The others walk through `_Walker` one by one and
get their events row by row. Supervision events are written from the supervision rows, for both kinds.
Deadlines use `WorkClock`, the work calendar precomputed per day on epoch seconds; the tests check that
it agrees with `WorkCalendar.add`, and that the tallies written here equal a `tallies.rebuild()`.

Planning (`_Planner`) touches no database, so at district scale a forked helper plans the next chunk
while this process writes the last one; the writer drops the plain indexes of the empty case, event
and tally tables and builds them once at the end, under a larger SQLite page cache. What is left is
database work: at a million cases, about nine million events and the 21 indexes of the case table,
most of the time goes to SQLite inserting rows and building indexes.

The caller (services.seed_demo) writes the audit event, with the ranges of primary keys written here
so that a reset removes exactly these rows (`remove_cases`).
"""

import bisect
import concurrent.futures
import contextlib
import datetime as dt
import gc
import json
import multiprocessing
import random
import sqlite3
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max, ProtectedError
from django.utils import timezone

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.areas.models import Area, subtree_q
from fengchao.cases import calendar as work_calendar
from fengchao.cases import tallies
from fengchao.cases.choices import (
    CaseState,
    Channel,
    HandlingMode,
    LimitUnit,
    Rating,
    SupervisionLevel,
    Tier,
    WhistleLevel,
)
from fengchao.cases.clock import card_delay
from fengchao.cases.models import (
    MEASURES,
    Case,
    CaseAttachment,
    CaseEvent,
    CaseTally,
    Category,
    CoHandler,
    Supervision,
    Whistle,
)
from fengchao.cases.workflow import STAGE_OF_STATE
from fengchao.core import privacy
from fengchao.departments.models import Department
from fengchao.notices.models import Notification
from fengchao.registry.models import Building

from . import names
from .layout import DEFAULT_SEED
from .population import _sqlite_cache

# Bump when the cases change, so benchmark databases seeded before are seeded again.
VERSION = 1
TOTAL = {"district": 1_000_000, "small": 5_000}
CHUNK = 50_000  # cases planned and written at a time
LARGE = 100_000  # from this many cases on: plan in a helper process, build indexes at the end, a larger page cache
# SQLite's page cache while writing a large seed: pages written in the transaction and spilled to the WAL are
# slow to read back when the indexes are built at the end (the setting is 64 MB).
CACHE_KIB = 2_000_000
DAYS = 365
STUCK_DAYS = 45  # cases reported this recently may stick in an open state

S = CaseState
RESIDENT_LABEL = "居民"
AUTOMATIC_LABEL = "网格中心（自动）"
ON_SPOT_NOTE = "当场解决。"
STAGES = ("accept", "dispatch", "take", "handle", "verify")
UNITS = (LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS, LimitUnit.NATURAL_DAYS)
TIERS = (Tier.GRID, Tier.COMMUNITY, Tier.STREET, Tier.DEPARTMENT)
GRID, COMMUNITY, STREET, DEPARTMENT = range(4)
CHANNEL_SHARES = (
    (Channel.MEMBER, 0.45),
    (Channel.RESIDENT_QR, 0.17),
    (Channel.RESIDENT_MAP, 0.06),
    (Channel.HOTLINE_12345, 0.16),
    (Channel.HOTLINE, 0.08),
    (Channel.WALK_IN, 0.06),
    (Channel.API, 0.02),
)
CHANNELS = tuple(c for c, _share in CHANNEL_SHARES)
STAFF_CHANNELS = (Channel.HOTLINE, Channel.WALK_IN, Channel.HOTLINE_12345)
# Reports come in the daytime, most in the morning; weights per hour of the day.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.3, 0.3, 0.6, 2, 5, 9, 11, 11, 9, 6, 6, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2)
# More of some matters than others: garbage, parking, e-bike charging and neighbour disputes lead.
CATEGORY_WEIGHTS = (
    ("垃圾", 9),
    ("乱停放", 8),
    ("飞线", 7),
    ("邻里", 7),
    ("充电", 4),
    ("进楼", 4),
    ("小广告", 4),
    ("占道", 4),
    ("停车", 3),
    ("纠纷", 3),
    ("店外", 3),
    ("噪", 3),
    ("扰民", 3),
    ("消防通道", 3),
    ("道路不洁", 3),
    ("井盖", 2),
    ("路灯", 2),
    ("独居", 2),
    ("高空抛物", 2),
)
# Which department takes a category's cases when they go to a department, by words in its name.
DEPARTMENT_WORDS = (
    (("施工", "掘路", "房屋", "违建", "违法建设", "电梯", "物业"), "ZJ"),
    (("燃气", "消防", "飞线", "充电", "危化", "安全"), "YJ"),
    (("治安", "抛物", "盗", "诈骗", "斗殴"), "GA"),
    (("经营", "食品", "市场", "价格", "游商"), "SJ"),
    (("救助", "困难", "养老", "独居", "助餐", "殡葬"), "MZ"),
    (("就医", "医疗", "疫", "卫生"), "WJ"),
    (("水", "井盖", "排水", "下水道", "积水", "河"), "SW"),
)
# Where the desk sends a case, from its category's default tier: cumulative shares of grid, community,
# street, department (a category without a department sends those to the street).
DISPATCH_SHARES = {
    GRID: (0.78, 0.88, 0.88, 1.0),
    COMMUNITY: (0.0, 0.72, 0.82, 1.0),
    STREET: (0.0, 0.0, 0.6, 1.0),
}
# The share of each stage finished within its time limit.
ON_TIME = (0.97, 0.97, 0.95, 0.92, 0.97)
ON_SPOT = 0.3  # of members' reports of immediate matters
RATED = 0.86
STUCK = 0.12
# The fates off the main path, as shares of all cases (escalation and whistles only where they can happen).
FATES = (("reject", 0.02), ("merge", 0.012), ("cancel", 0.01), ("hold", 0.01), ("rework", 0.04))
HOLD_FATE = 1 + [name for name, _share in FATES].index("hold")
ESCALATED = 0.06  # of cases dispatched to a grid or a community
WHISTLED = 0.03  # of cases dispatched to a community or a street
MANUAL_SUPERVISION = 0.1  # of the cases still open
# The deadline clock's cards: supervised at the deadline, a yellow card and a red card later (clock.card_delay).
CARD_DELAYS = [card_delay(SupervisionLevel.YELLOW), card_delay(SupervisionLevel.RED)]
# Open states a recent case may stick in, with weights; the main-path ones by how many events they have.
STUCK_STATES = (S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED, S.TAKEN, S.TAKEN, S.RESOLVED, S.VERIFIED)
STUCK_HOLD = (S.HOLD_REQUESTED, S.ON_HOLD)
# The main path: the events, and the state after each. A timeline that is a prefix of it is "simple".
MAIN_PATH = ("report", "accept", "register", "dispatch", "take", "resolve", "verify", "close", "rate")
STATE_AFTER = (S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED, S.TAKEN, S.RESOLVED, S.VERIFIED, S.CLOSED, S.RATED)
EVENTS_IN = {state: n for n, state in enumerate(STATE_AFTER, start=1)}
RATINGS = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED)
RATING_SHARES = (0.77, 0.94)  # cumulative: satisfied, basically satisfied; the rest dissatisfied
LATE_RATING_SHARES = (0.5, 0.78)

SPOTS = (
    "楼下",
    "门口",
    "1单元楼道",
    "2单元楼道",
    "地下车库入口",
    "小区大门外",
    "旁边人行道",
    "垃圾房旁",
    "车棚",
    "院坝",
)
SUFFIXES = ("请尽快处理。", "影响居民出行。", "已经好几天了。", "居民反映强烈。", "存在安全隐患。", "麻烦派人来看看。")
NAME_TITLES = ("女士", "先生", "阿姨", "大爷", "女士", "先生")
REJECT_NOTES = (
    "不属于本辖区受理范围，已告知来电人向相关单位反映。",
    "信息不全，多次联系无法核实。",
    "非网格事项，已引导走司法途径。",
)
CANCEL_NOTES = ("居民来电表示问题已自行解决。", "经核实为误报。", "上报人撤回。")
ESCALATE_NOTES = ("涉及多户，网格协调不下，提请社区处置。", "需社区出面协调物业。", "需街道协调相关部门联合处置。")
HOLD_NOTES = ("需等待物业维修基金审批。", "涉及产权争议，待司法程序结果。", "需协调施工单位，等待排期。")
REWORK_NOTES = ("现场复核仍未处理到位。", "问题反弹，需再次处置。", "处置不彻底，请返工。")
WHISTLE_REASONS = ("多部门职责交叉，社区吹哨请相关部门到场联合处置。", "问题复杂，需部门协同。")
PART_NOTES = ("已派员到场处置本部门职责部分。", "已完成现场执法并督促整改。", "已完成检查，隐患已消除。")
SUPERVISION_NOTES = ("请于今日内处置完毕并反馈。", "居民多次反映，请加快办理。", "请说明未按时办结原因。")
RATING_COMMENTS = {
    Rating.SATISFIED: ("处理及时，谢谢！", "网格员很负责。", "很满意。", "", "", ""),
    Rating.BASICALLY_SATISFIED: ("处理了，但时间有点长。", "基本解决了。", ""),
    Rating.DISSATISFIED: ("问题没有彻底解决。", "处理太慢了。", "没人联系我。"),
}
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as services.submit_case draws them


@dataclass
class CasesResult:
    counts: dict
    pk_ranges: dict
    seconds: float


# --- the work calendar on epoch seconds ----------------------------------------------------------------


class WorkClock:
    """`WorkCalendar.add` on integer epoch seconds, one value at a time or a numpy array at a time.

    Precomputed per day over a range of days: W(t) counts the working seconds before t, and a limit
    in working hours ends where W first reaches W(start) + the limit, as `WorkCalendar.add` ends it.
    """

    def __init__(self, work: work_calendar.WorkCalendar, first: dt.date, last: dt.date, zone):
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        self.first = first
        self.working = np.array([work.is_working_day(d) for d in days], dtype=bool)
        self.midnights = np.array([int(dt.datetime.combine(d, dt.time(), zone).timestamp()) for d in days])
        bounds = [
            [
                (int(dt.datetime.combine(d, a, zone).timestamp()), int(dt.datetime.combine(d, b, zone).timestamp()))
                for a, b in work.periods
            ]
            for d in days
        ]
        self.starts = np.array([[a for a, _b in day] for day in bounds])
        self.ends = np.array([[b for _a, b in day] for day in bounds])
        self.closing = self.ends[:, -1].copy()
        lengths = np.where(self.working[:, None], self.ends - self.starts, 0)
        self.lengths = lengths
        self.until = np.cumsum(lengths.sum(axis=1))
        self.before = self.until - lengths.sum(axis=1)
        self.working_days = np.flatnonzero(self.working)
        self.rank = np.cumsum(self.working)  # working days up to and including each day
        # The same as lists, for the one-at-a-time methods (bisect on lists beats numpy on scalars).
        self._midnights, self._until, self._before = self.midnights.tolist(), self.until.tolist(), self.before.tolist()
        self._periods = [
            tuple((a, b) for (a, b), n in zip(day, row, strict=True) if n)
            for day, row in zip(bounds, lengths, strict=True)
        ]
        self._closing, self._rank, self._working_days = (
            self.closing.tolist(),
            self.rank.tolist(),
            self.working_days.tolist(),
        )
        self.local_days = [d.strftime("%Y%m%d") for d in days]
        # Months since the first day's month, and the first day of each such month (for tallies).
        self.month_of_day = np.array([(d.year - first.year) * 12 + d.month - first.month for d in days])
        self.months = [
            dt.date(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, 1)
            for k in range(int(self.month_of_day[-1]) + 1)
        ]

    # one value at a time

    def day_index(self, t: int) -> int:
        return bisect.bisect_right(self._midnights, t) - 1

    def worked(self, t: int) -> int:
        i = bisect.bisect_right(self._midnights, t) - 1
        total = self._before[i]
        for begin, end in self._periods[i]:
            if t <= begin:
                break
            total += (t if t < end else end) - begin
        return total

    def at_worked(self, w: int) -> int:
        """The first moment at which W reaches w."""
        i = bisect.bisect_left(self._until, w)
        rest = w - self._before[i]
        for begin, end in self._periods[i]:
            if rest <= end - begin:
                return begin + rest
            rest -= end - begin
        return self._closing[i]

    def add(self, start: int, amount: int, unit: str) -> int:
        if amount <= 0 and unit != LimitUnit.NATURAL_DAYS:
            return start
        if unit == LimitUnit.WORKING_HOURS:
            return self.at_worked(self.worked(start) + amount * 3600)
        if unit == LimitUnit.WORKING_DAYS:
            return self._closing[self._working_days[self._rank[self.day_index(start)] + amount - 1]]
        if unit == LimitUnit.NATURAL_DAYS:
            return start + amount * 86400
        raise ValueError(f"unknown time-limit unit {unit!r}")

    def after_working(self, start: int, seconds: int) -> int:
        """`seconds` of working time after start (desks act in office hours)."""
        return self.at_worked(self.worked(start) + max(1, seconds))

    # an array at a time

    def worked_v(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.midnights, t, side="right") - 1
        inside = np.clip(t[:, None] - self.starts[i], 0, self.lengths[i])
        return self.before[i] + inside.sum(axis=1)

    def at_worked_v(self, w: np.ndarray) -> np.ndarray:
        i = np.minimum(np.searchsorted(self.until, w, side="left"), len(self.until) - 1)
        rest = w - self.before[i]
        result = self.closing[i].copy()
        found = np.zeros(len(w), dtype=bool)
        for p in range(self.starts.shape[1]):
            length = self.lengths[i, p]
            here = ~found & (rest <= length) & (length > 0)
            result = np.where(here, self.starts[i, p] + rest, result)
            found |= here
            rest = rest - length
        return result

    def add_v(self, start: np.ndarray, amount: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """Deadlines for arrays of starts, amounts and unit indexes (into UNITS)."""
        hours = self.at_worked_v(self.worked_v(start) + amount * 3600)
        day = np.searchsorted(self.midnights, start, side="right") - 1
        ranked = np.minimum(self.rank[day] + amount - 1, len(self.working_days) - 1)
        days = self.closing[self.working_days[ranked]]
        natural = start + amount * 86400
        result = np.where(unit == 0, hours, np.where(unit == 1, days, natural))
        return np.where((amount <= 0) & (unit != 2), start, result)

    def after_working_v(self, start: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return self.at_worked_v(self.worked_v(start) + np.maximum(1, seconds))

    def local_day_v(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.midnights, t, side="right") - 1


# --- what the seeder knows of the demo -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    pk: int | None
    label: str


@dataclass
class _Place:
    """A micro-grid, or a dedicated grid without micro-grids: where cases are reported."""

    pk: int
    lineage: tuple  # district, street, community, grid pks
    address: str
    reporters: list  # members and leaders (or the dedicated leader)
    verifier: _Person
    residents: list  # resident accounts living there


@dataclass
class _Leaf:
    pk: int
    name: str
    tier: int
    mode: str
    limits: dict  # stage -> (amount, unit)
    department: int | None
    what: str  # the matter, as a description says it


class _Demo:
    """The areas, people, departments and categories of a freshly seeded demo district, read in a few queries."""

    def __init__(self, district: Area):
        self.district = district
        by_role: dict[tuple[str, int], list[_Person]] = defaultdict(list)
        self.department_handlers: dict[int, list[_Person]] = defaultdict(list)
        holders = (
            RoleAssignment.objects.active()
            .filter(subtree_q(district.path, "area__"))
            .order_by("user_id")
            .values_list("role", "area_id", "department_id", "user_id", "user__display_name", "user__username")
        )
        for role, area_id, department_id, user_id, display_name, username in holders:
            person = _Person(user_id, (display_name or username)[:60])
            by_role[(role, area_id)].append(person)
            if role == Role.DEPARTMENT_HANDLER and department_id:
                self.department_handlers[department_id].append(person)
        self.district_admins = by_role.get((Role.DISTRICT_ADMIN, district.pk)) or [_Person(None, "网格中心")]

        areas = list(
            Area.objects.filter(subtree_q(district.path), is_active=True).values(
                "pk", "kind", "parent_id", "district_pk", "street_pk", "community_pk", "grid_pk", "name",
                "min_lon", "min_lat", "max_lon", "max_lat", "centre_lon", "centre_lat", "households",
            )
        )  # fmt: skip
        addresses: dict[int, str] = {}
        buildings = Building.objects.filter(subtree_q(district.path, "area__")).order_by("pk")
        for area_id, address in buildings.values_list("area_id", "address"):
            addresses.setdefault(area_id, address)
        self.street_staff = {a["pk"]: by_role.get((Role.STREET_STAFF, a["pk"])) for a in areas if a["kind"] == "street"}
        for street, staff in self.street_staff.items():
            self.street_staff[street] = staff or self.district_admins
        self.community_staff = {
            a["pk"]: by_role.get((Role.COMMUNITY_STAFF, a["pk"])) or self.street_staff[a["street_pk"]]
            for a in areas
            if a["kind"] == "community"
        }
        grid_leaders = {a["pk"]: by_role.get((Role.GRID_LEADER, a["pk"])) for a in areas if a["kind"] == "grid"}
        with_microgrids = {a["parent_id"] for a in areas if a["kind"] == "microgrid"}
        self.places: list[_Place] = []
        rows = []  # per place: lineage, box, centre, weight
        for a in areas:
            if a["kind"] not in ("microgrid", "dedicated") or a["pk"] in with_microgrids or a["min_lon"] is None:
                continue
            desk = self.community_staff[a["community_pk"]][0]
            if a["kind"] == "microgrid":
                reporters = by_role[(Role.MICROGRID_MEMBER, a["pk"])] + by_role[(Role.MICROGRID_LEADER, a["pk"])]
                verifier = (grid_leaders.get(a["parent_id"]) or [desk])[0]
            else:
                reporters = by_role[(Role.DEDICATED_LEADER, a["pk"])]
                verifier = desk
            self.places.append(
                _Place(
                    pk=a["pk"],
                    lineage=(a["district_pk"], a["street_pk"], a["community_pk"], a["grid_pk"]),
                    address=addresses.get(a["pk"]) or a["name"],
                    reporters=reporters or [desk],
                    verifier=verifier,
                    residents=by_role.get((Role.RESIDENT, a["pk"]), []),
                )
            )
            rows.append(
                (
                    a["pk"], a["district_pk"], a["street_pk"], a["community_pk"], a["grid_pk"] or a["pk"],
                    a["min_lon"], a["min_lat"], a["max_lon"], a["max_lat"], a["centre_lon"], a["centre_lat"],
                    a["households"] or 60,
                )
            )  # fmt: skip
        table = np.array(rows, dtype=float) if rows else np.zeros((0, 12))
        self.place_pk, self.place_district, self.place_street, self.place_community, self.place_cell = (
            table[:, i].astype(np.int64) for i in range(5)
        )
        self.place_box = table[:, 5:9]
        self.place_centre = table[:, 9:11]
        self.place_cum = np.cumsum(table[:, 11])

        departments = dict(Department.objects.filter(area=district).values_list("code", "pk"))
        self.departments = sorted(pk for pk in departments.values() if self.department_handlers.get(pk))
        self.leaves = self._leaves(departments)
        self.leaf_cum = np.cumsum([self._weight(leaf.name) for leaf in self.leaves])
        self.leaf_tier = np.array([leaf.tier for leaf in self.leaves], dtype=np.int64)
        self.leaf_has_department = np.array([leaf.department is not None for leaf in self.leaves])
        self.leaf_department = np.array([leaf.department or -1 for leaf in self.leaves], dtype=np.int64)
        self.leaf_immediate = np.array([leaf.mode == HandlingMode.IMMEDIATE for leaf in self.leaves])
        self.leaf_amount = np.array([[leaf.limits[s][0] for s in STAGES] for leaf in self.leaves], dtype=np.int64)
        self.leaf_unit = np.array(
            [[UNITS.index(leaf.limits[s][1]) for s in STAGES] for leaf in self.leaves], dtype=np.int64
        )

    @staticmethod
    def _weight(name: str) -> float:
        return max((w for word, w in CATEGORY_WEIGHTS if word in name), default=1)

    def _leaves(self, departments: dict[str, int]) -> list[_Leaf]:
        parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
        leaves = []
        for c in Category.objects.filter(is_active=True).exclude(pk__in=parents).order_by("code"):
            department = c.default_department_id
            if department is None:
                code = next((code for words, code in DEPARTMENT_WORDS if any(w in c.name for w in words)), "CG")
                department = departments.get(code) or departments.get("CG")
            if department not in self.department_handlers:
                department = None
            tier = TIERS.index(c.default_tier) if c.default_tier in TIERS else GRID
            if tier == DEPARTMENT:
                tier = STREET  # intake queues a department category at the street until it is dispatched
            standard = (c.registration_standard or "").strip().rstrip("。")
            leaves.append(
                _Leaf(
                    pk=c.pk,
                    name=c.name,
                    tier=tier,
                    mode=c.handling_mode,
                    limits={stage: c.limit(stage) for stage in STAGES},
                    department=department,
                    what=f"{c.name}：{standard}" if standard else c.name,
                )
            )
        return leaves

    def desk(self, place: _Place, tier: int) -> _Person:
        """Who accepts, dispatches and closes: the community's first staff member, or the street's for its tiers."""
        if tier in (STREET, DEPARTMENT):
            return self.street_staff[place.lineage[1]][0]
        return self.community_staff[place.lineage[2]][0]

    def handler(self, place: _Place, tier: int, department: int | None, pick: int) -> _Person:
        if tier == GRID:
            pool = place.reporters
        elif tier == COMMUNITY:
            pool = self.community_staff[place.lineage[2]]
        elif tier == STREET:
            pool = self.street_staff[place.lineage[1]]
        else:
            pool = self.department_handlers[department]
        return pool[pick % len(pool)]


# --- the draws, a chunk at a time ----------------------------------------------------------------------------------


class _Draws:
    """Everything random about a chunk of cases, drawn as arrays (the same seed draws the same cases)."""

    def __init__(self, rng: np.random.Generator, demo: _Demo, reported: np.ndarray, places: np.ndarray, now: int):
        n = len(reported)
        self.n = n
        self.reported, self.place = reported, places
        self.leaf = np.minimum(np.searchsorted(demo.leaf_cum, rng.random(n) * demo.leaf_cum[-1], side="right"),
                               len(demo.leaves) - 1)  # fmt: skip
        channel_cum = np.cumsum([share for _c, share in CHANNEL_SHARES])
        self.channel = np.minimum(np.searchsorted(channel_cum, rng.random(n) * channel_cum[-1], side="right"),
                                  len(CHANNELS) - 1)  # fmt: skip
        self.on_spot = (self.channel == 0) & demo.leaf_immediate[self.leaf] & (rng.random(n) < ON_SPOT)
        # Where the desk sends it.
        leaf_tier = demo.leaf_tier[self.leaf]
        roll = rng.random(n)
        tier = np.full(n, DEPARTMENT)
        for t in (STREET, COMMUNITY, GRID):
            limit = np.array([DISPATCH_SHARES[lt][t] for lt in range(3)])[leaf_tier]
            tier = np.where(roll < limit, t, tier)
        tier = np.where((tier == DEPARTMENT) & ~demo.leaf_has_department[self.leaf], STREET, tier)
        self.tier = np.where(self.on_spot, GRID, tier)
        self.leaf_tier = leaf_tier
        # The fate: the main path, or one of the ways off it.
        roll = rng.random(n)
        fate = np.zeros(n, dtype=np.int64)  # 0: main path
        low = 0.0
        for code, (_name, share) in enumerate(FATES, start=1):
            fate = np.where((roll >= low) & (roll < low + share), code, fate)
            low += share
        roll = rng.random(n)
        fate = np.where((fate == 0) & (self.tier <= COMMUNITY) & (roll < ESCALATED), len(FATES) + 1, fate)
        fate = np.where(
            (fate == 0) & ((self.tier == COMMUNITY) | (self.tier == STREET)) & (roll >= 1 - WHISTLED),
            len(FATES) + 2,
            fate,
        )
        # Recent cases may stick in an open state.
        stuck_roll = rng.random(n)
        stuck_pick = rng.integers(0, len(STUCK_STATES) + len(STUCK_HOLD), n)
        self.stuck = np.where((now - reported < STUCK_DAYS * 86400) & (stuck_roll < STUCK), stuck_pick, -1)
        fate = np.where(self.stuck >= len(STUCK_STATES), HOLD_FATE, fate)
        self.fate = np.where(self.on_spot, 0, fate)
        # The stages: on time or late, and how far into the limit or past it.
        self.on_time = rng.random((5, n)) < np.array(ON_TIME)[:, None]
        self.share = rng.random((5, n))
        self.close_after = (0.1 + 4.9 * rng.random(n)) * 3600
        self.rate_after = (0.5 + 70 * rng.random(n)) * 3600
        self.rated = rng.random(n) < RATED
        self.rating_roll = rng.random(n)
        self.manual = rng.random(n) < MANUAL_SUPERVISION
        # People and words.
        self.picks = rng.integers(0, 1 << 30, (8, n))
        self.rolls = rng.random((4, n))
        self.jitter = rng.random((2, n)) - 0.5
        codes = rng.integers(0, 32, (n, 10), dtype=np.int32)
        self.tracking = np.array(list(TRACKING_ALPHABET))[codes].view("<U10").ravel().tolist()
        self.seed = int(rng.integers(0, 1 << 62))


# --- the main path, as arrays -------------------------------------------------------------------------------------


class _MainPath:
    """The times, state and supervision of every case of a chunk as if it went along the main path."""

    def __init__(self, d: _Draws, demo: _Demo, clock: WorkClock, now: int):
        amount, unit = demo.leaf_amount[d.leaf].T, demo.leaf_unit[d.leaf].T  # (5, n) each
        spot = d.on_spot
        self.deadlines = np.zeros((5, d.n), dtype=np.int64)
        ends = np.zeros((5, d.n), dtype=np.int64)
        start = d.reported
        for k in range(5):
            deadline = clock.add_v(start, amount[k], unit[k])
            end = self._finish(clock, start, deadline, d.on_time[k], d.share[k])
            if k < 4:
                end = np.where(spot, start, end)
            self.deadlines[k], ends[k] = deadline, end
            start = end
        closed = clock.after_working_v(ends[4], d.close_after.astype(np.int64))
        rated = closed + d.rate_after.astype(np.int64)
        accepted, dispatched, taken, resolved, verified = ends
        self.due = accepted
        for k in range(1, 5):
            self.due = clock.add_v(self.due, amount[k], unit[k])
        # Event times along the path (rate only if the reporter rates).
        never = np.iinfo(np.int64).max
        times = np.stack([d.reported, accepted, accepted, dispatched, taken, resolved, verified, closed,
                          np.where(d.rated, rated, never)])  # fmt: skip
        self.times = times
        happened = (times <= now).sum(axis=0)
        stuck_at = np.array([EVENTS_IN[s] for s in STUCK_STATES] + [9, 9])
        cap = np.where(d.stuck >= 0, stuck_at[np.maximum(d.stuck, 0)], 9)
        self.events = np.minimum(happened, cap)  # 1..9
        self.responded_on_time = taken <= self.deadlines[2]
        self.closed_on_time = closed <= self.due
        late = ~(self.responded_on_time & self.closed_on_time)
        shares = np.where(late[None, :], np.array(LATE_RATING_SHARES)[:, None], np.array(RATING_SHARES)[:, None])
        self.rating = (d.rating_roll >= shares[0]).astype(np.int64) + (d.rating_roll >= shares[1])
        # The open case's stage: (stage index, started) after n events; none once verified.
        n = self.events
        stage = np.select([n == 1, n <= 3, n == 4, n == 5, n == 6], [0, 1, 2, 3, 4], -1)
        self.stage = stage
        self.stage_deadline = np.where(stage >= 0, self.deadlines[np.maximum(stage, 0), np.arange(d.n)], -1)
        self.overdue = (stage >= 0) & (now > self.stage_deadline)
        self.updated = times[n - 1, np.arange(d.n)]
        self._supervise(d, demo, clock, now, ends)

    @staticmethod
    def _finish(clock, start, deadline, on_time, share):
        worked_start, worked_deadline = clock.worked_v(start), clock.worked_v(deadline)
        span = worked_deadline - worked_start
        fraction = share**2 * 0.95 + 0.02
        natural = start + ((deadline - start) * fraction).astype(np.int64)
        working = clock.at_worked_v(worked_start + (span * fraction).astype(np.int64))
        late = clock.at_worked_v(
            worked_deadline + (np.maximum(span, 7 * 3600) * (0.05 + 1.5 * share)).astype(np.int64) + 60
        )
        return np.where(on_time, np.where(span < 600, natural, working), late)

    def _supervise(self, d: _Draws, demo: _Demo, clock: WorkClock, now: int, ends) -> None:
        """The deadline worker's supervision of each stage run past its deadline: (cases, level, at, stage, area)."""
        n = self.events
        entered_after = (1, 2, 4, 5, 6)  # events before each stage begins
        left_after = (2, 4, 5, 6, 7)
        district = demo.place_district[d.place]
        above = {  # the level above the tier that holds the case
            "leaf": np.select([d.leaf_tier == GRID, d.leaf_tier == COMMUNITY],
                              [demo.place_community[d.place], demo.place_street[d.place]], district),
            "final": np.select([d.tier == GRID, d.tier == COMMUNITY],
                               [demo.place_community[d.place], demo.place_street[d.place]], district),
        }  # fmt: skip
        rows = []
        level = np.zeros(d.n, dtype=np.int64)
        for k in range(5):
            entered = n >= entered_after[k]
            finished = np.where(n >= left_after[k], np.minimum(ends[k], now), now)
            deadline = self.deadlines[k]
            marks = (deadline, *(clock.add_v(deadline, np.full(d.n, amount), np.full(d.n, UNITS.index(unit)))
                                 for amount, unit in CARD_DELAYS))  # fmt: skip
            area = above["leaf"] if k < 2 else above["final"]
            reached = entered.copy()
            for lvl, at in enumerate(marks, start=1):
                reached &= at < finished
                index = np.flatnonzero(reached)
                if len(index):
                    rows.append((index, np.full(len(index), lvl), at[index], np.full(len(index), k), area[index]))
                level = np.where(reached, np.maximum(level, lvl), level)
        self.supervision_rows = rows
        self.level = np.where(n >= 8, 0, level)


# --- the cases off the main path, one at a time --------------------------------------------------------------------


class _Stop(Exception):
    """The case's next step lies in the future, or the case sticks where it is."""


class _Walker:
    """Walks a case off the main path step by step, as the services would have moved it."""

    def __init__(self, demo: _Demo, clock: WorkClock, now: int, seed: int):
        self.demo, self.clock, self.now = demo, clock, now
        self.rnd = random.Random(seed)
        self.supervised_by_hand = False  # the first open case it leaves is supervised by hand, the rest by chance

    def finish(self, start: int, limit: tuple, stage: int) -> tuple[int, int]:
        """(end, deadline) of a stage that starts at `start`."""
        clock, rnd = self.clock, self.rnd
        deadline = clock.add(start, *limit)
        span = clock.worked(deadline) - clock.worked(start)
        share = rnd.random()
        if rnd.random() < ON_TIME[stage]:
            fraction = share**2 * 0.95 + 0.02
            if span < 600:  # a natural-day limit over a weekend: no working time in it
                return start + int((deadline - start) * fraction), deadline
            return clock.at_worked(clock.worked(start) + int(span * fraction)), deadline
        return clock.at_worked(clock.worked(deadline) + int(max(span, 7 * 3600) * (0.05 + 1.5 * share)) + 60), deadline

    def soon(self, start: int, low_h: float, high_h: float) -> int:
        return self.clock.after_working(start, int(3600 * (low_h + self.rnd.random() * (high_h - low_h))))

    def walk(self, case: "_Case") -> None:
        with contextlib.suppress(_Stop):
            self._walk(case)
        case.settle(self)

    def _walk(self, c: "_Case") -> None:  # noqa: C901 -- the loop, in order, reads best in one place
        rnd, clock, demo, leaf = self.rnd, self.clock, self.demo, c.leaf
        limits = [leaf.limits[s] for s in STAGES]

        def step(at, actor, action, from_state, to_state, **kw):
            if at > self.now:
                raise _Stop
            c.add(at, actor, action, from_state, to_state, **kw)

        def stick(state):
            """A stuck case stays here; the deadline worker supervises it once its stage is overdue."""
            if c.stuck == state:
                if c.stage is not None:
                    self.supervise(c, c.stage, clock.add(c.stage_start, *limits[c.stage]), None)
                raise _Stop

        tier = c.tier
        desk = demo.desk(c.place, tier)
        stick(S.REPORTED)
        accepted, deadline = self.finish(c.reported, limits[0], 0)
        self.supervise(c, 0, deadline, accepted)
        if c.fate == "reject":
            step(accepted, desk, "reject", S.REPORTED, S.REJECTED, note=rnd.choice(REJECT_NOTES), public=True)
            return
        if c.fate == "merge" and c.earlier is not None:
            step(accepted, desk, "merge", S.REPORTED, S.MERGED, note="与已受理事件为同一事项。", public=True,
                 data={"merged_into": c.earlier})  # fmt: skip
            c.merged_into = c.earlier
            c.elsewhere.append(
                (c.earlier, accepted, desk.pk, desk.label, "merged_in", "", "", f"事件 {c.pk} 已合并到本事件。", False,
                 {"case": c.pk})
            )  # fmt: skip
            return
        step(accepted, desk, "accept", S.REPORTED, S.ACCEPTED, public=True)
        c.accepted_at = accepted
        stick(S.ACCEPTED)
        step(accepted, desk, "register", S.ACCEPTED, S.REGISTERED)
        c.due_at = accepted
        for stage in range(1, 5):
            c.due_at = clock.add(c.due_at, *limits[stage])
        stick(S.REGISTERED)

        dispatched, deadline = self.finish(accepted, limits[1], 1)
        self.supervise(c, 1, deadline, dispatched)
        cancel_here = rnd.random() < 0.5
        if c.fate == "cancel" and cancel_here:
            self.cancel(step, c, desk, dispatched, S.REGISTERED)
            return
        department = c.department if tier == DEPARTMENT else None
        step(dispatched, desk, "dispatch", S.REGISTERED, S.DISPATCHED, public=True,
             data={"tier": TIERS[tier], "department": department, "assignee": None})  # fmt: skip
        c.tier_now, c.department_now, c.dispatched_at = tier, department, dispatched
        stick(S.DISPATCHED)
        if c.fate == "cancel":
            self.cancel(step, c, desk, self.soon(dispatched, 0.1, 1), S.DISPATCHED)
            return

        handler = demo.handler(c.place, tier, department, rnd.randrange(1 << 30))
        taken, deadline = self.finish(dispatched, limits[2], 2)
        self.supervise(c, 2, deadline, taken)
        step(taken, handler, "take", S.DISPATCHED, S.TAKEN, public=True)
        c.taken_at, c.responded_on_time, c.assignee = taken, taken <= deadline, handler
        if c.fate == "escalate":
            tier = c.tier_now = COMMUNITY if tier == GRID else STREET
            escalated = self.soon(taken, 0.5, 10)
            step(escalated, handler, "escalate", S.TAKEN, S.REGISTERED, note=rnd.choice(ESCALATE_NOTES),
                 data={"tier": TIERS[tier], "department": None, "assignee": None})  # fmt: skip
            c.assignee = None
            desk = demo.desk(c.place, tier)
            again, deadline = self.finish(escalated, limits[1], 1)
            self.supervise(c, 1, deadline, again)
            step(again, desk, "dispatch", S.REGISTERED, S.DISPATCHED, public=True,
                 data={"tier": TIERS[tier], "department": None, "assignee": None})  # fmt: skip
            handler = demo.handler(c.place, tier, None, rnd.randrange(1 << 30))
            retaken, deadline = self.finish(again, limits[2], 2)
            self.supervise(c, 2, deadline, retaken)
            step(retaken, handler, "take", S.DISPATCHED, S.TAKEN, public=True)
            c.assignee = handler
        stick(S.TAKEN)
        if c.fate == "whistle" and demo.departments:
            self.whistle(step, c, desk, c.stage_start)
        if c.fate == "hold":
            requested = self.soon(max(c.stage_start, c.updated), 1, 20)
            step(requested, handler, "request_hold", S.TAKEN, S.HOLD_REQUESTED, note=rnd.choice(HOLD_NOTES))
            stick(S.HOLD_REQUESTED)
            approver = demo.street_staff[c.place.lineage[1]][0]
            approved = self.soon(requested, 0.5, 8)
            step(approved, approver, "approve_hold", S.HOLD_REQUESTED, S.ON_HOLD, public=True)
            stick(S.ON_HOLD)
            resumed = self.soon(approved, 7 * 5, 7 * 30)
            step(resumed, handler, "resume", S.ON_HOLD, S.TAKEN, public=True)

        verifier = c.place.verifier
        if verifier.pk == handler.pk:
            verifier = demo.community_staff[c.place.lineage[2]][0]
            if verifier.pk == handler.pk:
                verifier = demo.street_staff[c.place.lineage[1]][0]
        for attempt in range(2):
            resolved, deadline = self.finish(c.stage_start, limits[3], 3)
            if c.updated > c.stage_start:  # after the departments' parts
                resolved = max(resolved, self.soon(c.updated, 0.2, 3))
            self.supervise(c, 3, deadline, resolved)
            step(resolved, handler, "resolve", S.TAKEN, S.RESOLVED, public=True)
            c.resolved_by = handler
            c.resolved_at = c.resolved_at or resolved
            if attempt or c.fate != "rework":
                break
            back = self.soon(resolved, 1, 14)
            step(back, verifier, "rework", S.RESOLVED, S.TAKEN, note=rnd.choice(REWORK_NOTES), public=True)
            c.rework_count, c.resolved_by = 1, None
        stick(S.RESOLVED)
        verified, deadline = self.finish(resolved, limits[4], 4)
        self.supervise(c, 4, deadline, verified)
        step(verified, verifier, "verify", S.RESOLVED, S.VERIFIED, public=True)
        c.verified_at = verified
        stick(S.VERIFIED)
        closed = self.soon(verified, 0.1, 5)
        step(closed, desk, "close", S.VERIFIED, S.CLOSED, public=True)
        c.closed_at, c.closed_on_time, c.supervision = closed, closed <= c.due_at, 0
        if not c.rates:
            return
        rated = closed + int(3600 * (0.5 + rnd.random() * 70))
        late = not (c.responded_on_time and c.closed_on_time)
        rating = _rating(rnd.random(), late)
        comment = rnd.choice(RATING_COMMENTS[rating])
        step(rated, c.reporter, "rate", S.CLOSED, S.RATED, note=comment, public=True,
             data={"rating": rating, "rating_comment": comment})  # fmt: skip
        c.rating, c.rating_comment = rating, comment

    def cancel(self, step, c, desk, at, from_state) -> None:
        by = c.reporter if c.reporter is not None and self.rnd.random() < 0.5 else desk
        step(at, by, "cancel", from_state, S.CANCELLED, note=self.rnd.choice(CANCEL_NOTES), public=True)

    def whistle(self, step, c: "_Case", desk: _Person, start: int) -> None:
        rnd = self.rnd
        blown = self.soon(start, 0.2, 4)
        level = rnd.choice((WhistleLevel.DAILY,) * 6 + (WhistleLevel.TOUGH,) * 3 + (WhistleLevel.EMERGENCY,))
        called = rnd.sample(self.demo.departments, min(len(self.demo.departments), rnd.randint(1, 3)))
        reason = rnd.choice(WHISTLE_REASONS)
        step(blown, desk, "whistle", "", "", note=reason, public=True, data={"level": level, "departments": called})
        c.whistles.append((c.pk, level, desk.pk, blown, reason))
        report_by = blown + 30 * 60
        for department in called:
            person = rnd.choice(self.demo.department_handlers[department])
            reported = blown + int(60 * (5 + rnd.random() * 40))
            row = [department, report_by, None, None, None, "", False]
            c.co_handlers.append(row)
            late = reported > report_by
            step(reported, person, "report_in", "", "", public=True, data={"department": department, "late": late})
            row[2], row[3], row[6] = reported, person.pk, late
            part = self.soon(reported, 1, 30)
            note = rnd.choice(PART_NOTES)
            step(part, person, "part_done", "", "", note=note, data={"department": department})
            row[4], row[5] = part, note

    def supervise(self, c: "_Case", stage: int, deadline: int, end: int | None) -> None:
        """The deadline worker's supervision of a stage that ran (or is running) past its deadline."""
        finished = min(end, self.now) if end is not None else self.now
        clock = self.clock
        tier = c.leaf.tier if stage < 2 else c.tier_now
        pks = c.place.lineage
        area = {GRID: pks[2], COMMUNITY: pks[1]}.get(tier, pks[0])
        marks = [deadline, *(clock.add(deadline, amount, unit) for amount, unit in CARD_DELAYS)]
        for level, at in enumerate(marks, start=1):
            if at >= finished:
                break
            if any(row[0] == level and row[1] is None and row[4] == STAGES[stage] for row in c.supervisions):
                continue  # the worker raises each level once per stage, however often the stage comes round
            c.supervisions.append((level, None, at, area, STAGES[stage], ""))
            c.supervision = max(c.supervision, level)
            c.version += 1


def _rating(roll: float, late: bool) -> str:
    low, high = LATE_RATING_SHARES if late else RATING_SHARES
    return RATINGS[0] if roll < low else RATINGS[1] if roll < high else RATINGS[2]


@dataclass
class _Case:
    """A case off the main path while it is walked: its fields, events and the rows that hang on it."""

    pk: int
    place: _Place
    leaf: _Leaf
    reported: int
    reporter: _Person | None
    tier: int
    department: int | None
    fate: str
    stuck: str | None
    rates: bool
    earlier: int | None
    tier_now: int = 0
    department_now: int | None = None
    state: str = S.REPORTED
    stage: int | None = 0
    stage_start: int = 0
    updated: int = 0
    version: int = 1
    events: list = field(default_factory=list)
    elsewhere: list = field(default_factory=list)  # events on other cases
    supervisions: list = field(default_factory=list)
    whistles: list = field(default_factory=list)
    co_handlers: list = field(default_factory=list)
    accepted_at: int | None = None
    dispatched_at: int | None = None
    taken_at: int | None = None
    resolved_at: int | None = None
    verified_at: int | None = None
    closed_at: int | None = None
    due_at: int | None = None
    responded_on_time: bool | None = None
    closed_on_time: bool | None = None
    assignee: _Person | None = None
    resolved_by: _Person | None = None
    merged_into: int | None = None
    rework_count: int = 0
    rating: str = ""
    rating_comment: str = ""
    supervision: int = 0
    stage_deadline: int | None = None
    overdue: bool = False

    def __post_init__(self):
        self.tier_now = self.leaf.tier
        self.stage_start = self.updated = self.reported

    def add(self, at, actor: _Person | None, action, from_state, to_state, note="", public=False, data=None):
        label = actor.label if actor is not None else RESIDENT_LABEL
        self.events.append((at, actor.pk if actor is not None else None, label, action, from_state, to_state, note,
                            public, data or {}))  # fmt: skip
        self.updated = max(self.updated, at)
        if action != "report":
            self.version += 1
        if to_state:
            self.state = to_state
            stage = STAGE_OF_STATE.get(to_state)
            stage = STAGES.index(stage) if stage else None
            if stage != self.stage:
                self.stage, self.stage_start = stage, at

    def settle(self, walker: _Walker) -> None:
        """The stage deadline and overdue mark the deadline worker leaves; now and then a supervision by hand."""
        if self.stage is None or self.state not in STAGE_OF_STATE:
            self.stage = None
            return
        self.stage_deadline = walker.clock.add(self.stage_start, *self.leaf.limits[STAGES[self.stage]])
        self.overdue = walker.now > self.stage_deadline
        rnd = walker.rnd
        if not walker.supervised_by_hand or rnd.random() < MANUAL_SUPERVISION:
            walker.supervised_by_hand = True
            street = walker.demo.street_staff[self.place.lineage[1]][0]
            admin = walker.demo.district_admins[0]
            by, area = (admin, self.place.lineage[0]) if rnd.random() < 0.5 else (street, self.place.lineage[1])
            level = rnd.choice((1, 2))
            at = min(walker.now, self.updated + 3600)
            self.supervisions.append((level, by.pk, at, area, "", rnd.choice(SUPERVISION_NOTES)))
            self.supervision = max(self.supervision, level)
            self.version += 1


# --- writing ----------------------------------------------------------------------------------------------------------


def seed_cases(
    district: Area, scale: str, *, seed: int = DEFAULT_SEED, now: dt.datetime | None = None, total: int | None = None
) -> CasesResult:
    """Write a year of cases ending `now` into a freshly seeded demo district, inside the caller's transaction."""
    started = time.perf_counter()
    demo = _Demo(district)
    if not demo.places or not demo.leaves:
        return CasesResult({"case": 0}, {}, time.perf_counter() - started)
    now_epoch = int((now or timezone.now()).timestamp())
    zone = timezone.get_current_timezone()
    today = timezone.localdate(now) if now else timezone.localdate()
    work_calendar.clear_cache()
    clock = WorkClock(
        work_calendar.current(), today - dt.timedelta(days=DAYS + 5), today + dt.timedelta(days=500), zone
    )
    rng = np.random.default_rng([seed, 20261122])
    total = total or TOTAL.get(scale, TOTAL["small"])
    reported, places = _reports(rng, total, now_epoch, demo, clock)
    first = {model: _next_pk(model) for model in (Case, Whistle, CoHandler, Supervision)}
    planner = _Planner(demo, clock, now_epoch, rng, _phone_pool(random.Random(seed), max(200, total // 50)), first)
    chunks = [(reported[a : a + CHUNK], places[a : a + CHUNK]) for a in range(0, total, CHUNK)]
    collecting = gc.isenabled()
    gc.disable()  # millions of small tuples and nothing cyclic among them
    try:
        # The larger page cache lasts until the writer has built its indexes again (it leaves first).
        with _sqlite_cache(CACHE_KIB if total >= LARGE else 0), _Writer(demo, total, first, clock.months) as writer:
            for plan in _plans(planner, chunks, helper=total >= LARGE):
                writer.write(plan)
    finally:
        if collecting:
            gc.enable()
    return writer.result(time.perf_counter() - started)


def _plans(planner: "_Planner", chunks: list, *, helper: bool):
    """The chunks' plans in order; with `helper`, planned a chunk ahead in a forked process while this one writes.

    The helper only computes (it inherits the planner and never touches the database connection it also
    inherits) and leaves with os._exit, as multiprocessing workers do, so the connection is neither used
    nor closed there. One worker, fed in order, keeps the planner's state (random draws, the last case of
    each place, the next primary keys) the same as planning in this process would.
    """
    if not helper or sys.platform != "linux":
        for reported, places in chunks:
            yield planner.plan(reported, places)
        return
    global _FORKED
    _FORKED = (planner, chunks)
    try:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            ahead = [pool.submit(_plan_in_helper, k) for k in range(min(2, len(chunks)))]
            for k in range(len(chunks)):
                plan = ahead.pop(0).result()
                if k + 2 < len(chunks):
                    ahead.append(pool.submit(_plan_in_helper, k + 2))
                yield plan
    finally:
        _FORKED = None


_FORKED = None  # (planner, chunks) for the forked helper


def _plan_in_helper(k: int) -> "_ChunkPlan":
    planner, chunks = _FORKED
    return planner.plan(*chunks[k])


def _reports(rng, total: int, now: int, demo: _Demo, clock: WorkClock) -> tuple[np.ndarray, np.ndarray]:
    """Report times over the year (daytime mostly) and places (by households), in order of time."""
    today = clock.day_index(now)
    days = today - rng.integers(0, DAYS, total)
    hour_cum = np.cumsum(HOUR_WEIGHTS)
    hours = np.searchsorted(hour_cum, rng.random(total) * hour_cum[-1], side="right")
    reported = clock.midnights[days] + hours * 3600 + rng.integers(0, 3600, total)
    reported = np.where(reported > now, reported - 86400, reported)
    places = np.minimum(np.searchsorted(demo.place_cum, rng.random(total) * demo.place_cum[-1], side="right"),
                        len(demo.places) - 1)  # fmt: skip
    order = np.argsort(reported, kind="stable")
    return reported[order], places[order]


def _phone_pool(rnd: random.Random, size: int) -> list[tuple[str, str, str]]:
    """Residents' contact phones (198…, a block no account uses), encrypted once and reused by repeat callers."""
    start = rnd.randrange(10**8)
    pool = []
    for i in range(size):
        phone = f"198{(start + i * 61_803_399) % 10**8:08d}"
        pool.append((privacy.encrypt(phone), privacy.keyed_hash(phone), phone[-4:]))
    return pool


CASE_COLUMNS = (
    "id", "area_id", "district_pk", "street_pk", "community_pk", "grid_pk", "phone_cipher", "phone_hash",
    "phone_last4", "tracking_code", "channel", "external_number", "idempotency_scope", "idempotency_key",
    "category_id", "description", "address", "lon", "lat", "reporter_id", "reporter_name", "is_anonymous",
    "handled_on_spot", "state", "version", "tier", "handling_mode", "department_id", "assignee_id",
    "resolved_by_id", "merged_into_id", "stage", "stage_deadline", "stage_warned", "is_overdue", "supervision",
    "due_at", "reported_at", "accepted_at", "dispatched_at", "taken_at", "resolved_at", "verified_at", "closed_at",
    "responded_on_time", "closed_on_time", "rework_count", "rating", "rating_comment", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "case_id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "from_state",
    "to_state",
    "note",
    "is_public",
    "data",
)
WHISTLE_COLUMNS = ("id", "case_id", "level", "blown_by_id", "blown_at", "reason")
CO_HANDLER_COLUMNS = (
    "id", "whistle_id", "case_id", "department_id", "report_deadline", "reported_at", "reported_by_id",
    "part_done_at", "part_note", "is_late",
)  # fmt: skip
SUPERVISION_COLUMNS = ("id", "case_id", "level", "by_id", "at", "area_id", "stage", "instruction")


@dataclass
class _ChunkPlan:
    """What the writer inserts for a chunk: case rows, the walked cases' pks and events, related rows, tallies."""

    rows: list
    walked: list
    events: list
    supervisions: list
    whistles: list
    co_handlers: list
    main_events: int
    states: dict = field(default_factory=dict)
    tally_keys: np.ndarray | None = None
    tally_sums: np.ndarray | None = None


class _Planner:
    """Plans the cases a chunk at a time: pure computation, no database (so it can run in a forked helper)."""

    def __init__(self, demo: _Demo, clock: WorkClock, now: int, rng, phones: list, first: dict):
        self.demo, self.clock, self.now, self.rng, self.phones = demo, clock, now, rng, phones
        self.next = dict(first)
        self.last_in_place: dict[int, int] = {}
        self.days: dict[int, str] = {}
        self.clocks = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
        self.suffix = "+00" if connection.vendor == "postgresql" else ""
        self.surnames = list(names.SURNAMES[:80])

    # values as the database takes them ------------------------------------------------------------------------

    def stamp(self, epoch):
        if epoch is None:
            return None
        day, second = divmod(epoch, 86400)
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = (dt.datetime(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y-%m-%d ")
        return text + self.clocks[second] + self.suffix

    def stamps(self, values: np.ndarray, present: np.ndarray | None = None) -> list:
        """Database values of an array of epoch seconds; None where `present` is False."""
        days, seconds = np.divmod(values, 86400)
        cache, clocks, suffix = self.days, self.clocks, self.suffix
        for day in np.unique(days).tolist():
            if day not in cache and 0 <= day < 200_000:
                cache[day] = (dt.datetime(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y-%m-%d ")
        texts = [
            cache[d] + clocks[s] + suffix if d in cache else None
            for d, s in zip(days.tolist(), seconds.tolist(), strict=True)
        ]
        if present is None:
            return texts
        return [t if p else None for t, p in zip(texts, present.tolist(), strict=True)]

    @staticmethod
    def data(value: dict) -> str:
        return json.dumps(value, ensure_ascii=False) if value else "{}"

    # a chunk ---------------------------------------------------------------------------------------------------

    def plan(self, reported: np.ndarray, places: np.ndarray) -> "_ChunkPlan":
        """The rows of a chunk of cases (in order of report), and everything that hangs on them."""
        demo, clock, now = self.demo, self.clock, self.now
        d = _Draws(self.rng, demo, reported, places, now)
        path = _MainPath(d, demo, clock, now)
        walker = _Walker(demo, clock, now, d.seed)
        last_in_place = self.last_in_place
        first = self.next[Case]
        self.next[Case] += d.n
        pks = list(range(first, first + d.n))
        places = [demo.places[i] for i in d.place.tolist()]
        leaves = [demo.leaves[i] for i in d.leaf.tolist()]
        channels = [CHANNELS[i] for i in d.channel.tolist()]
        reporters, reporter_names, phones, anonymous = self._reporters(d, places, channels)
        n = path.events
        tiers, departments = d.tier.tolist(), demo.leaf_department[d.leaf].tolist()
        picks = d.picks[7].tolist()
        handlers = [
            reporter if spot else demo.handler(place, tier, department, pick)
            for reporter, spot, place, tier, department, pick in zip(
                reporters, d.on_spot.tolist(), places, tiers, departments, picks, strict=True
            )
        ]
        # Off the main path: the fates drawn, and a main path whose resolver would have to verify it himself.
        fate_names = ("main", *(name for name, _share in FATES), "escalate", "whistle")
        fates = [fate_names[f] for f in d.fate.tolist()]
        walk = [
            fate != "main" or (events >= 7 and handler.pk == place.verifier.pk)
            for fate, events, handler, place in zip(fates, n.tolist(), handlers, places, strict=True)
        ]
        rows = self._main_path_rows(d, path, pks, places, leaves, channels, reporters, reporter_names, phones,
                                    anonymous, handlers)  # fmt: skip
        walked: list[tuple[int, _Case]] = []
        stuck = d.stuck.tolist()
        for i in range(d.n):
            place = places[i]
            if walk[i]:
                c = _Case(
                    pk=pks[i],
                    place=place,
                    leaf=leaves[i],
                    reported=int(d.reported[i]),
                    reporter=reporters[i],
                    tier=tiers[i],
                    department=leaves[i].department,
                    fate=fates[i],
                    stuck=(STUCK_STATES + STUCK_HOLD)[stuck[i]] if stuck[i] >= 0 else None,
                    rates=bool(d.rated[i]),
                    earlier=last_in_place.get(place.pk),
                )
                entered_by = demo.desk(place, GRID) if channels[i] in STAFF_CHANNELS else reporters[i]
                c.add(c.reported, entered_by, "report", "", S.REPORTED, public=True, data={"channel": channels[i]})
                walker.walk(c)
                rows[i] = (*rows[i][:22], False, *self._walked_tail(c))  # the walker never handles on the spot
                walked.append((i, c))
            last_in_place[place.pk] = pks[i]
        plan = self._related_rows(rows, walked, d, path, pks)
        plan.tally_keys, plan.tally_sums = self._tally(d, path, walked)
        for row in rows:
            plan.states[row[23]] = plan.states.get(row[23], 0) + 1
        return plan

    def _reporters(self, d: _Draws, places, channels) -> tuple[list, list, list, list]:
        """Who reported each case: a member (or the API, a member's app), a resident, or a caller staff wrote down."""
        phones, surnames, no_phone = self.phones, self.surnames, ("", "", "")
        reporters, reporter_names, phone_rows, anonymous = [], [], [], []
        p0, p1, p2, p3 = (p.tolist() for p in d.picks[:4])
        r0, r1 = d.rolls[0].tolist(), d.rolls[1].tolist()
        for i, (place, channel) in enumerate(zip(places, channels, strict=True)):
            reporter, name, phone, hidden = None, "", no_phone, False
            if channel in (Channel.MEMBER, Channel.API):
                reporter = place.reporters[p0[i] % len(place.reporters)]
                name = reporter.label
            elif channel in STAFF_CHANNELS:
                name = surnames[p1[i] % 80] + NAME_TITLES[p2[i] % 6]
                phone = phones[p3[i] % len(phones)] if r0[i] < 0.95 else no_phone
            elif place.residents and r0[i] < 0.3:
                reporter = place.residents[p0[i] % len(place.residents)]
                name = reporter.label
            elif r1[i] < 0.35:
                hidden = True
            else:
                name = surnames[p1[i] % 80] + NAME_TITLES[p2[i] % 6]
                phone = phones[p3[i] % len(phones)] if r0[i] < 0.85 else no_phone
            reporters.append(reporter)
            reporter_names.append(name)
            phone_rows.append(phone)
            anonymous.append(hidden)
        return reporters, reporter_names, phone_rows, anonymous

    def _main_path_rows(self, d, path, pks, places, leaves, channels, reporters, reporter_names, phones, anonymous,
                        handlers) -> list[tuple]:  # fmt: skip
        """The case rows of the chunk as if every case went along the main path, built column by column."""
        demo, clock = self.demo, self.clock
        n = path.events
        spots = [SPOTS[p % len(SPOTS)] for p in d.picks[4].tolist()]
        suffixes = [SUFFIXES[p % len(SUFFIXES)] for p in d.picks[5].tolist()]
        local_days = [clock.local_days[i] for i in clock.local_day_v(d.reported).tolist()]
        numbers = d.picks[6].tolist()
        box, centre = demo.place_box[d.place], demo.place_centre[d.place]
        tier_now = np.where(n >= 4, d.tier, d.leaf_tier)
        department = np.where((n >= 4) & (d.tier == DEPARTMENT), demo.leaf_department[d.leaf], -1)
        handler_pks = np.array([h.pk or -1 for h in handlers], dtype=np.int64)
        supervised = np.zeros(d.n, dtype=np.int64)
        for index, _level, _at, _stage, _area in path.supervision_rows:
            np.add.at(supervised, index, 1)
        ratings = [RATINGS[r] if k >= 9 else "" for r, k in zip(path.rating.tolist(), n.tolist(), strict=True)]
        comments = [
            RATING_COMMENTS[r][p % len(RATING_COMMENTS[r])] if r else ""
            for r, p in zip(ratings, d.picks[6].tolist(), strict=True)
        ]
        warned = path.overdue | ((path.stage >= 0) & (path.stage_deadline - self.now < 3600))
        stage_names = ("", *STAGES)
        # Near the micro-grid's centre, rounded to 1e-6° (10 cm) and kept inside its bounding box.
        lons = np.clip(np.round(centre[:, 0] + d.jitter[0] * 0.6 * (box[:, 2] - box[:, 0]), 6), box[:, 0], box[:, 2])
        lats = np.clip(np.round(centre[:, 1] + d.jitter[1] * 0.6 * (box[:, 3] - box[:, 1]), 6), box[:, 1], box[:, 3])

        def optional(values: np.ndarray, present: np.ndarray) -> list:
            return [v if p else None for v, p in zip(values.tolist(), present.tolist(), strict=True)]

        columns = [
            pks,
            demo.place_pk[d.place].tolist(),
            demo.place_district[d.place].tolist(),
            demo.place_street[d.place].tolist(),
            demo.place_community[d.place].tolist(),
            demo.place_cell[d.place].tolist(),
            [p[0] for p in phones],
            [p[1] for p in phones],
            [p[2] for p in phones],
            d.tracking,
            channels,
            [
                f"12345-{day}{k % 10**6:06d}" if c == Channel.HOTLINE_12345 else ""
                for c, day, k in zip(channels, local_days, numbers, strict=True)
            ],  # fmt: skip
            ["demo"] * d.n,
            [f"seed-{pk:09d}" for pk in pks],
            [leaf.pk for leaf in leaves],
            [f"{spot}{leaf.what}，{suffix}" for spot, leaf, suffix in zip(spots, leaves, suffixes, strict=True)],
            [f"{place.address}{spot}"[:200] for place, spot in zip(places, spots, strict=True)],
            lons.tolist(),
            lats.tolist(),
            [r.pk if r is not None else None for r in reporters],
            reporter_names,
            anonymous,
            d.on_spot.tolist(),
            [STATE_AFTER[k - 1] for k in n.tolist()],
            (n + supervised).tolist(),
            [TIERS[t] for t in tier_now.tolist()],
            [leaf.mode for leaf in leaves],
            optional(department, department >= 0),
            optional(handler_pks, (n >= 5) & (handler_pks >= 0)),
            optional(handler_pks, (n >= 6) & (handler_pks >= 0)),
            [None] * d.n,
            [stage_names[k + 1] for k in path.stage.tolist()],
            self.stamps(path.stage_deadline, path.stage >= 0),
            warned.tolist(),
            path.overdue.tolist(),
            path.level.tolist(),
            self.stamps(path.due, n >= 3),
            self.stamps(path.times[0]),
            self.stamps(path.times[1], n >= 2),
            self.stamps(path.times[3], n >= 4),
            self.stamps(path.times[4], n >= 5),
            self.stamps(path.times[5], n >= 6),
            self.stamps(path.times[6], n >= 7),
            self.stamps(path.times[7], n >= 8),
            optional(path.responded_on_time, n >= 5),
            optional(path.closed_on_time, n >= 8),
            [0] * d.n,
            ratings,
            comments,
            self.stamps(path.updated),
        ]
        assert len(columns) == len(CASE_COLUMNS)
        return list(zip(*columns, strict=True))

    def _walked_tail(self, c: _Case) -> tuple:
        """The row's columns from `state` on, for a case walked off the main path."""
        stamp = self.stamp
        return (
            c.state, c.version, TIERS[c.tier_now], c.leaf.mode, c.department_now,
            c.assignee.pk if c.assignee else None, c.resolved_by.pk if c.resolved_by else None, c.merged_into,
            STAGES[c.stage] if c.stage is not None else "", stamp(c.stage_deadline),
            c.overdue or (c.stage_deadline is not None and c.stage_deadline - self.now < 3600),
            c.overdue, c.supervision, stamp(c.due_at), stamp(c.reported), stamp(c.accepted_at),
            stamp(c.dispatched_at), stamp(c.taken_at), stamp(c.resolved_at), stamp(c.verified_at),
            stamp(c.closed_at), c.responded_on_time, c.closed_on_time, c.rework_count, c.rating, c.rating_comment,
            stamp(c.updated),
        )  # fmt: skip

    def _related_rows(self, rows: list, walked: list, d: _Draws, path: _MainPath, pks: list) -> "_ChunkPlan":
        """The walked cases' events, and the supervision, whistle and co-handler rows of the chunk, with their pks."""
        stamp, data = self.stamp, self.data
        events = [
            (c.pk, stamp(e[0]), e[1], e[2], e[3], e[4], e[5], e[6], e[7], data(e[8]))
            for _i, c in walked
            for e in c.events
        ]
        events += [
            (e[0], stamp(e[1]), e[2], e[3], e[4], e[5], e[6], e[7], e[8], data(e[9]))
            for _i, c in walked
            for e in c.elsewhere
        ]
        supervisions = []
        walked_here = np.zeros(d.n, dtype=bool)
        walked_here[[i for i, _c in walked]] = True
        for index, level, at, stage, area in path.supervision_rows:
            keep = ~walked_here[index]
            for i, lvl, t, k, a in zip(index[keep].tolist(), level[keep].tolist(), at[keep].tolist(),
                                       stage[keep].tolist(), area[keep].tolist(), strict=True):  # fmt: skip
                supervisions.append((pks[i], lvl, None, t, a, STAGES[k], ""))
        for _i, c in walked:
            supervisions += [(c.pk, *row) for row in c.supervisions]
        supervisions.sort(key=lambda row: (row[0], row[3]))
        first_supervision = self.next[Supervision]
        supervision_rows = [
            (first_supervision + j, case, level, by, stamp(at), area, stage, note)
            for j, (case, level, by, at, area, stage, note) in enumerate(supervisions)
        ]
        self.next[Supervision] += len(supervision_rows)
        whistle_rows, co_handler_rows = [], []
        for _i, c in walked:
            for case_pk, level, by, at, reason in c.whistles:
                whistle_pk = self.next[Whistle]
                self.next[Whistle] += 1
                whistle_rows.append((whistle_pk, case_pk, level, by, stamp(at), reason))
                for department, deadline, reported_at, reported_by, part_at, part_note, late in c.co_handlers:
                    co_handler_rows.append(
                        (self.next[CoHandler], whistle_pk, case_pk, department, stamp(deadline), stamp(reported_at),
                         reported_by, stamp(part_at), part_note, late)
                    )  # fmt: skip
                    self.next[CoHandler] += 1
        main_events = int(path.events.sum()) - sum(int(path.events[i]) for i, _c in walked)
        return _ChunkPlan(
            rows=rows,
            walked=[c.pk for _i, c in walked],
            events=events,
            supervisions=supervision_rows,
            whistles=whistle_rows,
            co_handlers=co_handler_rows,
            main_events=main_events,
        )

    # tallies ---------------------------------------------------------------------------------------------------------

    def _tally(self, d: _Draws, path: _MainPath, walked: list) -> tuple[np.ndarray, np.ndarray]:
        """Each case's cell key and contribution to it, as `tallies.contribution` counts it (one row per case).

        The writer sums them per cell with numpy and writes the cells once at the end (`_write_tallies`).
        """
        demo, clock = self.demo, self.clock
        n = path.events
        stamps = np.where(np.arange(8)[:, None] < n[None, :], path.times[:8], -1)
        stamps = stamps[[0, 1, 3, 4, 5, 6, 7]]  # reported, accepted, dispatched, taken, resolved, verified, closed
        state = np.array([STATE_INDEX[s] for s in STATE_AFTER])[n - 1]
        responded = (n >= 5) & path.responded_on_time
        closed_on_time = (n >= 8) & path.closed_on_time
        reworked = np.zeros(d.n, dtype=bool)
        rating = np.where(n >= 9, path.rating, -1)
        for i, c in walked:
            stamps[:, i] = [-1 if t is None else t for t in (c.reported, c.accepted_at, c.dispatched_at, c.taken_at,
                                                               c.resolved_at, c.verified_at, c.closed_at)]  # fmt: skip
            state[i] = STATE_INDEX[c.state]
            responded[i], closed_on_time[i] = bool(c.responded_on_time), bool(c.closed_on_time)
            reworked[i] = c.rework_count > 0
            rating[i] = RATINGS.index(c.rating) if c.rating else -1
        has = stamps >= 0
        measures = {f"in_{s}": state == k for k, s in enumerate(CaseState.values)}
        measures.update(
            reported=np.ones(d.n, dtype=bool),
            accepted=has[1],
            dispatched=has[2],
            responded=has[3],
            resolved=has[4],
            verified=has[5],
            closed=has[6],
            responded_on_time=responded,
            closed_on_time=closed_on_time,
            reworked=reworked,
            rated=rating >= 0,
        )
        for k, name in enumerate(RATINGS):
            measures[name] = rating == k
        for k, name in enumerate(("accept_seconds", "dispatch_seconds", "take_seconds", "handle_seconds",
                                  "verify_seconds")):  # fmt: skip
            measures[name] = np.where(has[k] & has[k + 1], np.maximum(stamps[k + 1] - stamps[k], 0), 0)
        month = clock.month_of_day[clock.local_day_v(d.reported)]
        category = np.array([leaf.pk for leaf in demo.leaves], dtype=np.int64)[d.leaf]
        keys = (demo.place_cell[d.place] * 64 + month) * (1 << 24) + category
        return _sum_by_key(keys, np.stack([np.asarray(measures[m], dtype=np.int64) for m in MEASURES], axis=1))


class _Writer:
    """Inserts the planned chunks, writes the main-path and supervision events by SQL, the tallies at the end."""

    def __init__(self, demo: _Demo, total: int, first: dict, months: list):
        self.demo, self.total, self.first, self.months = demo, total, first, months
        self.next = dict(first)
        self.vendor = connection.vendor
        self.counts = {"case": 0, "case_event": 0, "whistle": 0, "co_handler": 0, "supervision": 0}
        self.states: dict[str, int] = defaultdict(int)
        self.dropped: list[str] = []
        self.tally_keys: list[np.ndarray] = []
        self.tally_sums: list[np.ndarray] = []

    # set-up and tear-down ---------------------------------------------------------------------------

    def __enter__(self):
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                tables = ", ".join(_table(m) for m in (Case, CaseEvent, Whistle, CoHandler, Supervision, CaseTally))
                # Primary keys are chosen here, not by the sequences: nobody else may insert meanwhile.
                cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            self._temporary_tables(cursor)
            if self.total >= LARGE:
                for model in (Case, CaseEvent, CaseTally):
                    if not model.objects.exists():
                        self.dropped += _drop_plain_indexes(cursor, model)
        return self

    def __exit__(self, *exc_info):
        with connection.cursor() as cursor:
            for name in ("demo_seed_desk", "demo_seed_verifier", "demo_seed_walked"):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
            if exc_info[0] is not None:
                return
            self._write_tallies(cursor)
            if self.dropped:
                if self.vendor == "postgresql":  # no index is built while foreign-key checks are pending
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for sql in self.dropped:
                    cursor.execute(sql)
                if self.vendor == "postgresql":
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for sql in connection.ops.sequence_reset_sql(no_style(), [Case, Whistle, CoHandler, Supervision]):
                cursor.execute(sql)

    def _temporary_tables(self, cursor) -> None:
        """Who acts on the main path, per area: the desk of each community and street, the verifier of each place."""
        cursor.execute("CREATE TEMPORARY TABLE demo_seed_desk (area_id BIGINT PRIMARY KEY, user_id BIGINT, label TEXT)")
        cursor.execute(
            "CREATE TEMPORARY TABLE demo_seed_verifier (area_id BIGINT PRIMARY KEY, user_id BIGINT, label TEXT)"
        )
        cursor.execute("CREATE TEMPORARY TABLE demo_seed_walked (id BIGINT PRIMARY KEY)")
        desks = [(pk, staff[0].pk, staff[0].label) for pk, staff in self.demo.community_staff.items()]
        desks += [(pk, staff[0].pk, staff[0].label) for pk, staff in self.demo.street_staff.items()]
        cursor.executemany("INSERT INTO demo_seed_desk VALUES (%s, %s, %s)", desks)
        verifiers = [(p.pk, p.verifier.pk, p.verifier.label) for p in self.demo.places]
        cursor.executemany("INSERT INTO demo_seed_verifier VALUES (%s, %s, %s)", verifiers)

    def write(self, plan: _ChunkPlan) -> None:
        rows = plan.rows
        with connection.cursor() as cursor:
            _insert(cursor, Case, CASE_COLUMNS, rows)
            if plan.walked:
                _insert(cursor, None, ("id",), [(pk,) for pk in plan.walked], table="demo_seed_walked")
            self._main_path_events(cursor, rows[0][0], rows[-1][0])
            _insert(cursor, CaseEvent, EVENT_COLUMNS, plan.events)
            _insert(cursor, Whistle, WHISTLE_COLUMNS, plan.whistles)
            _insert(cursor, CoHandler, CO_HANDLER_COLUMNS, plan.co_handlers)
            _insert(cursor, Supervision, SUPERVISION_COLUMNS, plan.supervisions)
            if plan.supervisions:
                self._supervision_events(cursor, plan.supervisions[0][0], plan.supervisions[-1][0])
        for model, written in ((Case, rows), (Whistle, plan.whistles), (CoHandler, plan.co_handlers),
                               (Supervision, plan.supervisions)):  # fmt: skip
            if written:
                self.next[model] = written[-1][0] + 1
        self.counts["case"] += len(rows)
        self.counts["case_event"] += plan.main_events + len(plan.events) + len(plan.supervisions)
        self.counts["whistle"] += len(plan.whistles)
        self.counts["co_handler"] += len(plan.co_handlers)
        self.counts["supervision"] += len(plan.supervisions)
        for state, n in plan.states.items():
            self.states[state] += n
        self.tally_keys.append(plan.tally_keys)
        self.tally_sums.append(plan.tally_sums)

    def _main_path_events(self, cursor, first: int, last: int) -> None:
        """The events of the chunk's cases that went along the main path, one INSERT … SELECT per step.

        Each step's event follows from the case row: its time from the step's timestamp column, its actor
        from the reporter, the desk of the case's tier, the assignee or the verifier of the place.
        """
        pg = self.vendor == "postgresql"
        json_of = "CAST({} AS jsonb)" if pg else "{}"
        true, false = ("TRUE", "FALSE") if pg else ("1", "0")
        staff = ", ".join(f"'{c}'" for c in STAFF_CHANNELS)
        user = _table_name("accounts", "user")
        reporter = ("c.reporter_id", f"COALESCE(ur.display_name, '{RESIDENT_LABEL}')")
        desk = (
            "CASE WHEN c.handled_on_spot THEN c.reporter_id ELSE dk.user_id END",
            f"CASE WHEN c.handled_on_spot THEN {reporter[1]} ELSE dk.label END",
        )
        spot_note = f"CASE WHEN c.handled_on_spot THEN '{ON_SPOT_NOTE}' ELSE '' END"
        joins = {
            "dc": "demo_seed_desk dc ON dc.area_id = c.community_pk",
            "dk": "demo_seed_desk dk ON dk.area_id = "
            "(CASE WHEN c.tier IN ('street', 'department') THEN c.street_pk ELSE c.community_pk END)",
            "v": "demo_seed_verifier v ON v.area_id = c.area_id",
            "ur": f"{user} ur ON ur.id = c.reporter_id",
            "ua": f"{user} ua ON ua.id = c.assignee_id",
            "ub": f"{user} ub ON ub.id = c.resolved_by_id",
        }
        # (action, from, to, time column, (actor, label), joins, note, public, data, extra condition)
        steps = (
            ("report", "", S.REPORTED, "c.reported_at",
             (f"CASE WHEN c.channel IN ({staff}) THEN dc.user_id ELSE c.reporter_id END",
              f"CASE WHEN c.channel IN ({staff}) THEN dc.label ELSE {reporter[1]} END"),
             ("dc", "ur"), "''", true, """'{"channel": "' || c.channel || '"}'""", ""),
            ("accept", S.REPORTED, S.ACCEPTED, "c.accepted_at", desk, ("dk", "ur"), spot_note, true, "'{}'", ""),
            ("register", S.ACCEPTED, S.REGISTERED, "c.accepted_at", desk, ("dk", "ur"), spot_note, false, "'{}'",
             f"AND c.state <> '{S.ACCEPTED}'"),  # registered right after accepting, unless it stopped there
            ("dispatch", S.REGISTERED, S.DISPATCHED, "c.dispatched_at", desk, ("dk", "ur"), spot_note, true,
             """CASE WHEN c.handled_on_spot THEN '{}' ELSE '{"tier": "' || c.tier || '", "department": ' || """
             """COALESCE(CAST(c.department_id AS TEXT), 'null') || ', "assignee": null}' END""", ""),
            ("take", S.DISPATCHED, S.TAKEN, "c.taken_at", ("c.assignee_id", "ua.display_name"), ("ua",), spot_note,
             true, "'{}'", ""),
            ("resolve", S.TAKEN, S.RESOLVED, "c.resolved_at", ("c.resolved_by_id", "ub.display_name"), ("ub",),
             spot_note, true, "'{}'", ""),
            ("verify", S.RESOLVED, S.VERIFIED, "c.verified_at", ("v.user_id", "v.label"), ("v",), "''", true, "'{}'",
             ""),
            ("close", S.VERIFIED, S.CLOSED, "c.closed_at", ("dk.user_id", "dk.label"), ("dk",), "''", true, "'{}'",
             ""),
            ("rate", S.CLOSED, S.RATED, "c.updated_at", reporter, ("ur",), "c.rating_comment", true,
             """'{"rating": "' || c.rating || '", "rating_comment": "' || c.rating_comment || '"}'""",
             "AND c.rating <> ''"),
        )  # fmt: skip
        for action, from_state, to_state, at, (actor, label), used, note, public, data, extra in steps:
            # Every name and literal here is the module's own; the only values are the bound pks.
            select = f"SELECT c.id, {at}, {actor}, {label}, '{action}', "  # noqa: S608
            select += f"'{from_state}', '{to_state}', {note}, {public}, {json_of.format(data)} FROM {_table(Case)} c "
            where = f"WHERE c.id BETWEEN %s AND %s AND {at} IS NOT NULL {extra} "
            where += "AND NOT EXISTS (SELECT 1 FROM demo_seed_walked w WHERE w.id = c.id)"
            joined = "".join(f"LEFT JOIN {joins[name]} " for name in used)
            insert = f"INSERT INTO {_table(CaseEvent)} ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608
            cursor.execute(insert + select + joined + where, [first, last])

    def _supervision_events(self, cursor, first: int, last: int) -> None:
        """One event per supervision row, as services.raise_supervision writes it."""
        json_of = "CAST({} AS jsonb)" if self.vendor == "postgresql" else "{}"
        data = json_of.format("""'{"level": ' || CAST(s.level AS TEXT) || ', "stage": "' || s.stage || '"}'""")
        false = "FALSE" if self.vendor == "postgresql" else "0"
        # Every name and literal here is the module's own; the only values are the bound pks.
        label = f"COALESCE(u.display_name, '{AUTOMATIC_LABEL}')"
        select = f"SELECT s.case_id, s.at, s.by_id, {label}, 'supervise', '', '', s.instruction, "  # noqa: S608
        select += f"{false}, {data} FROM {_table(Supervision)} s "
        select += f"LEFT JOIN {_table_name('accounts', 'user')} u ON u.id = s.by_id WHERE s.id BETWEEN %s AND %s"
        insert = f"INSERT INTO {_table(CaseEvent)} ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608
        cursor.execute(insert + select, [first, last])

    # tallies ---------------------------------------------------------------------------------------------------------

    def _write_tallies(self, cursor) -> None:
        """Sum the cases' leaf cells, then add each leaf cell to the rows of its lineage (as `tallies.cells_of`)."""
        if not self.tally_keys:
            return
        leaves, sums = _sum_by_key(np.concatenate(self.tally_keys), np.concatenate(self.tally_sums))
        demo, months = self.demo, self.months
        leaf_areas = (leaves >> 24) // 64
        month_and_category = leaves - ((leaf_areas * 64) << 24)
        distinct, index = np.unique(leaf_areas, return_inverse=True)
        lineage_of = {
            int(cell): place.lineage for cell, place in zip(demo.place_cell.tolist(), demo.places, strict=True)
        }
        keys, values = [], []
        for level in range(4):
            ancestor = np.array([lineage_of[int(a)][level] or 0 for a in distinct], dtype=np.int64)[index]
            kept = ancestor > 0
            keys.append(((ancestor[kept] * 64) << 24) + month_and_category[kept])
            values.append(sums[kept])
        cells, sums = _sum_by_key(np.concatenate(keys), np.concatenate(values))
        rows = []
        for key, measures in zip(cells.tolist(), sums.tolist(), strict=True):
            category = key & ((1 << 24) - 1)
            area, month = divmod(key >> 24, 64)
            rows.append((area, months[month], category, *measures))
        if CaseTally.objects.filter(area=demo.district).exists():
            _upsert_tallies(cursor, rows)
        else:  # a fresh district: every cell is new
            _insert(cursor, CaseTally, tallies.TALLY_COLUMNS, rows)

    def result(self, seconds: float) -> CasesResult:
        counts = {**self.counts, "states": dict(sorted(self.states.items()))}
        ranges = {
            model._meta.label_lower: [self.first[model], self.next[model] - 1]
            for model in (Case, Whistle, CoHandler, Supervision)
            if self.next[model] > self.first[model]
        }
        return CasesResult(counts, ranges, seconds)


STATE_INDEX = {state: k for k, state in enumerate(CaseState.values)}


def _sum_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, the rows of `values` summed per key), by sorting rather than np.add.at (much faster)."""
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(values, starts, axis=0)


def _upsert_tallies(cursor, rows: list) -> None:
    """Add the cells to CaseTally with the upsert `tallies` uses, on SQLite and PostgreSQL."""
    cursor.executemany(tallies.upsert_sql(1), rows)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _table_name(app_label: str, model_name: str) -> str:
    from django.apps import apps

    return _table(apps.get_model(app_label, model_name))


def _next_pk(model) -> int:
    return (model.objects.aggregate(highest=Max("pk"))["highest"] or 0) + 1


def _insert(cursor, model, columns: tuple[str, ...], rows: list, batch: int = 5000, table: str = "") -> None:
    if not rows:
        return
    table = table or _table(model)
    names_sql = ", ".join(connection.ops.quote_name(column) for column in columns)
    if connection.vendor == "postgresql":
        # COPY takes rows several times faster than INSERT, even pipelined.
        with cursor.cursor.copy(f"COPY {table} ({names_sql}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {table} ({names_sql}) VALUES ({placeholders})"  # noqa: S608 -- names from metadata
    if connection.vendor == "sqlite":
        # The sqlite3 cursor itself: Django's wrapper re-reads every row of a million through a Python iterator.
        for start in range(0, len(rows), batch):
            sqlite3.Cursor.executemany(cursor.cursor, sql, rows[start : start + batch])
        return
    sql = sql.replace("?", "%s")
    for start in range(0, len(rows), batch):
        cursor.executemany(sql, rows[start : start + batch])


def _drop_plain_indexes(cursor, model) -> list[str]:
    """Drop an empty table's non-unique indexes; returns the statements that build them again at the end.

    Building an index from a million keys at the end takes a fraction of growing it one key at a time.
    Rows go in parents first, so no foreign-key check needs them meanwhile; unique indexes stay.
    """
    from .population import _plain_indexes

    dropped = []
    for name, sql, _first_column in _plain_indexes(cursor, model._meta.db_table):
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        dropped.append(sql)
    return dropped


# --- reset ----------------------------------------------------------------------------------------------------------


def remove_cases(district: Area, pk_ranges: dict) -> None:
    """Delete the cases seed_cases wrote (the ranges it returned), with their timelines, whistles and tallies.

    Cases reported later by people using the demo are not touched: they keep their areas, and the
    area deletion that follows refuses, as it should.
    """
    low, high = pk_ranges.get("cases.case", (0, -1))
    pointing = Case.objects.filter(merged_into__gte=low, merged_into__lte=high).exclude(pk__range=(low, high))
    if low <= high and pointing.exists():
        raise ProtectedError("Cases reported since point at the seeded ones.", set(pointing[:5]))
    with connection.cursor() as cursor:
        for model in (Notification, CaseAttachment, CaseEvent, CoHandler, Supervision, Whistle):
            cursor.execute(f"DELETE FROM {_table(model)} WHERE case_id BETWEEN %s AND %s", [low, high])  # noqa: S608
        cursor.execute(f"UPDATE {_table(Case)} SET merged_into_id = NULL WHERE id BETWEEN %s AND %s", [low, high])  # noqa: S608
        cursor.execute(f"DELETE FROM {_table(Case)} WHERE id BETWEEN %s AND %s", [low, high])  # noqa: S608
    CaseTally.objects.filter(subtree_q(district.path, "area__")).delete()
    if Case.objects.filter(subtree_q(district.path, "area__")).exists():
        tallies.rebuild()
