"""Random runs of grants, adjustments, orders, verifications, cancellations, expiries and refunds (hypothesis,
stateful): whatever anyone tries, the ledger's invariants hold.

Each step calls a real service (points.services, mall.services) with random people, items, amounts and
sources. The only acceptable outcomes are success or a refusal (ValidationError, including "not enough
points" and stale records, or PermissionDenied). After every step:

- the ledger reconciles: every transfer is two entries summing to zero, every cached balance equals its
  entries, and no person or merchant is below zero;
- no stock is below zero, and each item's stock plus what its open and verified orders hold equals what
  it started with;
- every spend has a verified (or since refunded) order, and a person's frozen points are exactly what
  their open orders hold;
- no source paid twice: at most one grant per claim and one claim per action, source and person.

The tree, the mall and the rules are built once by the pytest test; each example runs inside a savepoint
that its teardown rolls back (as in test_cases_workflow_property.py).
"""

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from fengchao.mall import services as mall
from fengchao.mall.models import Item, Order, OrderState
from fengchao.points import services
from fengchao.points.choices import Action, PointsKind, Purpose, TransferKind
from fengchao.points.models import Account, Claim, Transfer
from fengchao.points.reconcile import reconcile
from tests.factories import first_micro
from tests.mall_factories import build_mall

PEOPLE = ["microgrid_member", "grid_leader", "resident", "outsider_microgrid_member"]
ITEMS = ["rice", "oil", "meal", "eggs"]
KINDS = PointsKind.values
# Orders whose goods left the shelf: a refund gives the points back, not the stock (returned goods are restocked).
# Who orders what: mostly items offered where the person serves, and a few that are not (refused).
ORDERS = [(name, item) for name in PEOPLE[:3] for item in ITEMS[:3]] * 3 + [
    ("outsider_microgrid_member", "eggs"),
    ("outsider_microgrid_member", "eggs"),
    ("outsider_microgrid_member", "rice"),
    ("microgrid_member", "eggs"),
]
HOLDS_STOCK = (OrderState.FROZEN, OrderState.VERIFIED, OrderState.REFUNDED)


class Ledger(RuleBasedStateMachine):
    world: SimpleNamespace  # set by the test before the run
    succeeded: Counter  # steps that went through, over the whole run (the test checks each kind happened)

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        w = self.world
        self.items = {name: Item.objects.get(pk=getattr(w.mall, name).pk) for name in ITEMS}
        self.started_with = {item.pk: item.stock for item in self.items.values()}
        self.sources = [w.t.grid_a1, w.t.grid_a2, w.t.community_a, w.micro]

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def person(self, name):
        return self.world.t.users[name]

    def attempt(self, what, call):
        try:
            done = call()
        except (ValidationError, PermissionDenied) as e:
            Ledger.refused[(what, str(e)[:60])] += 1
            return None
        if done:
            Ledger.succeeded[what] += 1
        return done

    # ---- steps ----------------------------------------------------------------------------------------------

    @initialize(points=st.integers(0, 400))
    def start_with_points(self, points):
        """Everyone starts with some points of each kind (or none), so orders can go through."""
        if points:
            for name in PEOPLE:
                for kind in KINDS:
                    self.adjust(name, kind, points)

    @rule(
        name=st.sampled_from(PEOPLE),
        action=st.sampled_from([Action.CASE_HANDLED, Action.TRAINING_ATTENDED]),
        source=st.integers(0, 3),
    )
    def earn(self, name, action, source):
        area = self.world.micro if not name.startswith("outsider") else self.world.micro_b
        self.attempt("earn", lambda: services.earn(self.person(name), action, source=self.sources[source], area=area))

    @rule(name=st.sampled_from(PEOPLE), kind=st.sampled_from(KINDS), points=st.integers(-80, 150))
    def adjust(self, name, kind, points):
        staff = self.person("outsider_community_staff" if name.startswith("outsider") else "community_staff")
        area = self.world.micro_b if name.startswith("outsider") else self.world.micro
        self.attempt(
            "adjust",
            lambda: services.adjust(self.person(name), kind=kind, points=points, reason="核对", by=staff, area=area),
        )

    @rule(pair=st.sampled_from(ORDERS), quantity=st.integers(1, 3), key=st.integers(0, 30))
    def order(self, pair, quantity, key):
        name, item = pair
        person, chosen = self.person(name), self.items[item]
        self.attempt("order", lambda: mall.place_order(person, chosen, quantity, idempotency_key=f"k{key}"))

    # Verify, cancel and refund act on an order in the state they need (when there is one), by the person who
    # may, or on any order by anyone (which must be refused unless allowed).

    @rule(pick=st.integers(0, 50), by=st.sampled_from(["the shop", "merchant", "outsider_merchant", "street_staff"]))
    def verify(self, pick, by):
        order = self.pick_order(pick, OrderState.FROZEN)
        if order is not None:
            person = self.shop_user(order) if by == "the shop" else self.person(by)
            self.attempt("verify", lambda: mall.verify_order(order.code, person))

    @rule(pick=st.integers(0, 50), name=st.sampled_from(["the one who ordered"] * 4 + PEOPLE))
    def cancel(self, pick, name):
        order = self.pick_order(pick, OrderState.FROZEN)
        if order is not None:
            by = order.user if name == "the one who ordered" else self.person(name)
            self.attempt("cancel", lambda: mall.cancel_order(order, by))

    @rule(pick=st.integers(0, 50), by=st.sampled_from(["the shop", "merchant", "microgrid_member"]))
    def refund(self, pick, by):
        order = self.pick_order(pick, OrderState.VERIFIED)
        if order is not None:
            person = self.shop_user(order) if by == "the shop" else self.person(by)
            self.attempt("refund", lambda: mall.refund_order(order, person, "退货"))

    def shop_user(self, order):
        """Someone who may act for the order's shop: its own user, or the staff of its area."""
        return order.merchant.users.first() or self.person("street_staff")

    @rule(hours=st.sampled_from([1, 47, 49, 100]))
    def sweep_orders(self, hours):
        Ledger.succeeded["orders expired"] += mall.expire_orders(timezone.now() + dt.timedelta(hours=hours))

    @rule(days=st.sampled_from([10, 10, 10, 10, 10, 10, 40]))
    def sweep_points(self, days):
        Ledger.succeeded["points expired"] += services.expire_due(timezone.now() + dt.timedelta(days=days))

    def pick_order(self, pick, state):
        """An order in `state` for most picks (when there is one), else any, closed ones included."""
        orders = list(Order.objects.select_related("merchant", "user").order_by("pk"))
        in_state = [o for o in orders if o.state == state]
        chosen = in_state if in_state and pick % 4 else orders
        return chosen[pick // 4 % len(chosen)] if chosen else None

    # ---- invariants ---------------------------------------------------------------------------------------

    @invariant()
    def the_ledger_reconciles(self):
        report = reconcile()
        assert report.ok, report

    @invariant()
    def stock_is_never_negative_and_accounts_for_every_order(self):
        held = dict(
            Order.objects.filter(state__in=HOLDS_STOCK).values_list("item_id").annotate(n=Sum("quantity")).order_by()
        )
        for item in Item.objects.filter(pk__in=self.started_with):
            assert item.stock >= 0
            assert item.stock + held.get(item.pk, 0) == self.started_with[item.pk]

    @invariant()
    def every_spend_has_its_order_and_frozen_points_are_open_orders(self):
        spent = Transfer.objects.filter(kind=TransferKind.SPEND).values_list("source_type", "source_id")
        states = dict(Order.objects.values_list("pk", "state"))
        for source_type, source_id in spent:
            assert source_type == "mall.order"
            assert states[int(source_id)] in (OrderState.VERIFIED, OrderState.REFUNDED)
        frozen = Counter()
        for user, points in Order.objects.filter(state=OrderState.FROZEN).values_list("user_id", "points"):
            frozen[user] += points
        held = Counter()
        for user, balance in Account.objects.filter(purpose=Purpose.FROZEN).values_list("user_id", "balance"):
            held[user] += balance
        assert +held == +frozen

    @invariant()
    def no_source_paid_twice(self):
        grants = Transfer.objects.filter(kind=TransferKind.GRANT).exclude(claim=None)
        assert not grants.values("claim").annotate(n=Count("pk")).filter(n__gt=1).exists()
        keys = Claim.objects.values("action", "source_type", "source_id", "user").annotate(n=Count("pk"))
        assert not keys.filter(n__gt=1).exists()


@pytest.mark.django_db
def test_random_runs_keep_the_ledger_invariants(tree, settings_override):
    u = tree.users
    for action, kind, points in ((Action.CASE_HANDLED, "task", 40), (Action.TRAINING_ATTENDED, "participation", 70)):
        services.save_rule(by=u["district_admin"], area=tree.district, action=action, kind=kind, points=points)
    Ledger.world = SimpleNamespace(
        t=tree, mall=build_mall(tree), micro=first_micro(tree, tree.grid_a1), micro_b=first_micro(tree, tree.grid_b1)
    )
    Ledger.succeeded = Counter()
    Ledger.refused = Counter()
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=40,
            derandomize=True,  # the same runs every time: the check below that every step happened is stable
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # The runs did exercise every movement, not only refusals.
    steps = ("earn", "adjust", "order", "verify", "cancel", "refund", "orders expired", "points expired")
    assert all(Ledger.succeeded[step] > 0 for step in steps), (Ledger.succeeded, Ledger.refused.most_common(15))


@pytest.fixture
def settings_override(settings):
    """Points expire a month after they are earned, so the sweeps have something to do."""
    settings.POINTS_EXPIRY = "months:1"
    return settings
