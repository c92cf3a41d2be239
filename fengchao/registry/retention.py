"""Retention: personal data of people who left is erased after FENGCHAO_RETENTION_DAYS.

What is erased: name, ID number, phones, contact person, notes, birth date and care tags. What stays:
the row (so counts of past years and move history keep their shape), gender, residence type,
status and dates. An erased resident can no longer be found or told apart from others.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fengchao.audit.services import record_system

from .choices import ResidentStatus
from .models import Resident, ResidentCareTag

ERASED_NAME = "（已删除）"
LEFT = (ResidentStatus.MOVED_OUT, ResidentStatus.DECEASED)


def due_for_erasure(now: datetime.datetime | None = None):
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.FENGCHAO_RETENTION_DAYS)
    return Resident.objects.filter(status__in=LEFT, moved_out_at__lt=cutoff).exclude(name=ERASED_NAME)


def erase_departed(*, now: datetime.datetime | None = None, batch_size: int = 1000) -> int:
    erased = 0
    while True:
        pks = list(due_for_erasure(now).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            break
        with transaction.atomic():
            ResidentCareTag.objects.filter(resident_id__in=pks).delete()
            Resident.objects.filter(pk__in=pks).update(
                name=ERASED_NAME,
                name_key="",
                pinyin_key="",
                initials_key="",
                id_cipher="",
                id_hash=None,
                id_last4="",
                phone_cipher="",
                phone_hash="",
                phone_last4="",
                contact_name="",
                contact_phone_cipher="",
                notes="",
                birth_date=None,
                updated_at=timezone.now(),
            )
            record_system(
                "registry.departed_erased",
                count=len(pks),
                first_pk=pks[0],
                last_pk=pks[-1],
                retention_days=settings.FENGCHAO_RETENTION_DAYS,
            )
        erased += len(pks)
    return erased
