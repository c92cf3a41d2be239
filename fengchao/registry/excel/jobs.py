"""Services for Excel jobs: upload, choose the mode, cancel; export now or in the worker; download.

Views and the API call these; each change of a job's state is compare-and-set and audited, and
work for the worker is queued only once the transaction that asked for it has committed.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fengchao.audit.services import record

from .. import access, filters
from ..models import ExcelEntity, ExportJob, ExportState, ImportJob, ImportMode, ImportState
from ..queries import can_edit_in, can_unmask, can_use_registry, common_root
from . import exporting
from .columns import IMPORTABLE, SHEETS
from .workbook import check_file, check_size, file_error
from .writing import file_name

EXPORT_KEEP = datetime.timedelta(days=7)  # finished export files are dropped after this


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def _on_commit(task, pk: int) -> None:
    transaction.on_commit(lambda: task.enqueue(pk))


def clean_entity(entity: str, *, importable: bool = False) -> str:
    allowed = IMPORTABLE if importable else tuple(SHEETS)
    if entity not in allowed:
        labels = "、".join(str(ExcelEntity(e).label) for e in allowed)
        raise ValidationError({"entity": _("Choose one of: %(options)s.") % {"options": labels}})
    return entity


# ---- imports -------------------------------------------------------------------------------------------


def create_import(user, *, entity: str, area, upload) -> ImportJob:
    """Keep the uploaded file and queue its check. `upload` is an UploadedFile (or bytes, with .name unknown)."""
    from .tasks import check_import

    entity = clean_entity(entity, importable=True)
    if area is None:
        raise ValidationError({"area": _("Choose the area you import into.")})
    if not can_edit_in(user, area):
        raise ValidationError({"area": _("You may not change the registry of %(area)s.") % {"area": area.name}})
    if upload is None:
        raise file_error(_("Choose the file to upload."))
    if isinstance(upload, bytes | bytearray):
        name, data = "upload.xlsx", bytes(upload)
        check_size(len(data))
    else:
        name = str(getattr(upload, "name", "") or "upload.xlsx")
        check_size(upload.size)
        data = upload.read()
    check_file(data)
    with transaction.atomic():
        job = ImportJob.objects.create(
            entity=entity,
            created_by=user,
            area=area,
            language=_language(),
            file_name=name[-200:],
            file_size=len(data),
            file_data=data,
        )
        record("registry.excel_uploaded", job, actor=user, area=area, entity=entity, size=len(data))
        _on_commit(check_import, job.pk)
    return job


def imports_of(user):
    """The jobs a user may see: their own (anyone else's answers 404)."""
    if not can_use_registry(user):
        return ImportJob.objects.none()
    return ImportJob.objects.filter(created_by=user)


def confirm_import(user, job: ImportJob, mode: str) -> ImportJob:
    """The uploader's choice after the report: all or nothing, or the valid rows. Queues the import."""
    from .tasks import run_import

    if mode not in ImportMode.values:
        raise ValidationError({"mode": _("Choose all or nothing, or the valid rows.")})
    if job.state != ImportState.VALIDATED:
        raise ValidationError({"mode": _("This import is not waiting for your choice any more.")})
    if not can_edit_in(user, job.area):
        raise PermissionDenied(_("You may not change the registry of %(area)s.") % {"area": job.area.name})
    if job.bad_rows >= job.rows:
        raise ValidationError({"mode": _("No row is valid: fix the file and upload it again.")})
    if mode == ImportMode.ALL_OR_NOTHING and job.bad_rows:
        raise ValidationError(
            {
                "mode": _(
                    "Some rows have errors, so all or nothing would import nothing: fix them, or import the valid rows."
                )
            }
        )
    with transaction.atomic():
        changed = ImportJob.objects.filter(pk=job.pk, state=ImportState.VALIDATED).update(
            state=ImportState.IMPORTING, mode=mode, progress_done=0, phase="", updated_at=timezone.now()
        )
        if changed != 1:
            raise ValidationError({"mode": _("This import is not waiting for your choice any more.")})
        job.refresh_from_db()
        record("registry.excel_import_confirmed", job, actor=user, area=job.area, mode=mode)
        _on_commit(run_import, job.pk)
    return job


def cancel_import(user, job: ImportJob) -> ImportJob:
    """Drop a checked file instead of importing it."""
    with transaction.atomic():
        changed = ImportJob.objects.filter(pk=job.pk, state=ImportState.VALIDATED).update(
            state=ImportState.FAILED,
            message=_("Cancelled: nothing was imported."),
            file_data=None,
            checked_data=None,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if changed != 1:
            raise ValidationError(_("This import is not waiting for your choice any more."))
        job.refresh_from_db()
        record("registry.excel_import_cancelled", job, actor=user, area=job.area)
    return job


# ---- exports -------------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    job: ExportJob | None = None
    content: bytes | None = None
    file_name: str = ""
    count: int = 0


def export_area(user, params):
    """The area an export belongs to (for unmasking rights and the access log)."""
    return filters.filter_area(user, params) or common_root(user)


def may_unmask(user, entity: str, params) -> bool:
    if not exporting.SENSITIVE[entity]:
        return False
    area = export_area(user, params)
    return area is not None and can_unmask(user, area)


def start_export(user, entity: str, params, *, unmasked: bool = False, reason: str = "", channel: str = "page"):
    """Small exports come back at once; larger ones become a job for the worker."""
    from .tasks import run_export

    entity = clean_entity(entity)
    if not can_use_registry(user):
        raise Http404
    qs = filters.filter_entity(entity, user, params)
    area = export_area(user, params)
    clean = filters.clean_params(entity, params)
    unmasked = bool(unmasked) and bool(exporting.SENSITIVE[entity])
    if unmasked:
        if area is None or not can_unmask(user, area):
            raise PermissionDenied(_("Your role here shows these details masked only."))
        reason = access.clean_reason(reason)
    count = qs.count()
    if count <= settings.REGISTRY_EXCEL_SYNC_EXPORT_ROWS:
        content, pks = exporting.write(entity, qs, unmasked=unmasked)
        if unmasked:
            _log_export(user, entity, pks, area, reason, channel, clean)
        return ExportResult(content=content, file_name=file_name("", entity), count=count)
    with transaction.atomic():
        job = ExportJob.objects.create(
            entity=entity,
            created_by=user,
            area=area,
            language=_language(),
            filters={**clean, "_channel": channel},
            unmasked=unmasked,
            reason=reason,
            progress_total=count,
        )
        record("registry.excel_export_queued", job, actor=user, area=area, entity=entity, unmasked=unmasked)
        _on_commit(run_export, job.pk)
    return ExportResult(job=job, count=count)


def _log_export(user, entity, pks, area, reason, channel, clean):
    access.log_export(
        user,
        subject_type=exporting.SUBJECT_TYPE[entity],
        subject_ids=pks,
        area=area,
        reason=reason,
        fields=exporting.SENSITIVE[entity],
        channel=channel,
        filters=clean,
    )


def exports_of(user):
    if not can_use_registry(user):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(created_by=user)


def run_export(job: ExportJob) -> ExportJob:
    """Queued → running → done (with the file) or failed; run by the worker as the job's creator."""
    if ExportJob.objects.filter(pk=job.pk, state=ExportState.QUEUED).update(state=ExportState.RUNNING) != 1:
        return job
    job.refresh_from_db()
    user = job.created_by
    params = {k: v for k, v in job.filters.items() if not k.startswith("_")}
    channel = job.filters.get("_channel", "page")
    with translation.override(job.language or None):
        try:
            qs = filters.filter_entity(job.entity, user, params)
            if job.unmasked and (job.area is None or not can_unmask(user, job.area)):
                raise PermissionDenied(_("Your role here shows these details masked only."))

            def progress(done):
                ExportJob.objects.filter(pk=job.pk).update(progress_done=done, updated_at=timezone.now())

            content, pks = exporting.write(job.entity, qs, unmasked=job.unmasked, progress=progress)
        except (Http404, PermissionDenied, ValidationError) as error:
            message = str(error) if not isinstance(error, Http404) else _("The area is no longer among yours.")
            ExportJob.objects.filter(pk=job.pk).update(
                state=ExportState.FAILED, message=message, finished_at=timezone.now()
            )
            job.refresh_from_db()
            return job
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk, state=ExportState.RUNNING).update(
                state=ExportState.DONE,
                result=content,
                file_name=file_name("", job.entity),
                progress_done=len(pks),
                progress_total=len(pks),
                finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
            if job.unmasked:
                _log_export(user, job.entity, pks, job.area, job.reason, channel, params)
            record("registry.excel_exported", job, actor=user, area=job.area, rows=len(pks), unmasked=job.unmasked)
        ExportJob.objects.filter(finished_at__lt=timezone.now() - EXPORT_KEEP, result__isnull=False).update(result=None)
    job.refresh_from_db()
    return job


def fail_unexpectedly(model, pk: int, running_states: tuple[str, ...]) -> None:
    """The worker hit a bug: say so on the job instead of leaving it running forever."""
    model.objects.filter(pk=pk, state__in=running_states).update(
        state="failed",
        message=_("An unexpected error stopped this job; the administrators can find it in the worker's log."),
        finished_at=timezone.now(),
        **({"file_data": None, "checked_data": None} if model is ImportJob else {}),
    )
