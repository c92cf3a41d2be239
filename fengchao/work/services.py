"""Every change to platform tasks: publishing (and its fan-out), moving a task's due time, schedules (pause,
resume) and their runs, submitting a micro-grid's work with its evidence (and where the point fell), accepting it
(task points, once) or returning it with a reason, closing a task, reporting a case found while doing one, and
the day-before reminders.

Each function runs in one transaction and writes its audit event there; state changes are compare-and-set.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.areas import coords, locator
from fengchao.areas.models import Area, AreaKind, subtree_q
from fengchao.audit.services import record
from fengchao.cases import photos as photo_checks
from fengchao.core.errors import StaleRecord
from fengchao.notices.services import notify
from fengchao.points import services as points
from fengchao.points.choices import Action

from . import fanout
from .choices import AssigneeRole, AssignmentState, EvidenceKind, Repeat, TaskState
from .models import Assignment, Evidence, Task, TaskSchedule
from .queries import can_publish, can_review, may_do

log = logging.getLogger(__name__)

MAX_CHECKLIST = 30


# --- publishing ------------------------------------------------------------------------------------------------------


def _clean_task_fields(by, *, area, title, instructions, checklist, assignee_role, named_users, errors=None) -> dict:
    if area is None:
        raise ValidationError({"area": _("Choose the area the task is for.")})
    if not can_publish(by, area):
        raise PermissionDenied(_("Publishing tasks in %(area)s is not yours to do.") % {"area": area.name})
    errors = dict(errors or {})
    title = str(title or "").strip()[:120]
    if not title:
        errors["title"] = _("Give the task a title.")
    if assignee_role not in AssigneeRole.values:
        errors["assignee_role"] = _("Choose who does the task.")
    items = [str(item).strip()[:200] for item in (checklist or []) if str(item).strip()]
    if len(items) > MAX_CHECKLIST:
        errors["checklist"] = _("At most %(n)d checklist items.") % {"n": MAX_CHECKLIST}
    named = list(named_users or [])
    if assignee_role == AssigneeRole.NAMED and not named:
        errors["named_users"] = _("Name the people who do the task.")
    if errors:
        raise ValidationError(errors)
    return {
        "area": area,
        "title": title,
        "instructions": str(instructions or "").strip(),
        "checklist": items,
        "assignee_role": assignee_role,
        "named": named,
    }


def publish_task(by, *, area, title, due_at, instructions="", checklist=(), need_photo=False, need_gps=False,
                 need_signature=False, assignee_role=AssigneeRole.MICROGRID_MEMBER, named_users=(),
                 schedule=None, now=None) -> Task:  # fmt: skip
    """下达任务: publish a task over an area; each micro-grid under it gets its assignment (at once when few, else
    in the worker)."""
    now = now or timezone.now()
    if due_at is not None and timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)
    errors = {} if due_at and due_at > now else {"due_at": _("A task is due in the future.")}
    fields = _clean_task_fields(
        by, area=area, title=title, instructions=instructions, checklist=checklist, assignee_role=assignee_role,
        named_users=named_users, errors=errors,
    )  # fmt: skip
    named = fields.pop("named")
    total = fanout.microgrids_under(area).count()
    if total == 0:
        raise ValidationError({"area": _("%(area)s has no micro-grids to send the task to.") % {"area": area.name}})
    with transaction.atomic():
        task = Task.objects.create(
            created_by=by, due_at=due_at, need_photo=bool(need_photo), need_gps=bool(need_gps),
            need_signature=bool(need_signature), state=TaskState.FANNING_OUT, total=total, schedule=schedule,
            **fields,
        )  # fmt: skip
        if named:
            task.named_users.set(named)
        record("work.published", task, actor=by, area=area, microgrids=total, due_at=due_at.isoformat())
        if total <= fanout.inline_limit():
            task = fanout.fan_out(task.pk)
        else:
            pk = task.pk
            transaction.on_commit(lambda: fanout.fan_out_task.enqueue(pk))
    return task


def close_task(task: Task, *, by) -> Task:
    if not can_publish(by, task.area):
        raise PermissionDenied(_("Closing this task is not yours to do."))
    with transaction.atomic():
        rows = Task.objects.filter(pk=task.pk, state=TaskState.OPEN, version=task.version)
        if rows.update(state=TaskState.CLOSED, version=F("version") + 1) != 1:
            raise StaleRecord()
        task.state, task.version = TaskState.CLOSED, task.version + 1
        record("work.closed", task, actor=by, area=task.area)
    return task


def _named_microgrid(user, area):
    """The micro-grid under `area` where `user` serves (as fan-out would pick it for a named task), or None."""
    return (
        RoleAssignment.objects.active()
        .filter(user=user, role__in=[Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER], area__kind=AreaKind.MICROGRID)
        .filter(subtree_q(area.path, "area__"))
        .order_by("area__path")
        .values_list("area_id", flat=True)
        .first()
    )


def reschedule_task(task: Task, *, by, due_at, assignee=None, now=None) -> Task:
    """Move an open task's due time (and its assignments still to do, whose day-before reminder is sent again);
    with `assignee`, hand a named task's one open share to that person, in the micro-grid where they serve."""
    now = now or timezone.now()
    if not can_publish(by, task.area):
        raise PermissionDenied(_("Changing this task is not yours to do."))
    if due_at is not None and timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)
    if task.state != TaskState.OPEN:
        raise ValidationError({"task": _("Only an open task can be changed.")})
    if due_at is None or due_at <= now:
        raise ValidationError({"due_at": _("A task is due in the future.")})
    to_do = list(Assignment.objects.filter(task=task, state=AssignmentState.OPEN).order_by("pk"))
    if not to_do:
        raise ValidationError({"task": _("Every share of this task has been handed in.")})
    target = None
    if assignee is not None:
        if task.assignee_role != AssigneeRole.NAMED or Assignment.objects.filter(task=task).count() != 1:
            raise ValidationError({"assignee": _("Only a task named to one person can be handed to another.")})
        target = _named_microgrid(assignee, task.area)
        if target is None:
            raise ValidationError(
                {"assignee": _("%(name)s serves in no micro-grid of %(area)s.")
                 % {"name": assignee.display_name or assignee.username, "area": task.area.name}}
            )  # fmt: skip
    with transaction.atomic():
        rows = Task.objects.filter(pk=task.pk, state=TaskState.OPEN, version=task.version)
        if rows.update(due_at=due_at, version=F("version") + 1) != 1:
            raise StaleRecord()
        moved = Assignment.objects.filter(pk__in=[a.pk for a in to_do], state=AssignmentState.OPEN)
        changes = {"due_at": due_at, "reminded_at": None}
        if target is not None:
            changes.update(assignee=assignee, area_id=target)
        if moved.update(version=F("version") + 1, **changes) != len(to_do):
            raise StaleRecord()
        if target is not None:
            task.named_users.set([assignee])
        old_due = task.due_at
        task.due_at, task.version = due_at, task.version + 1
        record(
            "work.rescheduled", task, actor=by, area=task.area, due_at=due_at.isoformat(),
            was_due_at=old_due.isoformat(), assignments=len(to_do), assignee=getattr(assignee, "pk", None),
        )  # fmt: skip
    return task


# --- schedules -------------------------------------------------------------------------------------------------------


def create_schedule(by, *, area, title, repeat, first_run_at, every_days=None, due_days=7, instructions="",
                    checklist=(), need_photo=False, need_gps=False, need_signature=False,
                    assignee_role=AssigneeRole.MICROGRID_MEMBER, named_users=()) -> TaskSchedule:  # fmt: skip
    """A recurring task: every N days, or weekly on the weekday of its first run."""
    fields = _clean_task_fields(
        by, area=area, title=title, instructions=instructions, checklist=checklist, assignee_role=assignee_role,
        named_users=named_users,
    )  # fmt: skip
    errors = {}
    if repeat not in Repeat.values:
        errors["repeat"] = _("Choose how often the task repeats.")
    if repeat == Repeat.EVERY_N_DAYS and (not str(every_days or "").isdigit() or int(every_days) < 1):
        errors["every_days"] = _("Repeat every 1 day or more.")
    if not str(due_days or "").isdigit() or int(due_days) < 1:
        errors["due_days"] = _("Give at least 1 day to do it.")
    if first_run_at is not None and timezone.is_naive(first_run_at):
        first_run_at = timezone.make_aware(first_run_at)
    if first_run_at is None:
        errors["first_run_at"] = _("Say when the task is first published.")
    if errors:
        raise ValidationError(errors)
    named = fields.pop("named")
    with transaction.atomic():
        schedule = TaskSchedule.objects.create(
            created_by=by, repeat=repeat, every_days=int(every_days) if repeat == Repeat.EVERY_N_DAYS else None,
            due_days=int(due_days), next_run_at=first_run_at, need_photo=bool(need_photo), need_gps=bool(need_gps),
            need_signature=bool(need_signature), **fields,
        )  # fmt: skip
        if named:
            schedule.named_users.set(named)
        record("work.schedule_created", schedule, actor=by, area=area, repeat=repeat)
    return schedule


def _step(schedule: TaskSchedule) -> dt.timedelta:
    return dt.timedelta(days=7 if schedule.repeat == Repeat.WEEKLY else max(1, schedule.every_days or 1))


def next_run_after(schedule: TaskSchedule, now) -> dt.datetime:
    step, at = _step(schedule), schedule.next_run_at
    if at <= now:
        at += step * ((now - at) // step + 1)
    return at


def _flip_schedule(schedule: TaskSchedule, *, by, active: bool, now=None) -> TaskSchedule:
    if not can_publish(by, schedule.area):
        raise PermissionDenied(_("Changing this schedule is not yours to do."))
    if schedule.active == active:
        message = _("The schedule is already running.") if active else _("The schedule is already paused.")
        raise ValidationError({"schedule": message})
    changes = {"active": active}
    if active:
        # Runs missed while paused are skipped: the next one is the next occurrence in the future, not a burst.
        changes["next_run_at"] = next_run_after(schedule, now or timezone.now())
    with transaction.atomic():
        rows = TaskSchedule.objects.filter(pk=schedule.pk, active=not active, version=schedule.version)
        if rows.update(version=F("version") + 1, **changes) != 1:
            raise StaleRecord()
        for name, value in changes.items():
            setattr(schedule, name, value)
        schedule.version += 1
        action = "work.schedule_resumed" if active else "work.schedule_paused"
        data = {"next_run_at": schedule.next_run_at.isoformat()} if active else {}
        record(action, schedule, actor=by, area=schedule.area, **data)
    return schedule


def pause_schedule(schedule: TaskSchedule, *, by) -> TaskSchedule:
    """Stop publishing until resumed."""
    return _flip_schedule(schedule, by=by, active=False)


def resume_schedule(schedule: TaskSchedule, *, by, now=None) -> TaskSchedule:
    """Publish again; a next run that passed while paused moves to the next future occurrence."""
    return _flip_schedule(schedule, by=by, active=True, now=now)


def run_due_schedules(now=None) -> list[Task]:
    """Publish each due schedule's task once: moving next_run_at is the compare-and-set, so a second run (or a
    second worker) finds nothing due."""
    now = now or timezone.now()
    created = []
    due = TaskSchedule.objects.filter(active=True, next_run_at__lte=now).select_related("area", "created_by")
    for schedule in due.order_by("next_run_at", "pk"):
        try:
            with transaction.atomic():
                moved = TaskSchedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
                    next_run_at=next_run_after(schedule, now)
                )
                if moved != 1:
                    continue
                task = publish_task(
                    schedule.created_by, area=schedule.area, title=schedule.title,
                    due_at=now + dt.timedelta(days=schedule.due_days), instructions=schedule.instructions,
                    checklist=schedule.checklist, need_photo=schedule.need_photo, need_gps=schedule.need_gps,
                    need_signature=schedule.need_signature, assignee_role=schedule.assignee_role,
                    named_users=list(schedule.named_users.all()), schedule=schedule, now=now,
                )  # fmt: skip
                created.append(task)
        except (PermissionDenied, ValidationError) as error:
            # The publisher lost the role, or the area its micro-grids: stop the schedule, say why.
            with transaction.atomic():
                TaskSchedule.objects.filter(pk=schedule.pk).update(active=False)
                record("work.schedule_stopped", schedule, area=schedule.area, reason=str(error))
            log.warning("task schedule %s stopped: %s", schedule.pk, error)
    return created


# --- doing the work --------------------------------------------------------------------------------------------------


def _location(lon, lat, crs):
    if lon in (None, "") and lat in (None, ""):
        return None, None
    try:
        return coords.to_wgs84(lon, lat, crs or coords.WGS84)
    except ValidationError as error:
        raise ValidationError({"location": error.messages}) from None


def located_microgrid(lon, lat) -> Area | None:
    """The active micro-grid a WGS84 point falls in, or None (in a gap between micro-grids, or outside them all)."""
    result = locator.locate(lon, lat, coords.WGS84)
    target = result.microgrid_id if not result.in_gap else None
    return Area.objects.filter(pk=target, is_active=True).first() if target else None


def _answers(task: Task, answers) -> list[dict]:
    given = list(answers or [])
    if len(given) > len(task.checklist):
        raise ValidationError({"answers": _("More answers than checklist items.")})
    given += [False] * (len(task.checklist) - len(given))
    return [{"item": item, "done": bool(done)} for item, done in zip(task.checklist, given, strict=True)]


def submit(assignment: Assignment, *, by, note="", photos=(), signatures=(), lon=None, lat=None, crs="wgs84",
           answers=(), now=None) -> Assignment:  # fmt: skip
    """Hand in a micro-grid's work; what the task requires (photo, location, a resident's signature) must be there."""
    now = now or timezone.now()
    task = assignment.task
    if not may_do(by, assignment):
        raise PermissionDenied(_("This task is not yours to do."))
    if task.state != TaskState.OPEN:
        raise ValidationError({"assignment": _("The task is closed.")})
    if assignment.state != AssignmentState.OPEN:
        raise ValidationError({"assignment": _("This task has already been handed in.")})
    errors = {}
    try:
        checked_photos = photo_checks.check_photos(photos, "photos")
    except ValidationError as error:
        errors.update(error.message_dict)
        checked_photos = []
    try:
        checked_signatures = photo_checks.check_photos(signatures, "signature")
    except ValidationError as error:
        errors.update(error.message_dict)
        checked_signatures = []
    if task.need_photo and not checked_photos and "photos" not in errors:
        errors["photos"] = _("This task needs a photo.")
    if task.need_signature and not checked_signatures and "signature" not in errors:
        errors["signature"] = _("This task needs a photo of the visited resident's signature.")
    try:
        lon, lat = _location(lon, lat, crs)
    except ValidationError as error:
        errors.update(error.message_dict)
    if task.need_gps and lon is None and "location" not in errors:
        errors["location"] = _("This task needs your location: allow the browser to read it.")
    try:
        answered = _answers(task, answers)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    note = str(note or "").strip()[:2000]
    # Where the point falls is recorded for the reviewer, not refused (GPS near a boundary is often off).
    located = located_microgrid(lon, lat) if lon is not None else None
    outside = lon is not None and getattr(located, "pk", None) != assignment.area_id
    with transaction.atomic():
        rows = Assignment.objects.filter(pk=assignment.pk, state=AssignmentState.OPEN, version=assignment.version)
        changes = {"state": AssignmentState.SUBMITTED, "submitted_at": now, "submitted_by": by, "note": note,
                   "lon": lon, "lat": lat, "answers": answered, "located_area": located,
                   "location_outside": outside}  # fmt: skip
        if rows.update(version=F("version") + 1, **changes) != 1:
            raise StaleRecord()
        for name, value in changes.items():
            setattr(assignment, name, value)
        assignment.version += 1
        for kind, checked in ((EvidenceKind.PHOTO, checked_photos), (EvidenceKind.SIGNATURE, checked_signatures)):
            for upload, extension, content_type in checked:
                evidence = Evidence(
                    assignment=assignment, kind=kind, token=photo_checks.new_token(), extension=extension,
                    content_type=content_type, size=upload.size, uploaded_by=by,
                )  # fmt: skip
                evidence.file.save(f"{evidence.token}.{extension}", upload, save=False)
                evidence.save()
        record(
            "work.submitted", assignment, actor=by, area=assignment.area, task=task.pk,
            photos=len(checked_photos), signatures=len(checked_signatures), located=lon is not None,
            located_area=getattr(located, "pk", None), outside=outside,
        )  # fmt: skip
    return assignment


def _review(assignment: Assignment, by, new_state, now, **changes):
    if not can_review(by, assignment):
        raise PermissionDenied(_("Reviewing this task is not yours to do."))
    if assignment.state != AssignmentState.SUBMITTED:
        raise ValidationError({"assignment": _("Only handed-in work can be reviewed.")})
    rows = Assignment.objects.filter(pk=assignment.pk, state=AssignmentState.SUBMITTED, version=assignment.version)
    changes.update(state=new_state, reviewed_by=by, reviewed_at=now)
    if rows.update(version=F("version") + 1, **changes) != 1:
        raise StaleRecord()
    for name, value in changes.items():
        setattr(assignment, name, value)
    assignment.version += 1


def accept(assignment: Assignment, *, by, now=None) -> Assignment:
    """验收: the work is done; whoever handed it in earns the task's points (once, whatever happens next)."""
    now = now or timezone.now()
    with transaction.atomic():
        _review(assignment, by, AssignmentState.ACCEPTED, now, return_reason="")
        Task.objects.filter(pk=assignment.task_id).update(done=F("done") + 1)
        doer = assignment.submitted_by or assignment.assignee
        claim = points.earn(doer, Action.TASK_COMPLETED, source=assignment, area=assignment.area, at=now)
        record(
            "work.accepted", assignment, actor=by, area=assignment.area, task=assignment.task_id,
            claim=claim.pk if claim is not None else None,
        )  # fmt: skip
    return assignment


def return_(assignment: Assignment, *, by, reason: str, now=None) -> Assignment:
    """退回: back to the doer with the reason; they submit again."""
    now = now or timezone.now()
    reason = str(reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": _("Say why the work goes back.")})
    with transaction.atomic():
        _review(assignment, by, AssignmentState.OPEN, now, return_reason=reason)
        record("work.returned", assignment, actor=by, area=assignment.area, task=assignment.task_id, reason=reason)
    return assignment


def report_case_from(assignment: Assignment, *, by, **case_fields):
    """Anything found while doing a task becomes a case in one tap (channel: member), linked to the assignment."""
    from fengchao.cases.services import submit_case

    if not may_do(by, assignment):
        raise PermissionDenied(_("This task is not yours to do."))
    case_fields.setdefault("area", assignment.area)
    with transaction.atomic():
        case, created = submit_case(channel="member", by=by, **case_fields)
        current = Assignment.objects.filter(pk=assignment.pk).values_list("found_cases", flat=True).first() or []
        if case.pk not in current:
            found = [*current, case.pk]
            Assignment.objects.filter(pk=assignment.pk).update(found_cases=found)
            assignment.found_cases = found
            record("work.case_reported", assignment, actor=by, area=assignment.area, case=case.pk)
    return case


# --- reminders -------------------------------------------------------------------------------------------------------


def remind_hours() -> int:
    return settings.WORK_REMIND_HOURS


def reminder_recipients(assignment: Assignment):
    """The named assignee, or the active holders of the task's role in the micro-grid (or held above it, as a grid
    leader holds the grid), as a query of user pks."""
    if assignment.assignee_id is not None:
        return [assignment.assignee_id]
    area = assignment.area
    return (
        RoleAssignment.objects.active()
        .filter(role=assignment.task.assignee_role, area_id__in=[*area.ancestor_pks(), area.pk], user__is_active=True)
        .values("user_id")
    )


def remind_due_assignments(now=None) -> int:
    """任务明天到期: one notification per assignment still to do (open or returned) that falls due within
    WORK_REMIND_HOURS (default 24), sent once: setting `reminded_at` is the compare-and-set."""
    now = now or timezone.now()
    due = Assignment.objects.filter(
        state=AssignmentState.OPEN,
        reminded_at__isnull=True,
        task__state=TaskState.OPEN,
        due_at__gt=now,
        due_at__lte=now + dt.timedelta(hours=remind_hours()),
    ).select_related("task", "area")
    sent = 0
    for assignment in due.order_by("due_at", "pk")[:2000]:
        with transaction.atomic():
            if Assignment.objects.filter(pk=assignment.pk, reminded_at__isnull=True).update(reminded_at=now) != 1:
                continue
            when = timezone.localtime(assignment.due_at)
            notify(
                reminder_recipients(assignment),
                kind="work.reminder",
                title=_("Task due tomorrow: %(title)s, by %(time)s")
                % {"title": assignment.task.title, "time": f"{when:%m-%d %H:%M}"},
                body=assignment.area.name,
                url=reverse("work:assignment", args=[assignment.pk]),
            )
            sent += 1
    return sent
