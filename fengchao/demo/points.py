"""Points, the mall and monthly sessions in the demo: the pilot street 保和街道 (at every scale) earns and spends.

Many districts start 双积分 in one street. The demo does the same. The district sets the rules, and
和美社区 pays more for trainings with a rule of its own. Every case closed in 保和街道 during the seeded
year paid its handler `case.handled` and its reporter `case.reported`, by claims granted at the close.
Every month each community holds a training, a members' stand-up, a party joint meeting and a theme
day; those serving there sign up, most come and check in by the QR code, and attendance earns its
participation points (trainings after review: the latest training's claims still wait for it). Each
community of the street has a charity shop (爱心超市); some also have a noodle shop, an early-education
centre or a grocery. Members order from their community's shops through the year. Most orders are
verified, some expired or were cancelled (their points released), and the last few days' orders are
still waiting.

The rows are written as the services write them (claims, transfers with two entries each, cached
balances equal to the entries, stock taken per order) but in bulk, with primary keys chosen up front;
`tests/test_demo_points.py` proves the ledger reconciles and no source paid twice.
"""

import datetime as dt
import random
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass

from django.core.management.color import no_style
from django.db import connection
from django.utils import timezone

from fengchao.accounts.models import RoleAssignment, User
from fengchao.accounts.roles import Role
from fengchao.activities.choices import ACTION_OF_KIND, ActivityKind, ActivityState, Audience, CheckMethod, SignupState
from fengchao.activities.models import Activity, Attendance, Signup
from fengchao.areas.models import Area
from fengchao.cases.choices import CaseState
from fengchao.cases.models import Case
from fengchao.mall.models import Item, Merchant, Order, OrderState
from fengchao.points import ledger
from fengchao.points.choices import Action, Approval, ClaimState, PointsKind, Purpose, TransferKind
from fengchao.points.models import Account, Claim, Entry, Rule, RuleRevision, Transfer
from fengchao.points.services import rule_snapshot

from . import names
from .cases import _insert, _next_pk
from .fieldwork import FieldworkResult, seed_fieldwork
from .layout import DEFAULT_SEED

VERSION = 1
PILOT_STREET = names.SMALL_SCALE_STREET
TASK, PARTICIPATION = PointsKind.TASK, PointsKind.PARTICIPATION
ORDER_HOURS = 48

# (action, kind, points, points per hour, most hours, daily cap, monthly cap, approval, listing days)
DISTRICT_RULES = [
    (Action.CASE_HANDLED, TASK, 10, 0, None, None, None, Approval.AUTO, 0),
    (Action.CASE_REPORTED, TASK, 3, 0, None, None, None, Approval.AUTO, 0),
    (Action.TASK_COMPLETED, TASK, 5, 0, None, 30, None, Approval.AUTO, 0),
    (Action.INSPECTION_DONE, TASK, 3, 0, None, 15, None, Approval.AUTO, 0),
    (Action.VISIT_DONE, TASK, 2, 0, None, 10, None, Approval.AUTO, 0),
    (Action.TRAINING_ATTENDED, PARTICIPATION, 5, 0, None, None, 40, Approval.REVIEW, 0),
    (Action.MEETING_ATTENDED, PARTICIPATION, 2, 0, None, None, 20, Approval.AUTO, 0),
    (Action.PARTY_ACTIVITY, PARTICIPATION, 5, 0, None, 10, None, Approval.AUTO, 0),
    (Action.VOLUNTEER_HOURS, PARTICIPATION, 0, 10, 4, None, 200, Approval.LISTING, 3),
]
COMMUNITY_RULES = {
    names.ADAPTED_COMMUNITY: [(Action.TRAINING_ATTENDED, PARTICIPATION, 8, 0, None, None, 48, Approval.REVIEW, 0)]
}

# The sessions each community holds every month: (kind, title, day of the month, hours).
SESSIONS = [
    (ActivityKind.TRAINING, "{month}月微网格员业务培训", 8, 2),
    (ActivityKind.STANDUP, "{month}月微网格员碰头会", 15, 1),
    (ActivityKind.PARTY_JOINT, "{month}月网格党建联席会议", 20, 2),
    (ActivityKind.PARTY_THEME, "{month}月主题党日活动", 25, 3),
]

# (kind, name) of the shops in a community besides its charity shop, and what each takes points for.
SHOPS = [
    ("restaurant", "{community}邻里面馆"),
    ("early_education", "{community}小树苗早教中心"),
    ("grocery", "{community}便民杂货铺"),
]
ITEMS = {
    "charity_shop": [
        ("东北大米 5kg", "rice", 120),
        ("菜籽油 1.8L", "daily", 150),
        ("新鲜猪肉 500g", "meat", 60),
        ("时令苹果 2kg", "fruit", 40),
        ("土鸡蛋 10枚", "daily", 30),
        ("洗衣液 2kg", "daily", 50),
        ("抽纸 6包", "daily", 20),
    ],
    "restaurant": [("牛肉面一碗", "meal", 30), ("早餐套餐", "meal", 15)],
    "early_education": [("早教体验课一节", "service", 200)],
    "grocery": [("酱油 500ml", "daily", 15), ("挂面 1kg", "rice", 18)],
}


@dataclass
class PointsResult:
    counts: dict
    pk_ranges: dict
    seconds: float


def seed_points(district: Area, *, seed: int = DEFAULT_SEED, now: dt.datetime | None = None) -> PointsResult:
    """Rules, shops and items, and a year of points earned and spent in the pilot street (caller's transaction)."""
    started = time.perf_counter()
    street = Area.objects.filter(parent=district, name=PILOT_STREET).first()
    if street is None:
        return PointsResult({}, {}, time.perf_counter() - started)
    now = now or timezone.now()
    writer = _PointsWriter(district, street, now, random.Random(seed))
    writer.rules()
    writer.shops()
    writer.earnings()
    writer.orders()
    writer.write()
    return PointsResult(writer.counts(), writer.pk_ranges(), time.perf_counter() - started)


class _PointsWriter:
    def __init__(self, district: Area, street: Area, now: dt.datetime, rnd: random.Random):
        self.district, self.street, self.now, self.rnd = district, street, now, rnd
        self.first = {m: _next_pk(m) for m in (Claim, Transfer, Order, Account, Activity, Signup, Attendance)}
        self.claims: list[tuple] = []
        self.transfers: list[tuple] = []
        self.entries: list[tuple] = []
        self.orders_rows: list[tuple] = []
        self.activity_rows: list[tuple] = []
        self.signup_rows: list[tuple] = []
        self.attendance_rows: list[tuple] = []
        self.codes: set[str] = set(Order.objects.values_list("code", flat=True))
        self.accounts: dict[tuple, int] = {}  # (user, merchant, kind, purpose) -> pk
        self.balance: dict[int, int] = defaultdict(int)  # account pk -> cached balance
        self.events: dict[int, list] = defaultdict(list)  # user pk -> [(at, kind, points)] earned, for spending
        self.rules_by: dict[tuple, Rule] = {}
        self.communities = list(Area.objects.filter(parent=street, kind="community").order_by("pk"))
        self.staff = self._community_staff()
        self.platform = {
            (kind, purpose): ledger.account_for(kind, purpose).pk
            for kind in PointsKind.values
            for purpose in (Purpose.ISSUED, Purpose.EXPIRED)
        }
        self.next_account = (
            max(self.first[Account], Account.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        )
        self.account_rows: list[tuple] = []
        self.suffix = "+00" if connection.vendor == "postgresql" else ""
        self.shops_of: dict[int, list[Merchant]] = {}
        self.items_of: dict[int, list[Item]] = defaultdict(list)
        self.fieldwork = FieldworkResult()

    # rules and shops (a few rows: through the ORM) ------------------------------------------------------------

    def rules(self) -> None:
        admin = (
            RoleAssignment.objects.filter(role=Role.DISTRICT_ADMIN, area=self.district)
            .values_list("user_id", flat=True)
            .first()
        )
        planned = [(self.district, row) for row in DISTRICT_RULES]
        for community in self.communities:
            planned += [(community, row) for row in COMMUNITY_RULES.get(community.name, [])]
        for area, (action, kind, points, per_hour, most, daily, monthly, approval, listing) in planned:
            rule = Rule.objects.create(
                area=area,
                action=action,
                kind=kind,
                points=points,
                points_per_hour=per_hour,
                max_hours=most,
                daily_cap=daily,
                monthly_cap=monthly,
                approval=approval,
                listing_days=listing,
            )
            RuleRevision.objects.create(rule=rule, version=1, values=rule_snapshot(rule), changed_by_id=admin)
            self.rules_by[(area.pk, action)] = rule

    def rule(self, action: str, area_pk_path: str) -> Rule:
        for pk in reversed([int(p) for p in area_pk_path.strip("/").split("/")]):
            found = self.rules_by.get((pk, action))
            if found is not None:
                return found
        raise LookupError(action)

    def shops(self) -> None:
        merchant_user = User.objects.filter(username="demo_merchant").first()
        for n, community in enumerate(self.communities):
            short = community.name.removesuffix("社区")
            shops = [Merchant(name=f"{short}爱心超市", kind="charity_shop", area=community, address=community.address)]
            for kind, name in self.rnd.sample(SHOPS, k=1 + n % 3):
                shops.append(
                    Merchant(name=name.format(community=short), kind=kind, area=community, address=community.address)
                )
            Merchant.objects.bulk_create(shops)
            if merchant_user is not None and community.name == names.ADAPTED_COMMUNITY:
                shops[0].users.add(merchant_user)
            self.shops_of[community.pk] = shops
            items = [
                Item(merchant=shop, area=community, name=name, category=category, price=price, stock=0)
                for shop in shops
                for name, category, price in ITEMS[shop.kind]
            ]
            Item.objects.bulk_create(items)
            self.items_of[community.pk] = items

    # earning ----------------------------------------------------------------------------------------------------

    def earnings(self) -> None:
        since = self.now - dt.timedelta(days=365)
        closed = (
            Case.objects.filter(
                street_pk=self.street.pk, closed_at__gte=since, state__in=[CaseState.CLOSED, CaseState.RATED]
            )
            .order_by("closed_at", "pk")
            .values_list(
                "pk",
                "closed_at",
                "resolved_by_id",
                "reporter_id",
                "area_id",
                "area__path",
                "reported_at",
                "category__name",
            )
        )
        for pk, closed_at, handler, reporter, area_id, path, reported_at, category in closed.iterator(chunk_size=5000):
            label = f"{timezone.localtime(reported_at):%Y%m%d}{pk:08d} {category}"
            for user, action in ((handler, Action.CASE_HANDLED), (reporter, Action.CASE_REPORTED)):
                if user:
                    self.claim(user, action, "cases.case", str(pk), label, area_id, path, closed_at)
        self.activities()
        self.fieldwork = seed_fieldwork(self.street, now=self.now, rnd=self.rnd, earn=self.claim)

    def activities(self) -> None:
        """Each month each community holds its sessions; those serving there sign up and most attend, by QR code.

        Attending earns as the rules say: trainings after review (the latest training's claims still wait for it),
        meetings and theme days at once.
        """
        serving = RoleAssignment.objects.filter(
            role__in=[Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER, Role.GRID_LEADER], area__street_pk=self.street.pk
        ).order_by("pk")
        people: dict[int, list[int]] = defaultdict(list)
        for user, community_pk in serving.values_list("user_id", "area__community_pk"):
            if user not in people[community_pk]:
                people[community_pk].append(user)
        review_before = self.now - dt.timedelta(days=35)  # the last training of each community still waits
        for community in self.communities:
            staff = self.staff.get(community.pk)
            if staff is None or not people[community.pk]:
                continue
            for months_back in range(11, -2, -1):  # a year of sessions, and those announced for the coming weeks
                for kind, title, day, hours in SESSIONS:
                    start = timezone.localtime(self.now - dt.timedelta(days=30 * months_back)).replace(
                        day=day, hour=15, minute=0, second=0, microsecond=0
                    )
                    ended = start + dt.timedelta(hours=hours) < self.now
                    if not ended and not self.now < start < self.now + dt.timedelta(days=30):
                        continue  # under way now, or too far ahead to be announced
                    month = timezone.localtime(start).month
                    self.session(community, staff, kind, title.format(month=month), start, hours, people[community.pk],
                                 reviewed=start < review_before, held=ended)  # fmt: skip

    def session(self, community, staff, kind, title, start, hours, people, *, reviewed, held=True) -> None:
        """One session with its sign-ups; once held, its attendance (by QR code) and the claims attendance made."""
        activity_pk = self.first[Activity] + len(self.activity_rows)
        end = start + dt.timedelta(hours=hours)
        self.activity_rows.append(
            (activity_pk, community.pk, kind, title, "", f"{community.name}党群服务中心", self.stamp(start),
             self.stamp(end), None, Audience.SERVING, staff, ActivityState.PUBLISHED, secrets.token_hex(32), 1,
             self.stamp(start - dt.timedelta(days=5)))
        )  # fmt: skip
        action = ACTION_OF_KIND[kind]
        label = f"{title}（{timezone.localtime(start):%Y-%m-%d}）"
        for user in people:
            roll = self.rnd.random()
            if roll > 0.65:
                continue
            self.signup_rows.append(
                (self.first[Signup] + len(self.signup_rows), activity_pk, user, SignupState.CONFIRMED,
                 self.stamp(start - dt.timedelta(days=self.rnd.randint(1, 4))), None, self.stamp(start))
            )  # fmt: skip
            if roll > 0.55 or not held:  # signed up and did not come, or it is still ahead
                continue
            arrived = start + dt.timedelta(minutes=self.rnd.randint(-20, 15))
            attendance_pk = self.first[Attendance] + len(self.attendance_rows)
            self.attendance_rows.append(
                (attendance_pk, activity_pk, user, self.stamp(arrived), None, CheckMethod.QR, None, None)
            )
            state = ClaimState.GRANTED
            rule = self.rule(action, community.path)
            review = None
            if rule.approval != Approval.AUTO:
                state = ClaimState.GRANTED if reviewed else ClaimState.PENDING
                review = (staff, arrived + dt.timedelta(days=1)) if reviewed else None
            self.claim(user, action, "activities.attendance", str(attendance_pk), label, community.pk, community.path,
                       arrived, state=state, review=review)  # fmt: skip

    def claim(self, user, action, source_type, source_id, label, area_id, path, at, *, state=ClaimState.GRANTED,
              review=None) -> None:  # fmt: skip
        """A claim as services.earn makes it; granted (a grant transfer) unless it still waits for review."""
        rule = self.rule(action, path)
        claim_pk = self.first[Claim] + len(self.claims)
        reviewer, reviewed_at = review or (None, None)
        self.claims.append(
            (claim_pk, user, action, source_type, source_id, label[:200], rule.pk, rule.version, area_id, rule.kind,
             rule.points, None, "", state, self.stamp(at), None, reviewer, self.stamp(reviewed_at), "", 1)
        )  # fmt: skip
        if state != ClaimState.GRANTED:
            return
        granted_at = reviewed_at or at
        self.transfer(
            TransferKind.GRANT, rule.kind, rule.points, user, granted_at, area_id=area_id,
            source=(source_type, source_id, label), claim=claim_pk, rule=rule.pk, approved_by=reviewer,
        )  # fmt: skip
        self.events[user].append((granted_at, rule.kind, rule.points))

    # spending ---------------------------------------------------------------------------------------------------

    def orders(self) -> None:
        """Each person with points orders now and then from their community's shops, cheapest affordable first."""
        community_of = dict(
            RoleAssignment.objects.filter(area__street_pk=self.street.pk, user_id__in=list(self.events)).values_list(
                "user_id", "area__community_pk"
            )
        )
        for user, earned in self.events.items():
            items = self.items_of.get(community_of.get(user))
            if not items:
                continue
            earned.sort(key=lambda e: e[0])
            have = {TASK: 0, PARTICIPATION: 0}
            for k, (at, kind, points) in enumerate(earned):
                have[kind] += points
                following = earned[k + 1][0] if k + 1 < len(earned) else self.now
                if self.rnd.random() > 0.12 or (following - at) < dt.timedelta(hours=3):
                    continue
                affordable = [i for i in items if i.price <= have[TASK] + have[PARTICIPATION]]
                if not affordable:
                    continue
                item = self.rnd.choice(affordable)
                ordered_at = at + (following - at) * self.rnd.uniform(0.05, 0.5)
                if ordered_at >= self.now:
                    continue
                self.order(user, item, ordered_at, have)

    def order(self, user, item: Item, at: dt.datetime, have: dict) -> None:
        paid = {}
        left = item.price
        for kind in (PARTICIPATION, TASK):
            take = min(left, have[kind])
            if take:
                paid[kind] = take
                left -= take
        order_pk = self.first[Order] + len(self.orders_rows)
        source = ("mall.order", str(order_pk), item.name)
        for kind, points in paid.items():
            have[kind] -= points
            self.transfer(TransferKind.FREEZE, kind, points, user, at, area_id=item.area_id, source=source, actor=user)
        expires = at + dt.timedelta(hours=ORDER_HOURS)
        roll = self.rnd.random()
        state, closed_at, verified_at = OrderState.FROZEN, None, None
        if expires < self.now:
            state = OrderState.VERIFIED if roll < 0.86 else OrderState.EXPIRED if roll < 0.94 else OrderState.CANCELLED
        if state == OrderState.VERIFIED:
            verified_at = at + dt.timedelta(minutes=self.rnd.randint(20, 36 * 60))
            for kind, points in paid.items():
                self.transfer(
                    TransferKind.SPEND,
                    kind,
                    points,
                    user,
                    verified_at,
                    area_id=item.area_id,
                    source=source,
                    merchant=item.merchant_id,
                )
        elif state in (OrderState.EXPIRED, OrderState.CANCELLED):
            closed_at = expires if state == OrderState.EXPIRED else at + dt.timedelta(hours=self.rnd.randint(1, 20))
            for kind, points in paid.items():
                have[kind] += points
                self.transfer(TransferKind.RELEASE, kind, points, user, closed_at, area_id=item.area_id, source=source)
        self.orders_rows.append(
            (order_pk, user, item.pk, item.merchant_id, item.area_id, 1, item.price, paid, self.code(),
             state, self.stamp(at), self.stamp(expires), self.stamp(verified_at), None, self.stamp(closed_at), "", "")
        )  # fmt: skip

    # the ledger rows --------------------------------------------------------------------------------------------

    def transfer(self, kind, points_kind, points, user, at, *, area_id=None, source=("", "", ""), claim=None, rule=None,
                 actor=None, approved_by=None, reason="", merchant=None) -> None:  # fmt: skip
        transfer_pk = self.first[Transfer] + len(self.transfers)
        self.transfers.append(
            (transfer_pk, kind, points_kind, points, user, merchant, area_id, *source, claim, rule, approved_by, actor,
             reason, self.stamp(at), None)
        )  # fmt: skip
        (source_holder, source_purpose), (target_holder, target_purpose) = ledger.ROUTES[kind]
        for holder, purpose, sign in ((source_holder, source_purpose, -1), (target_holder, target_purpose, 1)):
            if holder == "platform":
                account = self.platform[(points_kind, purpose)]
            else:
                account = self.account(
                    user if holder == "user" else None, merchant if holder == "merchant" else None, points_kind, purpose
                )
                self.balance[account] += sign * points
            self.entries.append((transfer_pk, account, sign * points))

    def account(self, user, merchant, kind, purpose) -> int:
        key = (user, merchant, kind, purpose)
        pk = self.accounts.get(key)
        if pk is None:
            pk = self.accounts[key] = self.next_account
            self.next_account += 1
            self.account_rows.append((pk, user, merchant, kind, purpose))
        return pk

    def code(self) -> str:
        """A one-time code as the mall gives one: eight random digits, unique among the orders."""
        while True:
            code = f"{secrets.randbelow(10**8):08d}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def stamp(self, value: dt.datetime | None):
        if value is None:
            return None
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + self.suffix

    def write(self) -> None:
        accounts = [
            (pk, user, merchant, kind, purpose, self.balance[pk])
            for pk, user, merchant, kind, purpose in self.account_rows
        ]
        orders = [(*row[:7], _json(row[7]), *row[8:]) for row in self.orders_rows]
        with connection.cursor() as cursor:
            _insert(cursor, Account, ("id", "user_id", "merchant_id", "kind", "purpose", "balance"), accounts)
            _insert(cursor, Activity, ACTIVITY_COLUMNS, self.activity_rows)
            _insert(cursor, Signup, SIGNUP_COLUMNS, self.signup_rows)
            _insert(cursor, Attendance, ATTENDANCE_COLUMNS, self.attendance_rows)
            _insert(cursor, Claim, CLAIM_COLUMNS, self.claims)
            _insert(cursor, Transfer, TRANSFER_COLUMNS, self.transfers)
            _insert(cursor, Entry, ("transfer_id", "account_id", "amount"), self.entries)
            _insert(cursor, Order, ORDER_COLUMNS, orders)
        # What is left on the shelves now, after the year's orders took theirs.
        for items in self.items_of.values():
            for item in items:
                Item.objects.filter(pk=item.pk).update(stock=self.rnd.randint(20, 120))
        with connection.cursor() as cursor:
            models = [Account, Claim, Transfer, Entry, Order, Activity, Signup, Attendance]
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    def _community_staff(self) -> dict[int, int]:
        rows = RoleAssignment.objects.filter(role=Role.COMMUNITY_STAFF, area__parent=self.street).order_by("pk")
        found = {}
        for user, area in rows.values_list("user_id", "area_id"):
            found.setdefault(area, user)
        return found

    def counts(self) -> dict:
        states = defaultdict(int)
        for row in self.orders_rows:
            states[row[9]] += 1
        return {
            "points_rule": len(self.rules_by),
            "points_claim": len(self.claims),
            "points_transfer": len(self.transfers),
            "merchant": sum(len(s) for s in self.shops_of.values()),
            "mall_item": sum(len(i) for i in self.items_of.values()),
            "mall_order": len(self.orders_rows),
            "activity": len(self.activity_rows),
            "activity_attendance": len(self.attendance_rows),
            **{f"mall_order.{state}": n for state, n in sorted(states.items())},
            **self.fieldwork.counts,
        }

    def pk_ranges(self) -> dict:
        ranges = {}
        for model, written in (
            (Claim, self.claims),
            (Transfer, self.transfers),
            (Order, self.orders_rows),
            (Account, self.account_rows),
        ):
            if written:
                ranges[model._meta.label_lower] = [written[0][0], written[-1][0]]
        return ranges


def _json(value: dict) -> str:
    import json

    return json.dumps(value)


ACTIVITY_COLUMNS = (
    "id", "area_id", "kind", "title", "description", "place", "starts_at", "ends_at", "capacity", "audience",
    "organiser_id", "state", "qr_secret", "version", "created_at",
)  # fmt: skip
SIGNUP_COLUMNS = ("id", "activity_id", "user_id", "state", "queued_at", "reminded_at", "updated_at")
ATTENDANCE_COLUMNS = (
    "id", "activity_id", "user_id", "checked_in_at", "checked_out_at", "method", "marked_by_id", "hours",
)  # fmt: skip
CLAIM_COLUMNS = (
    "id", "user_id", "action", "source_type", "source_id", "source_label", "rule_id", "rule_version", "area_id",
    "kind", "points", "hours", "note", "state", "earned_at", "listed_until", "reviewed_by_id", "reviewed_at", "reason",
    "version",
)  # fmt: skip
TRANSFER_COLUMNS = (
    "id", "kind", "points_kind", "points", "user_id", "merchant_id", "area_id", "source_type", "source_id",
    "source_label", "claim_id", "rule_id", "approved_by_id", "actor_id", "reason", "at", "expires_at",
)  # fmt: skip
ORDER_COLUMNS = (
    "id", "user_id", "item_id", "merchant_id", "area_id", "quantity", "points", "paid", "code", "state", "created_at",
    "expires_at", "verified_at", "verified_by_id", "closed_at", "reason", "idempotency_key",
)  # fmt: skip


def remove_points(district: Area, pk_ranges: dict) -> None:
    """Delete what seed_points wrote (and anything since in the demo's mall and rules), before the areas go."""
    from .cases import _table

    with connection.cursor() as cursor:
        for model in (Entry, Transfer, Claim, Order, Attendance, Signup, Activity):
            cursor.execute(f"DELETE FROM {_table(model)}")  # noqa: S608 -- a demo database holds nothing else
        cursor.execute(f"DELETE FROM {_table(Account)} WHERE user_id IS NOT NULL OR merchant_id IS NOT NULL")  # noqa: S608
    Item.objects.all().delete()
    Merchant.users.through.objects.all().delete()
    Merchant.objects.all().delete()
    RuleRevision.objects.all().delete()
    Rule.objects.all().delete()
