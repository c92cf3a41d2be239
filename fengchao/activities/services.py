"""Every change to activities: publishing and cancelling, sign-up with a waiting list, check-in and check-out by the
event's rotating QR code or the organiser's mark, and the participation points attendance earns.

Each function runs in one transaction and writes its audit event there. Places are counted behind a lock on
the activity's row (a no-op UPDATE: PostgreSQL holds it until commit, SQLite serialises writers), so two
people taking the last place at once end up one signed up and one waiting.
"""

import datetime as dt
import hashlib
import hmac
import secrets
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.models import MemberTag, RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES, IdentityTag
from fengchao.areas.models import Area
from fengchao.audit.services import record
from fengchao.core.errors import StaleRecord
from fengchao.notices.services import notify
from fengchao.points import services as points

from .choices import ACTION_OF_KIND, HOURS_KINDS, ActivityKind, ActivityState, Audience, CheckMethod, SignupState
from .models import Activity, Attendance, Signup
from .queries import can_organise, organises

EARLY_CHECK_IN = dt.timedelta(minutes=30)
LATE_CHECK_OUT = dt.timedelta(hours=2)


def qr_seconds() -> int:
    return int(getattr(settings, "ACTIVITIES_QR_SECONDS", 60))


# --- publishing ------------------------------------------------------------------------------------------------------


def publish(by, *, area: Area, kind, title, place, starts_at, ends_at, capacity=None, audience=Audience.SERVING,
            description="") -> Activity:  # fmt: skip
    """Post an activity to an area (the 预告 in the grid's group), for the people it is open to."""
    if not can_organise(by, area):
        raise PermissionDenied(_("Organising activities in %(area)s is not yours to do.") % {"area": area.name})
    errors = {}
    if kind not in ActivityKind.values:
        errors["kind"] = _("Choose a kind of activity.")
    if audience not in Audience.values:
        errors["audience"] = _("Choose who may join.")
    title, place = str(title or "").strip()[:120], str(place or "").strip()[:200]
    if not title:
        errors["title"] = _("Give the activity a title.")
    if not place:
        errors["place"] = _("Say where it takes place.")
    if not starts_at or not ends_at or ends_at <= starts_at:
        errors["ends_at"] = _("An activity ends after it starts.")
    if capacity not in (None, "") and (not str(capacity).isdigit() or int(capacity) < 1):
        errors["capacity"] = _("Places must be a whole number of at least 1, or empty for no limit.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        activity = Activity.objects.create(
            area=area,
            kind=kind,
            title=title,
            description=str(description or "").strip(),
            place=place,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=int(capacity) if capacity not in (None, "") else None,
            audience=audience,
            organiser=by,
            qr_secret=secrets.token_hex(32),
        )
        record("activities.published", activity, actor=by, area=area, kind=kind, starts_at=starts_at.isoformat())
    return activity


def cancel_activity(activity: Activity, *, by, reason: str) -> Activity:
    if not organises(by, activity):
        raise PermissionDenied(_("Cancelling this activity is not yours to do."))
    reason = str(reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        rows = Activity.objects.filter(pk=activity.pk, state=ActivityState.PUBLISHED, version=activity.version)
        if rows.update(state=ActivityState.CANCELLED, version=F("version") + 1) != 1:
            raise StaleRecord()
        activity.state, activity.version = ActivityState.CANCELLED, activity.version + 1
        record("activities.cancelled", activity, actor=by, area=activity.area, reason=reason)
        waiting = activity.signups.exclude(state=SignupState.CANCELLED).values_list("user_id", flat=True)
        notify(
            list(waiting),
            kind="activities.cancelled",
            title=_("Cancelled: %(title)s (%(reason)s)") % {"title": activity.title, "reason": reason},
            url=detail_url(activity),
        )
    return activity


# --- sign-up ---------------------------------------------------------------------------------------------------------


def may_join(user, activity: Activity) -> bool:
    """Whether the activity is open to the user: they hold a role in its area, below it or above it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    roles = RoleAssignment.objects.active().filter(user=user)
    if activity.audience != Audience.EVERYONE:
        roles = roles.filter(role__in=SCOPING_ROLES)
    path = activity.area.path
    if not any(p.startswith(path) or path.startswith(p) for p in roles.values_list("area__path", flat=True)):
        return False
    if activity.audience == Audience.PARTY:
        return MemberTag.objects.filter(user=user, tag=IdentityTag.PARTY_MEMBER).exists()
    return True


def sign_up(user, activity: Activity, *, now=None) -> Signup:
    """A place if one is free, else a place on the waiting list; signing up again returns the sign-up as it is."""
    now = now or timezone.now()
    _check_open(activity, now)
    if not may_join(user, activity):
        raise PermissionDenied(_("This activity is not open to you."))
    with transaction.atomic():
        _lock(activity)
        signup = Signup.objects.filter(activity=activity, user=user).first()
        if signup is not None and signup.state != SignupState.CANCELLED:
            return signup
        state = SignupState.CONFIRMED if _has_room(activity) else SignupState.WAITLISTED
        if signup is None:
            signup = Signup.objects.create(activity=activity, user=user, state=state, queued_at=now)
        else:
            Signup.objects.filter(pk=signup.pk).update(state=state, queued_at=now)
            signup.state, signup.queued_at = state, now
        record("activities.signed_up", signup, actor=user, area=activity.area, activity=activity.pk, state=state)
    return signup


def cancel_signup(user, activity: Activity, *, now=None) -> Signup:
    """Give up one's place (or one's place in the queue); the first waiting person moves up and is told."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock(activity)
        signup = Signup.objects.filter(activity=activity, user=user).exclude(state=SignupState.CANCELLED).first()
        if signup is None:
            raise ValidationError({"signup": _("You are not signed up for this activity.")})
        was = signup.state
        Signup.objects.filter(pk=signup.pk).update(state=SignupState.CANCELLED)
        signup.state = SignupState.CANCELLED
        record("activities.signup_cancelled", signup, actor=user, area=activity.area, activity=activity.pk)
        if was == SignupState.CONFIRMED:
            _promote(activity)
    return signup


def waiting_position(signup: Signup | None) -> int | None:
    """1 for the first on the waiting list, and so on; None when not waiting."""
    if signup is None or signup.state != SignupState.WAITLISTED:
        return None
    ahead = Signup.objects.filter(activity_id=signup.activity_id, state=SignupState.WAITLISTED).filter(
        Q(queued_at__lt=signup.queued_at) | Q(queued_at=signup.queued_at, pk__lt=signup.pk)
    )
    return ahead.count() + 1


def _promote(activity: Activity) -> None:
    first = Signup.objects.filter(activity=activity, state=SignupState.WAITLISTED).order_by("queued_at", "pk").first()
    if first is None or not _has_room(activity):
        return
    Signup.objects.filter(pk=first.pk, state=SignupState.WAITLISTED).update(state=SignupState.CONFIRMED)
    record("activities.promoted", first, area=activity.area, activity=activity.pk)
    notify(
        [first.user_id],
        kind="activities.promoted",
        title=_("A place came free: you are signed up for %(title)s") % {"title": activity.title},
        url=detail_url(activity),
    )


def _has_room(activity: Activity) -> bool:
    if activity.capacity is None:
        return True
    return Signup.objects.filter(activity=activity, state=SignupState.CONFIRMED).count() < activity.capacity


def _lock(activity: Activity) -> None:
    Activity.objects.filter(pk=activity.pk).update(version=F("version"))


def _check_open(activity: Activity, now) -> None:
    if activity.state != ActivityState.PUBLISHED:
        raise ValidationError({"activity": _("This activity was cancelled.")})
    if now >= activity.ends_at:
        raise ValidationError({"activity": _("This activity is over.")})


# --- check-in and check-out --------------------------------------------------------------------------------------


def qr_token(activity: Activity, now=None) -> str:
    """The check-in code shown on the organiser's screen now; it changes every ACTIVITIES_QR_SECONDS."""
    return _token(activity, _window(now or timezone.now()))


def checkin_url(activity: Activity, now=None) -> str:
    return f"/activities/{activity.pk}/check-in/?t={qr_token(activity, now)}"


def detail_url(activity: Activity) -> str:
    return f"/activities/{activity.pk}/"


def _window(now) -> int:
    return int(now.timestamp()) // qr_seconds()


def _token(activity: Activity, window: int) -> str:
    digest = hmac.new(activity.qr_secret.encode(), f"{activity.pk}:{window}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def _check_token(activity: Activity, token, now) -> None:
    """The current code or the one just before it (a phone may scan as it changes); anything else is refused."""
    window = _window(now)
    given = str(token or "")
    if not any(hmac.compare_digest(given, _token(activity, w)) for w in (window, window - 1)):
        raise ValidationError(
            {"token": _("This check-in code has expired or is not this activity's: scan the code on the screen again.")}
        )


def check_in(user, activity: Activity, token, *, now=None) -> Attendance:
    """Check in by the activity's QR code; attendance earns its points now (hours-based kinds: at check-out)."""
    now = now or timezone.now()
    _check_token(activity, token, now)
    return _arrive(activity, user, now, CheckMethod.QR, by=user)


def check_out(user, activity: Activity, token, *, now=None) -> Attendance:
    """Check out by the QR code (hours-based kinds): the hours between check-in and now earn points by the hour."""
    now = now or timezone.now()
    _check_token(activity, token, now)
    return _leave(activity, user, now, by=user)


def mark_attendance(activity: Activity, user, *, by, now=None) -> Attendance:
    """The organiser records someone present, as they arrive (a live mark, not typed-in hours)."""
    if not organises(by, activity):
        raise PermissionDenied(_("Marking attendance here is not yours to do."))
    if not may_join(user, activity):
        raise ValidationError(
            {"user": _("This activity is not open to %(name)s.") % {"name": user.display_name or user}}
        )
    return _arrive(activity, user, now or timezone.now(), CheckMethod.ORGANISER, by=by)


def mark_departure(activity: Activity, user, *, by, now=None) -> Attendance:
    if not organises(by, activity):
        raise PermissionDenied(_("Marking attendance here is not yours to do."))
    return _leave(activity, user, now or timezone.now(), by=by)


def _arrive(activity: Activity, user, now, method, *, by) -> Attendance:
    if activity.state != ActivityState.PUBLISHED:
        raise ValidationError({"activity": _("This activity was cancelled.")})
    if not (activity.starts_at - EARLY_CHECK_IN <= now <= activity.ends_at):
        raise ValidationError(
            {"activity": _("Check-in is open from 30 minutes before the start until the end of the activity.")}
        )
    if method == CheckMethod.QR and not may_join(user, activity):
        raise PermissionDenied(_("This activity is not open to you."))
    with transaction.atomic():
        try:
            with transaction.atomic():
                attendance = Attendance.objects.create(
                    activity=activity, user=user, checked_in_at=now, method=method, marked_by=None if by == user else by
                )
        except IntegrityError:
            first = Attendance.objects.get(activity=activity, user=user)
            raise ValidationError(
                {
                    "token": _("Already checked in at %(time)s.")
                    % {"time": f"{timezone.localtime(first.checked_in_at):%H:%M}"}
                }
            ) from None
        record("activities.checked_in", attendance, actor=by, area=activity.area, activity=activity.pk, method=method)
        if activity.kind not in HOURS_KINDS:
            _earn(activity, attendance, now)
    return attendance


def _leave(activity: Activity, user, now, *, by) -> Attendance:
    if activity.kind not in HOURS_KINDS:
        raise ValidationError({"activity": _("Only hours-based activities are checked out of.")})
    if now > activity.ends_at + LATE_CHECK_OUT:
        raise ValidationError({"activity": _("Check-out closed two hours after the end of the activity.")})
    with transaction.atomic():
        attendance = Attendance.objects.filter(activity=activity, user=user).first()
        if attendance is None:
            raise ValidationError({"token": _("Check in first.")})
        hours = _hours(attendance.checked_in_at, now)
        rows = Attendance.objects.filter(pk=attendance.pk, checked_out_at__isnull=True)
        if rows.update(checked_out_at=now, hours=hours) != 1:
            raise ValidationError({"token": _("Already checked out.")})
        attendance.checked_out_at, attendance.hours = now, hours
        record(
            "activities.checked_out", attendance, actor=by, area=activity.area, activity=activity.pk, hours=str(hours)
        )
        _earn(activity, attendance, now, hours=hours)
    return attendance


def _hours(start, end) -> Decimal:
    """Whole quarter hours between check-in and check-out."""
    quarters = max(0, int((end - start).total_seconds() // 900))
    return (Decimal(quarters) / 4).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _earn(activity: Activity, attendance: Attendance, now, hours=None):
    return points.earn(
        attendance.user,
        ACTION_OF_KIND[ActivityKind(activity.kind)],
        source=attendance,
        area=activity.area,
        at=now,
        hours=hours,
        label=f"{activity.title}（{timezone.localtime(activity.starts_at):%Y-%m-%d}）",
    )


# --- reminders -------------------------------------------------------------------------------------------------------


def remind_hours() -> int:
    return int(getattr(settings, "ACTIVITIES_REMIND_HOURS", 24))


def remind_upcoming(now=None) -> int:
    """Remind everyone with a place of an activity starting within ACTIVITIES_REMIND_HOURS, once each."""
    now = now or timezone.now()
    due = Signup.objects.filter(
        state=SignupState.CONFIRMED,
        reminded_at__isnull=True,
        activity__state=ActivityState.PUBLISHED,
        activity__starts_at__gt=now,
        activity__starts_at__lte=now + dt.timedelta(hours=remind_hours()),
    ).select_related("activity")
    sent = 0
    for signup in due[:2000]:
        activity = signup.activity
        with transaction.atomic():
            # Compare-and-set: two workers sweeping at once remind each person once.
            if Signup.objects.filter(pk=signup.pk, reminded_at__isnull=True).update(reminded_at=now) != 1:
                continue
            when = timezone.localtime(activity.starts_at)
            notify(
                [signup.user_id],
                kind="activities.reminder",
                title=_("Reminder: %(title)s at %(time)s, %(place)s")
                % {"title": activity.title, "time": f"{when:%m-%d %H:%M}", "place": activity.place},
                url=detail_url(activity),
            )
            sent += 1
    return sent
