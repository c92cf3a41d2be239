"""Mall admin pages for district, street and community staff: merchants (create, edit, link users,
deactivate), items and stock (create, edit, restock), orders, and the reconciliation report (.xlsx too).

Everything is read through `mall.queries` (out of scope: 404) and written through `mall.services`.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fengchao.areas.models import Area, subtree_q
from fengchao.registry.views.common import keyset

from .. import queries, services
from ..forms import ItemForm, MerchantForm, RestockForm
from ..models import Item, ItemCategory, Merchant, OrderState
from . import sheets
from .common import AREA_OPTIONS, PAGE_SIZE, attempt, page, pages, staff_areas, staff_view
from .merchant import xlsx_response


def _merchant_or_404(user, pk):
    return queries.one_or_404(queries.merchants_managed_by(user).select_related("area"), pk)


def _item_or_404(user, pk):
    return queries.one_or_404(queries.items_managed_by(user).select_related("merchant", "merchant__area", "area"), pk)


# ---- merchants ----------------------------------------------------------------------------------------------


def _count(model_or_through, field: str):
    """A correlated count (no join fan-out between the two counts)."""
    qs = model_or_through.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return Coalesce(Subquery(qs.annotate(n=Count("pk")).values("n")[:1]), 0)


@never_cache
@staff_view
def merchant_list(request):
    user = request.user
    qs = queries.merchants_managed_by(user).select_related("area")
    status = request.GET.get("status", "active")
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    q = request.GET.get("q", "").strip()[:50]
    if q:
        qs = qs.filter(name__icontains=q)
    qs = qs.annotate(n_items=_count(Item, "merchant"), n_users=_count(Merchant.users.through, "merchant"))
    rows, cursor = keyset(qs, ["name", "pk"], lambda m: (m.name, m.pk), request.GET.get("cursor"), PAGE_SIZE)
    context = {"merchants": rows, "status": status, "q": q, **pages(request, cursor)}
    return page(request, "mall/staff/merchants.html", context, "merchants")


@never_cache
@staff_view
def merchant_new(request):
    user = request.user
    form = MerchantForm(request.POST or None, areas=staff_areas(user))
    if request.method == "POST" and form.is_valid():
        ok, merchant = attempt(
            lambda: services.create_merchant(by=user, area=form.cleaned_data["area"], **form.service_data()),
            form=form,
            denied_field="area",
        )
        if ok:
            messages.success(request, _("%(name)s added.") % {"name": merchant.name})
            return redirect("mall:merchant", pk=merchant.pk)
    context = {"form": form, "title": _("New merchant"), "submit": _("Add"), "back_url": reverse("mall:merchants")}
    return page(request, "mall/staff/form.html", context, "merchants")


@never_cache
@staff_view
def merchant_edit(request, pk):
    user = request.user
    merchant = _merchant_or_404(user, pk)
    initial = {name: getattr(merchant, name) for name in ("name", "kind", "address", "phone", "version")}
    form = MerchantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            lambda: services.update_merchant(
                merchant, by=user, expected_version=form.cleaned_data["version"], **form.service_data()
            ),
            form=form,
        )
        if saved.ok:
            messages.success(request, _("Saved."))
            return redirect("mall:merchant", pk=merchant.pk)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": merchant.name},
        "subtitle": merchant.area.name,
        "submit": _("Save"),
        "back_url": reverse("mall:merchant", args=[merchant.pk]),
    }
    return page(request, "mall/staff/form.html", context, "merchants")


@never_cache
@staff_view
def merchant_detail(request, pk):
    user = request.user
    merchant = _merchant_or_404(user, pk)
    linked = list(merchant.users.order_by("display_name", "pk"))
    candidates = list(
        services.merchant_role_holders(merchant).exclude(pk__in=[u.pk for u in linked]).order_by("display_name")[:100]
    )
    items = list(merchant.items.select_related("area").order_by("category", "name", "pk")[:200])
    context = {
        "merchant": merchant,
        "linked": linked,
        "candidates": candidates,
        "items": items,
        "can_manage": queries.can_manage_merchant(user, merchant),
        "restock_form": RestockForm(),
    }
    return page(request, "mall/staff/merchant.html", context, "merchants")


@require_POST
@staff_view
def merchant_users(request, pk):
    """Link (`link=<user pk>`) or unlink (`unlink=<user pk>`) a merchant-role account."""
    user = request.user
    merchant = _merchant_or_404(user, pk)
    from fengchao.accounts.models import User

    raw = request.POST.get("link") or request.POST.get("unlink") or ""
    person = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if person is None:
        messages.error(request, _("Choose a person."))
        return redirect("mall:merchant", pk=merchant.pk)
    if request.POST.get("link"):
        change, done = services.link_user, _("%(name)s may now verify codes for this merchant.")
    else:
        change, done = services.unlink_user, _("%(name)s no longer signs in for this merchant.")
    if attempt(lambda: change(merchant, person, by=user), request=request).ok:
        messages.success(request, done % {"name": person})
    return redirect("mall:merchant", pk=merchant.pk)


@require_POST
@staff_view
def merchant_active(request, pk):
    user = request.user
    merchant = _merchant_or_404(user, pk)
    if request.POST.get("active") == "0":
        done = _("%(name)s no longer takes points; its open orders were cancelled.")
        outcome = attempt(
            lambda: services.deactivate_merchant(merchant, by=user, reason=request.POST.get("reason", "")),
            request=request,
        )
    else:
        done = _("%(name)s takes points again.")
        outcome = attempt(lambda: services.reactivate_merchant(merchant, by=user), request=request)
    if outcome.ok:
        messages.success(request, done % {"name": merchant.name})
    return redirect("mall:merchant", pk=merchant.pk)


# ---- items --------------------------------------------------------------------------------------------------


def _offer_areas(merchant):
    """Where a merchant's item may be offered: its area and the streets and communities within it."""
    return Area.objects.filter(
        subtree_q(merchant.area.path), kind__in=queries.MERCHANT_AREA_KINDS, is_active=True
    ).order_by("path")


@never_cache
@staff_view
def item_list(request):
    user = request.user
    qs = queries.items_managed_by(user).select_related("merchant", "area")
    category = request.GET.get("category", "")
    if category in ItemCategory.values:
        qs = qs.filter(category=category)
    merchant = request.GET.get("merchant", "")
    if merchant.isdigit():
        qs = qs.filter(merchant_id=int(merchant))
    if request.GET.get("low") == "1":
        qs = qs.filter(stock__lte=5)
    rows, cursor = keyset(qs, ["pk"], lambda i: (i.pk,), request.GET.get("cursor"), PAGE_SIZE)
    context = {
        "items": rows,
        "categories": ItemCategory.choices,
        "category": category,
        "low": request.GET.get("low") == "1",
        "restock_form": RestockForm(),
        **pages(request, cursor),
    }
    return page(request, "mall/staff/items.html", context, "items")


@never_cache
@staff_view
def item_new(request):
    user = request.user
    raw = request.GET.get("merchant", "")
    if not raw.isdigit():
        raise Http404
    merchant = _merchant_or_404(user, raw)
    form = ItemForm(
        request.POST or None,
        request.FILES or None,
        areas=_offer_areas(merchant),
        editing=False,
        initial={"area": merchant.area, "is_active": True, "stock": 0},
    )
    if request.method == "POST" and form.is_valid():
        ok, item = attempt(
            lambda: services.create_item(
                by=user,
                merchant=merchant,
                stock=form.cleaned_data["stock"],
                picture=form.cleaned_data.get("picture"),
                **form.service_data(),
            ),
            form=form,
        )
        if ok:
            messages.success(request, _("%(name)s added.") % {"name": item.name})
            return redirect("mall:merchant", pk=merchant.pk)
    context = {
        "form": form,
        "title": _("New item"),
        "subtitle": merchant.name,
        "submit": _("Add"),
        "back_url": reverse("mall:merchant", args=[merchant.pk]),
        "multipart": True,
    }
    return page(request, "mall/staff/form.html", context, "merchants")


@never_cache
@staff_view
def item_edit(request, pk):
    user = request.user
    item = _item_or_404(user, pk)
    names = ("area", "name", "category", "description", "price", "per_person_limit", "is_active", "version")
    form = ItemForm(
        request.POST or None,
        request.FILES or None,
        areas=_offer_areas(item.merchant),
        editing=True,
        initial={name: getattr(item, name) for name in names},
    )
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            lambda: services.update_item(
                item,
                by=user,
                expected_version=form.cleaned_data["version"],
                picture=form.cleaned_data.get("picture"),
                remove_picture=form.cleaned_data.get("remove_picture", False),
                **form.service_data(),
            ),
            form=form,
        )
        if saved.ok:
            messages.success(request, _("Saved."))
            return redirect("mall:merchant", pk=item.merchant_id)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": item.name},
        "subtitle": _("%(merchant)s · in stock: %(stock)d") % {"merchant": item.merchant.name, "stock": item.stock},
        "submit": _("Save"),
        "back_url": reverse("mall:merchant", args=[item.merchant_id]),
        "multipart": True,
        "picture_url": reverse("mall:picture", args=[item.pk]) if item.picture else "",
    }
    return page(request, "mall/staff/form.html", context, "merchants")


@require_POST
@staff_view
def restock(request, pk):
    user = request.user
    item = _item_or_404(user, pk)
    form = RestockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter how many to add (or, negative, to take away)."))
    elif attempt(
        lambda: services.restock(item, form.cleaned_data["delta"], by=user, reason=form.cleaned_data["reason"]),
        request=request,
    ).ok:
        messages.success(request, _("%(name)s: %(stock)d in stock.") % {"name": item.name, "stock": item.stock})
    back = request.POST.get("back", "")
    if back == "items":
        return redirect("mall:items")
    return redirect("mall:merchant", pk=item.merchant_id)


# ---- orders -------------------------------------------------------------------------------------------------


@never_cache
@staff_view
def order_list(request):
    user = request.user
    qs = queries.staff_orders(user).select_related("item", "merchant", "area")
    state = request.GET.get("state", "")
    if state in OrderState.values:
        qs = qs.filter(state=state)
    merchant = request.GET.get("merchant", "")
    if merchant.isdigit():
        qs = qs.filter(merchant_id=int(merchant))
    rows, cursor = keyset(qs, ["-pk"], lambda o: (o.pk,), request.GET.get("cursor"), PAGE_SIZE)
    context = {"orders": rows, "states": OrderState.choices, "state": state, **pages(request, cursor)}
    return page(request, "mall/staff/orders.html", context, "manage_orders")


# ---- reconciliation -------------------------------------------------------------------------------------------


def _report_args(request):
    user = request.user
    areas = list(staff_areas(user)[:AREA_OPTIONS])
    raw = request.GET.get("area", "")
    area = None
    if raw.isdigit():
        area = queries.one_or_404(staff_areas(user), raw)
    elif areas:
        area = areas[0]
    year = month = None
    value = request.GET.get("month", "")
    if value:
        try:
            year, month = (int(part) for part in value.split("-"))
            services.month_bounds(year, month)
        except (ValueError, ValidationError):
            year = month = None
    return areas, area, year, month


@never_cache
@staff_view
def report(request):
    areas, area, year, month = _report_args(request)
    data = services.reconciliation(area, year=year, month=month) if area else None
    context = {
        "areas": areas,
        "area": area,
        "r": data,
        "month_value": f"{year:04d}-{month:02d}" if month else "",
    }
    return page(request, "mall/staff/report.html", context, "report")


@staff_view
def report_xlsx(request):
    _areas, area, year, month = _report_args(request)
    if area is None:
        raise Http404
    content, name = sheets.reconciliation_workbook(services.reconciliation(area, year=year, month=month))
    return xlsx_response(content, name)
