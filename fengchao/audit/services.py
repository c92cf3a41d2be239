"""Writing audit events. Call only inside the transaction of the change being audited."""

from django.db import transaction

from .models import AuditEvent


def record(action: str, obj, *, actor=None, area=None, **data) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the transaction of the change they record")
    return AuditEvent.objects.create(
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        actor=actor if actor is not None and actor.is_authenticated else None,
        area=area,
        data=data,
    )


def record_system(action: str, *, actor=None, **data) -> AuditEvent:
    """An event about the system as a whole (a key rotation, a retention run), not about one record."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the transaction of the change they record")
    return AuditEvent.objects.create(
        action=action,
        object_type="system",
        object_id="-",
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data,
    )
