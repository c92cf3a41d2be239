"""Registry imports and exports over the API: the same services as the pages, the same scope.

A job belongs to the person who started it: anyone else gets 404, as for a record out of scope.
"""

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import Field

from fengchao.registry.excel import jobs
from fengchao.registry.excel.writing import build_template, file_name, xlsx_response
from fengchao.registry.models import ExportJob, ImportJob
from fengchao.registry.queries import areas_visible_to, can_use_registry, object_or_404

router = Router(tags=["registry imports and exports"])

MAX_ID = 2**63 - 1
JobId = Path(..., ge=1, le=MAX_ID, description="job id")
UploadFile = File(..., description="the .xlsx file")
EntityField = Form(..., description="what the sheet holds")
AreaField = Form(..., ge=1, le=MAX_ID, description="the area you import into")
ImportEntity = Literal["buildings", "residents", "places", "organisations"]
ExportEntity = Literal["buildings", "households", "residents", "places", "organisations"]


class Progress(Schema):
    done: int
    total: int


class ReportError(Schema):
    row: int = Field(description="row number in the sheet (the header is row 1)")
    column: str = Field(description="column letter")
    header: str
    value: str = Field(description="the cell as given; ID numbers and phones masked")
    message: str


class ImportJobOut(Schema):
    id: int
    entity: str
    area_id: int
    state: str = Field(description="uploaded, validating, validated, importing, done or failed")
    mode: str
    file_name: str
    rows: int
    bad_rows: int
    progress: Progress
    errors: list[ReportError]
    error_count: int
    created: int
    updated: int
    skipped: int
    message: str
    created_at: datetime
    finished_at: datetime | None = None


class ConfirmIn(Schema):
    mode: Literal["all_or_nothing", "valid_rows"]


class ExportIn(Schema):
    entity: ExportEntity
    filters: dict[str, str] = Field(default_factory=dict, description="the list filters, as on the list pages")
    unmasked: bool = False
    reason: str = Field("", max_length=200, description="required when unmasked; logged")


class ExportJobOut(Schema):
    id: int
    entity: str
    state: str = Field(description="queued, running, done or failed")
    unmasked: bool
    progress: Progress
    message: str
    download_url: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


def _registry_user(request):
    user = request.auth
    if not can_use_registry(user):
        raise Http404(_("Not found."))
    return user


def import_out(job: ImportJob) -> dict[str, Any]:
    report = job.report or {}
    return {
        "id": job.pk,
        "entity": job.entity,
        "area_id": job.area_id,
        "state": job.state,
        "mode": job.mode,
        "file_name": job.file_name,
        "rows": job.rows,
        "bad_rows": job.bad_rows,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "errors": report.get("errors", []),
        "error_count": report.get("error_count", 0),
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "message": job.message,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def export_out(job: ExportJob) -> dict[str, Any]:
    done = job.state == "done"
    return {
        "id": job.pk,
        "entity": job.entity,
        "state": job.state,
        "unmasked": job.unmasked,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "message": job.message,
        "download_url": f"/api/registry/exports/{job.pk}/download" if done else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _own_import(user, job_id: int) -> ImportJob:
    return object_or_404(jobs.imports_of(user).defer("file_data"), job_id)


def _xlsx(content: bytes, name: str):
    return xlsx_response(content, name)


@router.post("/imports", response={201: ImportJobOut}, summary="Upload a sheet to import (checked in the worker)")
def create_import(
    request,
    file: UploadedFile = UploadFile,
    entity: ImportEntity = EntityField,
    area_id: int = AreaField,
):
    """Multipart upload. Poll the job: once `validated`, read `errors` and confirm a mode."""
    user = _registry_user(request)
    area = areas_visible_to(user).filter(pk=area_id).first()
    if area is None:
        raise Http404(_("No such area in your areas."))
    job = jobs.create_import(user, entity=entity, area=area, upload=file)
    return Status(201, import_out(job))


@router.get("/imports/{job_id}", response=ImportJobOut, summary="An import of yours")
def get_import(request, job_id: int = JobId):
    return import_out(_own_import(_registry_user(request), job_id))


@router.post("/imports/{job_id}/confirm", response=ImportJobOut, summary="Import all or nothing, or the valid rows")
def confirm_import(request, payload: ConfirmIn, job_id: int = JobId):
    user = _registry_user(request)
    job = _own_import(user, job_id)
    try:
        jobs.confirm_import(user, job, payload.mode)
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    return import_out(job)


@router.post("/imports/{job_id}/cancel", response=ImportJobOut, summary="Drop a checked file without importing")
def cancel_import(request, job_id: int = JobId):
    user = _registry_user(request)
    job = _own_import(user, job_id)
    jobs.cancel_import(user, job)
    return import_out(job)


@router.get("/templates/{entity}", summary="The .xlsx template of a sheet", response={200: None})
def template(request, entity: ImportEntity):
    _registry_user(request)
    return _xlsx(build_template(entity), file_name("模板_", entity))


@router.post(
    "/exports",
    response={200: None, 202: ExportJobOut},
    summary="Export a filtered list: the file at once (200) or a job for the worker (202)",
)
def create_export(request, payload: ExportIn):
    user = _registry_user(request)
    try:
        result = jobs.start_export(
            user, payload.entity, payload.filters, unmasked=payload.unmasked, reason=payload.reason, channel="api"
        )
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    if result.job is not None:
        return Status(202, export_out(result.job))
    return _xlsx(result.content, result.file_name)


@router.get("/exports/{job_id}", response=ExportJobOut, summary="An export of yours")
def get_export(request, job_id: int = JobId):
    user = _registry_user(request)
    return export_out(object_or_404(jobs.exports_of(user).defer("result"), job_id))


@router.get("/exports/{job_id}/download", summary="The file of a finished export", response={200: None})
def download_export(request, job_id: int = JobId):
    user = _registry_user(request)
    job = object_or_404(jobs.exports_of(user), job_id)
    if job.result is None:
        raise Http404(_("This file is no longer kept: export again."))
    return _xlsx(bytes(job.result), job.file_name or file_name("", job.entity))
