import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def beat(worker_id: str, started_at) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


def start_heartbeat_thread(worker_id: str, stop: threading.Event) -> threading.Thread:
    started_at = timezone.now()

    def loop():
        while not stop.is_set():
            try:
                close_old_connections()
                beat(worker_id, started_at)
            except Exception:  # a failed beat must not kill the worker; /healthz will notice
                logger.exception("worker heartbeat failed")
            stop.wait(settings.WORKER_HEARTBEAT_S)
        WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
        connection.close()

    beat(worker_id, started_at)
    thread = threading.Thread(target=loop, name="worker-heartbeat", daemon=True)
    thread.start()
    return thread


def live_workers():
    since = timezone.now() - timedelta(seconds=settings.WORKER_STALE_S)
    return WorkerHeartbeat.objects.filter(seen_at__gte=since)
