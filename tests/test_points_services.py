"""The points ledger and its services: grants through rules and claims, caps, hours, review and public listing,
adjustments, expiry (oldest points first), reconciliation, and points earned when a case closes.

The factory users hold one role each in street A (or above); `outsider_*` users hold the same roles in street B.
"""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.cases.models import Case
from fengchao.core.errors import StaleRecord
from fengchao.notices.models import Notification
from fengchao.points import expiry, ledger, services
from fengchao.points.choices import Action, Approval, ClaimState, PointsKind, Purpose, TransferKind
from fengchao.points.models import Account, Claim, Entry, Rule, Transfer
from fengchao.points.reconcile import reconcile
from tests.case_factories import build_categories, report
from tests.factories import first_micro
from tests.test_cases_services import advance, fresh

pytestmark = pytest.mark.django_db

TASK, PARTICIPATION = PointsKind.TASK, PointsKind.PARTICIPATION
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def p(tree):
    u = tree.users
    return SimpleNamespace(t=tree, u=u, member=u["microgrid_member"], micro=first_micro(tree, tree.grid_a1))


def rule(p, action=Action.TRAINING_ATTENDED, *, area=None, by="district_admin", **fields):
    fields.setdefault("kind", PARTICIPATION)
    if "points_per_hour" not in fields:
        fields.setdefault("points", 5)
    return services.save_rule(by=p.u[by], area=area or p.t.district, action=action, **fields)


def available(user, kind=PARTICIPATION) -> int:
    return ledger.balance(user.pk, kind)


def entries_sum(user, kind=PARTICIPATION, purpose=Purpose.AVAILABLE) -> int:
    account = Account.objects.filter(user=user, kind=kind, purpose=purpose).first()
    return ledger.ledger_balance(account) if account else 0


def grant(user, points, kind=TASK, at=None):
    with transaction.atomic():
        return ledger.post(
            TransferKind.GRANT,
            kind,
            points,
            user_id=user.pk,
            at=at,
            expires_at=expiry.expires_at_for(at or timezone.now()),
        )


def freeze(user, points, kind=TASK, at=None):
    with transaction.atomic():
        return ledger.post(TransferKind.FREEZE, kind, points, user_id=user.pk, at=at)


# ---- the ledger ----------------------------------------------------------------------------------------------------


def test_a_grant_is_two_entries_that_sum_to_zero_and_the_cached_balance_follows(p):
    transfer = grant(p.member, 40)
    sides = sorted(transfer.entries.values_list("account__purpose", "amount"))
    assert sides == [(Purpose.AVAILABLE, 40), (Purpose.ISSUED, -40)]
    assert available(p.member, TASK) == 40 == entries_sum(p.member, TASK)
    assert ledger.balances(p.member.pk)[TASK] == {Purpose.AVAILABLE: 40, Purpose.FROZEN: 0}
    assert ledger.balances(p.member.pk)[PARTICIPATION] == {Purpose.AVAILABLE: 0, Purpose.FROZEN: 0}


def test_a_debit_beyond_the_balance_is_refused_and_writes_nothing(p):
    grant(p.member, 10)
    before = (Transfer.objects.count(), Entry.objects.count())
    with pytest.raises(ledger.NotEnoughPoints, match="Not enough points: 11 needed"):
        freeze(p.member, 11)
    assert (Transfer.objects.count(), Entry.objects.count()) == before
    assert available(p.member, TASK) == 10


# ---- rules ---------------------------------------------------------------------------------------------------------


def test_the_nearest_rule_wins_and_inactive_rules_do_not_count(p):
    rule(p, points=5)
    community_rule = rule(p, area=p.t.community_a, by="community_staff", points=8)
    claim = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    assert (claim.rule, claim.points) == (community_rule, 8)
    other = services.earn(p.u["outsider_microgrid_member"], Action.TRAINING_ATTENDED, source=p.micro, area=p.t.grid_b1)
    assert other.points == 5
    rule(p, area=p.t.community_a, by="community_staff", points=8, is_active=False)
    assert services.earn(p.u["grid_leader"], Action.TRAINING_ATTENDED, source=p.micro, area=p.micro).points == 5


def test_no_rule_no_claim(p):
    assert services.earn(p.member, Action.MEETING_ATTENDED, source=p.micro, area=p.micro) is None
    assert not Claim.objects.exists()


def test_changing_a_rule_keeps_every_version_and_is_audited(p):
    first = rule(p, points=5)
    second = rule(p, points=7, daily_cap=20)
    assert first.pk == second.pk and second.version == 2
    assert [r.values["points"] for r in second.revisions.all()] == [7, 5]
    assert (
        AuditEvent.objects.filter(action="points.rule_changed", object_id=str(first.pk)).get().data["rule"]["points"]
        == 7
    )
    with pytest.raises(StaleRecord):
        rule(p, points=9, expected_version=1)


def test_who_sets_rules_and_where(p):
    with pytest.raises(PermissionDenied):
        rule(p, by="microgrid_member")
    with pytest.raises(PermissionDenied):
        rule(p, area=p.t.community_b, by="community_staff")
    with pytest.raises(ValidationError) as refused:
        rule(p, area=p.micro)
    assert "district, a street or a community" in str(refused.value)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"points": 0}, "points", "Give the points, or the points per hour."),
        ({"points": "many"}, "points", "Enter a whole number."),
        ({"kind": "gold"}, "kind", "Choose task points or participation points."),
        ({"approval": Approval.LISTING}, "listing_days", "A public listing lasts at least one day."),
        ({"points_per_hour": 10, "max_hours": "30"}, "max_hours", "above 0 and at most 24"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(p, fields, field, message):
    with pytest.raises(ValidationError) as refused:
        rule(p, **fields)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Rule.objects.exists()


# ---- earning -------------------------------------------------------------------------------------------------------


def test_an_automatic_rule_grants_at_once_with_source_rule_and_audit(p):
    r = rule(p, points=5)
    claim = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro, label="消防培训")
    assert claim.state == ClaimState.GRANTED and claim.points == 5
    transfer = Transfer.objects.get(claim=claim)
    assert (transfer.kind, transfer.rule, transfer.source_type, transfer.source_label) == (
        TransferKind.GRANT,
        r,
        "areas.area",
        "消防培训",
    )
    assert available(p.member) == 5
    assert AuditEvent.objects.filter(action__in=["points.claim", "points.grant"]).count() == 2
    assert Notification.objects.filter(recipient=p.member, kind="points.granted").exists()


def test_no_points_twice_for_the_same_source(p):
    rule(p, points=5)
    first = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    again = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    assert again.pk == first.pk
    assert Transfer.objects.filter(kind=TransferKind.GRANT).count() == 1
    assert available(p.member) == 5


def test_daily_and_monthly_caps_trim_then_refuse(p):
    rule(p, points=6, daily_cap=10, monthly_cap=14)
    sources = [p.t.grid_a1, p.t.grid_a2, p.t.community_a, p.t.street_a]
    first = services.earn(p.member, Action.TRAINING_ATTENDED, source=sources[0], area=p.micro, at=T0)
    trimmed = services.earn(p.member, Action.TRAINING_ATTENDED, source=sources[1], area=p.micro, at=T0)
    capped = services.earn(p.member, Action.TRAINING_ATTENDED, source=sources[2], area=p.micro, at=T0)
    assert (first.points, trimmed.points, capped.points) == (6, 4, 0)
    assert "4 more points" in trimmed.note and capped.state == ClaimState.CAPPED
    next_day = services.earn(
        p.member, Action.TRAINING_ATTENDED, source=sources[3], area=p.micro, at=T0 + dt.timedelta(days=1)
    )
    assert next_day.points == 4  # the month allows 14 in all
    assert available(p.member) == 14


def test_hours_based_volunteering_counts_at_most_the_rule_s_hours(p):
    rule(p, Action.VOLUNTEER_HOURS, points_per_hour=10, max_hours="3")
    long_day = services.earn(p.member, Action.VOLUNTEER_HOURS, source=p.t.grid_a1, area=p.micro, hours=Decimal("5"))
    short = services.earn(p.member, Action.VOLUNTEER_HOURS, source=p.t.grid_a2, area=p.micro, hours="1.5")
    assert (long_day.points, long_day.hours, short.points) == (30, Decimal("3.00"), 15)
    with pytest.raises(ValidationError, match="negative"):
        services.earn(p.member, Action.VOLUNTEER_HOURS, source=p.t.community_a, area=p.micro, hours="-1")


# ---- review and public listing ---------------------------------------------------------------------------------


def test_a_reviewed_claim_waits_then_is_granted_by_the_reviewer(p):
    rule(p, points=5, approval=Approval.REVIEW)
    claim = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    assert claim.state == ClaimState.PENDING and available(p.member) == 0
    with pytest.raises(PermissionDenied):
        services.approve_claim(claim, by=p.u["outsider_community_staff"])
    with pytest.raises(PermissionDenied):
        services.approve_claim(claim, by=p.member)
    services.approve_claim(claim, by=p.u["community_staff"])
    assert Transfer.objects.get(claim=claim).approved_by == p.u["community_staff"]
    assert available(p.member) == 5
    with pytest.raises(ValidationError, match="Granted"):
        services.approve_claim(claim, by=p.u["community_staff"])


def test_two_reviewers_cannot_both_decide(p):
    rule(p, points=5, approval=Approval.REVIEW)
    claim = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    stale = Claim.objects.get(pk=claim.pk)
    services.reject_claim(claim, by=p.u["community_staff"], reason="未签到")
    with pytest.raises(StaleRecord):
        services.approve_claim(stale, by=p.u["street_staff"], expected_version=1)
    assert available(p.member) == 0


def test_a_rejection_needs_a_reason(p):
    rule(p, points=5, approval=Approval.REVIEW)
    claim = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    with pytest.raises(ValidationError) as refused:
        services.reject_claim(claim, by=p.u["community_staff"], reason="  ")
    assert refused.value.message_dict == {"reason": ["Give a reason."]}


def test_a_listed_claim_is_granted_when_its_listing_ends_unless_objected_to(p):
    rule(p, points=5, approval=Approval.LISTING, listing_days=3)
    claim = services.earn(p.member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    objected = services.earn(p.u["grid_leader"], Action.TRAINING_ATTENDED, source=p.micro, area=p.micro)
    for c in (claim, objected):
        services.approve_claim(c, by=p.u["community_staff"], now=T0)
    assert fresh_claim(claim).state == ClaimState.LISTED
    assert fresh_claim(claim).listed_until == T0 + dt.timedelta(days=3)
    services.reject_claim(fresh_claim(objected), by=p.u["community_staff"], reason="群众反映未到场")
    assert services.grant_listed(T0 + dt.timedelta(days=2)) == 0
    assert services.grant_listed(T0 + dt.timedelta(days=3)) == 1
    assert services.grant_listed(T0 + dt.timedelta(days=4)) == 0
    assert (available(p.member), available(p.u["grid_leader"])) == (5, 0)


def fresh_claim(claim) -> Claim:
    return Claim.objects.get(pk=claim.pk)


# ---- adjustments ---------------------------------------------------------------------------------------------------


def test_staff_adjust_either_way_with_a_reason(p):
    services.adjust(p.member, kind=TASK, points=30, reason="补录三月巡查", by=p.u["community_staff"], area=p.micro)
    services.adjust(p.member, kind=TASK, points=-12, reason="重复录入", by=p.u["community_staff"], area=p.micro)
    assert available(p.member, TASK) == 18 == entries_sum(p.member, TASK)
    assert AuditEvent.objects.filter(action="points.adjust").count() == 2


@pytest.mark.parametrize(
    ("points", "reason", "field", "message"),
    [
        (0, "x", "points", "other than 0"),
        ("ten", "x", "points", "whole number"),
        (5, " ", "reason", "Give a reason."),
    ],
)
def test_bad_adjustments_are_refused_naming_the_field(p, points, reason, field, message):
    with pytest.raises(ValidationError) as refused:
        services.adjust(p.member, kind=TASK, points=points, reason=reason, by=p.u["community_staff"], area=p.micro)
    assert message in " ".join(refused.value.message_dict[field])


def test_adjustments_cannot_take_what_is_not_there_nor_come_from_outside(p):
    with pytest.raises(ledger.NotEnoughPoints):
        services.adjust(p.member, kind=TASK, points=-1, reason="x", by=p.u["community_staff"], area=p.micro)
    with pytest.raises(PermissionDenied):
        services.adjust(p.member, kind=TASK, points=5, reason="x", by=p.u["outsider_community_staff"], area=p.micro)
    assert not Transfer.objects.exists()


# ---- expiry --------------------------------------------------------------------------------------------------------


def test_expiry_dates_follow_the_deployment_s_policy(settings):
    settings.POINTS_EXPIRY = "none"
    assert expiry.expires_at_for(T0) is None
    settings.POINTS_EXPIRY = "year_end"
    assert expiry.expires_at_for(T0).isoformat() == "2027-01-01T00:00:00+08:00"
    settings.POINTS_EXPIRY = "months:12"
    assert expiry.expires_at_for(T0) == timezone.localtime(T0).replace(year=2027)
    settings.POINTS_EXPIRY = "months:1"
    assert expiry.expires_at_for(dt.datetime(2026, 1, 31, 4, tzinfo=dt.UTC)).date() == dt.date(2026, 2, 28)


def test_points_expire_oldest_first_and_only_once(p, settings):
    settings.POINTS_EXPIRY = "months:1"
    grant(p.member, 50, at=T0)
    grant(p.member, 50, at=T0 + dt.timedelta(days=20))
    freeze(p.member, 60, at=T0 + dt.timedelta(days=25))  # spent 60: the first 50 and 10 of the second grant
    assert services.expire_due(T0 + dt.timedelta(days=32)) == 0
    assert services.expire_due(T0 + dt.timedelta(days=52)) == 1
    assert available(p.member, TASK) == 0 == entries_sum(p.member, TASK)
    assert Transfer.objects.get(kind=TransferKind.EXPIRE).points == 40
    assert services.expire_due(T0 + dt.timedelta(days=60)) == 0
    assert Notification.objects.filter(recipient=p.member, kind="points.expired").count() == 1


def test_released_points_can_still_expire(p, settings):
    settings.POINTS_EXPIRY = "months:1"
    grant(p.member, 30, at=T0)
    freeze(p.member, 30, at=T0)
    with transaction.atomic():
        ledger.post(TransferKind.RELEASE, TASK, 30, user_id=p.member.pk, at=T0 + dt.timedelta(days=2))
    services.expire_due(T0 + dt.timedelta(days=40))
    assert available(p.member, TASK) == 0


def test_people_are_warned_once_before_points_expire(p, settings):
    settings.POINTS_EXPIRY = "months:1"
    settings.POINTS_EXPIRY_WARNING_DAYS = 10
    grant(p.member, 25, at=T0)
    assert services.warn_expiring(T0 + dt.timedelta(days=5)) == 0
    assert services.warn_expiring(T0 + dt.timedelta(days=25)) == 1
    assert services.warn_expiring(T0 + dt.timedelta(days=26)) == 0
    note = Notification.objects.get(recipient=p.member, kind="points.expiring")
    assert "25" in note.title and "2026-04-02" in note.title
    assert expiry.expiring_for(p.member.pk, TASK, T0 + dt.timedelta(days=25))[0] == 25


# ---- reconciliation --------------------------------------------------------------------------------------------


def test_the_ledger_reconciles_and_a_tampered_balance_is_found(p):
    grant(p.member, 40)
    freeze(p.member, 15)
    services.adjust(p.member, kind=TASK, points=-5, reason="x", by=p.u["community_staff"], area=p.micro)
    report_ = reconcile()
    assert report_.ok and report_.entries == 6
    call_command("reconcile_points")
    Account.objects.filter(user=p.member, purpose=Purpose.FROZEN).update(balance=99)
    report_ = reconcile()
    assert [(cached, ledger_) for _pk, cached, ledger_ in report_.mismatched] == [(99, 15)]
    with pytest.raises(CommandError):
        call_command("reconcile_points")


# ---- points from cases ---------------------------------------------------------------------------------------------


@pytest.fixture
def w(tree):
    cats = build_categories()
    return SimpleNamespace(t=tree, u=tree.users, c=cats, micro=first_micro(tree, tree.grid_a1))


def test_closing_a_case_pays_its_handler_and_its_reporter_once(w):
    pw = SimpleNamespace(t=w.t, u=w.u)
    rule(pw, Action.CASE_HANDLED, kind=TASK, points=10)
    rule(pw, Action.CASE_REPORTED, kind=TASK, points=3)
    case = report(w.t, w.c.litter, by=w.u["microgrid_member"])
    advance(w, case, "verify")
    assert not Claim.objects.exists()  # nothing is paid before the case closes
    case = advance(w, fresh(case), "close")
    assert available(w.u["grid_leader"], TASK) == 10  # grid-tier cases are handled by the grid leader
    assert available(w.u["microgrid_member"], TASK) == 3
    claim = Claim.objects.get(action=Action.CASE_HANDLED)
    assert (claim.source_type, claim.source_id) == ("cases.case", str(case.pk)) and case.number in claim.source_label


def test_a_case_step_that_fails_pays_nothing(w):
    pw = SimpleNamespace(t=w.t, u=w.u)
    rule(pw, Action.CASE_HANDLED, kind=TASK, points=10)
    case = advance(w, report(w.t, w.c.litter, by=w.u["microgrid_member"]), "verify")
    stale = fresh(case)
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)
    from fengchao.cases import services as case_services

    with pytest.raises(StaleRecord):
        case_services.transition(stale, "close", by=w.u["community_staff"])
    assert not Claim.objects.exists() and available(w.u["grid_leader"], TASK) == 0


# ---- evaluation ----------------------------------------------------------------------------------------------------


def test_evaluation_weighs_the_two_kinds_apart_and_counts_adjustments_against(p, settings):
    from fengchao.points import evaluation

    settings.POINTS_EVALUATION_WEIGHTS = {"task": 0.6, "participation": 0.4}
    rule(p, Action.CASE_HANDLED, kind=TASK, points=10)
    rule(p, Action.TRAINING_ATTENDED, points=20)
    leader, member = p.u["grid_leader"], p.member
    services.earn(leader, Action.CASE_HANDLED, source=p.micro, area=p.micro, at=T0)
    services.earn(member, Action.TRAINING_ATTENDED, source=p.micro, area=p.micro, at=T0)
    services.adjust(
        member, kind=PARTICIPATION, points=-5, reason="重复", by=p.u["community_staff"], area=p.micro, now=T0
    )
    services.earn(p.u["outsider_grid_leader"], Action.CASE_HANDLED, source=p.micro, area=p.t.grid_b1, at=T0)
    found = evaluation.scores(p.t.community_a, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1))
    # Equal scores (10 × 0.6 and 15 × 0.4) list by person; the outsider's case is in street B.
    assert sorted((s.user_id, s.task, s.participation, s.score) for s in found) == sorted(
        [(leader.pk, 10, 0, 6.0), (member.pk, 0, 15, 6.0)]
    )
    settings.POINTS_EVALUATION_WEIGHTS = {"task": 1, "participation": 0.1}
    found = evaluation.scores(p.t.community_a, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1))
    assert [(s.user_id, s.score) for s in found] == [(leader.pk, 10.0), (member.pk, 1.5)]


def test_nobody_reviews_their_own_claim_or_adjusts_their_own_points(p):
    staff = p.u["community_staff"]
    rule(p, points=5, approval=Approval.REVIEW)
    claim = services.earn(staff, Action.TRAINING_ATTENDED, source=p.micro, area=p.t.community_a)
    with pytest.raises(PermissionDenied, match="reviewed by someone else"):
        services.approve_claim(claim, by=staff)
    with pytest.raises(PermissionDenied, match="adjusted by someone else"):
        services.adjust(staff, kind=TASK, points=5, reason="x", by=staff, area=p.t.community_a)
    services.approve_claim(claim, by=p.u["street_staff"])
    assert available(staff) == 5


def test_an_adjustment_is_booked_where_the_person_serves(p):
    with pytest.raises(ValidationError) as refused:
        services.adjust(p.member, kind=TASK, points=5, reason="x", by=p.u["district_admin"], area=p.t.community_b)
    assert "serves nowhere in 致强社区" in refused.value.message_dict["area"][0]
    services.adjust(p.member, kind=TASK, points=5, reason="x", by=p.u["district_admin"], area=p.t.district)
    assert available(p.member, TASK) == 5
