"""What the mall's pages share: who may open them, the member's balance, the QR code of an order, page
links of keyset lists, and running a service call whose refusal goes on the form or into the messages."""

from typing import NamedTuple

import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from fengchao.accounts.access import guarded_by
from fengchao.areas.models import Area
from fengchao.areas.scope import scope_q
from fengchao.points import ledger
from fengchao.points.choices import PointsKind, Purpose
from fengchao.registry.views.common import next_url, query_without

from .. import queries, services
from ..forms import apply_errors

PAGE_SIZE = 30
AREA_OPTIONS = 300


# Anyone who can order or verify; merchants' users and mall staff; mall staff.
mall_view = guarded_by(queries.uses_mall)
verifier_view = guarded_by(queries.can_verify)
staff_view = guarded_by(queries.is_mall_staff)


def balance_of(user) -> dict:
    """The member's points as the mall shows them: available by spendable kind (in spending order) and frozen."""
    found = ledger.balances(user.pk)
    kinds = services.spendable_kinds()
    rows = [{"kind": k, "label": PointsKind(k).label, "available": found[k][Purpose.AVAILABLE]} for k in kinds]
    return {
        "rows": rows,
        "available": sum(r["available"] for r in rows),
        "frozen": sum(found[k][Purpose.FROZEN] for k in found),
    }


def verify_path(code: str) -> str:
    return f"{reverse('mall:verify')}?{urlencode({'code': code})}"


def qr_data_uri(data: str) -> str:
    """The QR code as an SVG data URI (an <img> the CSP allows; nothing on disk)."""
    return segno.make(data, error="m").svg_data_uri(scale=6, border=2)


def staff_areas(user):
    """Streets and communities where the user is mall staff (the options of area pickers)."""
    return Area.objects.filter(
        scope_q(user, roles=queries.MALL_STAFF_ROLES), kind__in=queries.MERCHANT_AREA_KINDS, is_active=True
    ).order_by("path")


def masked_name(user) -> str:
    """A member's name as the merchant's counter sees it: the first character and stars."""
    name = str(user.display_name or user.username)
    return name[:1] + "*" * min(max(len(name) - 1, 1), 3)


def tabs(user, current: str) -> list[dict]:
    """The mall's own tabs, for what this user may do here."""
    entries = []
    if queries.can_order(user):
        entries += [("home", _("Mall"), "mall:home"), ("orders", _("My orders"), "mall:orders")]
    if queries.can_verify(user):
        entries.append(("verify", _("Verify a code"), "mall:verify"))
    if queries.merchant_ids_of(user):
        entries.append(("statement", _("Statement"), "mall:my_statement"))
    if queries.is_mall_staff(user):
        entries += [
            ("merchants", _("Merchants"), "mall:merchants"),
            ("items", _("Items and stock"), "mall:items"),
            ("manage_orders", _("Orders"), "mall:manage_orders"),
            ("report", _("Reconciliation"), "mall:report"),
        ]
    return [
        {"key": key, "label": label, "url": reverse(name), "active": key == current} for key, label, name in entries
    ]


def page(request, template: str, context: dict, tab: str = "", status: int = 200):
    context = {"tabs": tabs(request.user, tab), **context}
    return render(request, template, context, status=status)


def pages(request, cursor) -> dict:
    """The next and first page links of a keyset list (registry/_pager.html)."""
    return {
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
    }


class Attempt(NamedTuple):
    """What `attempt` gives back: whether the service did it, and what it returned."""

    ok: bool
    result: object = None


def refusal_text(error) -> str:
    """A service's refusal (ValidationError or PermissionDenied) as one line."""
    return " ".join(error.messages if isinstance(error, ValidationError) else [str(error)])


def attempt(call, *, form=None, request=None, denied_field=None) -> Attempt:
    """Run a service call (`call()`): Attempt(True, its result), or Attempt(False) when the service refuses.

    The refusal goes on `form` when there is one (a ValidationError by field, see `apply_errors`; a
    PermissionDenied on `denied_field`, or on the whole form), else into `request`'s messages as an error.
    """
    try:
        return Attempt(True, call())
    except (ValidationError, PermissionDenied) as error:
        if form is None:
            messages.error(request, refusal_text(error))
        elif isinstance(error, ValidationError):
            apply_errors(form, error)
        else:
            form.add_error(denied_field, str(error))
        return Attempt(False)
