"""Outside delivery: the notification rows are the outbox, and the worker drains it.

A change writes its notifications in its own transaction (`services.notify`) and nothing else, so a
report pays for one insert, not one per notice plus a task. The worker's outbox thread sends what is
undelivered every NOTICES_DELIVERY_SECONDS (default 5). Each row is claimed by compare-and-set before
it is sent: two workers never send one notice twice, and a worker killed mid-batch leaves the rest
for the next pass. Recipients without a phone are claimed too, so the outbox empties.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .backends import backend
from .models import Notification

logger = logging.getLogger(__name__)


def deliver_pending(limit: int = 500) -> int:
    """Send up to `limit` undelivered notifications, oldest first; returns how many went to a phone."""
    sender = backend()
    sent = 0
    for note in _pending(limit):
        if not Notification.objects.filter(pk=note.pk, delivered_at__isnull=True).update(delivered_at=timezone.now()):
            continue  # another worker took it
        phone = note.recipient.phone if note.recipient.phone_cipher else ""
        if phone:
            sender.send(phone, f"{note.title} {note.body}".strip())
            sent += 1
    return sent


def _pending(limit: int):
    return (
        Notification.objects.filter(delivered_at__isnull=True)
        .select_related("recipient")
        .order_by("created_at")[:limit]
    )


def interval_seconds() -> float:
    return float(getattr(settings, "NOTICES_DELIVERY_SECONDS", 5))


def run_forever(stop: threading.Event, seconds: float | None = None) -> None:
    """Drain the outbox every `seconds` until `stop` is set; an error is logged and the next pass tries again."""
    seconds = interval_seconds() if seconds is None else seconds
    try:
        while not stop.is_set():
            try:
                close_old_connections()
                deliver_pending()
            except Exception:
                logger.exception("notice delivery failed")
            stop.wait(seconds)
    finally:
        connection.close()


def start_outbox_thread(stop: threading.Event) -> threading.Thread | None:
    """The outbox inside the worker process; `NOTICES_DELIVERY_SECONDS = 0` turns it off."""
    if interval_seconds() <= 0:
        return None
    thread = threading.Thread(target=run_forever, args=(stop,), name="notice-outbox", daemon=True)
    thread.start()
    return thread
