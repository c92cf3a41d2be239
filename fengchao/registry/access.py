"""Unmasking personal data: allowed by role, always with a reason, always logged in the same transaction.

Pages, the API and exports call these; nothing else decrypts for display.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .choices import AccessAction
from .models import AccessLog, AccessLogSubject
from .queries import can_unmask

# What may be revealed, per kind of record: field name → attribute holding the plain value.
REVEALABLE = {
    "resident": {"id_number": "id_number", "phone": "phone", "contact_phone": "contact_phone"},
    "place": {"phone": "phone"},
    "organisation": {"phone": "phone"},
    "organisation_member": {"phone": "phone"},
}
MIN_REASON_LENGTH = 2


def clean_reason(reason: str) -> str:
    reason = " ".join(str(reason or "").split())
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError({"reason": _("Say why you need to see this in full (it is logged).")})
    return reason[:200]


def subject_type_of(obj) -> str:
    return {
        "resident": "resident",
        "place": "place",
        "organisation": "organisation",
        "organisationmember": "organisation_member",
    }[obj._meta.model_name]


def area_of(obj):
    return obj.organisation.area if subject_type_of(obj) == "organisation_member" else obj.area


def reveal(actor, obj, *, reason: str, fields=None, channel: str = "page", ip: str = "") -> dict[str, str]:
    """The plain values of the sensitive fields of one record, after logging who asked and why."""
    subject_type = subject_type_of(obj)
    area = area_of(obj)
    if not can_unmask(actor, area):
        raise PermissionDenied(_("Your role here shows these details masked only."))
    reason = clean_reason(reason)
    available = REVEALABLE[subject_type]
    fields = [f for f in (fields or available) if f in available]
    values = {f: getattr(obj, available[f]) for f in fields}
    values = {f: v for f, v in values.items() if v}
    with transaction.atomic():
        AccessLog.objects.create(
            actor=actor,
            action=AccessAction.REVEAL,
            reason=reason,
            area=area,
            subject_type=subject_type,
            subject_id=obj.pk,
            subject_label=str(obj)[:120],
            fields=sorted(values),
            channel=channel,
            details={"ip": ip} if ip else {},
        )
    return values


def log_export(
    actor, *, subject_type: str, subject_ids, area, reason: str, fields, channel: str, filters: dict | None = None
) -> AccessLog:
    """One log row for an unmasked export, and one subject row per record it held."""
    reason = clean_reason(reason)
    ids = list(subject_ids)
    with transaction.atomic():
        log = AccessLog.objects.create(
            actor=actor,
            action=AccessAction.EXPORT,
            reason=reason,
            area=area,
            subject_type=subject_type,
            subject_label=_("%(n)d records") % {"n": len(ids)},
            fields=sorted(fields),
            count=len(ids),
            channel=channel,
            details={"filters": filters or {}},
        )
        AccessLogSubject.objects.bulk_create(
            (AccessLogSubject(log=log, subject_type=subject_type, subject_id=pk) for pk in ids), batch_size=5000
        )
    return log
