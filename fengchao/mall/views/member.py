"""The member's phone pages: the mall, an item with its order button, my orders with their codes and QR codes.

Items and orders come only from `mall.queries`: an item not offered to the member, or an order not theirs,
is a 404. Ordering is a POST carrying an idempotency key, so a double tap or a resent form orders once.
"""

import mimetypes
import secrets

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fengchao.registry.views.common import keyset

from .. import queries, services
from ..models import ItemCategory, OrderState
from .common import PAGE_SIZE, attempt, balance_of, mall_view, masked_name, page, pages, qr_data_uri, verify_path

QUANTITY_CHOICES = 10


@never_cache
@mall_view
def home(request):
    """The mall: items offered where the member lives or serves, by category, with their balance."""
    user = request.user
    category = request.GET.get("category", "")
    qs = queries.items_offered_to(user).select_related("merchant")
    if category in ItemCategory.values:
        qs = qs.filter(category=category)
    else:
        category = ""
    rows, cursor = keyset(
        qs, ["category", "price", "pk"], lambda i: (i.category, i.price, i.pk), request.GET.get("cursor"), PAGE_SIZE
    )
    context = {
        "items": rows,
        "categories": ItemCategory.choices,
        "category": category,
        "balance": balance_of(user) if queries.can_order(user) else None,
        "waiting": queries.my_orders(user).filter(state=OrderState.FROZEN).count(),
        "can_verify": queries.can_verify(user),
        "is_staff": queries.is_mall_staff(user),
        **pages(request, cursor),
    }
    return page(request, "mall/home.html", context, "home")


@never_cache
@mall_view
def item_page(request, pk):
    user = request.user
    item = queries.one_or_404(queries.items_visible_to(user).select_related("merchant", "area"), pk)
    offered = item.area_id in queries.offered_area_ids(user) and item.is_active and item.merchant.is_active
    most = min(QUANTITY_CHOICES, item.stock, item.per_person_limit or QUANTITY_CHOICES)
    context = {
        "item": item,
        "offered": offered,
        "balance": balance_of(user) if offered else None,
        "quantities": range(1, most + 1),
        "idempotency_key": secrets.token_urlsafe(18),
        "errors": [],
    }
    return page(request, "mall/item.html", context, "home")


@require_POST
@mall_view
def order_item(request, pk):
    user = request.user
    item = queries.one_or_404(queries.items_visible_to(user), pk)
    ok, order = attempt(
        lambda: services.place_order(
            user,
            item,
            quantity=request.POST.get("quantity", "1"),
            idempotency_key=request.POST.get("idempotency_key", ""),
        ),
        request=request,
    )
    if not ok:
        return redirect("mall:item", pk=item.pk)
    if not order.replayed:
        messages.success(
            request,
            _("Ordered: show the code %(code)s at %(merchant)s within the time below.")
            % {"code": order.code, "merchant": item.merchant.name},
        )
    return redirect("mall:order", pk=order.pk)


@mall_view
def item_picture(request, pk):
    item = queries.one_or_404(queries.items_visible_to(request.user), pk)
    if not item.picture:
        raise Http404
    content_type = mimetypes.guess_type(item.picture.name)[0] or "application/octet-stream"
    response = FileResponse(item.picture.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@mall_view
def my_orders(request):
    user = request.user
    qs = queries.my_orders(user).select_related("item", "merchant")
    rows, cursor = keyset(qs, ["-pk"], lambda o: (o.pk,), request.GET.get("cursor"), PAGE_SIZE)
    context = {
        "orders": rows,
        "balance": balance_of(user),
        **pages(request, cursor),
    }
    return page(request, "mall/orders.html", context, "orders")


@never_cache
@mall_view
def order_page(request, pk):
    """One order. Its member sees the code large and as a QR code of the verify URL while it waits; the
    merchant and staff see the order without its code (only the member holds it) and may refund it."""
    user = request.user
    order = queries.one_or_404(
        queries.orders_visible_to(user).select_related("item", "merchant", "area", "user", "verified_by"), pk
    )
    mine = order.user_id == user.pk
    waiting = order.state == OrderState.FROZEN
    context = {
        "order": order,
        "mine": mine,
        "show_code": mine and waiting,
        "qr": qr_data_uri(request.build_absolute_uri(verify_path(order.code))) if mine and waiting else "",
        "can_refund": order.state == OrderState.VERIFIED and queries.can_handle_order(user, order),
        "member_name": order.user.display_name if mine else masked_name(order.user),
        "paid": sorted(order.paid.items()),
    }
    return page(request, "mall/order.html", context, "orders")


@require_POST
@mall_view
def cancel(request, pk):
    user = request.user
    order = queries.one_or_404(queries.my_orders(user), pk)
    if attempt(lambda: services.cancel_order(order, user), request=request).ok:
        messages.success(request, _("Cancelled: %(points)d points are back.") % {"points": order.points})
    return redirect("mall:order", pk=order.pk)
