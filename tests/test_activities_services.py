"""Trainings, meetings and activities: publishing, sign-up with a waiting list that moves up, check-in by the
rotating QR code (expired and reused codes refused), check-out for hours, the organiser's marks, and the
participation points attendance earns, once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fengchao.accounts.models import MemberTag
from fengchao.accounts.roles import IdentityTag
from fengchao.activities import services
from fengchao.activities.choices import ActivityKind, Audience, SignupState
from fengchao.activities.models import Attendance, Signup
from fengchao.audit.models import AuditEvent
from fengchao.notices.models import Notification
from fengchao.points import ledger
from fengchao.points import services as points
from fengchao.points.choices import Action, ClaimState
from fengchao.points.models import Claim

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)


@pytest.fixture
def u(tree):
    return tree.users


def training(tree, *, by="community_staff", capacity=None, kind=ActivityKind.TRAINING, audience=Audience.SERVING):
    return services.publish(
        tree.users[by],
        area=tree.community_a,
        kind=kind,
        title="消防安全培训",
        place="和美社区党群服务中心",
        starts_at=START,
        ends_at=START + dt.timedelta(hours=3),
        capacity=capacity,
        audience=audience,
    )


def participation(user) -> int:
    return ledger.balance(user.pk, "participation")


def test_organisers_publish_and_others_may_not(tree, u):
    activity = training(tree)
    assert activity.organiser == u["community_staff"] and len(activity.qr_secret) == 64
    assert AuditEvent.objects.filter(action="activities.published").exists()
    with pytest.raises(PermissionDenied):
        training(tree, by="microgrid_member")
    with pytest.raises(PermissionDenied):
        training(tree, by="outsider_community_staff")


def test_bad_activities_are_refused_naming_the_field(tree, u):
    with pytest.raises(ValidationError) as refused:
        services.publish(
            u["community_staff"], area=tree.community_a, kind="party", title="", place="x",
            starts_at=START, ends_at=START - dt.timedelta(hours=1), capacity="0",
        )  # fmt: skip
    assert set(refused.value.message_dict) == {"kind", "title", "ends_at", "capacity"}


def test_places_fill_then_a_waiting_list_moves_up_when_someone_cancels(tree, u):
    activity = training(tree, capacity=2)
    first = services.sign_up(u["microgrid_member"], activity)
    second = services.sign_up(u["microgrid_leader"], activity)
    third = services.sign_up(u["grid_leader"], activity)
    fourth = services.sign_up(u["community_staff"], activity)
    assert [s.state for s in (first, second, third, fourth)] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert services.waiting_position(third) == 1 and services.waiting_position(fourth) == 2
    assert services.sign_up(u["microgrid_member"], activity).pk == first.pk  # signing up again changes nothing
    services.cancel_signup(u["microgrid_member"], activity)
    assert Signup.objects.get(pk=third.pk).state == SignupState.CONFIRMED
    assert Signup.objects.get(pk=fourth.pk).state == SignupState.WAITLISTED
    assert Notification.objects.filter(recipient=u["grid_leader"], kind="activities.promoted").exists()
    # Back again: the end of the queue.
    assert services.sign_up(u["microgrid_member"], activity).state == SignupState.WAITLISTED
    with pytest.raises(ValidationError):
        services.cancel_signup(u["resident"], activity)


def test_who_may_join(tree, u):
    activity = training(tree)
    with pytest.raises(PermissionDenied):
        services.sign_up(u["outsider_microgrid_member"], activity)
    with pytest.raises(PermissionDenied):
        services.sign_up(u["resident"], activity)  # open to those serving, not residents
    party = training(tree, audience=Audience.PARTY)
    with pytest.raises(PermissionDenied):
        services.sign_up(u["microgrid_member"], party)
    MemberTag.objects.create(user=u["microgrid_member"], tag=IdentityTag.PARTY_MEMBER)
    assert services.sign_up(u["microgrid_member"], party).state == SignupState.CONFIRMED
    everyone = training(tree, audience=Audience.EVERYONE, kind=ActivityKind.NEIGHBOURHOOD)
    assert services.sign_up(u["resident"], everyone).state == SignupState.CONFIRMED


def test_qr_check_in_grants_the_training_s_points_once(tree, u):
    points.save_rule(
        by=u["district_admin"], area=tree.district, action=Action.TRAINING_ATTENDED, kind="participation", points=5
    )
    activity = training(tree)
    member = u["microgrid_member"]
    at = START + dt.timedelta(minutes=5)
    attendance = services.check_in(member, activity, services.qr_token(activity, at), now=at)
    claim = Claim.objects.get(source_type="activities.attendance", source_id=str(attendance.pk))
    assert (claim.user, claim.action, claim.state, claim.points) == (
        member,
        Action.TRAINING_ATTENDED,
        ClaimState.GRANTED,
        5,
    )
    assert participation(member) == 5
    later = at + dt.timedelta(minutes=3)
    with pytest.raises(ValidationError, match="Already checked in"):
        services.check_in(member, activity, services.qr_token(activity, later), now=later)
    assert participation(member) == 5 and Attendance.objects.count() == 1


def test_expired_foreign_and_early_codes_are_refused(tree, u):
    activity, other = training(tree), training(tree)
    at = START + dt.timedelta(minutes=10)
    old = services.qr_token(activity, at - dt.timedelta(minutes=3))
    with pytest.raises(ValidationError, match="expired"):
        services.check_in(u["microgrid_member"], activity, old, now=at)
    with pytest.raises(ValidationError, match="expired"):
        services.check_in(u["microgrid_member"], activity, services.qr_token(other, at), now=at)
    just_changed = services.qr_token(activity, at - dt.timedelta(seconds=services.qr_seconds()))
    assert services.check_in(u["microgrid_member"], activity, just_changed, now=at)  # the previous code still counts
    early = START - dt.timedelta(hours=1)
    with pytest.raises(ValidationError, match="30 minutes before"):
        services.check_in(u["grid_leader"], activity, services.qr_token(activity, early), now=early)


def test_volunteering_counts_the_hours_between_check_in_and_check_out(tree, u):
    points.save_rule(
        by=u["district_admin"], area=tree.district, action=Action.VOLUNTEER_HOURS, kind="participation",
        points_per_hour=10, max_hours="4",
    )  # fmt: skip
    activity = training(tree, kind=ActivityKind.VOLUNTEERING)
    member = u["microgrid_member"]
    arrive, leave = START, START + dt.timedelta(hours=2, minutes=40)
    services.check_in(member, activity, services.qr_token(activity, arrive), now=arrive)
    assert participation(member) == 0  # hours-based: nothing until check-out
    attendance = services.check_out(member, activity, services.qr_token(activity, leave), now=leave)
    assert attendance.hours == Decimal("2.50") and participation(member) == 25
    with pytest.raises(ValidationError, match="Already checked out"):
        services.check_out(member, activity, services.qr_token(activity, leave), now=leave)
    meeting = training(tree)
    with pytest.raises(ValidationError, match="hours-based"):
        services.check_out(member, meeting, services.qr_token(meeting, leave), now=leave)


def test_the_organiser_marks_people_present_and_others_may_not(tree, u):
    activity = training(tree)
    at = START + dt.timedelta(minutes=1)
    with pytest.raises(PermissionDenied):
        services.mark_attendance(activity, u["microgrid_leader"], by=u["microgrid_member"], now=at)
    attendance = services.mark_attendance(activity, u["microgrid_leader"], by=u["community_staff"], now=at)
    assert attendance.method == "organiser" and attendance.marked_by == u["community_staff"]
    with pytest.raises(ValidationError):
        services.mark_attendance(activity, u["outsider_microgrid_member"], by=u["community_staff"], now=at)


def test_a_cancelled_activity_tells_those_signed_up_and_takes_no_more(tree, u):
    activity = training(tree)
    services.sign_up(u["microgrid_member"], activity)
    with pytest.raises(ValidationError):
        services.cancel_activity(activity, by=u["community_staff"], reason=" ")
    services.cancel_activity(activity, by=u["community_staff"], reason="暴雨")
    assert Notification.objects.filter(recipient=u["microgrid_member"], kind="activities.cancelled").exists()
    with pytest.raises(ValidationError, match="cancelled"):
        services.sign_up(u["microgrid_leader"], activity)


def test_people_with_a_place_are_reminded_once_the_day_before(tree, u):
    activity = training(tree, capacity=1)
    services.sign_up(u["microgrid_member"], activity)
    services.sign_up(u["microgrid_leader"], activity)  # waiting: no reminder
    assert services.remind_upcoming(START - dt.timedelta(hours=30)) == 0
    assert services.remind_upcoming(START - dt.timedelta(hours=20)) == 1
    assert services.remind_upcoming(START - dt.timedelta(hours=19)) == 0
    note = Notification.objects.get(kind="activities.reminder")
    assert note.recipient == u["microgrid_member"] and "消防安全培训" in note.title
