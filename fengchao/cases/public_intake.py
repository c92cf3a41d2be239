"""Residents without an account: the one per-address limit on reports, and finding a case by its tracking code.

The report page and the public API both go through here. The limit counts the `public.report` audit
events of the last hour, so every app server agrees without a shared cache.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.audit.models import AuditEvent
from fengchao.audit.services import record

from . import services
from .models import Case

# Reports without an account share one key space: a short key could meet someone else's.
MIN_KEY_LENGTH = 16


def reports_per_hour() -> int:
    return int(getattr(settings, "CASES_PUBLIC_REPORTS_PER_HOUR", 20))


def client_address(request) -> str:
    """The client's address as the server sees it (behind a proxy, set REMOTE_ADDR from the proxy's header)."""
    return request.META.get("REMOTE_ADDR", "")[:45]


def too_many_reports(address: str) -> bool:
    since = timezone.now() - dt.timedelta(hours=1)
    recent = AuditEvent.objects.filter(action="public.report", at__gte=since, data__address=address)
    return recent.count() >= reports_per_hour()


def submit(*, client: str, by=None, idempotency_key: str, **fields) -> tuple[Case, bool]:
    """`services.submit_case` for a resident, counted against the client address's hourly limit when new."""
    if by is None and len(str(idempotency_key or "").strip()) < MIN_KEY_LENGTH:
        raise ValidationError({"idempotency_key": _("Send a random key of at least 16 characters, such as a UUID.")})
    with transaction.atomic():
        case, created = services.submit_case(by=by, idempotency_key=idempotency_key, **fields)
        if created:
            record("public.report", case, actor=by, area=case.area, address=client)
    return case, created


def tracked_case(code: str) -> Case:
    """The case with this tracking code (spaces and case forgiven), or 404."""
    code = str(code or "").strip().upper().replace(" ", "")
    case = None
    if code.isalnum():
        case = Case.objects.select_related("category", "area").filter(tracking_code=code).first()
    if case is None:
        raise Http404(_("No case has this tracking code."))
    return case
