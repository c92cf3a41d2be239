"""The merchant's phone pages: verify a code (typed, or opened from the member's QR code), today's
redemptions, refunds, and the monthly statement (also as .xlsx). Mall staff may use them too."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import queries, services
from ..forms import RefundForm
from ..models import OrderState
from . import sheets
from .common import attempt, masked_name, page, verifier_view

TODAY_SHOWN = 100


def _today_bounds():
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return start, start + dt.timedelta(days=1)


def redemptions_today(user):
    """Orders verified today: the merchant's (all its users'), or, for staff without a merchant, their own."""
    start, end = _today_bounds()
    if queries.merchant_ids_of(user):
        qs = queries.merchant_orders(user)
    else:
        qs = queries.orders_handled_by(user).filter(verified_by=user)
    qs = qs.filter(verified_at__gte=start, verified_at__lt=end, state__in=[OrderState.VERIFIED, OrderState.REFUNDED])
    return qs.select_related("item", "merchant").order_by("-verified_at", "-pk")


@never_cache
@verifier_view
def verify(request):
    """GET ?code=… (typed here, or the URL in the member's QR code) shows the order and asks to confirm;
    POST verifies it. Nothing changes on a GET."""
    user = request.user
    if request.method == "POST":
        code = request.POST.get("code", "")
        ok, order = attempt(lambda: services.verify_order(code, user), request=request)
        if ok:
            messages.success(
                request,
                _("Verified: %(item)s ×%(n)d, %(points)d points.")
                % {"item": order.item.name, "n": order.quantity, "points": order.points},
            )
        # A refusal is the error message; either way the form is empty for the next code.
        return redirect("mall:verify")

    code = services.clean_code(request.GET.get("code", ""))[:20]
    found, problem = None, ""
    if code:
        try:
            candidate = services.find_by_code(code, user)
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            now = timezone.now()
            if candidate.state != OrderState.FROZEN or candidate.expires_at <= now:
                problem = " ".join(services.closed_refusal(candidate, now).messages)
            else:
                found = candidate
    rows = list(redemptions_today(user)[: TODAY_SHOWN + 1])
    context = {
        "code": code,
        "order": found,
        "member_name": masked_name(found.user) if found else "",
        "problem": problem,
        "today": rows[:TODAY_SHOWN],
        "more_today": len(rows) > TODAY_SHOWN,
        "today_points": sum(o.points for o in rows[:TODAY_SHOWN] if o.state == OrderState.VERIFIED),
        "merchants": list(queries.merchants_visible_to(user).filter(pk__in=queries.merchant_ids_of(user))),
    }
    return page(request, "mall/verify.html", context, "verify")


@require_POST
@verifier_view
def refund(request, pk):
    user = request.user
    order = queries.one_or_404(queries.orders_handled_by(user), pk)
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
        return redirect("mall:order", pk=order.pk)
    if attempt(lambda: services.refund_order(order, user, form.cleaned_data["reason"]), request=request).ok:
        messages.success(request, _("Refunded: %(points)d points went back to the member.") % {"points": order.points})
    return redirect("mall:order", pk=order.pk)


# ---- the monthly statement -----------------------------------------------------------------------------------


def _month(request) -> tuple[int, int]:
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-"))
        services.month_bounds(year, month)
    except (ValueError, ValidationError):
        today = timezone.localdate()
        return today.year, today.month
    return year, month


def _statement_merchant(request, pk):
    user = request.user
    merchants = queries.merchants_visible_to(user).select_related("area")
    merchant = queries.one_or_404(merchants, pk)
    if not queries.can_see_statement(user, merchant):  # seen, not theirs to settle (cannot happen today)
        raise PermissionDenied
    return merchant


@never_cache
@verifier_view
def my_statement(request):
    """The statement of the merchant the user signs in for (the first, if several)."""
    ids = sorted(queries.merchant_ids_of(request.user))
    if not ids:
        return redirect("mall:merchants")
    target = reverse("mall:statement", args=[ids[0]])
    if request.GET.get("month"):
        target += f"?month={request.GET['month'][:7]}"
    return redirect(target)


STATEMENT_ORDERS_SHOWN = 300


@never_cache
@verifier_view
def statement(request, pk):
    merchant = _statement_merchant(request, pk)
    year, month = _month(request)
    data = services.monthly_statement(merchant, year, month)
    orders = list(data["orders"][: STATEMENT_ORDERS_SHOWN + 1])
    context = {
        "s": data,
        "month_value": f"{year:04d}-{month:02d}",
        "orders": orders[:STATEMENT_ORDERS_SHOWN],
        "more_orders": len(orders) > STATEMENT_ORDERS_SHOWN,
        "others": list(queries.merchants_visible_to(request.user).exclude(pk=merchant.pk).order_by("name", "pk")[:50]),
    }
    return page(request, "mall/statement.html", context, "statement")


@verifier_view
def statement_xlsx(request, pk):
    merchant = _statement_merchant(request, pk)
    year, month = _month(request)
    content, name = sheets.statement_workbook(services.monthly_statement(merchant, year, month))
    return xlsx_response(content, name)


def xlsx_response(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=sheets.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
