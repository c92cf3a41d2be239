"""The task pages, mounted at /work/: a member's tasks (open assignments of their micro-grids, due first), an
assignment with its submission form (camera photos, the browser's location, the checklist) and its review
(accept / return), the evidence photos; for staff, the task list with fan-out progress, the publish form, a
task's assignments with their states, and their .xlsx export.

Reads come only from `work.queries` (out of scope: 404); every change goes through `work.services`.
"""

import io
import secrets

import xlsxwriter
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fengchao.accounts.access import guarded_by, role_holder_required
from fengchao.areas.models import Area, AreaKind
from fengchao.areas.scope import scope_q
from fengchao.cases.models import Category
from fengchao.registry.views.common import keyset, next_url, query_without

from . import queries, services
from .choices import AssignmentState, TaskState
from .forms import ReturnForm, ScheduleForm, TaskForm, apply_errors
from .models import Evidence

PAGE_SIZE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PUBLISH_KINDS = (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID)


member_view = role_holder_required


staff_view = guarded_by(queries.is_staff)


def refusal_text(error) -> str:
    return " ".join(error.messages if isinstance(error, ValidationError) else [str(error)])


def publish_areas(user):
    return Area.objects.filter(scope_q(user, "", queries.STAFF_ROLES), is_active=True, kind__in=PUBLISH_KINDS).order_by(
        "path"
    )


def _page(request, qs, fields, key):
    rows, cursor = keyset(qs, fields, key, request.GET.get("cursor"), PAGE_SIZE)
    return rows, {
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
    }


# --- members ---------------------------------------------------------------------------------------------------------


@member_view
def mine(request):
    qs = (
        queries.my_assignments(request.user)
        .filter(state=AssignmentState.OPEN, task__state=TaskState.OPEN)
        .select_related("task", "area")
    )
    rows, pager = _page(request, qs, ["due_at", "pk"], lambda a: (a.due_at.isoformat(), a.pk))
    context = {"assignments": rows, "is_staff": queries.is_staff(request.user), **pager}
    return render(request, "work/mine.html", context)


def _assignment_context(request, assignment, errors=None, values=None):
    user = request.user
    task = assignment.task
    done = {a.get("item"): a.get("done") for a in assignment.answers or []}
    return {
        "a": assignment,
        "task": task,
        "checklist": [(i, item, done.get(item, False)) for i, item in enumerate(task.checklist)],
        "evidence": list(assignment.evidence.all()),
        "may_do": queries.may_do(user, assignment)
        and assignment.state == AssignmentState.OPEN
        and task.state == TaskState.OPEN,
        "may_review": queries.can_review(user, assignment) and assignment.state == AssignmentState.SUBMITTED,
        "may_report": queries.may_do(user, assignment),
        "return_form": ReturnForm(),
        "errors": errors or {},
        "values": values or {},
        "categories": Category.objects.filter(is_active=True, parent__isnull=False).order_by("code")[:200]
        if queries.may_do(user, assignment)
        else [],
        "case_key": f"work-{assignment.pk}-{secrets.token_hex(6)}",
    }


@member_view
def assignment(request, pk):
    found = queries.assignment_or_404(request.user, pk)
    return render(request, "work/assignment.html", _assignment_context(request, found))


@member_view
@require_POST
def submit(request, pk):
    found = queries.assignment_or_404(request.user, pk)
    post = request.POST
    answers = [f"item-{i}" in post for i in range(len(found.task.checklist))]
    try:
        services.submit(
            found,
            by=request.user,
            note=post.get("note", ""),
            photos=request.FILES.getlist("photos"),
            signatures=request.FILES.getlist("signature"),
            lon=post.get("lon") or None,
            lat=post.get("lat") or None,
            crs=post.get("crs") or "wgs84",
            answers=answers,
        )
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        context = _assignment_context(request, found, errors, post)
        return render(request, "work/assignment.html", context, status=422)
    except PermissionDenied as error:
        messages.error(request, refusal_text(error))
        return redirect("work:assignment", pk)
    messages.success(request, _("Handed in. Your leader will review it."))
    return redirect("work:mine")


@member_view
@require_POST
def report_case(request, pk):
    found = queries.assignment_or_404(request.user, pk)
    try:
        case = services.report_case_from(
            found,
            by=request.user,
            category=request.POST.get("category") or None,
            description=request.POST.get("description", ""),
            idempotency_key=request.POST.get("idempotency_key", ""),
            lon=request.POST.get("lon") or None,
            lat=request.POST.get("lat") or None,
            crs=request.POST.get("crs") or "wgs84",
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, refusal_text(error))
    else:
        messages.success(request, _("Case %(number)s reported.") % {"number": case.number})
    return redirect("work:assignment", pk)


@member_view
def evidence(request, pk, token):
    found = queries.assignment_or_404(request.user, pk)
    item = Evidence.objects.filter(assignment=found, token=token).first()
    if item is None:
        raise Http404
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=item.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@member_view
@require_POST
def accept(request, pk):
    found = queries.assignment_or_404(request.user, pk)
    try:
        services.accept(found, by=request.user)
        messages.success(request, _("Accepted."))
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, refusal_text(error))
    return redirect("work:task", found.task_id)


@member_view
@require_POST
def return_(request, pk):
    found = queries.assignment_or_404(request.user, pk)
    try:
        services.return_(found, by=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, _("Returned with your reason."))
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, refusal_text(error))
        return redirect("work:assignment", pk)
    return redirect("work:task", found.task_id)


# --- staff -----------------------------------------------------------------------------------------------------------


@staff_view
def tasks(request):
    qs = queries.tasks_visible_to(request.user).select_related("area")
    rows, pager = _page(request, qs, ["-created_at", "-pk"], lambda t: (t.created_at.isoformat(), t.pk))
    for task in rows:
        task.percent = round(100 * task.fanned_out / task.total) if task.total else 0
    return render(request, "work/tasks.html", {"tasks": rows, **pager})


@staff_view
def new(request):
    areas = publish_areas(request.user)
    form = TaskForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.publish_task(request.user, **form.service_data())
        except (ValidationError, PermissionDenied) as error:
            if isinstance(error, ValidationError):
                apply_errors(form, error)
            else:
                form.add_error(None, str(error))
        else:
            messages.success(request, _("Task published."))
            return redirect("work:task", task.pk)
    return render(request, "work/new.html", {"form": form})


STATE_FILTERS = dict(AssignmentState.choices)


@staff_view
def task(request, pk):
    found = queries.task_or_404(request.user, pk)
    qs = queries.task_assignments(request.user, found).select_related(
        "area", "assignee", "submitted_by", "located_area"
    )
    state = request.GET.get("state", "")
    if state in STATE_FILTERS:
        qs = qs.filter(state=state)
    else:
        state = ""
    rows, pager = _page(request, qs, ["area__path", "pk"], lambda a: (a.area.path, a.pk))
    context = {
        "task": found,
        "assignments": rows,
        "state": state,
        "states": AssignmentState.choices,
        "percent": round(100 * found.fanned_out / found.total) if found.total else 0,
        "may_close": found.state == TaskState.OPEN and queries.can_publish(request.user, found.area),
        **pager,
    }
    return render(request, "work/task.html", context)


@staff_view
@require_POST
def close(request, pk):
    found = queries.task_or_404(request.user, pk)
    try:
        services.close_task(found, by=request.user)
        messages.success(request, _("Task closed."))
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, refusal_text(error))
    return redirect("work:task", pk)


@staff_view
def export(request, pk):
    found = queries.task_or_404(request.user, pk)
    rows = (
        queries.task_assignments(request.user, found)
        .order_by("area__path", "pk")
        .values_list(
            "area__name",
            "state",
            "assignee__display_name",
            "submitted_by__display_name",
            "submitted_at",
            "note",
            "lon",
            "lat",
            "reviewed_at",
            "return_reason",
        )
    )
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    sheet = book.add_worksheet(_("Assignments")[:31])
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    heads = [
        _("Micro-grid"), _("State"), _("Assignee"), _("Handed in by"), _("Handed in"), _("Note"),
        _("Longitude"), _("Latitude"), _("Reviewed"), _("Returned because"),
    ]  # fmt: skip
    sheet.write_row(0, 0, heads)
    for r, row in enumerate(rows.iterator(chunk_size=2000), start=1):
        row = list(row)
        row[1] = str(STATE_FILTERS.get(row[1], row[1]))
        for c, value in enumerate(row):
            if c in (4, 8) and value is not None:
                sheet.write_datetime(r, c, timezone.localtime(value).replace(tzinfo=None), stamp)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="task-{found.pk}.xlsx"'
    return response


# --- schedules -------------------------------------------------------------------------------------------------------


@staff_view
def schedules(request):
    qs = queries.schedules_with_counts(request.user)
    rows, pager = _page(request, qs, ["-created_at", "-pk"], lambda s: (s.created_at.isoformat(), s.pk))
    for schedule in rows:
        schedule.may_change = queries.can_publish(request.user, schedule.area)
    return render(request, "work/schedules.html", {"schedules": rows, **pager})


@staff_view
def new_schedule(request):
    areas = publish_areas(request.user)
    form = ScheduleForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_schedule(request.user, **form.service_data())
        except (ValidationError, PermissionDenied) as error:
            if isinstance(error, ValidationError):
                apply_errors(form, error)
            else:
                form.add_error(None, str(error))
        else:
            messages.success(request, _("Recurring task created."))
            return redirect("work:schedules")
    return render(request, "work/new_schedule.html", {"form": form})


def _flip(request, pk, change, done):
    found = queries.schedule_or_404(request.user, pk)
    try:
        change(found, by=request.user)
        messages.success(request, done)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, refusal_text(error))
    return redirect("work:schedules")


@staff_view
@require_POST
def pause_schedule(request, pk):
    return _flip(request, pk, services.pause_schedule, _("Schedule paused."))


@staff_view
@require_POST
def resume_schedule(request, pk):
    return _flip(request, pk, services.resume_schedule, _("Schedule resumed."))
