"""会议纪要: the minutes of an activity (agenda, decisions; the attendees are its attendance), their follow-up
actions carried out as platform tasks or cases, and publishing the decisions to the area's board.

Each function runs in one transaction and writes its audit event there. Only the activity's organisers
(`queries.organises`) write, add and edit follow-ups, and publish; edits compare and set on `version` (a
follow-up, which has no version column, on the values the editor loaded).
"""

import datetime as dt
import hashlib

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES, Role
from fengchao.areas.models import subtree_q
from fengchao.audit.services import record
from fengchao.cases import services as cases
from fengchao.cases.choices import FINAL_STATES, CaseState, Channel
from fengchao.core.errors import StaleRecord
from fengchao.notices.services import notify
from fengchao.work import services as work
from fengchao.work.choices import AssigneeRole, AssignmentState, TaskState
from fengchao.work.models import Assignment

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
    errors = {}
    if kind not in FollowUp.Kind.values:
        errors["kind"] = _("Choose a task or a case.")
    text = _check_follow_up(activity, text=text, owner=owner, due_on=due_on, errors=errors)
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


def _check_follow_up(activity: Activity, *, text, owner, due_on, errors: dict) -> str:
    text = str(text or "").strip()[:200]
    if len(text) < 4:
        errors["text"] = _("Describe the action in a few words (at least 4 characters).")
    if owner is None:
        errors["owner"] = _("Choose who follows it up.")
    elif not Attendance.objects.filter(activity=activity, user=owner).exists() and owner.pk != activity.organiser_id:
        errors["owner"] = _("Choose someone who attended.")
    if not isinstance(due_on, dt.date):
        errors["due_on"] = _("Give the due date.")
    elif due_on < timezone.localdate():
        errors["due_on"] = _("A follow-up is due today or later.")
    return text


def follow_up_version(follow_up: FollowUp) -> str:
    """What an editor loaded, as a short token: FollowUp has no version column, so its editable fields stand in."""
    seen = f"{follow_up.text}\x1f{follow_up.owner_id}\x1f{follow_up.due_on.isoformat()}"
    return hashlib.sha256(seen.encode()).hexdigest()[:12]


def with_open_shares(follow_ups):
    """Follow-ups with `open_shares` (their task has a share still to do), so `follow_up_done` needs no query."""
    to_do = Assignment.objects.filter(task=OuterRef("task"), state=AssignmentState.OPEN)
    return follow_ups.annotate(open_shares=Exists(to_do))


CASE_DONE = FINAL_STATES | {CaseState.RESOLVED, CaseState.VERIFIED}


def follow_up_done(follow_up: FollowUp) -> bool:
    """A task follow-up is done once its task is closed or no share of it is left to do; a case follow-up once the
    case is resolved (or closed, rejected, merged, cancelled)."""
    if follow_up.kind == FollowUp.Kind.TASK:
        task = follow_up.task
        if task is None or task.state == TaskState.CLOSED:
            return True
        open_shares = getattr(follow_up, "open_shares", None)  # annotated by lists (`with_open_shares`)
        if open_shares is None:
            open_shares = task.assignments.filter(state=AssignmentState.OPEN).exists()
        return not open_shares
    case = follow_up.case
    return case is None or case.state in CASE_DONE


def edit_follow_up(follow_up: FollowUp, *, by, text, owner, due_on, expected_version=None) -> FollowUp:
    """Change a follow-up's text, owner and due date while it is not done. A task follow-up's task moves with it
    (its due time, and the named person when the task was named to the owner) through the work services; a case
    follow-up changes only itself: the case keeps its own loop (dispatch, deadlines) in the cases app."""
    minutes = follow_up.minutes
    activity = minutes.activity
    _refuse_unless_organiser(by, activity, _("Changing the follow-ups of these minutes is not yours to do."))
    if expected_version not in (None, "") and str(expected_version) != follow_up_version(follow_up):
        raise StaleRecord()
    if follow_up_done(follow_up):
        raise ValidationError({"follow_up": _("This follow-up is done: it can no longer be changed.")})
    errors = {}
    text = _check_follow_up(activity, text=text, owner=owner, due_on=due_on, errors=errors)
    task = follow_up.task if follow_up.kind == FollowUp.Kind.TASK else None
    owner_changed = owner is not None and owner.pk != follow_up.owner_id
    hand_over = task is not None and owner_changed and task.assignee_role == AssigneeRole.NAMED
    if hand_over and "owner" not in errors and not _named_possible(owner, task.area):
        errors["owner"] = _(
            "The task is named to one person, and %(name)s serves in no micro-grid of %(area)s: choose someone who "
            "does, or add a new follow-up."
        ) % {"name": owner.display_name or owner.username, "area": task.area.name}
    if errors:
        raise ValidationError(errors)
    before = {"text": follow_up.text, "owner": follow_up.owner_id, "due_on": follow_up.due_on.isoformat()}
    with transaction.atomic():
        rows = FollowUp.objects.filter(
            pk=follow_up.pk, text=follow_up.text, owner_id=follow_up.owner_id, due_on=follow_up.due_on
        )
        if rows.update(text=text, owner=owner, due_on=due_on) != 1:
            raise StaleRecord()
        if task is not None and (due_on != follow_up.due_on or hand_over):
            try:
                work.reschedule_task(task, by=by, due_at=_end_of_day(due_on), assignee=owner if hand_over else None)
            except ValidationError as error:  # the task's own refusals, said on the follow-up's fields
                names = {"due_at": "due_on", "assignee": "owner", "task": "follow_up"}
                raise ValidationError(
                    {names.get(field, field): messages for field, messages in error.message_dict.items()}
                ) from None
        follow_up.text, follow_up.owner, follow_up.due_on = text, owner, due_on
        record(
            "activities.follow_up_edited", follow_up, actor=by, area=activity.area, kind=follow_up.kind,
            before=before, text=text, owner=owner.pk, due_on=due_on.isoformat(), task=follow_up.task_id,
            case=follow_up.case_id,
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
