"""The inspection pages, mounted at /inspections/: a member's targets (buildings and places of their grid) with the
last inspection, inspecting one against a checklist (static/inspections/inspect.js shows the photo input of a
failed item), an inspection with its items, photos, hazard cases and re-inspections, re-inspecting its open
failures; for staff the coverage of an area and period (with an .xlsx export) and the rectification tracker.

Reads come only from `inspections.queries` (out of scope: 404); every change goes through `inspections.services`,
whose refusals are shown above the form.
"""

import io
import uuid

import xlsxwriter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fengchao.accounts.access import guarded_by

from . import coverage, queries, services
from .choices import Outcome, State

HAZARD_LIMIT = 200
RECENT_LIMIT = 20
COVERAGE_ROWS = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

member_view = guarded_by(queries.may_use)
inspector_view = guarded_by(queries.is_inspector)
staff_view = guarded_by(queries.is_staff)


def _refusals(call) -> tuple[bool, object, list[str]]:
    try:
        return True, call(), []
    except ValidationError as error:
        return False, None, error.messages
    except PermissionDenied as error:
        return False, None, [str(error)]


@never_cache
@member_view
def home(request):
    user = request.user
    search = request.GET.get("q", "").strip()[:60]
    context = {"search": search, "is_inspector": queries.is_inspector(user), "is_staff": queries.is_staff(user)}
    if context["is_inspector"]:
        context["buildings"] = queries.my_buildings(user, search)
        context["places"] = queries.my_places(user, search)
        hazards = list(queries.open_failures(user=user)[:HAZARD_LIMIT])
        now = timezone.now()
        for item in hazards:
            item.days_open = queries.days_open(item, now)
        context["hazards"] = hazards
    context["recent"] = queries.with_target(queries.inspections_visible(user))[:RECENT_LIMIT]
    return render(request, "inspections/home.html", context)


def _answers_from(post, items) -> tuple[list[dict], dict]:
    answers, rows = [], []
    for item in items:
        code = item["code"]
        outcome = post.get(f"outcome_{code}", "")
        row = {
            "code": code,
            "text": item["text"],
            "outcome": outcome,
            "note": post.get(f"note_{code}", "")[:500],
            "fixed_on_spot": post.get(f"fixed_{code}") in ("on", "1", "true"),
        }
        rows.append(row)
        if outcome:
            answers.append({k: row[k] for k in ("code", "outcome", "note", "fixed_on_spot")})
    return answers, rows


def _photos_from(files, codes) -> dict:
    photos = {}
    for code in codes:
        if files.get(f"photo_{code}"):
            photos[code] = files[f"photo_{code}"]
        if files.get(f"after_{code}"):
            photos[f"{code}:after"] = files[f"after_{code}"]
    return photos


@never_cache
@inspector_view
def new(request):
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    target = queries.target_or_404(user, building=source.get("building"), place=source.get("place"))
    kind = "building" if source.get("building") else "place"
    templates = list(queries.templates_for(kind))
    if not templates:
        raise Http404
    chosen = source.get("template") or templates[0].code
    template = next((t for t in templates if t.code == chosen), None)
    if template is None:
        raise Http404
    errors = []
    rows = [{"code": i["code"], "text": i["text"], "outcome": "", "note": "", "fixed_on_spot": False}
            for i in template.items]  # fmt: skip
    key, note = uuid.uuid4().hex, ""
    if request.method == "POST":
        answers, rows = _answers_from(request.POST, template.items)
        key, note = request.POST.get("key", "")[:64], request.POST.get("note", "")
        ok, result, errors = _refusals(
            lambda: services.inspect(
                user,
                target=target,
                template=template,
                answers=answers,
                note=note,
                key=key,
                photos=_photos_from(request.FILES, [i["code"] for i in template.items]),
                lon=request.POST.get("lon") or None,
                lat=request.POST.get("lat") or None,
            )  # fmt: skip
        )
        if ok:
            inspection, _created = result
            if inspection.state == State.OPEN:
                messages.warning(request, _("Inspection recorded: hazards were reported as cases."))
            else:
                messages.success(request, _("Inspection recorded."))
            return redirect("inspections:detail", pk=inspection.pk)
    context = {
        "target": target, "kind": kind, "templates": templates, "template": template, "rows": rows,
        "errors": errors, "key": key, "note": note, "outcomes": Outcome.choices,
    }  # fmt: skip
    return render(request, "inspections/new.html", context)


@never_cache
@login_required
def detail(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    items = list(queries.items_of(inspection))
    original = inspection.follows if inspection.follows_id else inspection
    context = {
        "inspection": inspection,
        "items": items,
        "reinspections": queries.with_target(queries.inspections_visible(user).filter(follows=original))[:50]
        if not inspection.follows_id
        else [],
        "can_reinspect": original.state == State.OPEN
        and queries.is_inspector(user)
        and queries.may_inspect(user, inspection.target),
    }
    return render(request, "inspections/detail.html", context)


@never_cache
@inspector_view
def reinspect(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    original = queries.inspection_or_404(user, inspection.follows_id) if inspection.follows_id else inspection
    if not queries.may_inspect(user, original.target):
        raise Http404
    open_items = [i for i in queries.items_of(original) if i.is_open]
    errors = []
    rows = [{"code": i.code, "text": i.text, "outcome": "", "note": "", "item": i} for i in open_items]
    key, note = uuid.uuid4().hex, ""
    if original.state != State.OPEN:
        errors = [str(services.NotOpen(original).messages[0])]
    elif request.method == "POST":
        answers, posted = _answers_from(request.POST, [{"code": i.code, "text": i.text} for i in open_items])
        for row, again in zip(rows, posted, strict=True):
            row.update(outcome=again["outcome"], note=again["note"])
        key, note = request.POST.get("key", "")[:64], request.POST.get("note", "")
        ok, result, errors = _refusals(
            lambda: services.reinspect(
                user,
                original,
                answers=[{k: a[k] for k in ("code", "outcome", "note")} for a in answers],
                photos=_photos_from(request.FILES, [i.code for i in open_items]),
                key=key,
                note=note,
            )  # fmt: skip
        )
        if ok:
            messages.success(request, _("Re-inspection recorded."))
            return redirect("inspections:detail", pk=result.pk)
    context = {
        "inspection": original, "rows": rows, "errors": errors, "key": key, "note": note,
        "outcomes": [(Outcome.PASS, Outcome.PASS.label), (Outcome.FAIL, Outcome.FAIL.label)],
    }  # fmt: skip
    return render(request, "inspections/reinspect.html", context)


def _item_file(request, pk, which):
    item = queries.item_or_404(request.user, pk)
    stored = getattr(item, which)
    if not stored:
        raise Http404
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=getattr(item, f"{which}_type") or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
def item_photo(request, pk):
    """An item's photo, to those who read its inspection; media files are never served by their path."""
    return _item_file(request, pk, "photo")


@login_required
def item_after_photo(request, pk):
    return _item_file(request, pk, "after_photo")


def _coverage_request(request):
    user = request.user
    area = queries.hazard_area_or_404(user, request.GET.get("area", ""))
    try:
        since, until = coverage.parse_period(request.GET.get("from", ""), request.GET.get("to", ""))
    except ValidationError:
        raise Http404 from None
    return area, since, until


@never_cache
@staff_view
def coverage_page(request):
    area, since, until = _coverage_request(request)
    rows = coverage.target_coverage(area, since, until)
    show = request.GET.get("show", "not")
    if show == "inspected":
        listed = [r for r in rows if r.inspected]
    elif show == "all":
        listed = rows
    else:
        show, listed = "not", [r for r in rows if not r.inspected]
    context = {
        "area": area, "since": since, "until": until, "grids": coverage.by_grid(rows), "rows": listed[:COVERAGE_ROWS],
        "cut": len(listed) > COVERAGE_ROWS, "total": len(rows), "inspected": sum(r.inspected for r in rows),
        "show": show, "roots": queries.staff_roots(request.user),
    }  # fmt: skip
    return render(request, "inspections/coverage.html", context)


@never_cache
@staff_view
def coverage_export(request):
    area, since, until = _coverage_request(request)
    rows = coverage.target_coverage(area, since, until)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet = book.add_worksheet(_("Coverage")[:31])
    heads = [
        _("Grid"), _("Area"), _("Kind"), _("Name"), _("Address"), _("Inspected"), _("Last inspection"),
        _("Inspections"), _("Open failures"),
    ]  # fmt: skip
    sheet.write_row(0, 0, heads)
    kinds = {"building": _("Building"), "place": _("Place")}
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [row.grid_name, row.area_name, kinds[row.kind], row.name, row.address])
        sheet.write(r, 5, _("Yes") if row.inspected else _("No"))
        if row.last_at is not None:
            sheet.write_datetime(r, 6, timezone.localtime(row.last_at).replace(tzinfo=None), stamp)
        sheet.write_number(r, 7, row.inspections)
        sheet.write_number(r, 8, row.open_failures)
    grids = book.add_worksheet(_("Grids")[:31])
    grids.write_row(0, 0, [_("Grid"), _("Places to inspect"), _("Inspected"), _("Not inspected"), _("Open failures")])
    for r, grid in enumerate(coverage.by_grid(rows), start=1):
        grids.write_row(r, 0, [grid.name, grid.targets, grid.inspected, grid.not_inspected, grid.open_failures])
    book.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="inspections-{area.code}-{since}-{until}.xlsx"'
    return response


@never_cache
@staff_view
def hazards(request):
    area = queries.hazard_area_or_404(request.user, request.GET.get("area", ""))
    items = list(queries.open_failures(area=area)[: HAZARD_LIMIT + 1])
    now = timezone.now()
    for item in items:
        item.days_open = queries.days_open(item, now)
    context = {
        "area": area, "items": items[:HAZARD_LIMIT], "cut": len(items) > HAZARD_LIMIT,
        "roots": queries.staff_roots(request.user),
    }  # fmt: skip
    return render(request, "inspections/hazards.html", context)
