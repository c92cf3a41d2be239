"""Outside delivery: the notification rows are the outbox, and the worker drains it.

A change writes its notifications in its own transaction (`services.notify`) and nothing else, so a
report pays for one insert, not one per notice plus a task. The worker's outbox thread sends what is
undelivered every NOTICES_DELIVERY_SECONDS (default 5). Each row is claimed by compare-and-set before
it is sent: two workers never send one notice twice, and a worker killed mid-batch leaves the rest
for the next pass. Recipients without a phone are claimed too, so the outbox empties.
"""

import threading

from django.conf import settings
from django.utils import timezone

from fengchao.core import loops

from .backends import backend
from .models import Notification


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
    """Drain the outbox every `seconds` (NOTICES_DELIVERY_SECONDS) until `stop` is set."""
    loops.run_every(
        stop, interval_seconds() if seconds is None else seconds, lambda: deliver_pending(), "notice delivery"
    )


def start_outbox_thread(stop: threading.Event) -> threading.Thread | None:
    """The outbox inside the worker process; `NOTICES_DELIVERY_SECONDS = 0` turns it off."""
    return loops.start_thread(run_forever, stop, interval_seconds(), "notice-outbox")
