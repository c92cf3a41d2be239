"""会议纪要: the minutes of an activity (agenda, decisions; the attendees are its attendance), their follow-up
actions carried out as platform tasks or cases, and publishing the decisions to the area's board.

Each function runs in one transaction and writes its audit event there. Only the activity's organisers
(`queries.organises`) write, add follow-ups and publish; edits compare and set on `version`.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES, Role
from fengchao.areas.models import subtree_q
from fengchao.audit.services import record
from fengchao.cases import services as cases
from fengchao.cases.choices import Channel
from fengchao.core.errors import StaleRecord
from fengchao.notices.services import notify
from fengchao.work import services as work
from fengchao.work.choices import AssigneeRole

from .models import Activity, Attendance, FollowUp, Minutes
from .queries import organises

MAX_TEXT = 10_000


def minutes_url(activity: Activity) -> str:
    return f"/activities/{activity.pk}/minutes/"


def attendees(activity: Activity):
    """The people present: the activity's attendance rows, in check-in order."""
    user_model = get_user_model()
    return user_model.objects.filter(attendances__activity=activity).order_by("attendances__checked_in_at", "pk")


def _refuse_unless_organiser(by, activity: Activity, what: str) -> None:
    if not organises(by, activity):
        raise PermissionDenied(what)


def write_minutes(activity: Activity, *, by, agenda, decisions, expected_version=None) -> Minutes:
    """Create the minutes, or update them when `expected_version` (if given) is still the current version."""
    _refuse_unless_organiser(by, activity, _("Writing the minutes of this activity is not yours to do."))
    agenda, decisions = str(agenda or "").strip(), str(decisions or "").strip()
    errors = {}
    if len(agenda) > MAX_TEXT:
        errors["agenda"] = _("At most 10,000 characters.")
    if len(decisions) > MAX_TEXT:
        errors["decisions"] = _("At most 10,000 characters.")
    if not agenda and not decisions:
        errors["decisions"] = _("Write the agenda or the decisions.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        minutes = Minutes.objects.filter(activity=activity).first()
        if minutes is None:
            if expected_version not in (None, 0):
                raise StaleRecord()
            try:
                with transaction.atomic():
                    minutes = Minutes.objects.create(
                        activity=activity, agenda=agenda, decisions=decisions, written_by=by
                    )
            except IntegrityError:  # someone else wrote the first version at the same moment
                raise StaleRecord() from None
            record("activities.minutes_written", minutes, actor=by, area=activity.area, version=1)
            return minutes
        version = minutes.version if expected_version is None else int(expected_version)
        rows = Minutes.objects.filter(pk=minutes.pk, version=version)
        if rows.update(agenda=agenda, decisions=decisions, written_by=by, version=F("version") + 1) != 1:
            raise StaleRecord()
        minutes.refresh_from_db()
        record("activities.minutes_written", minutes, actor=by, area=activity.area, version=minutes.version)
    return minutes


def _end_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def _named_possible(owner, area) -> bool:
    """Whether the work app can assign the task to `owner` by name: they serve in a micro-grid under `area`."""
    return (
        RoleAssignment.objects.active()
        .filter(user=owner, role__in=[Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER])
        .filter(subtree_q(area.path, "area__"))
        .exists()
    )


def add_follow_up(minutes: Minutes, *, by, text, owner, due_on, kind, area=None, category=None) -> FollowUp:
    """Record a follow-up action and carry it out: kind "task" publishes a platform task (to `owner` by name
    when the work app can, else to the micro-grid members), kind "case" enters a case in the area."""
    activity = minutes.activity
    _refuse_unless_organiser(by, activity, _("Adding follow-ups to these minutes is not yours to do."))
    text = str(text or "").strip()[:200]
    errors = {}
    if len(text) < 4:
        errors["text"] = _("Describe the action in a few words (at least 4 characters).")
    if kind not in FollowUp.Kind.values:
        errors["kind"] = _("Choose a task or a case.")
    if owner is None:
        errors["owner"] = _("Choose who follows it up.")
    elif not Attendance.objects.filter(activity=activity, user=owner).exists() and owner.pk != activity.organiser_id:
        errors["owner"] = _("Choose someone who attended.")
    if not isinstance(due_on, dt.date):
        errors["due_on"] = _("Give the due date.")
    elif due_on < timezone.localdate():
        errors["due_on"] = _("A follow-up is due today or later.")
    if kind == FollowUp.Kind.CASE and not category:
        errors["category"] = _("Choose a category for the case.")
    if errors:
        raise ValidationError(errors)
    area = area or activity.area
    with transaction.atomic():
        n = minutes.follow_ups.count() + 1
        follow_up = FollowUp(minutes=minutes, text=text, owner=owner, due_on=due_on, kind=kind)
        if kind == FollowUp.Kind.TASK:
            named = _named_possible(owner, area)
            follow_up.task = work.publish_task(
                by,
                area=area,
                title=text,
                due_at=_end_of_day(due_on),
                instructions=_("From the minutes of “%(title)s”.") % {"title": activity.title},
                assignee_role=AssigneeRole.NAMED if named else AssigneeRole.MICROGRID_MEMBER,
                named_users=[owner] if named else (),
            )
        else:
            follow_up.case, _created = cases.submit_case(
                channel=Channel.WALK_IN,
                category=category,
                description=text,
                idempotency_key=f"minutes-{minutes.pk}-{n}",
                by=by,
                area=area,
            )
        follow_up.save()
        record(
            "activities.follow_up_added", follow_up, actor=by, area=activity.area, kind=kind,
            task=follow_up.task_id, case=follow_up.case_id,
        )  # fmt: skip
    return follow_up


def publish_minutes(minutes: Minutes, *, by) -> Minutes:
    """Post the decisions to the area's board: everyone serving (a scoping role) in the activity's area and below
    hears once; publishing twice is refused."""
    activity = minutes.activity
    _refuse_unless_organiser(by, activity, _("Publishing these minutes is not yours to do."))
    now = timezone.now()
    with transaction.atomic():
        rows = Minutes.objects.filter(pk=minutes.pk, published_at__isnull=True)
        if rows.update(published_at=now, version=F("version") + 1) != 1:
            raise ValidationError({"minutes": _("These minutes are already published.")})
        minutes.published_at, minutes.version = now, minutes.version + 1
        serving = (
            RoleAssignment.objects.active()
            .filter(subtree_q(activity.area.path, "area__"), role__in=SCOPING_ROLES)
            .order_by()
            .values_list("user_id", flat=True)
        )
        sent = notify(
            serving,
            kind="activities.minutes",
            title=_("Minutes: %(title)s") % {"title": activity.title},
            body=minutes.decisions[:2000],
            url=minutes_url(activity),
        )
        record("activities.minutes_published", minutes, actor=by, area=activity.area, notified=sent)
    return minutes
