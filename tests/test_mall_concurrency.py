"""The mall under real concurrency, on PostgreSQL: threads with their own connections order and verify at once.

SQLite takes the write lock at BEGIN (IMMEDIATE), so writers there queue up and never race; on PostgreSQL
the compare-and-set on the stock, the order state and the balances is what keeps the numbers right.
"""

import datetime as dt
import threading

import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import connection

from fengchao.accounts import services as accounts
from fengchao.accounts.roles import Role
from fengchao.audit.models import AuditEvent
from fengchao.core.errors import StaleRecord
from fengchao.mall import services
from fengchao.mall.models import Item, Order, OrderState
from fengchao.points import ledger
from fengchao.points.choices import Purpose, TransferKind
from fengchao.points.models import Account, Transfer
from fengchao.points.reconcile import reconcile
from tests.concurrency import in_threads
from tests.factories import first_micro
from tests.mall_factories import build_mall, grant

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers at BEGIN, so nothing races (set DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

# PostgreSQL allows 100 connections by default, shared with other test runs: the threads all start at
# once behind a barrier, and at most this many hold a connection at the same moment.
CONNECTIONS = 30


def members(tree, count: int, points: int) -> list:
    micro = first_micro(tree, tree.grid_a1)
    password = make_password("x")
    people = []
    for n in range(count):
        user = accounts.create_user(username=f"member{n:03d}", display_name=f"居民{n}", password_hash=password)
        accounts.assign_role(user, Role.RESIDENT, micro)
        grant(user, points, "participation" if n % 2 else "task")
        people.append(user)
    return people


def test_200_orders_for_a_stock_of_50(tree):
    mall = build_mall(tree)
    item = services.create_item(
        by=tree.users["community_staff"], merchant=mall.shop, name="限量大米", category="rice", price=40, stock=50
    )
    people = members(tree, 200, 100)
    barrier = threading.Barrier(200)
    gate = threading.BoundedSemaphore(CONNECTIONS)
    outcomes = {}

    def order(n):
        barrier.wait(timeout=120)
        with gate:
            try:
                services.place_order(people[n], item, idempotency_key=f"k{n}")
                outcomes[n] = "ok"
            except ValidationError as refused:
                outcomes[n] = " ".join(refused.messages)

    in_threads(200, order)
    won = [n for n, outcome in outcomes.items() if outcome == "ok"]
    assert len(outcomes) == 200 and len(won) == 50
    assert all("sold out" in outcome for outcome in outcomes.values() if outcome != "ok")
    assert Item.objects.get(pk=item.pk).stock == 0
    assert Order.objects.filter(item=item, state=OrderState.FROZEN).count() == 50
    assert len(set(Order.objects.values_list("code", flat=True))) == Order.objects.count()
    for n, person in enumerate(people):
        kind = "participation" if n % 2 else "task"
        spent = 40 if n in won else 0
        assert ledger.balance(person.pk, kind) == 100 - spent
        assert ledger.balance(person.pk, kind, Purpose.FROZEN) == spent
    assert Transfer.objects.filter(kind=TransferKind.FREEZE).count() == 50
    assert AuditEvent.objects.filter(action="mall.order_placed").count() == 50
    assert reconcile().ok


def test_one_person_ordering_at_once_from_many_phones_keeps_the_limit_and_the_balance(tree):
    mall = build_mall(tree)
    member = tree.users["microgrid_member"]
    grant(member, 250)  # enough for two bags of rice; the limit is 2 per person anyway
    barrier = threading.Barrier(12)
    outcomes = {}

    def order(n):
        barrier.wait(timeout=60)
        try:
            services.place_order(member, mall.rice)
            outcomes[n] = "ok"
        except ValidationError as refused:
            outcomes[n] = " ".join(refused.messages)

    in_threads(12, order)
    assert sum(1 for o in outcomes.values() if o == "ok") == 2
    assert ledger.balance(member.pk, "task") == 50 and ledger.balance(member.pk, "task", Purpose.FROZEN) == 200
    assert Item.objects.get(pk=mall.rice.pk).stock == 8
    assert reconcile().ok


def test_the_same_retry_twenty_times_at_once_makes_one_order(tree):
    mall = build_mall(tree)
    member = tree.users["microgrid_member"]
    grant(member, 1000)
    barrier = threading.Barrier(20)
    got = {}

    def order(n):
        barrier.wait(timeout=60)
        got[n] = services.place_order(member, mall.oil, idempotency_key="same-tap").pk

    in_threads(20, order)
    assert len(set(got.values())) == 1 and Order.objects.count() == 1
    assert ledger.balance(member.pk, "task") == 940 and Item.objects.get(pk=mall.oil.pk).stock == 4


def test_a_code_verified_twenty_times_at_once_is_verified_once(tree):
    mall = build_mall(tree)
    member = tree.users["microgrid_member"]
    grant(member, 30, "participation")
    grant(member, 500, "task")
    order = services.place_order(member, mall.rice)
    verifiers = [tree.users["merchant"], tree.users["community_staff"], tree.users["street_staff"]]
    barrier = threading.Barrier(20)
    outcomes = {}

    def verify(n):
        barrier.wait(timeout=60)
        try:
            services.verify_order(order.code, verifiers[n % len(verifiers)])
            outcomes[n] = "won"
        except StaleRecord as lost:
            outcomes[n] = " ".join(lost.messages)

    in_threads(20, verify)
    assert list(outcomes.values()).count("won") == 1 and len(outcomes) == 20
    assert all("already verified at" in o for o in outcomes.values() if o != "won")
    redeemed = dict(Account.objects.filter(merchant=mall.shop, purpose=Purpose.REDEEMED).values_list("kind", "balance"))
    assert redeemed == {"participation": 30, "task": 70}
    assert Transfer.objects.filter(kind=TransferKind.SPEND).count() == 2
    assert AuditEvent.objects.filter(action="mall.order_verified").count() == 1
    assert reconcile().ok


def test_two_sweeps_and_a_late_verification_at_once(tree):
    mall = build_mall(tree)
    member = tree.users["microgrid_member"]
    grant(member, 10_000)
    orders = [services.place_order(member, item) for item in (mall.rice, mall.oil, mall.meal) for _ in range(2)]
    later = max(o.expires_at for o in orders)
    barrier = threading.Barrier(3)
    counts = {}

    def work(n):
        barrier.wait(timeout=60)
        if n < 2:
            counts[n] = services.expire_orders(later + dt.timedelta(seconds=1))
        else:
            try:
                services.verify_order(orders[0].code, tree.users["merchant"])
                counts[n] = "verified"
            except StaleRecord:
                counts[n] = "refused"

    in_threads(3, work)
    assert counts[2] in ("verified", "refused")  # the clock here is before expiry; the sweep may win the row
    expired = Order.objects.filter(state=OrderState.EXPIRED).count()
    assert counts[0] + counts[1] == expired
    assert expired + Order.objects.filter(state=OrderState.VERIFIED).count() == 6
    assert AuditEvent.objects.filter(action="mall.order_expired").count() == expired
    assert reconcile().ok
