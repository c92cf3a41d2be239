"""The points mall (积分商城): merchants, the items they accept points for, and orders.

An order freezes the member's points and takes the stock by compare-and-set; the merchant verifies
(核销) it with its one-time code, which spends the frozen points; an order left unverified expires and
gives the points and the stock back. The ledger side lives in `fengchao.points.ledger`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MerchantKind(models.TextChoices):
    CHARITY_SHOP = "charity_shop", _("Charity shop (爱心超市)")
    RESTAURANT = "restaurant", _("Restaurant")
    EARLY_EDUCATION = "early_education", _("Early-education centre")
    GROCERY = "grocery", _("Grocery shop")
    OTHER = "other", _("Other")


class ItemCategory(models.TextChoices):
    MEAT = "meat", _("Meat")
    RICE = "rice", _("Rice and grain")
    FRUIT = "fruit", _("Fruit")
    DAILY = "daily", _("Daily goods")
    MEAL = "meal", _("Meals")
    SERVICE = "service", _("Services")


class OrderState(models.TextChoices):
    FROZEN = "frozen", _("Waiting for verification")
    VERIFIED = "verified", _("Verified")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


OPEN_ORDER_STATES = frozenset({OrderState.FROZEN})
# Orders that count against an item's per-person limit.
COUNTED_ORDER_STATES = frozenset({OrderState.FROZEN, OrderState.VERIFIED})


class Merchant(models.Model):
    """An offline merchant that takes points, or the community's own charity shop. Staff sign in as its users."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=24, choices=MerchantKind.choices)
    # The street or community whose mall it serves; its items are offered there.
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="merchants")
    is_active = models.BooleanField(_("active"), default=True)
    # Edits are compare-and-set on the version the form or the API client saw.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class Item(models.Model):
    """Something offered for points: a bag of rice, a meal, a class. Stock moves only by compare-and-set."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="items", verbose_name=_("merchant"))
    # Where it is offered: the merchant's area or below (a community's mall, a street's mall).
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("offered in"))
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=16, choices=ItemCategory.choices)
    description = models.TextField(_("description"), blank=True)
    # Checked like case photos (cases.photos: JPEG or PNG by their first bytes, size-limited).
    picture = models.FileField(_("picture"), upload_to="mall/", blank=True)
    price = models.PositiveIntegerField(_("points price"))
    stock = models.PositiveIntegerField(_("stock"), default=0)
    per_person_limit = models.PositiveSmallIntegerField(_("limit per person"), null=True, blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["category", "price", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="item_price_positive"),
        ]

    def __str__(self):
        return self.name


class Order(models.Model):
    """A member's order: points frozen until the merchant verifies the code, or the order expires."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mall_orders")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="orders")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders")
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    points = models.PositiveIntegerField(_("points"))
    # How the frozen points split between the two kinds, as {"task": n, "participation": m}.
    paid = models.JSONField(default=dict)
    # The one-time code the merchant types or scans (as a QR code of the verify URL); unique while it lives.
    code = models.CharField(_("verification code"), max_length=12, unique=True)
    state = models.CharField(_("state"), max_length=16, choices=OrderState.choices, default=OrderState.FROZEN)
    created_at = models.DateTimeField(_("ordered"))
    expires_at = models.DateTimeField(_("expires"))
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)  # expired, cancelled or refunded
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    # A retried order carries the same key and gets the first order back.
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], condition=~Q(idempotency_key=""), name="one_order_per_submission"
            )
        ]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["user", "item", "state"]),
            models.Index(fields=["merchant", "verified_at"]),
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["area", "created_at"]),
        ]

    def __str__(self):
        return f"{self.code} {self.item_id} ×{self.quantity}"
