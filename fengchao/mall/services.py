"""Every change to the points mall: merchants and their users, items and stock, orders and their codes.

Each function runs in one transaction and writes its audit event in it. Stock and order states move
only by compare-and-set (`filter(…, guard).update(…)`, then check that one row changed), points only
through `fengchao.points.ledger.post`, which debits by compare-and-set too. So every guarantee below
holds across several app servers and workers, on PostgreSQL and on SQLite alike:

- an item never sells more than its stock, and stock never goes below zero;
- a person never freezes more points than they have, nor holds more of an item than its limit;
- a code is verified once: of any number of simultaneous verifications exactly one succeeds;
- an order expires, is cancelled, is verified or is refunded once, whoever tries at the same moment.

Ordering freezes the points: the person's points accounts are locked first (on PostgreSQL the UPDATE
holds their rows until commit, so one person's orders are decided one at a time and everything read
after the lock is current), then the balance and the per-person limit are checked, the stock is taken,
the order is written with its one-time code, and the points are moved from available to frozen.
Verifying the code spends the frozen points to the merchant; cancelling or expiring gives them back.
"""

import calendar
import datetime as dt
import re
import secrets

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.areas.models import Area, subtree_q
from fengchao.audit.models import AuditEvent
from fengchao.audit.services import record
from fengchao.cases.photos import check_photos
from fengchao.core.errors import StaleRecord
from fengchao.notices.services import notify
from fengchao.points import ledger
from fengchao.points.choices import PointsKind, Purpose, TransferKind
from fengchao.points.models import Transfer

from . import queries
from .models import (
    COUNTED_ORDER_STATES,
    Item,
    ItemCategory,
    Merchant,
    MerchantKind,
    Order,
    OrderState,
)

SOURCE_TYPE = "mall.order"
CODE_DIGITS = 8
CODE_ATTEMPTS = 20
MAX_QUANTITY = 99
MAX_PRICE = 1_000_000
MAX_STOCK = 1_000_000
MAX_LIMIT = 10_000
EXPIRE_BATCH = 200


class OrderNotOpen(StaleRecord):
    """The order is no longer in the state the step needs (already verified, expired, cancelled …)."""


class _Replay(Exception):
    """A retried submission: roll back what this one did and answer with the first order."""

    def __init__(self, order):
        self.order = order


# ---- settings ------------------------------------------------------------------------------------------------


def spendable_kinds() -> list[str]:
    """The kinds of points an order takes, in the order it takes them (POINTS_SPENDABLE_KINDS)."""
    raw = getattr(settings, "POINTS_SPENDABLE_KINDS", [PointsKind.PARTICIPATION, PointsKind.TASK])
    kinds = list(dict.fromkeys(str(k) for k in raw))
    unknown = [k for k in kinds if k not in PointsKind.values]
    if not kinds or unknown:
        raise ImproperlyConfigured(f"POINTS_SPENDABLE_KINDS lists one or both of {PointsKind.values}, not {raw!r}")
    return kinds


def order_hours() -> float:
    """How long an order waits for verification before it expires (MALL_ORDER_HOURS, default 48)."""
    return float(getattr(settings, "MALL_ORDER_HOURS", 48))


# ---- merchants -----------------------------------------------------------------------------------------------

MERCHANT_FIELDS = ("name", "kind", "address", "phone")


def _text(values: dict, errors: dict, name: str, limit: int, *, required=False, label=None) -> str:
    value = str(values.get(name) or "").strip()
    if required and not value:
        errors[name] = _("Enter %(what)s.") % {"what": label or name}
    elif len(value) > limit:
        errors[name] = _("At most %(n)d characters.") % {"n": limit}
    elif "\x00" in value:
        errors[name] = _("Control characters (such as NUL) are not allowed here.")
    return value


def _clean_start(values: dict, fields, choice: str, choices, refusal: str) -> tuple[dict, dict]:
    """What cleaning a merchant and an item share: no fields but `fields`, a name, and one choice among
    `choices` (the merchant's kind, the item's category). Returns the errors so far and the clean values."""
    unknown = set(values) - set(fields)
    if unknown:
        raise ValidationError(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    errors, clean = {}, {}
    clean["name"] = _text(values, errors, "name", 100, required=True, label=_("the name"))
    clean[choice] = str(values.get(choice) or "")
    if clean[choice] not in choices:
        errors[choice] = refusal
    return errors, clean


def _clean_merchant(values: dict) -> dict:
    refusal = _("Choose what kind of merchant this is.")
    errors, clean = _clean_start(values, MERCHANT_FIELDS, "kind", MerchantKind.values, refusal)
    clean["address"] = _text(values, errors, "address", 200)
    phone = _text(values, errors, "phone", 20)
    if phone and "phone" not in errors and not re.fullmatch(r"[0-9０-９+\-() ]{5,20}", phone):
        errors["phone"] = _("Enter a phone number (digits, spaces, + - and brackets).")
    clean["phone"] = phone
    if errors:
        raise ValidationError(errors)
    return clean


def _check_merchant_area(by, area) -> None:
    if area is None:
        raise ValidationError({"area": _("Choose the street or community whose mall this merchant serves.")})
    if area.kind not in queries.MERCHANT_AREA_KINDS:
        raise ValidationError({"area": _("A merchant serves the mall of a street or a community.")})
    if not queries.holds_staff_role(by, area):
        raise PermissionDenied(_("Managing the mall there is not yours to do."))


def _check_manager(by, merchant: Merchant) -> None:
    if not queries.can_manage_merchant(by, merchant):
        raise PermissionDenied(_("Managing this merchant is not yours to do."))


def create_merchant(*, by, area: Area, users=(), **fields) -> Merchant:
    """A new merchant for the mall of a street or community; staff of that area (or above) only."""
    _check_merchant_area(by, area)
    values = _clean_merchant(fields)
    with transaction.atomic():
        merchant = Merchant.objects.create(area=area, **values)
        record("mall.merchant_created", merchant, actor=by, area=area, **values)
        for user in users:
            _link(merchant, user, by)
    return merchant


def update_merchant(merchant: Merchant, *, by, expected_version=None, **fields) -> Merchant:
    """Change the name, kind, address or phone, if nobody changed the merchant since `expected_version`."""
    _check_manager(by, merchant)
    values = _clean_merchant({name: fields.get(name, getattr(merchant, name)) for name in MERCHANT_FIELDS} | fields)
    version = merchant.version if expected_version is None else int(expected_version)
    with transaction.atomic():
        rows = Merchant.objects.filter(pk=merchant.pk, version=version)
        if rows.update(version=F("version") + 1, **values) != 1:
            raise StaleRecord()
        changed = {name: value for name, value in values.items() if getattr(merchant, name) != value}
        for name, value in values.items():
            setattr(merchant, name, value)
        merchant.version = version + 1
        record("mall.merchant_changed", merchant, actor=by, area=merchant.area, **changed)
    return merchant


def merchant_role_holders(merchant: Merchant):
    """Users who may be linked to the merchant: holding Role.MERCHANT in its area, above it or below it."""
    path = merchant.area.path
    line = Q(area_id__in=[*merchant.area.ancestor_pks(), merchant.area_id]) | subtree_q(path, "area__")
    holders = RoleAssignment.objects.active().filter(line, role=Role.MERCHANT).values("user_id")
    from fengchao.accounts.models import User

    return User.objects.filter(pk__in=holders, is_active=True)


def _link(merchant: Merchant, user, by) -> None:
    if user is None or not merchant_role_holders(merchant).filter(pk=user.pk).exists():
        raise ValidationError(
            {"user": _("Only a person holding the merchant role in this merchant's street or community can be linked.")}
        )
    merchant.users.add(user)
    record("mall.merchant_user_linked", merchant, actor=by, area=merchant.area, user=user.pk)


def link_user(merchant: Merchant, user, *, by) -> Merchant:
    """Let a merchant-role account sign in for this merchant (verify codes, see its statement)."""
    _check_manager(by, merchant)
    with transaction.atomic():
        if merchant.users.filter(pk=user.pk).exists():
            raise ValidationError({"user": _("%(name)s is already linked.") % {"name": user}})
        _link(merchant, user, by)
    return merchant


def unlink_user(merchant: Merchant, user, *, by) -> Merchant:
    _check_manager(by, merchant)
    with transaction.atomic():
        if not merchant.users.filter(pk=user.pk).exists():
            raise ValidationError({"user": _("%(name)s is not linked to this merchant.") % {"name": user}})
        merchant.users.remove(user)
        record("mall.merchant_user_unlinked", merchant, actor=by, area=merchant.area, user=user.pk)
    return merchant


def _set_active(merchant: Merchant, active: bool, *, refusal: str) -> None:
    """Switch the merchant on or off by compare-and-set, in the caller's transaction (`refusal` if it already is)."""
    rows = Merchant.objects.filter(pk=merchant.pk, is_active=not active)
    if rows.update(is_active=active, version=F("version") + 1) != 1:
        raise StaleRecord(refusal)
    merchant.is_active = active
    merchant.version += 1


def deactivate_merchant(merchant: Merchant, *, by, reason: str = "", now=None) -> Merchant:
    """The merchant stops taking points: its items leave the mall and its open orders are cancelled
    (points and stock go back, each member is told)."""
    _check_manager(by, merchant)
    reason = (reason or "").strip()[:200]
    now = now or timezone.now()
    with transaction.atomic():
        _set_active(merchant, False, refusal=_("This merchant is not active."))
        open_orders = list(
            Order.objects.filter(merchant=merchant, state=OrderState.FROZEN).values_list("pk", flat=True)
        )
        cancelled = 0
        note = reason or _("The merchant no longer takes points.")
        for pk in open_orders:
            if _close_open(pk, OrderState.CANCELLED, by=by, now=now, reason=note, audit="mall.order_cancelled"):
                cancelled += 1
        record("mall.merchant_deactivated", merchant, actor=by, area=merchant.area, reason=reason, cancelled=cancelled)
    return merchant


def reactivate_merchant(merchant: Merchant, *, by) -> Merchant:
    _check_manager(by, merchant)
    with transaction.atomic():
        _set_active(merchant, True, refusal=_("This merchant is already active."))
        record("mall.merchant_reactivated", merchant, actor=by, area=merchant.area)
    return merchant


# ---- items ----------------------------------------------------------------------------------------------------

ITEM_FIELDS = ("name", "category", "description", "price", "per_person_limit", "is_active", "area")


REQUIRED = object()


def _whole(raw, errors: dict, name: str, *, low: int, high: int, default=REQUIRED):
    """A whole number from `low` to `high`; blank gives `default` (or an error when there is none)."""
    if raw is None or raw == "":
        if default is REQUIRED:
            errors[name] = _("Enter a whole number.")
            return None
        return default
    try:
        if isinstance(raw, bool | float):
            raise ValueError
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors[name] = _("Enter a whole number.")
        return None
    if value < low or value > high:
        errors[name] = _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
        return None
    return value


def _flag(raw) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() in ("1", "true", "on", "yes")
    return bool(raw)


def _clean_item(merchant: Merchant, values: dict) -> dict:
    errors, clean = _clean_start(values, ITEM_FIELDS, "category", ItemCategory.values, _("Choose a category."))
    clean["description"] = _text(values, errors, "description", 2000)
    clean["price"] = _whole(values.get("price"), errors, "price", low=1, high=MAX_PRICE)
    limit = values.get("per_person_limit")
    clean["per_person_limit"] = _whole(limit, errors, "per_person_limit", low=1, high=MAX_LIMIT, default=None)
    clean["is_active"] = _flag(values.get("is_active", True))
    area = values.get("area") or merchant.area
    if not isinstance(area, Area):
        errors["area"] = _("No such area.")
    elif not area.path.startswith(merchant.area.path) or not area.is_active:
        errors["area"] = _("An item is offered in the merchant's own area or an area within it.")
    clean["area"] = area
    if errors:
        raise ValidationError(errors)
    return clean


def _checked_picture(picture):
    if not picture:
        return None
    (checked,) = check_photos([picture], field="picture")
    return checked


def _store_picture(checked) -> str:
    """Save the checked upload under a random name; returns the storage name."""
    upload, extension, _content_type = checked
    field = Item._meta.get_field("picture")
    name = field.generate_filename(None, f"{secrets.token_hex(16)}.{extension}")
    upload.seek(0)
    return field.storage.save(name, upload)


def _drop_file(name: str) -> None:
    if name:
        storage = Item._meta.get_field("picture").storage
        transaction.on_commit(lambda: storage.delete(name))


def create_item(*, by, merchant: Merchant, picture=None, stock=0, **fields) -> Item:
    """A new item of a merchant, offered in its area or one within it; the picture is a checked JPEG/PNG/WebP."""
    _check_manager(by, merchant)
    values = _clean_item(merchant, fields)
    errors = {}
    stock = _whole(stock, errors, "stock", low=0, high=MAX_STOCK, default=0)
    if errors:
        raise ValidationError(errors)
    checked = _checked_picture(picture)
    stored = _store_picture(checked) if checked else ""
    try:
        with transaction.atomic():
            item = Item.objects.create(merchant=merchant, stock=stock, picture=stored, **values)
            audit = _audit_values(values) | {"stock": stock, "picture": bool(stored)}
            record("mall.item_created", item, actor=by, area=item.area, merchant=merchant.pk, **audit)
    except BaseException:
        _delete_now(stored)  # nothing was written: no file left behind either
        raise
    return item


def _delete_now(name: str) -> None:
    if name:
        Item._meta.get_field("picture").storage.delete(name)


def _audit_values(values: dict) -> dict:
    """Values for an audit event: areas by pk, under `offered_in` (the event's own `area` is where it happened)."""
    return {("offered_in" if k == "area" else k): (v.pk if isinstance(v, Area) else v) for k, v in values.items()}


def update_item(item: Item, *, by, expected_version=None, picture=None, remove_picture: bool = False, **fields) -> Item:
    """Change an item's details (not its stock: see `restock`), if nobody changed it since `expected_version`."""
    merchant = item.merchant
    _check_manager(by, merchant)
    current = {name: getattr(item, name) for name in ITEM_FIELDS}
    values = _clean_item(merchant, current | fields)
    checked = _checked_picture(picture)
    version = item.version if expected_version is None else int(expected_version)
    old_picture = item.picture.name
    stored = _store_picture(checked) if checked else ""
    try:
        with transaction.atomic():
            changes = dict(values)
            if stored:
                changes["picture"] = stored
            elif remove_picture:
                changes["picture"] = ""
            rows = Item.objects.filter(pk=item.pk, version=version)
            if rows.update(version=F("version") + 1, updated_at=timezone.now(), **changes) != 1:
                raise StaleRecord()
            before = _audit_values(current)
            changed = {k: v for k, v in _audit_values(values).items() if before.get(k) != v}
            if "picture" in changes:
                changed["picture"] = "replaced" if stored else "removed"
                _drop_file(old_picture)  # after commit
            item.refresh_from_db()
            record("mall.item_changed", item, actor=by, area=item.area, **changed)
    except BaseException:
        _delete_now(stored)
        raise
    return item


def restock(item: Item, delta, *, by, reason: str = "") -> Item:
    """Add to the stock (or take away, with a negative delta; never below zero), by compare-and-set."""
    _check_manager(by, item.merchant)
    errors = {}
    delta = _whole(delta, errors, "delta", low=-MAX_STOCK, high=MAX_STOCK)
    if not errors and delta == 0:
        errors["delta"] = _("Enter how many to add (or, negative, to take away).")
    if errors:
        raise ValidationError(errors)
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        rows = Item.objects.filter(pk=item.pk)
        if delta < 0:
            rows = rows.filter(stock__gte=-delta)
        if rows.update(stock=F("stock") + delta) != 1:
            left = Item.objects.filter(pk=item.pk).values_list("stock", flat=True).first() or 0
            raise ValidationError(
                {"delta": _("Only %(left)d in stock: %(n)d cannot be taken away.") % {"left": left, "n": -delta}}
            )
        item.stock = Item.objects.filter(pk=item.pk).values_list("stock", flat=True).get()
        record("mall.item_restocked", item, actor=by, area=item.area, delta=delta, stock=item.stock, reason=reason)
    return item


# ---- orders ---------------------------------------------------------------------------------------------------


def _quantity(raw) -> int:
    errors = {}
    value = _whole(raw, errors, "quantity", low=1, high=MAX_QUANTITY, default=1)
    if errors:
        raise ValidationError(errors)
    return value


def split_points(points: int, kinds: list[str], available: dict[str, int]) -> dict[str, int]:
    """Take from the first kind what it has, the rest from the next; {} if they do not cover `points`."""
    paid, left = {}, points
    for kind in kinds:
        take = min(left, max(0, available.get(kind, 0)))
        if take:
            paid[kind] = take
            left -= take
    return paid if left == 0 else {}


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def order_url(order) -> str:
    return reverse("mall:order", args=[order.pk])


def place_order(user, item: Item, quantity=1, idempotency_key: str = "", *, now=None) -> Order:
    """Order `quantity` of `item` for points: freeze them, take the stock, and issue the one-time code.

    A retried submission with the same `idempotency_key` returns the first order (with `replayed` set).
    Refusals name the problem: not on sale, not offered where the user serves, not enough points (how
    many are needed and available), out of stock, over the per-person limit.
    """
    key = str(idempotency_key or "").strip()[:64]
    if key:
        first = Order.objects.filter(user=user, idempotency_key=key).first()
        if first is not None:
            first.replayed = True
            return first
    quantity = _quantity(quantity)
    item = Item.objects.select_related("merchant", "area").get(pk=item.pk)
    if not item.is_active or not item.merchant.is_active:
        raise ValidationError({"item": _("“%(name)s” is not on sale.") % {"name": item.name}})
    if item.area_id not in queries.offered_area_ids(user):
        raise PermissionDenied(_("“%(name)s” is not offered where you live or serve.") % {"name": item.name})
    points = item.price * quantity
    kinds = spendable_kinds()
    now = now or timezone.now()
    try:
        with transaction.atomic():
            order = _place(user, item, quantity, points, kinds, key, now)
    except _Replay as replay:
        replay.order.replayed = True
        return replay.order
    order.replayed = False
    return order


def _place(user, item: Item, quantity: int, points: int, kinds: list[str], key: str, now) -> Order:
    # (1) One person's orders are decided one at a time: their accounts are locked first, so the balance
    # and the count of their orders read below are current (on PostgreSQL; SQLite serialises writers).
    available = ledger.lock_person(user.pk, kinds, (Purpose.AVAILABLE, Purpose.FROZEN))
    if key:
        first = Order.objects.filter(user=user, idempotency_key=key).first()
        if first is not None:
            raise _Replay(first)
    paid = split_points(points, kinds, available)
    if not paid:
        raise ledger.NotEnoughPoints(
            {
                "points": _("Not enough points: this needs %(needed)d, you have %(available)d available.")
                % {"needed": points, "available": sum(available.get(k, 0) for k in kinds)}
            }
        )
    # (2) The per-person limit counts the orders waiting for verification and those verified.
    if item.per_person_limit:
        held = (
            Order.objects.filter(user=user, item=item, state__in=COUNTED_ORDER_STATES).aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if held + quantity > item.per_person_limit:
            raise ValidationError(
                {
                    "quantity": _(
                        "At most %(limit)d of “%(name)s” per person: you already hold %(held)d "
                        "(waiting for verification or verified)."
                    )
                    % {"limit": item.per_person_limit, "name": item.name, "held": held}
                }
            )
    # (3) The stock, by compare-and-set on the item's own row (no join: PostgreSQL re-checks the guard
    # against the row as the previous writer left it).
    taken = Item.objects.filter(pk=item.pk, stock__gte=quantity, is_active=True).update(stock=F("stock") - quantity)
    if taken != 1:
        left = Item.objects.filter(pk=item.pk).values_list("stock", flat=True).first() or 0
        message = (
            _("“%(name)s” is sold out.") % {"name": item.name}
            if left == 0
            else _("Only %(left)d of “%(name)s” left.") % {"left": left, "name": item.name}
        )
        raise ValidationError({"quantity": message})
    # (4) The order, with a one-time code that nobody can guess; a code in use is drawn again.
    order = None
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    user=user,
                    item=item,
                    merchant=item.merchant,
                    area=item.area,
                    quantity=quantity,
                    points=points,
                    paid=paid,
                    code=_new_code(),
                    state=OrderState.FROZEN,
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=order_hours()),
                    idempotency_key=key,
                )
            break
        except IntegrityError:
            if key:
                first = Order.objects.filter(user=user, idempotency_key=key).first()
                if first is not None:
                    raise _Replay(first) from None
    if order is None:
        raise RuntimeError("no free verification code after repeated draws")
    # (5) The points move from available to frozen (a compare-and-set debit: never below zero).
    for kind in kinds:
        if paid.get(kind):
            ledger.post(TransferKind.FREEZE, kind, paid[kind], user_id=user.pk, at=now, actor=user, **_about(order))
    record(
        "mall.order_placed",
        order,
        actor=user,
        area=order.area,
        item=item.pk,
        merchant=item.merchant_id,
        quantity=quantity,
        points=points,
        paid=paid,
    )
    return order


def _about(order: Order, reason: str = "") -> dict:
    label = f"{order.item.name} ×{order.quantity}" if order.item_id else ""
    return {
        "area": order.area,
        "source_type": SOURCE_TYPE,
        "source_id": str(order.pk),
        "source_label": label[:200],
        "reason": reason[:200],
    }


def _paid_parts(order: Order):
    """(kind, points) of the order's split, in a fixed order."""
    return [(kind, int(order.paid[kind])) for kind in PointsKind.values if int(order.paid.get(kind) or 0) > 0]


def _post_with_merchant(order: Order, transfer_kind: str, *, by, now, reason: str = "") -> None:
    """The order's points, kind by kind, between the member and its merchant (spent to it, refunded from it)."""
    for kind, points in _paid_parts(order):
        ledger.post(
            transfer_kind,
            kind,
            points,
            user_id=order.user_id,
            merchant_id=order.merchant_id,
            at=now,
            actor=by,
            **_about(order, reason),
        )


def clean_code(raw) -> str:
    """Digits of a typed or scanned code (spaces and dashes dropped, full-width digits folded)."""
    text = str(raw or "").translate({ord("０") + i: str(i) for i in range(10)})
    return re.sub(r"[\s\-]", "", text)


def _when(value) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def closed_refusal(order: Order, now) -> OrderNotOpen:
    """Why an order cannot be verified (or cancelled) now, in words the person at the counter understands."""
    messages = {
        OrderState.VERIFIED: _("Code %(code)s was already verified at %(when)s."),
        OrderState.REFUNDED: _("Code %(code)s was verified at %(when)s and has since been refunded."),
        OrderState.EXPIRED: _("Code %(code)s expired at %(when)s; the points went back to the member."),
        OrderState.CANCELLED: _("Code %(code)s was cancelled at %(when)s."),
    }
    if order.state == OrderState.FROZEN:  # past its time, not yet swept
        text = _("Code %(code)s expired at %(when)s; the points go back to the member.")
        when = order.expires_at
    else:
        text = messages[order.state]
        when = order.verified_at if order.state in (OrderState.VERIFIED, OrderState.REFUNDED) else order.closed_at
    return OrderNotOpen(text % {"code": order.code, "when": _when(when or order.expires_at)})


def verify_misses_per_hour() -> int:
    """How many codes matching no order one account may try in an hour (MALL_VERIFY_MISSES_PER_HOUR)."""
    return int(getattr(settings, "MALL_VERIFY_MISSES_PER_HOUR", 20))


def find_by_code(code, by) -> Order:
    """The order a merchant's user (or mall staff) may verify by this code, or a refusal naming `code`.

    A code is the member's secret: an account that keeps typing codes matching none of its orders is
    stopped for an hour (each miss is an audit event, so every app server counts alike).
    """
    code = clean_code(code)
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        raise ValidationError({"code": _("The code has %(n)d digits.") % {"n": CODE_DIGITS}})
    since = timezone.now() - dt.timedelta(hours=1)
    misses = AuditEvent.objects.filter(action="mall.code_miss", actor=by, at__gte=since)
    if misses.count() >= verify_misses_per_hour():
        raise ValidationError({"code": _("Too many codes matched no order: try again in an hour.")})
    order = queries.orders_handled_by(by).select_related("item", "merchant", "area", "user").filter(code=code).first()
    if order is None:
        with transaction.atomic():
            record("mall.code_miss", by, actor=by, code=code[:2] + "*" * (CODE_DIGITS - 2))
        raise ValidationError({"code": _("No order with the code %(code)s for you to verify.") % {"code": code}})
    return order


def verify_order(code, by, *, now=None) -> Order:
    """The merchant takes the code (typed, or from the QR's URL): the frozen points go to the merchant.

    Only a user of the order's merchant, or mall staff over its area, finds the code; an expired order
    is refused even before the sweep has closed it; a code already verified is refused saying when.
    """
    order = find_by_code(code, by)
    code = order.code
    now = now or timezone.now()
    if order.state != OrderState.FROZEN or order.expires_at <= now:
        raise closed_refusal(order, now)
    if not order.merchant.is_active:
        raise ValidationError({"code": _("This merchant no longer takes points.")})
    with transaction.atomic():
        rows = Order.objects.filter(pk=order.pk, state=OrderState.FROZEN, expires_at__gt=now)
        if rows.update(state=OrderState.VERIFIED, verified_at=now, verified_by=by) != 1:
            order.refresh_from_db()
            raise closed_refusal(order, now)
        order.state, order.verified_at, order.verified_by = OrderState.VERIFIED, now, by
        _post_with_merchant(order, TransferKind.SPEND, by=by, now=now)
        record("mall.order_verified", order, actor=by, area=order.area, code=code, points=order.points)
        notify(
            [order.user_id],
            kind="mall.order_verified",
            title=_("Verified: %(item)s ×%(n)d at %(merchant)s")
            % {"item": order.item.name, "n": order.quantity, "merchant": order.merchant.name},
            url=order_url(order),
        )
    return order


def _close_open(pk: int, state: str, *, by, now, reason: str, audit: str) -> Order | None:
    """FROZEN → `state` by compare-and-set, points released and stock put back; None if it was not open.

    Runs inside the caller's transaction.
    """
    rows = Order.objects.filter(pk=pk, state=OrderState.FROZEN)
    if rows.update(state=state, closed_at=now, reason=reason[:200]) != 1:
        return None
    order = Order.objects.select_related("item", "merchant", "area").get(pk=pk)
    for kind, points in _paid_parts(order):
        ledger.post(
            TransferKind.RELEASE, kind, points, user_id=order.user_id, at=now, actor=by, **_about(order, reason)
        )
    Item.objects.filter(pk=order.item_id).update(stock=F("stock") + order.quantity)
    record(audit, order, actor=by, area=order.area, points=order.points, quantity=order.quantity, reason=reason)
    if by is None or by.pk != order.user_id:
        titles = {
            OrderState.EXPIRED: _("Expired: %(item)s ×%(n)d was not collected in time; %(points)d points are back"),
            OrderState.CANCELLED: _("Cancelled: %(item)s ×%(n)d; %(points)d points are back"),
        }
        notify(
            [order.user_id],
            kind=f"mall.order_{state}",
            title=titles[state] % {"item": order.item.name, "n": order.quantity, "points": order.points},
            body=reason,
            url=order_url(order),
        )
    return order


def cancel_order(order: Order, by, *, now=None) -> Order:
    """The member changes their mind while the order waits: points back, stock back."""
    if by is None or order.user_id != by.pk:
        raise PermissionDenied(_("Only the member who placed an order may cancel it."))
    now = now or timezone.now()
    with transaction.atomic():
        closed = _close_open(
            order.pk,
            OrderState.CANCELLED,
            by=by,
            now=now,
            reason=_("Cancelled by the member"),
            audit="mall.order_cancelled",
        )
        if closed is None:
            order.refresh_from_db()
            raise closed_refusal(order, now)
    return closed


def expire_orders(now=None) -> int:
    """Close the orders left unverified past their time: points released, stock back, member told.

    The worker calls this every minute; two workers at once close each order once (compare-and-set).
    """
    now = now or timezone.now()
    expired = 0
    for _batch in range(50):
        due = list(
            Order.objects.filter(state=OrderState.FROZEN, expires_at__lte=now)
            .order_by("expires_at", "pk")
            .values_list("pk", flat=True)[:EXPIRE_BATCH]
        )
        for pk in due:
            with transaction.atomic():
                closed = _close_open(
                    pk,
                    OrderState.EXPIRED,
                    by=None,
                    now=now,
                    reason=_("Not verified in time"),
                    audit="mall.order_expired",
                )
            expired += closed is not None
        if len(due) < EXPIRE_BATCH:
            break
    return expired


def refund_order(order: Order, by, reason: str, *, now=None) -> Order:
    """After verification, the merchant or staff give the points back (goods returned, service not given).

    The stock is not changed: goods that came back are put on sale again with `restock`.
    """
    if not queries.can_handle_order(by, order):
        raise PermissionDenied(_("Refunding this order is not yours to do."))
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    now = now or timezone.now()
    with transaction.atomic():
        rows = Order.objects.filter(pk=order.pk, state=OrderState.VERIFIED)
        if rows.update(state=OrderState.REFUNDED, closed_at=now, reason=reason) != 1:
            order.refresh_from_db()
            if order.state == OrderState.REFUNDED:
                raise OrderNotOpen(_("This order was already refunded at %(when)s.") % {"when": _when(order.closed_at)})
            raise OrderNotOpen(
                _("Only a verified order can be refunded; this one is “%(state)s”.")
                % {"state": order.get_state_display()}
            )
        order = Order.objects.select_related("item", "merchant", "area").get(pk=order.pk)
        _post_with_merchant(order, TransferKind.REFUND, by=by, now=now, reason=reason)
        record("mall.order_refunded", order, actor=by, area=order.area, points=order.points, reason=reason)
        notify(
            [order.user_id],
            kind="mall.order_refunded",
            title=_("Refunded: %(item)s ×%(n)d; %(points)d points are back")
            % {"item": order.item.name, "n": order.quantity, "points": order.points},
            body=reason,
            url=order_url(order),
        )
    return order


# ---- settlement ---------------------------------------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of the month and of the next, in the deployment's time zone."""
    try:
        year, month = int(year), int(month)
        start = dt.datetime(year, month, 1)
    except (TypeError, ValueError):
        raise ValidationError({"month": _("Choose a month.")}) from None
    if not 2000 <= year <= 2200:
        raise ValidationError({"month": _("Choose a month.")})
    days = calendar.monthrange(year, month)[1]
    end = start + dt.timedelta(days=days)
    zone = timezone.get_current_timezone()
    return timezone.make_aware(start, zone), timezone.make_aware(end, zone)


def monthly_statement(merchant: Merchant, year: int, month: int) -> dict:
    """What the merchant took in a month: the orders verified in it, and the points by kind from the ledger
    (spent to the merchant, refunded from it, net), for the monthly settlement with the community."""
    start, end = month_bounds(year, month)
    transfers = Transfer.objects.filter(
        merchant=merchant, at__gte=start, at__lt=end, kind__in=[TransferKind.SPEND, TransferKind.REFUND]
    )
    by_kind = {kind: {"spent": 0, "refunded": 0, "net": 0} for kind in PointsKind.values}
    for kind, points_kind, points in transfers.values_list("kind", "points_kind").annotate(points=Sum("points")):
        slot = by_kind[points_kind]
        slot["spent" if kind == TransferKind.SPEND else "refunded"] += points
    for slot in by_kind.values():
        slot["net"] = slot["spent"] - slot["refunded"]
    orders = Order.objects.filter(merchant=merchant, verified_at__gte=start, verified_at__lt=end)
    by_item = list(
        orders.values("item_id", "item__name")
        .annotate(orders=Count("pk"), quantity=Sum("quantity"), points=Sum("points"))
        .order_by("item__name", "item_id")
    )
    totals = orders.aggregate(count=Count("pk"), quantity=Sum("quantity"), points=Sum("points"))
    return {
        "merchant": merchant,
        "year": int(year),
        "month": int(month),
        "start": start,
        "end": end,
        "count": totals["count"] or 0,
        "quantity": totals["quantity"] or 0,
        "points": totals["points"] or 0,
        "by_kind": [{"kind": kind, "label": PointsKind(kind).label, **values} for kind, values in by_kind.items()],
        "spent": sum(v["spent"] for v in by_kind.values()),
        "refunded": sum(v["refunded"] for v in by_kind.values()),
        "net": sum(v["net"] for v in by_kind.values()),
        "by_item": by_item,
        "orders": orders.select_related("item", "verified_by").order_by("verified_at", "pk"),
    }


def reconciliation(area: Area, *, year: int | None = None, month: int | None = None) -> dict:
    """Per item offered in the area's subtree: stock, orders by state, points frozen and spent (net of
    refunds); optionally only the orders placed in one month. One grouped query."""
    orders = Q()
    if year and month:
        start, end = month_bounds(year, month)
        orders = Q(orders__created_at__gte=start, orders__created_at__lt=end)

    def counted(state):
        return Count("orders", filter=orders & Q(orders__state=state))

    def points(*states):
        return Sum("orders__points", filter=orders & Q(orders__state__in=states))

    rows = list(
        Item.objects.filter(subtree_q(area.path, "area__"))
        .select_related("merchant", "area")
        .annotate(
            n_frozen=counted(OrderState.FROZEN),
            n_verified=counted(OrderState.VERIFIED),
            n_expired=counted(OrderState.EXPIRED),
            n_cancelled=counted(OrderState.CANCELLED),
            n_refunded=counted(OrderState.REFUNDED),
            points_frozen=points(OrderState.FROZEN),
            points_spent=points(OrderState.VERIFIED),
            points_refunded=points(OrderState.REFUNDED),
        )
        .order_by("merchant__name", "merchant_id", "name", "pk")
    )
    names = (
        "stock",
        "n_frozen",
        "n_verified",
        "n_expired",
        "n_cancelled",
        "n_refunded",
        "points_frozen",
        "points_spent",
        "points_refunded",
    )
    for row in rows:
        for name in names[6:]:
            setattr(row, name, getattr(row, name) or 0)
    totals = {name: sum(getattr(row, name) for row in rows) for name in names}
    return {"area": area, "year": year, "month": month, "rows": rows, "totals": totals}
