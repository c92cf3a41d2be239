"""The patrol pages, mounted at /patrols/: checking in on patrol (the phone's GPS fills the form through
static/patrols/checkin.js), my check-ins this week, my work log (write, edit, list), the coverage table of an
area and week for staff, and a person's work log for staff.

Reads come only from `patrols.queries` (out of scope: 404); every change goes through `patrols.services`, whose
refusals come back on the form.
"""

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fengchao.accounts.access import guarded_by

from . import coverage, queries, services
from .forms import CheckInForm, EditLogForm, LogForm, attempt_on

MY_WEEK_LIMIT = 100
LOG_LIMIT = 60


patrol_view = guarded_by(queries.is_patroller)
staff_view = guarded_by(queries.is_staff)


def _this_week(user):
    start, end = coverage.week_bounds(coverage.parse_week(""))
    return queries.my_check_ins(user).filter(at__gte=start, at__lt=end)[:MY_WEEK_LIMIT]


@never_cache
@patrol_view
def home(request):
    user = request.user
    if request.method == "POST":
        form = CheckInForm(request.POST, request.FILES)
        ok = form.is_valid()
        if ok:
            data = form.cleaned_data
            ok, result = attempt_on(
                form,
                lambda: services.check_in(
                    user,
                    lon=data.get("lon"),
                    lat=data.get("lat"),
                    crs=data.get("crs") or "wgs84",
                    note=data.get("note", ""),
                    key=data.get("key", ""),
                    photo=data.get("photo"),
                ),
            )
        if ok:
            done, _created = result
            messages.success(request, _("Checked in at %(name)s.") % {"name": done.area.name})
            return redirect("patrols:home")
    else:
        form = CheckInForm(initial={"key": uuid.uuid4().hex, "crs": "wgs84"})
    context = {"form": form, "check_ins": _this_week(user)}
    return render(request, "patrols/home.html", context)


@login_required
def check_in_photo(request, pk):
    """A check-in's photo, to its author and staff in scope; media files are never served by their path."""
    found = queries.check_in_or_404(request.user, pk)
    if not found.photo:
        raise Http404
    try:
        handle = found.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=found.photo_type or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@never_cache
@patrol_view
def log(request):
    user = request.user
    areas = list(queries.log_areas(user))
    if request.method == "POST":
        form = LogForm(request.POST, areas=areas)
        if form.is_valid():
            data = form.cleaned_data
            ok, _entry = attempt_on(
                form,
                lambda: services.write_log(user, text=data["text"], day=data.get("day"), area=data.get("area")),
            )
            if ok:
                messages.success(request, _("Added to your work log."))
                return redirect("patrols:log")
    else:
        form = LogForm(initial={"day": timezone.localdate()}, areas=areas)
    entries = list(queries.my_log(user)[:LOG_LIMIT])
    for entry in entries:
        entry.editable = services.can_edit(user, entry)
    return render(request, "patrols/log.html", {"form": form, "entries": entries})


@never_cache
@patrol_view
def edit_entry(request, pk):
    user = request.user
    entry = queries.my_entry_or_404(user, pk)
    if request.method == "POST":
        form = EditLogForm(request.POST)
        if form.is_valid():
            ok, _entry = attempt_on(form, lambda: services.edit_log(user, entry, text=form.cleaned_data["text"]))
            if ok:
                messages.success(request, _("Entry saved."))
                return redirect("patrols:log")
    else:
        form = EditLogForm(initial={"text": entry.text})
    return render(request, "patrols/edit_entry.html", {"form": form, "entry": entry})


@never_cache
@staff_view
def coverage_page(request):
    user = request.user
    raw_area = request.GET.get("area", "")
    if raw_area:
        area = queries.staff_area_or_404(user, raw_area)
    else:
        area = queries.staff_roots(user).first()
        if area is None:
            raise Http404
    try:
        monday = coverage.parse_week(request.GET.get("week", ""))
    except ValidationError:
        raise Http404 from None
    report = coverage.coverage(area, monday)
    for grid in report.grids:
        grid.full_walk_text = coverage.duration_text(grid.full_walk)
    context = {
        "report": report,
        "area": area,
        "roots": queries.staff_roots(user),
        "people": queries.serving_under(area),
        "previous_week": coverage.week_of(monday - dt.timedelta(days=7)),
        "next_week": coverage.week_of(monday + dt.timedelta(days=7)),
    }
    return render(request, "patrols/coverage.html", context)


@never_cache
@staff_view
def person_log(request, user_id):
    person = queries.person_or_404(request.user, user_id)
    entries = queries.log_of(request.user, person)[:LOG_LIMIT]
    return render(request, "patrols/person_log.html", {"person": person, "entries": entries})
