from django.db import transaction
from django.tasks import task
from django.utils import timezone

from .backends import backend
from .models import Notification


@task
def deliver(pks: list[int]) -> int:
    """Pass undelivered notifications to the outside backend, once each (claimed by compare-and-set)."""
    sender = backend()
    sent = 0
    for note in Notification.objects.filter(pk__in=pks, delivered_at__isnull=True).select_related("recipient"):
        with transaction.atomic():
            if not Notification.objects.filter(pk=note.pk, delivered_at__isnull=True).update(
                delivered_at=timezone.now()
            ):
                continue
        phone = note.recipient.phone if note.recipient.phone_cipher else ""
        if phone:
            sender.send(phone, f"{note.title} {note.body}".strip())
            sent += 1
    return sent


@task
def send_to_case_contact(case_pk: int, text: str) -> None:
    from fengchao.cases.models import Case

    case = Case.objects.filter(pk=case_pk).first()
    if case is not None and case.phone_cipher:
        backend().send(case.phone, text)
