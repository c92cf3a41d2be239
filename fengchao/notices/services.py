"""Creating notifications, inside the change's transaction; outside delivery is queued in that transaction too."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .models import Notification


def notify(user_ids, *, kind: str, title: str, body: str = "", url: str = "", case=None, exclude=None) -> int:
    """One in-app notification per user (deduplicated, skipping `exclude`), queued for outside delivery."""
    ids = sorted({pk for pk in user_ids if pk and pk != getattr(exclude, "pk", exclude)})
    if not ids:
        return 0
    rows = Notification.objects.bulk_create(
        Notification(recipient_id=pk, kind=kind, title=title[:200], body=body, url=url, case=case) for pk in ids
    )
    if rows and rows[0].pk is not None:
        # Queued in the same transaction: with the database task backend the task row commits (or rolls back)
        # together with the notifications, so no delivery is lost or sent for a change that never happened.
        _enqueue_delivery([row.pk for row in rows])
    return len(rows)


def text_case_contact(case, text: str) -> None:
    """A message to a case's contact phone (a reporter without an account), sent after commit.

    The task carries the case's pk, never the phone: task arguments are stored in the clear.
    """
    if case.phone_cipher:
        transaction.on_commit(lambda: _enqueue_text(case.pk, text))


def requeue_undelivered(older_than_s: int = 300, limit: int = 1000) -> int:
    """Queue delivery again for notifications whose process died between commit and enqueue.

    `deliver` claims each row by compare-and-set, so a notification queued twice is still sent once.
    """
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    pks = list(
        Notification.objects.filter(delivered_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    if pks:
        _enqueue_delivery(pks)
    return len(pks)


def mark_read(user, ids=None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def _enqueue_delivery(pks):
    from .tasks import deliver

    deliver.enqueue(pks)


def _enqueue_text(case_pk, text):
    from .tasks import send_to_case_contact

    send_to_case_contact.enqueue(case_pk, text)
