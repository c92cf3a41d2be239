from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .heartbeat import live_workers


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers and at least one worker has beaten recently; 503 otherwise."""
    status = {"database": "ok", "worker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        workers = live_workers().count()
        status["workers"] = workers
        if workers == 0:
            status["worker"] = "no worker has reported in the last minute"
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever the failure
        status["database"] = f"error: {exc.__class__.__name__}"
        status["worker"] = "unknown"
    healthy = status["database"] == "ok" and status["worker"] == "ok"
    return JsonResponse({"status": "ok" if healthy else "unavailable", **status}, status=200 if healthy else 503)
