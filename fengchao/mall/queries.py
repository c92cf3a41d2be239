"""The one place that scopes reads of the points mall, and decides who may act on it where.

- A member (anyone holding a role) sees the items offered where they hold it: an item offered in an area
  that is the area of one of their roles or above it (a community's mall for the people of the community,
  a street's mall for the whole street), and their own orders.
- A merchant's users (holding Role.MERCHANT and linked in Merchant.users) see their merchant, its items and
  the orders placed with it.
- Mall staff (district, street and community staff) see the merchants, items and orders in the subtrees of
  the areas where they hold the role.

Pages, exports and the API all start from these querysets; anything outside them is a 404.
"""

from django.db.models import Q
from django.http import Http404

from fengchao.accounts.access import holds_role_over
from fengchao.accounts.roles import Role
from fengchao.areas.levels import AreaKind
from fengchao.areas.scope import scope_q
from fengchao.cases.queries import held_roles

from .models import Item, Merchant, Order

MALL_STAFF_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF})
# A merchant serves a street's mall or a community's.
MERCHANT_AREA_KINDS = frozenset({AreaKind.STREET, AreaKind.COMMUNITY})


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def holds_staff_role(user, area) -> bool:
    """Mall staff in `area` or above it (or a superuser): may manage merchants, items and orders there."""
    return holds_role_over(user, MALL_STAFF_ROLES, area)


def is_mall_staff(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in MALL_STAFF_ROLES for h in held_roles(user)))


def holds_merchant_role(user) -> bool:
    return _active(user) and any(h.role == Role.MERCHANT for h in held_roles(user))


def merchant_ids_of(user) -> frozenset[int]:
    """The merchants this user signs in for: linked to it and holding the merchant role (memoised per request)."""
    if not holds_merchant_role(user):
        return frozenset()
    memo = user.__dict__.get("_mall_merchant_ids")
    if memo is None:
        memo = frozenset(Merchant.users.through.objects.filter(user_id=user.pk).values_list("merchant_id", flat=True))
        user.__dict__["_mall_merchant_ids"] = memo
    return memo


def offered_area_ids(user) -> frozenset[int]:
    """Areas whose mall is open to this user: the areas of their roles and every area above them."""
    if not _active(user):
        return frozenset()
    return frozenset(int(pk) for h in held_roles(user) for pk in h.path.strip("/").split("/") if pk)


def can_order(user) -> bool:
    return bool(offered_area_ids(user))


def can_verify(user) -> bool:
    """Merchant users (of a merchant) and mall staff open the verify screen."""
    return is_mall_staff(user) or bool(merchant_ids_of(user))


def uses_mall(user) -> bool:
    return can_order(user) or can_verify(user)


# ---- querysets ----------------------------------------------------------------------------------------------


def _staff_q(user, prefix: str) -> Q:
    return scope_q(user, prefix, roles=MALL_STAFF_ROLES)


def merchants_visible_to(user):
    if not _active(user):
        return Merchant.objects.none()
    return Merchant.objects.filter(_staff_q(user, "area__") | Q(pk__in=merchant_ids_of(user)))


def merchants_managed_by(user):
    """Merchants the user manages as staff (their own merchant's users see it, but do not edit it)."""
    if not is_mall_staff(user):
        return Merchant.objects.none()
    return Merchant.objects.filter(_staff_q(user, "area__"))


def items_offered_to(user):
    """Items on sale, of active merchants, offered where the user holds a role."""
    return Item.objects.filter(is_active=True, merchant__is_active=True, area_id__in=offered_area_ids(user))


def items_visible_to(user):
    """Items offered to the user, their merchant's items, and the items in their staff scope (on sale or not)."""
    if not _active(user):
        return Item.objects.none()
    offered = Q(is_active=True, merchant__is_active=True, area_id__in=offered_area_ids(user))
    return Item.objects.filter(offered | Q(merchant_id__in=merchant_ids_of(user)) | _staff_q(user, "area__"))


def items_managed_by(user):
    if not is_mall_staff(user):
        return Item.objects.none()
    return Item.objects.filter(_staff_q(user, "area__"))


def my_orders(user):
    if not _active(user):
        return Order.objects.none()
    return Order.objects.filter(user=user)


def merchant_orders(user):
    """Orders placed with the user's merchants."""
    ids = merchant_ids_of(user)
    return Order.objects.filter(merchant_id__in=ids) if ids else Order.objects.none()


def staff_orders(user):
    if not is_mall_staff(user):
        return Order.objects.none()
    return Order.objects.filter(_staff_q(user, "area__"))


def orders_visible_to(user):
    if not _active(user):
        return Order.objects.none()
    condition = Q(user=user) | Q(merchant_id__in=merchant_ids_of(user))
    if is_mall_staff(user):
        condition |= _staff_q(user, "area__")
    return Order.objects.filter(condition)


def orders_handled_by(user):
    """Orders the user may verify or refund: their merchants' and, as staff, those in scope."""
    condition = Q(merchant_id__in=merchant_ids_of(user))
    if is_mall_staff(user):
        condition |= _staff_q(user, "area__")
    return Order.objects.filter(condition) if _active(user) else Order.objects.none()


def one_or_404(queryset, pk):
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


# ---- who may act on what -----------------------------------------------------------------------------------


def can_manage_merchant(user, merchant: Merchant) -> bool:
    return holds_staff_role(user, merchant.area)


def is_merchant_user(user, merchant_id: int) -> bool:
    return merchant_id in merchant_ids_of(user)


def can_handle_order(user, order: Order) -> bool:
    """Verify or refund: a user of the order's merchant, or mall staff over the area it was offered in."""
    return is_merchant_user(user, order.merchant_id) or holds_staff_role(user, order.area)


def can_see_statement(user, merchant: Merchant) -> bool:
    return is_merchant_user(user, merchant.pk) or holds_staff_role(user, merchant.area)
