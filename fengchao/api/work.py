"""Platform tasks (平台下达任务): a member's assignments and handing one in (multipart, with photos, the resident's
signature, the location and the checklist); for staff, publishing a task (fanned out to every micro-grid under
its area), the task list, a task with its fan-out progress and its assignments, and accepting or returning work.

Reads start from `fengchao.work.queries`: anything outside the caller's scope answers 404, exactly like
something that does not exist. Every change goes through `fengchao.work.services`.

Answers: 404 what you cannot see; 403 what you see but may not do; 409 a record changed meanwhile; 422 a refusal
naming the field (`photos`, `signature`, `location`, `answers`, `assignment`, `reason`, `area`, `title`, `due_at`,
`schedule`).
"""

import datetime as dt
from typing import Literal

import orjson
from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import Field

from fengchao.areas.models import Area
from fengchao.work import queries, services
from fengchao.work.choices import AssigneeRole, AssignmentState, Repeat, TaskState
from fengchao.work.models import Assignment, Task, TaskSchedule

from .cases import field_error, refusals
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from .registry_schemas import MAX_ID

router = Router(tags=["work"])

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
TaskId = Path(..., ge=1, le=MAX_ID, description="task id")
AssignmentId = Path(..., ge=1, le=MAX_ID, description="assignment id")
StateName = Literal[tuple(AssignmentState.values)]  # type: ignore[valid-type]
OpenState = Query("open", description="this state (default: open, to do)")
StateFilter = Query(None, description="only this state")
PhotoFiles = File(None, description="JPEG, PNG or WebP; checked by content and size")
SignatureFiles = File(None, description="a photo of the visited resident's signature")
RepeatName = Literal[tuple(Repeat.values)]  # type: ignore[valid-type]
RoleName = Literal[tuple(AssigneeRole.values)]  # type: ignore[valid-type]


class Coded(Schema):
    code: str
    label: str


class AreaRef(Schema):
    id: int
    name: str


class TaskOut(Schema):
    id: int
    title: str
    instructions: str
    area: AreaRef
    due_at: dt.datetime
    state: Coded
    assignee_role: Coded
    checklist: list[str]
    need_photo: bool
    need_gps: bool
    need_signature: bool
    total: int = Field(description="micro-grids the task goes to")
    fanned_out: int = Field(description="assignments made so far")
    done: int = Field(description="assignments accepted")


class AssignmentOut(Schema):
    id: int
    task: TaskOut
    area: AreaRef
    assignee_id: int | None
    state: Coded
    due_at: dt.datetime
    submitted_at: dt.datetime | None
    submitted_by_id: int | None
    note: str
    lon: float | None = Field(description="WGS84")
    lat: float | None
    located_area: AreaRef | None = Field(description="the micro-grid the submitted point falls in (null: none)")
    location_outside: bool = Field(
        description="the submitted point is not in this micro-grid (a warning: GPS near a boundary is often off)"
    )
    answers: list[dict]
    return_reason: str
    reviewed_at: dt.datetime | None
    found_cases: list[int]


class AssignmentPage(Schema):
    items: list[AssignmentOut]
    next_cursor: str | None


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None


class TaskIn(Schema):
    area_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(max_length=120)
    instructions: str = Field("", max_length=4000)
    due_at: dt.datetime
    checklist: list[str] = Field(default_factory=list, max_length=30)
    need_photo: bool = False
    need_gps: bool = False
    need_signature: bool = False
    assignee_role: RoleName = AssigneeRole.MICROGRID_MEMBER
    named_user_ids: list[int] = Field(default_factory=list, max_length=500)


class ScheduleIn(Schema):
    area_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(max_length=120)
    instructions: str = Field("", max_length=4000)
    checklist: list[str] = Field(default_factory=list, max_length=30)
    need_photo: bool = False
    need_gps: bool = False
    need_signature: bool = False
    assignee_role: RoleName = AssigneeRole.MICROGRID_MEMBER
    named_user_ids: list[int] = Field(default_factory=list, max_length=500)
    repeat: RepeatName
    every_days: int | None = Field(None, ge=1, le=366, description="for repeat=days")
    due_days: int = Field(7, ge=1, le=366, description="days each task stays due")
    first_run_at: dt.datetime = Field(description="the first publication; weekly runs keep its weekday and time")


class ScheduleOut(Schema):
    id: int
    title: str
    area: AreaRef
    repeat: Coded
    every_days: int | None
    due_days: int
    next_run_at: dt.datetime
    active: bool


class SchedulePage(Schema):
    items: list[ScheduleOut]
    next_cursor: str | None


class ReasonIn(Schema):
    reason: str = Field(max_length=200)


def _coded(choices, value) -> dict:
    return {"code": value, "label": str(dict(choices.choices).get(value, value))}


def task_dict(task: Task) -> dict:
    return {
        "id": task.pk,
        "title": task.title,
        "instructions": task.instructions,
        "area": {"id": task.area_id, "name": task.area.name},
        "due_at": task.due_at,
        "state": _coded(TaskState, task.state),
        "assignee_role": _coded(AssigneeRole, task.assignee_role),
        "checklist": list(task.checklist),
        "need_photo": task.need_photo,
        "need_gps": task.need_gps,
        "need_signature": task.need_signature,
        "total": task.total,
        "fanned_out": task.fanned_out,
        "done": task.done,
    }


def assignment_dict(a: Assignment) -> dict:
    return {
        "id": a.pk,
        "task": task_dict(a.task),
        "area": {"id": a.area_id, "name": a.area.name},
        "assignee_id": a.assignee_id,
        "state": _coded(AssignmentState, a.state),
        "due_at": a.due_at,
        "submitted_at": a.submitted_at,
        "submitted_by_id": a.submitted_by_id,
        "note": a.note,
        "lon": a.lon,
        "lat": a.lat,
        "located_area": {"id": a.located_area_id, "name": a.located_area.name} if a.located_area_id else None,
        "location_outside": a.location_outside,
        "answers": list(a.answers or []),
        "return_reason": a.return_reason,
        "reviewed_at": a.reviewed_at,
        "found_cases": list(a.found_cases or []),
    }


def _staff(user) -> None:
    if not queries.is_staff(user):
        raise Http404(_("Not found."))


# --- members ---------------------------------------------------------------------------------------------------------


@router.get("/assignments", response=AssignmentPage, summary="My assignments, due first")
def my_assignments(request, state: StateName = OpenState, limit: int = Limit, cursor: str | None = Cursor):
    """The assignments that are the caller's to do (by role in their micro-grids, or by name)."""
    qs = (
        queries.my_assignments(request.auth)
        .filter(state=state, task__state=TaskState.OPEN)
        .select_related("task", "task__area", "area", "located_area")
    )
    rows, after = keyset_page(qs, ["due_at", "pk"], cursor, limit, lambda a: (a.due_at.isoformat(), a.pk))
    return {"items": [assignment_dict(a) for a in rows], "next_cursor": after}


@router.get("/assignments/{assignment_id}", response=AssignmentOut, summary="One assignment")
def get_assignment(request, assignment_id: int = AssignmentId):
    found = queries.assignment_or_404(request.auth, assignment_id)
    return assignment_dict(found)


@router.post("/assignments/{assignment_id}/submit", response=AssignmentOut, summary="Hand in an assignment")
@refusals
def submit(
    request,
    assignment_id: int = AssignmentId,
    photos: list[UploadedFile] = PhotoFiles,
    signature: list[UploadedFile] = SignatureFiles,
    note: str = Form("", max_length=2000),
    lon: float | None = Form(None),
    lat: float | None = Form(None),
    crs: str = Form("wgs84", max_length=8, description="wgs84, gcj02 or bd09"),
    answers: str = Form("[]", max_length=2000, description="JSON list of booleans, one per checklist item"),
):
    """multipart/form-data. Required evidence missing is refused naming the field."""
    found = queries.assignment_or_404(request.auth, assignment_id)
    try:
        ticks = orjson.loads(answers)
        if not isinstance(ticks, list):
            raise ValueError
    except ValueError:
        raise field_error("answers", _("Send the checklist as a JSON list of true/false.")) from None
    services.submit(
        found, by=request.auth, note=note, photos=photos or [], signatures=signature or [], lon=lon, lat=lat,
        crs=crs, answers=ticks,
    )  # fmt: skip
    return assignment_dict(queries.assignment_or_404(request.auth, assignment_id))


@router.post("/assignments/{assignment_id}/accept", response=AssignmentOut, summary="Accept handed-in work")
@refusals
def accept(request, assignment_id: int = AssignmentId):
    found = queries.assignment_or_404(request.auth, assignment_id)
    services.accept(found, by=request.auth)
    return assignment_dict(queries.assignment_or_404(request.auth, assignment_id))


@router.post("/assignments/{assignment_id}/return", response=AssignmentOut, summary="Return work with a reason")
@refusals
def return_(request, body: ReasonIn, assignment_id: int = AssignmentId):
    found = queries.assignment_or_404(request.auth, assignment_id)
    services.return_(found, by=request.auth, reason=body.reason)
    return assignment_dict(queries.assignment_or_404(request.auth, assignment_id))


# --- staff -----------------------------------------------------------------------------------------------------------


@router.post("/tasks", response={201: TaskOut}, summary="Publish a task")
@refusals
def create_task(request, body: TaskIn):
    """Fanned out to every micro-grid under the area: at once for up to 200, else in the worker (watch
    `fanned_out` grow on the task until `state` is open)."""
    user = request.auth
    _staff(user)
    area = _area_for(user, body.area_id)
    named = list(get_user_model().objects.filter(pk__in=body.named_user_ids, is_active=True))
    task = services.publish_task(
        user, area=area, title=body.title, due_at=body.due_at, instructions=body.instructions,
        checklist=body.checklist, need_photo=body.need_photo, need_gps=body.need_gps,
        need_signature=body.need_signature, assignee_role=body.assignee_role, named_users=named,
    )  # fmt: skip
    task.area = area
    return Status(201, task_dict(task))


@router.get("/tasks", response=TaskPage, summary="Tasks, newest first")
def list_tasks(request, limit: int = Limit, cursor: str | None = Cursor):
    user = request.auth
    _staff(user)
    qs = queries.tasks_visible_to(user).select_related("area")
    rows, after = keyset_page(qs, ["-created_at", "-pk"], cursor, limit, lambda t: (t.created_at.isoformat(), t.pk))
    return {"items": [task_dict(t) for t in rows], "next_cursor": after}


@router.get("/tasks/{task_id}", response=TaskOut, summary="A task with its fan-out progress")
def get_task(request, task_id: int = TaskId):
    _staff(request.auth)
    return task_dict(queries.task_or_404(request.auth, task_id))


@router.get("/tasks/{task_id}/assignments", response=AssignmentPage, summary="A task's assignments in your areas")
def task_assignments(
    request, task_id: int = TaskId, state: StateName | None = StateFilter, limit: int = Limit,
    cursor: str | None = Cursor,
):  # fmt: skip
    user = request.auth
    _staff(user)
    task = queries.task_or_404(user, task_id)
    qs = queries.task_assignments(user, task).select_related("area", "located_area")
    if state:
        qs = qs.filter(state=state)
    rows, after = keyset_page(qs, ["pk"], cursor, limit, lambda a: (a.pk,))
    for a in rows:
        a.task = task
    return {"items": [assignment_dict(a) for a in rows], "next_cursor": after}


# --- schedules -------------------------------------------------------------------------------------------------------


def schedule_dict(schedule: TaskSchedule) -> dict:
    return {
        "id": schedule.pk,
        "title": schedule.title,
        "area": {"id": schedule.area_id, "name": schedule.area.name},
        "repeat": _coded(Repeat, schedule.repeat),
        "every_days": schedule.every_days,
        "due_days": schedule.due_days,
        "next_run_at": schedule.next_run_at,
        "active": schedule.active,
    }


def _area_for(user, area_id: int) -> Area:
    area = Area.objects.filter(pk=area_id).first()
    if area is None or not queries.can_publish(user, area):
        raise field_error("area_id", _("Choose an area where you may publish tasks."))
    return area


@router.post("/schedules", response={201: ScheduleOut}, summary="Create a recurring task")
@refusals
def create_schedule(request, body: ScheduleIn):
    """The worker publishes its task when `next_run_at` comes, once, then moves it on."""
    user = request.auth
    _staff(user)
    area = _area_for(user, body.area_id)
    named = list(get_user_model().objects.filter(pk__in=body.named_user_ids, is_active=True))
    schedule = services.create_schedule(
        user, area=area, title=body.title, repeat=body.repeat, first_run_at=body.first_run_at,
        every_days=body.every_days, due_days=body.due_days, instructions=body.instructions,
        checklist=body.checklist, need_photo=body.need_photo, need_gps=body.need_gps,
        need_signature=body.need_signature, assignee_role=body.assignee_role, named_users=named,
    )  # fmt: skip
    return Status(201, schedule_dict(schedule))


@router.get("/schedules", response=SchedulePage, summary="Recurring tasks in your areas")
def list_schedules(request, limit: int = Limit, cursor: str | None = Cursor):
    user = request.auth
    _staff(user)
    qs = queries.schedules_visible_to(user).select_related("area")
    rows, after = keyset_page(qs, ["pk"], cursor, limit, lambda s: (s.pk,))
    return {"items": [schedule_dict(s) for s in rows], "next_cursor": after}


ScheduleId = Path(..., ge=1, le=MAX_ID, description="schedule id")


@router.post("/schedules/{schedule_id}/pause", response=ScheduleOut, summary="Pause a recurring task")
@refusals
def pause_schedule(request, schedule_id: int = ScheduleId):
    """422 `schedule` when already paused; 409 when it changed meanwhile."""
    user = request.auth
    _staff(user)
    return schedule_dict(services.pause_schedule(queries.schedule_or_404(user, schedule_id), by=user))


@router.post("/schedules/{schedule_id}/resume", response=ScheduleOut, summary="Resume a recurring task")
@refusals
def resume_schedule(request, schedule_id: int = ScheduleId):
    """A next run missed while paused moves to the next future occurrence (no burst of tasks). 422 `schedule`
    when already running."""
    user = request.auth
    _staff(user)
    return schedule_dict(services.resume_schedule(queries.schedule_or_404(user, schedule_id), by=user))
