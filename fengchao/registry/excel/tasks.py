"""Worker tasks for Excel jobs: each takes a job's pk and runs the service the web and the benchmark use."""

from django.tasks import task

from ..models import ExportJob, ExportState, ImportJob, ImportState


@task
def check_import(job_id: int) -> str:
    from . import importing
    from .jobs import fail_unexpectedly

    job = ImportJob.objects.filter(pk=job_id).select_related("area", "created_by").first()
    if job is None:
        return "gone"
    try:
        return importing.check(job).state
    except Exception:
        fail_unexpectedly(ImportJob, job_id, (ImportState.UPLOADED, ImportState.VALIDATING))
        raise


@task
def run_import(job_id: int) -> str:
    from . import importing
    from .jobs import fail_unexpectedly

    job = ImportJob.objects.filter(pk=job_id).select_related("area", "created_by").first()
    if job is None:
        return "gone"
    try:
        return importing.run(job).state
    except Exception:
        fail_unexpectedly(ImportJob, job_id, (ImportState.IMPORTING,))
        raise


@task
def run_export(job_id: int) -> str:
    from .jobs import fail_unexpectedly
    from .jobs import run_export as run

    job = ExportJob.objects.filter(pk=job_id).select_related("area", "created_by").first()
    if job is None:
        return "gone"
    try:
        return run(job).state
    except Exception:
        fail_unexpectedly(ExportJob, job_id, (ExportState.QUEUED, ExportState.RUNNING))
        raise
