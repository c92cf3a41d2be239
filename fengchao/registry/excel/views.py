"""Pages for Excel imports and exports. Each view checks who asks, then calls one function of `jobs`."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import filters
from ..models import ExcelEntity, ImportMode, ImportState
from ..queries import can_use_registry, object_or_404
from . import jobs
from .columns import IMPORTABLE, SHEETS
from .forms import ExportForm, UploadForm
from .writing import build_template, file_name, xlsx_response

PAGE_SIZE = 25


def _registry_user(request):
    if not can_use_registry(request.user):
        raise Http404
    return request.user


def _templates():
    return [{"entity": e, "label": ExcelEntity(e).label} for e in IMPORTABLE]


@login_required
def imports(request):
    user = _registry_user(request)
    page = Paginator(jobs.imports_of(user).only(*LIST_FIELDS).order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    exports = jobs.exports_of(user).defer("result").order_by("-created_at", "-pk")[:10]
    return render(request, "registry/excel/imports.html", {"page": page, "exports": exports, "templates": _templates()})


LIST_FIELDS = (
    "pk",
    "entity",
    "file_name",
    "state",
    "rows",
    "bad_rows",
    "created",
    "updated",
    "skipped",
    "created_at",
    "created_by_id",
)


@login_required
def upload(request):
    user = _registry_user(request)
    form = UploadForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = jobs.create_import(user, entity=data["entity"], area=data["area"], upload=data["file"])
        except ValidationError as error:
            _form_errors(form, error)
        else:
            return redirect("registry_excel:job", job.pk)
    return render(request, "registry/excel/upload.html", {"form": form, "templates": _templates()})


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for key, messages_ in error.message_dict.items():
            form.add_error(key if key in form.fields else None, messages_)
    else:
        form.add_error(None, error)


@login_required
@require_http_methods(["GET", "POST"])
def job(request, pk):
    user = _registry_user(request)
    job = object_or_404(jobs.imports_of(user).select_related("area").defer("file_data"), pk)
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                jobs.cancel_import(user, job)
            else:
                jobs.confirm_import(user, job, request.POST.get("mode", ""))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except PermissionDenied as exc:
            error = str(exc)
        else:
            return redirect("registry_excel:job", job.pk)
    context = {
        "job": job,
        "error": error,
        "modes": ImportMode.choices,
        "States": ImportState,
        "default_mode": ImportMode.VALID_ROWS if job.bad_rows else ImportMode.ALL_OR_NOTHING,
    }
    if request.headers.get("HX-Request"):
        return render(request, "registry/excel/_job_status.html", context)
    return render(request, "registry/excel/job.html", context)


@login_required
def template(request, entity):
    _registry_user(request)
    if entity not in IMPORTABLE:
        raise Http404
    return xlsx_response(build_template(entity), file_name("模板_", entity))


@login_required
@require_http_methods(["GET", "POST"])
def export(request, entity):
    user = _registry_user(request)
    if entity not in SHEETS:
        raise Http404
    params = request.GET
    try:
        qs = filters.filter_entity(entity, user, params)
        count = qs.count()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("registry_excel:imports")
    may_unmask = jobs.may_unmask(user, entity, params)
    form = ExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        unmasked = may_unmask and form.cleaned_data["unmasked"]
        try:
            result = jobs.start_export(
                user, entity, params, unmasked=unmasked, reason=form.cleaned_data["reason"], channel="page"
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            if result.job is not None:
                return redirect("registry_excel:export_job", result.job.pk)
            return xlsx_response(result.content, result.file_name)
    context = {
        "entity": entity,
        "label": ExcelEntity(entity).label,
        "count": count,
        "form": form,
        "may_unmask": may_unmask,
        "query": urlencode(filters.clean_params(entity, params)),
        "filters": filters.clean_params(entity, params),
        "area": filters.filter_area(user, params),
    }
    return render(request, "registry/excel/export.html", context)


@login_required
def export_job(request, pk):
    user = _registry_user(request)
    job = object_or_404(jobs.exports_of(user).defer("result"), pk)
    template_name = "registry/excel/_export_status.html" if request.headers.get("HX-Request") else None
    return render(request, template_name or "registry/excel/export_job.html", {"job": job})


@login_required
def download(request, pk):
    user = _registry_user(request)
    job = object_or_404(jobs.exports_of(user), pk)
    if job.result is None:
        raise Http404(_("This file is no longer kept: export again."))
    return xlsx_response(bytes(job.result), job.file_name or file_name("", job.entity))
