"""The demo's points and mall (fengchao.demo.points): seeded once for the module at small scale, then examined."""

from collections import Counter, defaultdict

import pytest
from django.db.models import Sum
from django.utils import timezone

from fengchao.accounts.models import User
from fengchao.cases.models import Case
from fengchao.demo import names
from fengchao.mall.models import Item, Merchant, Order, OrderState
from fengchao.points import ledger, rules
from fengchao.points.choices import Action, ClaimState, PointsKind, Purpose, TransferKind
from fengchao.points.models import Account, Claim, Rule, Transfer
from fengchao.points.reconcile import reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(seeded_demo):
    return seeded_demo


def test_the_seeded_ledger_reconciles(seeded):
    report = reconcile()
    assert report.ok, report
    assert report.entries == 2 * Transfer.objects.count() > 1000


def test_every_closed_case_of_the_pilot_street_paid_its_handler_and_reporter_once(seeded):
    closed = Case.objects.filter(state__in=["closed", "rated"], closed_at__isnull=False).exclude(resolved_by=None)
    handled = Claim.objects.filter(action=Action.CASE_HANDLED, state=ClaimState.GRANTED)
    assert handled.count() == closed.count() > 100
    sources = Counter(handled.values_list("source_id", flat=True))
    assert max(sources.values()) == 1
    claim = handled.select_related("rule").first()
    transfer = Transfer.objects.get(claim=claim)
    assert (transfer.kind, transfer.points, transfer.rule_id, transfer.user_id) == (
        TransferKind.GRANT,
        claim.points,
        claim.rule_id,
        claim.user_id,
    )
    assert Claim.objects.filter(action=Action.CASE_REPORTED).exists()


def test_rules_are_the_district_s_with_a_community_s_own_training_rule(seeded):
    community = Merchant.objects.get(users__username="demo_merchant").area
    assert community.name == names.ADAPTED_COMMUNITY
    own = rules.rule_for(Action.TRAINING_ATTENDED, community)
    assert own.area == community and own.points == 8
    assert rules.rule_for(Action.CASE_HANDLED, community).area.level == 1
    assert Rule.objects.filter(area__level=1).count() == len(Action.values)
    assert all(r.revisions.count() == 1 for r in Rule.objects.all())


def test_orders_moved_points_as_the_mall_does(seeded):
    orders = Order.objects.all()
    states = Counter(orders.values_list("state", flat=True))
    assert states[OrderState.VERIFIED] > states[OrderState.EXPIRED] > 0 and states[OrderState.CANCELLED] > 0
    moved = defaultdict(lambda: defaultdict(int))
    for source_id, kind, points in Transfer.objects.filter(source_type="mall.order").values_list(
        "source_id", "kind", "points"
    ):
        moved[int(source_id)][kind] += points
    for order in orders:
        paid = sum(order.paid.values())
        assert paid == order.points == moved[order.pk][TransferKind.FREEZE]
        expected_out = {OrderState.VERIFIED: TransferKind.SPEND, OrderState.FROZEN: None}.get(
            order.state, TransferKind.RELEASE
        )
        if expected_out:
            assert moved[order.pk][expected_out] == paid
        if order.state == OrderState.FROZEN:
            assert order.expires_at > timezone.now() - timezone.timedelta(hours=1)
    frozen = Account.objects.filter(purpose=Purpose.FROZEN).aggregate(total=Sum("balance"))["total"]
    assert frozen == sum(o.points for o in orders.filter(state=OrderState.FROZEN))


def test_the_demo_accounts_have_points_and_a_shop_to_spend_them(seeded):
    member = User.objects.get(username="demo_member")
    balances = ledger.balances(member.pk)
    assert balances[PointsKind.TASK][Purpose.AVAILABLE] + balances[PointsKind.PARTICIPATION][Purpose.AVAILABLE] > 0
    shop = Merchant.objects.get(users__username="demo_merchant")
    assert Item.objects.filter(merchant=shop, stock__gt=0, category="rice").exists()
    assert Account.objects.filter(merchant=shop, purpose=Purpose.REDEEMED, balance__gt=0).exists()


def test_sessions_with_attendance_earn_participation_points_and_recent_trainings_wait_for_review(seeded):
    from fengchao.activities.models import Activity, Attendance

    assert Activity.objects.filter(kind="training").count() >= 6
    ahead = Activity.objects.filter(starts_at__gt=timezone.now())
    assert ahead.exists() and not Attendance.objects.filter(activity__in=ahead).exists()
    attended = Attendance.objects.count()
    claims = Claim.objects.filter(source_type="activities.attendance")
    assert claims.count() == attended > 100
    pending = claims.filter(state=ClaimState.PENDING)
    assert pending.exists() and set(pending.values_list("action", flat=True)) == {Action.TRAINING_ATTENDED}
    assert not Transfer.objects.filter(claim__in=pending).exists()
    reviewed = claims.filter(action=Action.TRAINING_ATTENDED, state=ClaimState.GRANTED).first()
    assert reviewed.reviewed_by is not None
    assert Transfer.objects.get(claim=reviewed).approved_by == reviewed.reviewed_by
