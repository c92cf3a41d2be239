"""Points mall endpoints (积分商城): items offered to me, orders and their codes, verification by the merchant,
redemptions, statements; merchants, items and stock for staff.

Reads start from `fengchao.mall.queries`: an item, order or merchant outside the caller's scope answers 404,
exactly like one that does not exist. Every change goes through `fengchao.mall.services`, which checks who
may act, compares-and-sets stock and states, moves the points through the ledger and writes the audit event.

Answers: 404 what you cannot see; 403 what you see but may not do; 409 an order no longer in the state the
step needs (already verified, expired, cancelled) or a record changed since you loaded it (`version`); 422 a
refusal naming the field (`points` when the balance is short, `quantity` when out of stock or over the limit).

A verification code is shown to the member who ordered, and to the merchant and staff only once it can no
longer be used (verified, expired, cancelled, refunded): nobody but the member can redeem a waiting order.
"""

import datetime as dt
import mimetypes
from typing import Literal

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from fengchao.areas.models import Area
from fengchao.core.keyset import keyset_page
from fengchao.mall import queries, services
from fengchao.mall.models import ItemCategory, MerchantKind, OrderState
from fengchao.mall.views.common import balance_of, staff_areas, verify_path

from .cases import body_doc, field_error, read_body, refusals
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .registry_schemas import MAX_ID, SHORT, Input

router = Router(tags=["mall"])

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
Cursor = Query(None, max_length=2000, description="next_cursor of the previous page")
Day = Query(None, description="only this day (local time)")
KEY_HELP = "a key of your choosing, the same for every retry of one order (or send the Idempotency-Key header)"


def _pk(what: str):
    return Path(..., ge=1, le=MAX_ID, description=f"{what} id")


ItemId, OrderId, MerchantId, UserId = _pk("item"), _pk("order"), _pk("merchant"), _pk("user")


# ---- shapes -----------------------------------------------------------------------------------------------------


class Coded(Schema):
    code: str
    label: str


class Ref(Schema):
    id: int
    name: str


class AreaRef(Ref):
    code: str


class MerchantRef(Ref):
    address: str
    # The shop's public phone, named like an area's: a person's phone is only ever shown masked.
    service_phone: str


class KindBalance(Schema):
    kind: str
    label: str
    available: int


class BalanceOut(Schema):
    available: int = Field(description="points the mall can spend, over the spendable kinds")
    frozen: int = Field(description="points held by orders waiting for verification")
    kinds: list[KindBalance] = Field(description="in the order an order spends them (POINTS_SPENDABLE_KINDS)")


class ItemOut(Schema):
    id: int
    name: str
    category: Coded
    description: str
    price: int
    stock: int
    per_person_limit: int | None
    is_active: bool
    merchant: MerchantRef
    area: AreaRef = Field(description="where it is offered: the people serving or living there (and below) order it")
    picture_url: str | None
    offered_to_me: bool
    version: int


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: str | None


class OrderOut(Schema):
    id: int
    item: Ref
    merchant: MerchantRef
    area: AreaRef
    quantity: int
    points: int
    paid: dict[str, int] = Field(description="points frozen (then spent) by kind")
    state: Coded
    code: str | None = Field(description="the one-time code: yours while it waits; others see it once it is used")
    verify_url: str | None = Field(description="what the QR code holds (the merchant opens it), while it waits")
    created_at: dt.datetime
    expires_at: dt.datetime
    verified_at: dt.datetime | None
    closed_at: dt.datetime | None
    reason: str
    mine: bool


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class UserRef(Schema):
    id: int
    name: str
    username: str


class MerchantOut(Schema):
    id: int
    name: str
    kind: Coded
    area: AreaRef
    address: str
    service_phone: str
    is_active: bool
    version: int
    users: list[UserRef] = Field(description="accounts that verify codes for it")


class MerchantPage(Schema):
    items: list[MerchantOut]
    next_cursor: str | None


class KindTotals(Schema):
    kind: str
    label: str
    spent: int
    refunded: int
    net: int


class ItemTotals(Schema):
    item: Ref
    orders: int
    quantity: int
    points: int


class StatementOut(Schema):
    merchant: Ref
    year: int
    month: int
    count: int = Field(description="orders verified in the month")
    quantity: int
    points: int = Field(description="points of the orders verified in the month")
    spent: int = Field(description="from the ledger: points spent to the merchant in the month")
    refunded: int = Field(description="from the ledger: points refunded by the merchant in the month")
    net: int
    by_kind: list[KindTotals]
    by_item: list[ItemTotals]


class ReportRow(Schema):
    item: Ref
    merchant: Ref
    area: AreaRef
    price: int
    stock: int
    frozen: int
    verified: int
    expired: int
    cancelled: int
    refunded: int
    points_frozen: int
    points_spent: int
    points_refunded: int


class ReportOut(Schema):
    area: AreaRef
    month: str | None
    rows: list[ReportRow]
    totals: dict[str, int]


class OrderIn(Input):
    item: int = Field(ge=1, le=MAX_ID, description="item id (GET /api/mall/items)")
    quantity: int = Field(1, ge=1, le=services.MAX_QUANTITY)
    idempotency_key: str | None = Field(None, max_length=64, description=KEY_HELP)


class CodeIn(Input):
    code: str = Field(max_length=40, description="the member's 8-digit code, typed or read from the QR code")


class ReasonIn(Input):
    reason: str = Field(max_length=SHORT)


class OptionalReasonIn(Input):
    reason: str = Field("", max_length=SHORT)


class MerchantIn(Input):
    area: int = Field(ge=1, le=MAX_ID, description="the street or community whose mall it serves")
    name: str = Field(max_length=100)
    kind: Literal[tuple(MerchantKind.values)]  # type: ignore[valid-type]
    address: str = Field("", max_length=SHORT)
    phone: str = Field("", max_length=20)
    users: list[int] = Field([], max_length=50, description="ids of accounts holding the merchant role there")


class MerchantPatch(Input):
    name: str | None = Field(None, max_length=100)
    kind: Literal[tuple(MerchantKind.values)] | None = None  # type: ignore[valid-type]
    address: str | None = Field(None, max_length=SHORT)
    phone: str | None = Field(None, max_length=20)
    version: int | None = Field(None, ge=1, description="the version you loaded: refused with 409 if it moved on")


class UserIn(Input):
    user: int = Field(ge=1, le=MAX_ID)


class ItemIn(Input):
    merchant: int = Field(ge=1, le=MAX_ID)
    area: int | None = Field(None, ge=1, le=MAX_ID, description="where it is offered; the merchant's area if left out")
    name: str = Field(max_length=100)
    category: Literal[tuple(ItemCategory.values)]  # type: ignore[valid-type]
    description: str = Field("", max_length=2000)
    price: int = Field(ge=1, le=services.MAX_PRICE)
    stock: int = Field(0, ge=0, le=services.MAX_STOCK)
    per_person_limit: int | None = Field(None, ge=1, le=services.MAX_LIMIT)
    is_active: bool = True


class ItemPatch(Input):
    area: int | None = Field(None, ge=1, le=MAX_ID)
    name: str | None = Field(None, max_length=100)
    category: Literal[tuple(ItemCategory.values)] | None = None  # type: ignore[valid-type]
    description: str | None = Field(None, max_length=2000)
    price: int | None = Field(None, ge=1, le=services.MAX_PRICE)
    per_person_limit: int | None = Field(None, ge=0, le=services.MAX_LIMIT, description="0 removes the limit")
    is_active: bool | None = None
    remove_picture: bool = False
    version: int | None = Field(None, ge=1, description="the version you loaded: refused with 409 if it moved on")


class RestockIn(Input):
    delta: int = Field(ge=-services.MAX_STOCK, le=services.MAX_STOCK, description="negative takes stock away")
    reason: str = Field("", max_length=SHORT)


# ---- shaping answers ---------------------------------------------------------------------------------------------


def _coded(choices, value) -> dict:
    return {"code": value, "label": str(dict(choices.choices).get(value, value))}


def _area(area) -> dict:
    return {"id": area.pk, "code": area.code, "name": area.name}


def _merchant_ref(m) -> dict:
    return {"id": m.pk, "name": m.name, "address": m.address, "service_phone": m.phone}


def item_out(user, item) -> dict:
    offered = item.is_active and item.merchant.is_active and item.area_id in queries.offered_area_ids(user)
    return {
        "id": item.pk,
        "name": item.name,
        "category": _coded(ItemCategory, item.category),
        "description": item.description,
        "price": item.price,
        "stock": item.stock,
        "per_person_limit": item.per_person_limit,
        "is_active": item.is_active,
        "merchant": _merchant_ref(item.merchant),
        "area": _area(item.area),
        "picture_url": f"/api/mall/items/{item.pk}/picture" if item.picture else None,
        "offered_to_me": offered,
        "version": item.version,
    }


def order_out(request, order) -> dict:
    user = request.auth
    mine = order.user_id == user.pk
    waiting = order.state == OrderState.FROZEN
    return {
        "id": order.pk,
        "item": {"id": order.item_id, "name": order.item.name},
        "merchant": _merchant_ref(order.merchant),
        "area": _area(order.area),
        "quantity": order.quantity,
        "points": order.points,
        "paid": {k: int(v) for k, v in order.paid.items()},
        "state": _coded(OrderState, order.state),
        "code": order.code if mine or not waiting else None,
        "verify_url": request.build_absolute_uri(verify_path(order.code)) if mine and waiting else None,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
        "verified_at": order.verified_at,
        "closed_at": order.closed_at,
        "reason": order.reason,
        "mine": mine,
    }


def merchant_out(m) -> dict:
    return {
        "id": m.pk,
        "name": m.name,
        "kind": _coded(MerchantKind, m.kind),
        "area": _area(m.area),
        "address": m.address,
        "service_phone": m.phone,
        "is_active": m.is_active,
        "version": m.version,
        "users": [{"id": u.pk, "name": u.display_name or u.username, "username": u.username} for u in m.users.all()],
    }


def _newest_first(qs, cursor: str | None, limit: int) -> tuple[list, str | None]:
    return keyset_page(qs, ["-pk"], _pk_of, cursor, limit, strict=True)


def _oldest_first(qs, cursor: str | None, limit: int) -> tuple[list, str | None]:
    return keyset_page(qs, ["pk"], _pk_of, cursor, limit, strict=True)


def _pk_of(row) -> list:
    return [row.pk]


def _one(queryset, pk: int, message: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(message)
    return found


ORDER_RELATED = ("item", "merchant", "area")
ITEM_RELATED = ("merchant", "area")
MERCHANT_USERS = Prefetch("users", queryset=get_user_model().objects.order_by("display_name", "pk"))


def _order(user, order_id: int):
    qs = queries.orders_visible_to(user).select_related(*ORDER_RELATED)
    return _one(qs, order_id, _("No such order for you."))


def _item(user, item_id: int):
    qs = queries.items_visible_to(user).select_related(*ITEM_RELATED)
    return _one(qs, item_id, _("No such item for you."))


def _merchant(user, merchant_id: int, queryset=None):
    qs = queryset if queryset is not None else queries.merchants_visible_to(user)
    return _one(qs.select_related("area").prefetch_related(MERCHANT_USERS), merchant_id, _("No such merchant for you."))


def _given_area(pk: int | None, field: str = "area") -> Area | None:
    if pk is None:
        return None
    area = Area.objects.filter(pk=pk).first()
    if area is None:
        raise field_error(field, _("No such area."))
    return area


def _month(year: int | None, month: int | None) -> tuple[int, int]:
    today = timezone.localdate()
    return (year or today.year), (month or today.month)


# ---- the member --------------------------------------------------------------------------------------------------


@router.get("/balance", response=BalanceOut, summary="My points, as the mall spends them")
def my_balance(request):
    found = balance_of(request.auth)
    kinds = [{**row, "label": str(row["label"])} for row in found["rows"]]
    return {"available": found["available"], "frozen": found["frozen"], "kinds": kinds}


@router.get("/items", response=ItemPage, summary="Items offered to me")
def list_items(
    request,
    category: Literal[tuple(ItemCategory.values)] | None = Query(None),  # type: ignore[valid-type]
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """On sale, of active merchants, offered where you hold a role (your community's mall, your street's…)."""
    user = request.auth
    qs = queries.items_offered_to(user).select_related(*ITEM_RELATED)
    if category:
        qs = qs.filter(category=category)
    rows, next_cursor = _oldest_first(qs, cursor, limit)
    return {"items": [item_out(user, item) for item in rows], "next_cursor": next_cursor}


@router.get("/items/{item_id}", response=ItemOut, summary="One item")
def get_item(request, item_id: int = ItemId):
    user = request.auth
    return item_out(user, _item(user, item_id))


@router.get("/items/{item_id}/picture", summary="An item's picture", response={200: None})
def get_picture(request, item_id: int = ItemId):
    item = _item(request.auth, item_id)
    if not item.picture:
        raise Http404(_("This item has no picture."))
    content_type = mimetypes.guess_type(item.picture.name)[0] or "application/octet-stream"
    response = FileResponse(item.picture.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post("/orders", response={200: OrderOut, 201: OrderOut}, summary="Order an item for points")
@refusals
def place_order(request, payload: OrderIn):
    """201 with the new order and its code; 200 with the first order when the same `idempotency_key` (or
    `Idempotency-Key` header) comes again. The points are frozen until the merchant verifies the code, or
    come back when the order expires (MALL_ORDER_HOURS) or is cancelled. 422 names `points` (short: how
    many are needed and available), `quantity` (out of stock, over the per-person limit) or `item`."""
    user = request.auth
    item = _item(user, payload.item)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key", "")
    order = services.place_order(user, item, quantity=payload.quantity, idempotency_key=key)
    replayed = order.replayed
    order = queries.my_orders(user).select_related(*ORDER_RELATED).get(pk=order.pk)
    return Status(200 if replayed else 201, order_out(request, order))


@router.get("/orders", response=OrderPage, summary="My orders, newest first")
def my_orders(
    request,
    state: Literal[tuple(OrderState.values)] | None = Query(None),  # type: ignore[valid-type]
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    qs = queries.my_orders(request.auth).select_related(*ORDER_RELATED)
    if state:
        qs = qs.filter(state=state)
    rows, next_cursor = _newest_first(qs, cursor, limit)
    return {"items": [order_out(request, o) for o in rows], "next_cursor": next_cursor}


@router.get("/orders/{order_id}", response=OrderOut, summary="One order (yours, your merchant's, or in your areas)")
def get_order(request, order_id: int = OrderId):
    return order_out(request, _order(request.auth, order_id))


@router.post("/orders/{order_id}/cancel", response=OrderOut, summary="Cancel my order while it waits")
@refusals
def cancel_order(request, order_id: int = OrderId):
    """Points back and the item back in stock. 409 once it was verified, expired or cancelled."""
    user = request.auth
    order = _order(user, order_id)
    services.cancel_order(order, user)
    return order_out(request, _order(user, order_id))


# ---- the merchant ----------------------------------------------------------------------------------------------


@router.post("/verify", response=OrderOut, summary="Verify a member's code (核销)")
@refusals
def verify(request, payload: CodeIn):
    """For a merchant's users (and mall staff): the frozen points are spent to the merchant. Exactly one of
    any number of simultaneous verifications of a code succeeds; the others answer 409 saying when it was
    verified. An expired code answers 409 even before the sweep closes it; an unknown one, 422 on `code`."""
    user = request.auth
    if not queries.can_verify(user):
        raise HttpError(403, _("Only a merchant's users and mall staff verify codes."))
    order = services.verify_order(payload.code, user)
    return order_out(request, _order(user, order.pk))


@router.get("/redemptions", response=OrderPage, summary="Orders verified by your merchant (or by you)")
def redemptions(
    request,
    merchant: int | None = Query(None, ge=1, le=MAX_ID, description="one of your merchants"),
    date: dt.date | None = Day,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """Newest first. A merchant's users see their merchants' redemptions; staff without a merchant, those
    in their areas."""
    user = request.auth
    qs = queries.merchant_orders(user) if queries.merchant_ids_of(user) else queries.staff_orders(user)
    qs = qs.filter(verified_at__isnull=False).select_related(*ORDER_RELATED)
    if merchant:
        qs = qs.filter(merchant_id=merchant)
    if date:
        start = timezone.make_aware(dt.datetime.combine(date, dt.time.min))
        qs = qs.filter(verified_at__gte=start, verified_at__lt=start + dt.timedelta(days=1))
    rows, next_cursor = _newest_first(qs, cursor, limit)
    return {"items": [order_out(request, o) for o in rows], "next_cursor": next_cursor}


@router.post("/orders/{order_id}/refund", response=OrderOut, summary="Refund a verified order")
@refusals
def refund(request, payload: ReasonIn, order_id: int = OrderId):
    """The merchant's users or staff: the points go back to the member (a reason is required)."""
    user = request.auth
    order = _one(queries.orders_handled_by(user).select_related(*ORDER_RELATED), order_id, _("No such order for you."))
    services.refund_order(order, user, payload.reason)
    return order_out(request, _order(user, order_id))


# ---- merchants ---------------------------------------------------------------------------------------------------


@router.get("/merchants", response=MerchantPage, summary="Merchants in your areas, and your own")
def list_merchants(request, cursor: str | None = Cursor, limit: int = Limit):
    qs = queries.merchants_visible_to(request.auth).select_related("area").prefetch_related(MERCHANT_USERS)
    rows, next_cursor = _oldest_first(qs, cursor, limit)
    return {"items": [merchant_out(m) for m in rows], "next_cursor": next_cursor}


@router.post("/merchants", response={201: MerchantOut}, summary="Add a merchant (staff)")
@refusals
def create_merchant(request, payload: MerchantIn):
    user = request.auth
    users = []
    for pk in dict.fromkeys(payload.users):
        person = get_user_model().objects.filter(pk=pk).first()
        if person is None:
            raise field_error("users", _("No such user."))
        users.append(person)
    values = payload.model_dump(exclude={"area", "users"})
    merchant = services.create_merchant(by=user, area=_given_area(payload.area), users=users, **values)
    return Status(201, merchant_out(_merchant(user, merchant.pk)))


@router.get("/merchants/{merchant_id}", response=MerchantOut, summary="One merchant")
def get_merchant(request, merchant_id: int = MerchantId):
    return merchant_out(_merchant(request.auth, merchant_id))


@router.patch("/merchants/{merchant_id}", response=MerchantOut, summary="Change a merchant (staff)")
@refusals
def update_merchant(request, payload: MerchantPatch, merchant_id: int = MerchantId):
    user = request.auth
    merchant = _merchant(user, merchant_id)
    values = payload.model_dump(exclude_unset=True, exclude={"version"})
    services.update_merchant(merchant, by=user, expected_version=payload.version, **values)
    return merchant_out(_merchant(user, merchant_id))


@router.post("/merchants/{merchant_id}/deactivate", response=MerchantOut, summary="Stop taking points (staff)")
@refusals
def deactivate_merchant(request, payload: OptionalReasonIn, merchant_id: int = MerchantId):
    """Its items leave the mall; its orders waiting for verification are cancelled, points and stock back."""
    user = request.auth
    services.deactivate_merchant(_merchant(user, merchant_id), by=user, reason=payload.reason)
    return merchant_out(_merchant(user, merchant_id))


@router.post("/merchants/{merchant_id}/reactivate", response=MerchantOut, summary="Take points again (staff)")
@refusals
def reactivate_merchant(request, merchant_id: int = MerchantId):
    user = request.auth
    services.reactivate_merchant(_merchant(user, merchant_id), by=user)
    return merchant_out(_merchant(user, merchant_id))


@router.post("/merchants/{merchant_id}/users", response=MerchantOut, summary="Link an account (staff)")
@refusals
def link_user(request, payload: UserIn, merchant_id: int = MerchantId):
    """The account must hold the merchant role in the merchant's street or community (or above or below it)."""
    user = request.auth
    merchant = _merchant(user, merchant_id)
    person = get_user_model().objects.filter(pk=payload.user).first()
    if person is None:
        raise field_error("user", _("No such user."))
    services.link_user(merchant, person, by=user)
    return merchant_out(_merchant(user, merchant_id))


@router.delete("/merchants/{merchant_id}/users/{user_id}", response=MerchantOut, summary="Unlink an account (staff)")
@refusals
def unlink_user(request, merchant_id: int = MerchantId, user_id: int = UserId):
    user = request.auth
    merchant = _merchant(user, merchant_id)
    person = merchant.users.filter(pk=user_id).first()
    if person is None:
        raise Http404(_("This account is not linked to the merchant."))
    services.unlink_user(merchant, person, by=user)
    return merchant_out(_merchant(user, merchant_id))


@router.get("/merchants/{merchant_id}/items", response=ItemPage, summary="A merchant's items (on sale or not)")
def merchant_items(request, merchant_id: int = MerchantId, cursor: str | None = Cursor, limit: int = Limit):
    user = request.auth
    merchant = _merchant(user, merchant_id)
    qs = queries.items_visible_to(user).filter(merchant=merchant).select_related(*ITEM_RELATED)
    rows, next_cursor = _oldest_first(qs, cursor, limit)
    return {"items": [item_out(user, item) for item in rows], "next_cursor": next_cursor}


@router.get("/merchants/{merchant_id}/orders", response=OrderPage, summary="A merchant's orders, newest first")
def merchant_orders(
    request,
    merchant_id: int = MerchantId,
    state: Literal[tuple(OrderState.values)] | None = Query(None),  # type: ignore[valid-type]
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """For its users and for staff over its area. Codes of orders still waiting are not shown."""
    user = request.auth
    merchant = _merchant(user, merchant_id)
    qs = queries.orders_handled_by(user).filter(merchant=merchant).select_related(*ORDER_RELATED)
    if state:
        qs = qs.filter(state=state)
    rows, next_cursor = _newest_first(qs, cursor, limit)
    return {"items": [order_out(request, o) for o in rows], "next_cursor": next_cursor}


@router.get("/merchants/{merchant_id}/statement", response=StatementOut, summary="A merchant's monthly statement")
@refusals
def statement(
    request,
    merchant_id: int = MerchantId,
    year: int | None = Query(None, ge=2000, le=2200, description="this year if left out"),
    month: int | None = Query(None, ge=1, le=12, description="this month if left out"),
):
    """Orders verified in the month, and the points by kind from the ledger (spent, refunded, net)."""
    user = request.auth
    merchant = _merchant(user, merchant_id)
    if not queries.can_see_statement(user, merchant):
        raise Http404(_("No such merchant for you."))
    data = services.monthly_statement(merchant, *_month(year, month))
    return {
        **{name: data[name] for name in ("year", "month", "count", "quantity", "points", "spent", "refunded", "net")},
        "merchant": {"id": merchant.pk, "name": merchant.name},
        "by_kind": [{**row, "label": str(row["label"])} for row in data["by_kind"]],
        "by_item": [
            {
                "item": {"id": row["item_id"], "name": row["item__name"]},
                "orders": row["orders"],
                "quantity": row["quantity"],
                "points": row["points"],
            }
            for row in data["by_item"]
        ],
    }


# ---- items (staff) -------------------------------------------------------------------------------------------------


def _managed_item(user, item_id: int):
    qs = queries.items_managed_by(user).select_related("merchant", "merchant__area", "area")
    return _one(qs, item_id, _("No such item for you."))


@router.post(
    "/items",
    response={201: ItemOut},
    summary="Add an item (staff)",
    openapi_extra=body_doc(ItemIn, ("picture",)),
)
@refusals
def create_item(request):
    """JSON, or multipart/form-data with the same fields and a `picture` (JPEG, PNG or WebP, checked by content)."""
    user = request.auth
    payload, files = read_body(request, ItemIn, ("picture",))
    merchant = _one(queries.merchants_managed_by(user).select_related("area"), payload.merchant, _("No such merchant."))
    values = payload.model_dump(exclude={"merchant", "area", "stock"})
    area = _given_area(payload.area)
    if area is not None:
        values["area"] = area
    pictures = files.get("picture") or []
    if len(pictures) > 1:
        raise field_error("picture", _("One picture per item."))
    item = services.create_item(
        by=user, merchant=merchant, stock=payload.stock, picture=pictures[0] if pictures else None, **values
    )
    return Status(201, item_out(user, _item(user, item.pk)))


@router.patch(
    "/items/{item_id}",
    response=ItemOut,
    summary="Change an item (staff)",
    openapi_extra=body_doc(ItemPatch, ("picture",)),
)
@refusals
def update_item(request, item_id: int = ItemId):
    """Only the fields you send change. The stock changes by POST …/restock, never here."""
    user = request.auth
    item = _managed_item(user, item_id)
    payload, files = read_body(request, ItemPatch, ("picture",))
    values = payload.model_dump(exclude_unset=True, exclude={"version", "remove_picture"})
    if "area" in values:
        values["area"] = _given_area(values["area"]) or item.area
    if values.get("per_person_limit") == 0:
        values["per_person_limit"] = None
    for name in ("name", "category", "price", "is_active"):
        if name in values and values[name] is None:
            raise field_error(name, _("This field cannot be empty."))
    pictures = files.get("picture") or []
    if len(pictures) > 1:
        raise field_error("picture", _("One picture per item."))
    services.update_item(
        item,
        by=user,
        expected_version=payload.version,
        picture=pictures[0] if pictures else None,
        remove_picture=payload.remove_picture,
        **values,
    )
    return item_out(user, _item(user, item_id))


@router.post("/items/{item_id}/restock", response=ItemOut, summary="Add to (or take from) the stock (staff)")
@refusals
def restock(request, payload: RestockIn, item_id: int = ItemId):
    """By compare-and-set on the stock: taking away more than there is answers 422 on `delta`."""
    user = request.auth
    services.restock(_managed_item(user, item_id), payload.delta, by=user, reason=payload.reason)
    return item_out(user, _item(user, item_id))


# ---- reconciliation (staff) ------------------------------------------------------------------------------------------


@router.get("/report", response=ReportOut, summary="Reconciliation of a street's or community's mall (staff)")
@refusals
def report(
    request,
    area: int = Query(..., ge=1, le=MAX_ID, description="a street or community where you are mall staff"),
    year: int | None = Query(None, ge=2000, le=2200),
    month: int | None = Query(None, ge=1, le=12, description="with year: only orders placed in that month"),
):
    """Per item offered there: stock, orders by state, points frozen, spent (verified) and refunded."""
    user = request.auth
    place = _one(staff_areas(user), area, _("No such area for you."))
    if (year is None) != (month is None):
        raise field_error("month", _("Give both the year and the month, or neither."), "query")
    data = services.reconciliation(place, year=year, month=month)
    rows = [
        {
            "item": {"id": r.pk, "name": r.name},
            "merchant": {"id": r.merchant_id, "name": r.merchant.name},
            "area": _area(r.area),
            "price": r.price,
            "stock": r.stock,
            "frozen": r.n_frozen,
            "verified": r.n_verified,
            "expired": r.n_expired,
            "cancelled": r.n_cancelled,
            "refunded": r.n_refunded,
            "points_frozen": r.points_frozen,
            "points_spent": r.points_spent,
            "points_refunded": r.points_refunded,
        }
        for r in data["rows"]
    ]
    return {
        "area": _area(place),
        "month": f"{year:04d}-{month:02d}" if month else None,
        "rows": rows,
        "totals": data["totals"],
    }
