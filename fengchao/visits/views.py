"""The care-visit pages, mounted at /visits/: who is due and overdue in my grids and my recent visits, the form
recording a visit (findings, needs raised as a service request or case, a camera photo), a visit, a resident's
visit history; for staff the overview per child area, the overdue list, their .xlsx exports; the visit plans
(edited by the district administrator).

Reads come only from `visits.queries` (out of scope: 404); every change goes through `visits.services`, whose
refusals come back on the form. Personal data stays masked: names, addresses and masked phones only.
"""

import io
import uuid

import xlsxwriter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fengchao.accounts.access import guarded_by

from . import coverage, queries, services
from .choices import DUE_SOON_DAYS
from .forms import PlanForm, VisitForm, attempt_on

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OVERDUE_PAGE_LIMIT = 500

user_view = guarded_by(queries.can_use)
visitor_view = guarded_by(queries.is_visitor)
staff_view = guarded_by(queries.is_staff)


@never_cache
@user_view
def home(request):
    user = request.user
    if not queries.is_visitor(user):
        return redirect("visits:overview")
    rows = queries.due_for(user)
    context = {
        "rows": rows,
        "overdue_count": sum(1 for r in rows if r["overdue"]),
        "recent": queries.my_recent_visits(user),
        "is_staff": queries.is_staff(user),
        "due_soon_days": DUE_SOON_DAYS,
    }
    return render(request, "visits/home.html", context)


@never_cache
@visitor_view
def new(request):
    user = request.user
    raw = request.POST.get("resident_pk") or request.GET.get("resident", "")
    resident = queries.resident_to_visit_or_404(user, raw)
    if request.method == "POST":
        form = VisitForm(request.POST, request.FILES)
        ok = form.is_valid()
        if ok:
            data = form.cleaned_data
            ok, result = attempt_on(
                form,
                lambda: services.record_visit(
                    user,
                    resident=resident,
                    findings=data.get("findings", ""),
                    needs=data.get("needs", ""),
                    how=data.get("how") or "in_person",
                    need_category=data.get("need_category") or None,
                    at=data.get("at"),
                    key=data.get("key", ""),
                    photo=data.get("photo"),
                ),
            )
        if ok:
            visit, _created = result
            messages.success(request, _("Visit to %(name)s recorded.") % {"name": resident.name})
            return redirect("visits:detail", visit.pk)
    else:
        form = VisitForm(initial={"key": uuid.uuid4().hex, "how": "in_person"})
    tags = [link.tag.name for link in resident.care_tag_links.select_related("tag").order_by("tag__position")]
    return render(request, "visits/new.html", {"form": form, "resident": resident, "tags": tags})


@never_cache
@user_view
def detail(request, pk):
    visit = queries.visit_or_404(request.user, pk)
    return render(request, "visits/visit.html", {"visit": visit})


@login_required
def photo(request, pk):
    """A visit's photo, to those who read the visit; media files are never served by their path."""
    found = queries.visit_or_404(request.user, pk)
    if not found.photo:
        raise Http404
    try:
        handle = found.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=found.photo_type or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@user_view
def resident(request, pk):
    user = request.user
    subject = queries.subject_or_404(user, pk)
    context = {
        "resident": subject,
        "visits": queries.history_of(user, subject),
        "tags": [link.tag.name for link in subject.care_tag_links.select_related("tag").order_by("tag__position")],
        "can_visit": subject.is_living and queries.is_visitor(user) and queries.visits_in(user, subject.area),
    }
    return render(request, "visits/resident.html", context)


def _staff_area(request):
    raw = request.GET.get("area", "")
    if raw:
        return queries.staff_area_or_404(request.user, raw)
    area = queries.staff_roots(request.user).first()
    if area is None:
        raise Http404
    return area


@never_cache
@staff_view
def overview(request):
    area = _staff_area(request)
    rows = coverage.area_status(area)
    roots = list(queries.staff_roots(request.user))
    context = {
        "area": area,
        "rows": rows,
        "total": coverage.totals(rows),
        "roots": roots,
        "can_go_up": bool(area.parent_id) and all(r.pk != area.pk for r in roots),
        "due_soon_days": DUE_SOON_DAYS,
    }
    return render(request, "visits/overview.html", context)


@never_cache
@staff_view
def overdue(request):
    area = _staff_area(request)
    rows = queries.overdue_in(area)
    context = {"area": area, "rows": rows[:OVERDUE_PAGE_LIMIT], "count": len(rows), "limit": OVERDUE_PAGE_LIMIT}
    return render(request, "visits/overdue.html", context)


def _xlsx(name: str, sheet_name: str, heads: list, rows) -> HttpResponse:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    sheet = book.add_worksheet(sheet_name[:31])
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, heads)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if hasattr(value, "hour"):
                sheet.write_datetime(r, c, timezone.localtime(value).replace(tzinfo=None), stamp)
            elif hasattr(value, "isoformat"):
                sheet.write_datetime(r, c, value, day)
            else:
                sheet.write(r, c, value)
    book.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_view
def overview_export(request):
    area = _staff_area(request)
    rows = coverage.area_status(area)
    heads = [_("Area"), _("Care subjects"), _("Visited in time"), _("Due soon"), _("Overdue"), _("Visited in time (%)")]
    body = [
        [r["area"].name, r["subjects"], r["visited_in_time"], r["due_soon"], r["overdue"], r["percent"]] for r in rows
    ]
    return _xlsx(f"visits-overview-{area.pk}.xlsx", _("Visit overview"), heads, body)


@staff_view
def overdue_export(request):
    area = _staff_area(request)
    heads = [
        _("Name"), _("Address"), _("Phone (masked)"), _("Area"), _("Care tags"), _("Visit every (days)"),
        _("Last visited"), _("Due on"), _("Days overdue"),
    ]  # fmt: skip
    body = (
        [
            r["name"], r["address"], r["masked_phone"], r["area_name"], "、".join(r["tags"]), r["every_days"],
            r["last_visited_at"], r["due_on"], r["days_overdue"],
        ]
        for r in queries.overdue_in(area)
    )  # fmt: skip
    return _xlsx(f"visits-overdue-{area.pk}.xlsx", _("Overdue visits"), heads, body)


@never_cache
@user_view
def plans(request):
    user = request.user
    editable = services.can_set_plans(user)
    error_for, errors = None, None
    if request.method == "POST":
        if not editable:
            raise Http404
        form = PlanForm(request.POST)
        tag = request.POST.get("tag", "")
        ok = form.is_valid()
        if ok:
            data = form.cleaned_data
            ok, _plan = attempt_on(
                form,
                lambda: services.set_plan(
                    user,
                    tag,
                    every_days=data["every_days"],
                    is_active=data.get("is_active", False),
                    expected_version=data.get("expected_version"),
                ),
            )
        if ok:
            messages.success(request, _("Plan saved."))
            return redirect("visits:plans")
        error_for, errors = tag, form.errors
    rows = queries.plans_page_rows()
    for plan in rows:
        plan.errors = errors if plan.tag.code == error_for else None
    return render(request, "visits/plans.html", {"plans": rows, "editable": editable})
