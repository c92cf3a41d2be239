"""The points mall's services: merchants, items and stock, orders (place, verify, cancel, expire, refund),
the monthly statement and the reconciliation report. Each success path, each refusal and its audit event."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.core.errors import StaleRecord
from fengchao.mall import queries, services
from fengchao.mall.models import Item, Merchant, Order, OrderState
from fengchao.notices.models import Notification
from fengchao.points import ledger
from fengchao.points.choices import Purpose, TransferKind
from fengchao.points.models import Account, Transfer
from fengchao.points.reconcile import reconcile
from tests.mall_factories import build_mall, grant, picture

pytestmark = pytest.mark.django_db


@pytest.fixture
def mall(tree):
    return build_mall(tree)


@pytest.fixture
def member(tree):
    return tree.users["microgrid_member"]


def events(action, obj=None):
    qs = AuditEvent.objects.filter(action=action)
    if obj is not None:
        qs = qs.filter(object_id=str(obj.pk))
    return list(qs)


def fresh(obj):
    obj.refresh_from_db()
    return obj


def available(user, kind):
    return ledger.balance(user.pk, kind)


def frozen(user, kind):
    return ledger.balance(user.pk, kind, Purpose.FROZEN)


def redeemed(merchant, kind):
    account = Account.objects.filter(merchant=merchant, kind=kind, purpose=Purpose.REDEEMED).first()
    return account.balance if account else 0


def messages_of(error) -> str:
    return " ".join(error.value.messages)


# ---- settings ----------------------------------------------------------------------------------------------


def test_spendable_kinds_default_and_configured(settings):
    del settings.POINTS_SPENDABLE_KINDS
    assert services.spendable_kinds() == ["participation", "task"]
    settings.POINTS_SPENDABLE_KINDS = ["task"]
    assert services.spendable_kinds() == ["task"]
    settings.POINTS_SPENDABLE_KINDS = ["gold"]
    with pytest.raises(ImproperlyConfigured):
        services.spendable_kinds()


def test_split_takes_the_first_kind_first():
    kinds = ["participation", "task"]
    assert services.split_points(100, kinds, {"participation": 30, "task": 500}) == {"participation": 30, "task": 70}
    assert services.split_points(100, kinds, {"participation": 300, "task": 0}) == {"participation": 100}
    assert services.split_points(100, kinds, {"participation": 30, "task": 60}) == {}


# ---- merchants ----------------------------------------------------------------------------------------------


def test_create_merchant_links_users_and_is_audited(tree, mall):
    shop = mall.shop
    assert shop.area == tree.community_a and shop.is_active and shop.version == 1
    assert list(shop.users.all()) == [tree.users["merchant"]]
    (created,) = events("mall.merchant_created", shop)
    assert created.actor == tree.users["community_staff"] and created.data["name"] == "和美爱心超市"
    assert created.area == tree.community_a
    (linked,) = events("mall.merchant_user_linked", shop)
    assert linked.data["user"] == tree.users["merchant"].pk


@pytest.mark.parametrize("who", ["microgrid_member", "grid_leader", "merchant", "outsider_community_staff"])
def test_only_staff_over_the_area_create_merchants(tree, who):
    with pytest.raises(PermissionDenied):
        services.create_merchant(by=tree.users[who], area=tree.community_a, name="店", kind="grocery")
    assert not Merchant.objects.exists()


def test_street_and_district_staff_create_merchants_below_them(tree):
    for who in ("street_staff", "district_admin"):
        services.create_merchant(by=tree.users[who], area=tree.community_a, name=f"{who}店", kind="grocery")
    assert Merchant.objects.count() == 2


def test_merchant_refusals_name_the_field(tree):
    staff = tree.users["community_staff"]
    with pytest.raises(ValidationError) as error:
        services.create_merchant(by=staff, area=tree.grid_a1, name="店", kind="grocery")
    assert set(error.value.message_dict) == {"area"}
    with pytest.raises(ValidationError) as error:
        services.create_merchant(by=staff, area=tree.community_a, name=" ", kind="bank", phone="call me")
    assert set(error.value.message_dict) == {"name", "kind", "phone"}
    with pytest.raises(ValidationError) as error:
        services.create_merchant(by=staff, area=tree.community_a, name="店", kind="grocery", users=[staff])
    assert set(error.value.message_dict) == {"user"}
    assert not Merchant.objects.exists() and not events("mall.merchant_created")


def test_update_merchant_compares_the_version(tree, mall):
    staff = tree.users["community_staff"]
    services.update_merchant(mall.shop, by=staff, expected_version=1, name="和美爱心超市(新址)", phone="028-8888 1234")
    shop = fresh(mall.shop)
    assert shop.name == "和美爱心超市(新址)" and shop.phone == "028-8888 1234" and shop.version == 2
    (changed,) = events("mall.merchant_changed", shop)
    assert changed.data == {"name": "和美爱心超市(新址)", "phone": "028-8888 1234"}
    with pytest.raises(StaleRecord):
        services.update_merchant(shop, by=staff, expected_version=1, name="旧")
    with pytest.raises(PermissionDenied):
        services.update_merchant(shop, by=tree.users["merchant"], name="我的店")
    assert fresh(shop).name == "和美爱心超市(新址)"


def test_link_and_unlink_merchant_users(tree, mall):
    staff, merchant_user = tree.users["community_staff"], tree.users["merchant"]
    with pytest.raises(ValidationError, match="already linked"):
        services.link_user(mall.shop, merchant_user, by=staff)
    services.unlink_user(mall.shop, merchant_user, by=staff)
    assert not mall.shop.users.exists() and events("mall.merchant_user_unlinked", mall.shop)
    assert mall.shop.pk not in queries.merchant_ids_of(fresh(merchant_user))
    with pytest.raises(ValidationError, match="not linked"):
        services.unlink_user(mall.shop, merchant_user, by=staff)
    # The street's canteen may take a user holding the merchant role in a community of the street.
    services.link_user(mall.canteen, merchant_user, by=tree.users["street_staff"])
    # A merchant of street B is out of the line of community A's merchants.
    with pytest.raises(ValidationError) as error:
        services.link_user(mall.shop, tree.users["outsider_merchant"], by=staff)
    assert set(error.value.message_dict) == {"user"}


def test_deactivating_a_merchant_cancels_its_open_orders(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    services.deactivate_merchant(mall.shop, by=tree.users["community_staff"], reason="店面装修")
    shop, order = fresh(mall.shop), fresh(order)
    assert not shop.is_active and order.state == OrderState.CANCELLED and order.reason == "店面装修"
    assert available(member, "task") == 500 and frozen(member, "task") == 0 and fresh(mall.rice).stock == 10
    assert events("mall.merchant_deactivated", shop)[0].data["cancelled"] == 1
    assert events("mall.order_cancelled", order)
    assert Notification.objects.filter(recipient=member, kind="mall.order_cancelled").exists()
    assert not queries.items_offered_to(member).filter(merchant=shop).exists()
    with pytest.raises(ValidationError, match="not on sale"):
        services.place_order(member, mall.rice)
    with pytest.raises(StaleRecord):
        services.deactivate_merchant(shop, by=tree.users["community_staff"])
    services.reactivate_merchant(shop, by=tree.users["community_staff"])
    assert fresh(shop).is_active and events("mall.merchant_reactivated", shop)
    with pytest.raises(StaleRecord):
        services.reactivate_merchant(shop, by=tree.users["community_staff"])


# ---- items --------------------------------------------------------------------------------------------------


def test_create_item_with_a_checked_picture(tree, mall):
    staff = tree.users["community_staff"]
    item = services.create_item(
        by=staff, merchant=mall.shop, name="猪肉", category="meat", price=80, stock=3, picture=picture("pork.png")
    )
    assert item.picture.name.startswith("mall/") and item.picture.name.endswith(".png")
    assert item.area == tree.community_a and item.stock == 3
    (created,) = events("mall.item_created", item)
    assert created.data["price"] == 80 and created.data["offered_in"] == tree.community_a.pk
    assert created.data["picture"] is True


def test_item_refusals_name_the_field(tree, mall):
    staff = tree.users["community_staff"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    with pytest.raises(ValidationError) as error:
        services.create_item(by=staff, merchant=mall.shop, name="x", category="meat", price=1, picture=fake)
    assert set(error.value.message_dict) == {"picture"}
    with pytest.raises(ValidationError) as error:
        services.create_item(
            by=staff, merchant=mall.shop, name="", category="gold", price=0, stock=-1, per_person_limit="a"
        )
    assert set(error.value.message_dict) == {"name", "category", "price", "per_person_limit"}
    with pytest.raises(ValidationError) as error:
        services.create_item(by=staff, merchant=mall.shop, name="x", category="meat", price=1, stock=-1)
    assert set(error.value.message_dict) == {"stock"}
    with pytest.raises(ValidationError) as error:  # the canteen is street A's: not offered in street B
        services.create_item(
            by=tree.users["street_staff"],
            merchant=mall.canteen,
            name="x",
            category="meal",
            price=1,
            area=tree.community_b,
        )
    assert set(error.value.message_dict) == {"area"}
    with pytest.raises(PermissionDenied):
        services.create_item(by=tree.users["merchant"], merchant=mall.shop, name="x", category="meat", price=1)
    with pytest.raises(PermissionDenied):  # community staff do not manage the street's canteen
        services.create_item(by=staff, merchant=mall.canteen, name="x", category="meal", price=1)
    assert Item.objects.count() == 4


def test_a_street_merchant_offers_in_one_community(tree, mall):
    item = services.create_item(
        by=tree.users["street_staff"],
        merchant=mall.canteen,
        name="早餐",
        category="meal",
        price=5,
        stock=5,
        area=tree.community_a,
    )
    assert item.area == tree.community_a


def test_update_item_compares_the_version_and_replaces_the_picture(tree, mall):
    staff = tree.users["community_staff"]
    services.update_item(mall.rice, by=staff, expected_version=1, price=120, picture=picture("new.png"))
    rice = fresh(mall.rice)
    assert rice.price == 120 and rice.version == 2 and rice.picture.name and rice.stock == 10
    (changed,) = events("mall.item_changed", rice)
    assert changed.data == {"price": 120, "picture": "replaced"}
    with pytest.raises(StaleRecord):
        services.update_item(rice, by=staff, expected_version=1, price=1)
    services.update_item(rice, by=staff, remove_picture=True, is_active=False)
    rice = fresh(rice)
    assert not rice.picture and not rice.is_active and rice.price == 120
    with pytest.raises(ValidationError) as error:
        services.update_item(rice, by=staff, colour="red")
    assert "Unknown fields" in messages_of(error)


def test_restock_by_a_delta_never_below_zero(tree, mall):
    staff = tree.users["community_staff"]
    assert services.restock(mall.rice, 5, by=staff, reason="进货").stock == 15
    assert services.restock(mall.rice, "-15", by=staff).stock == 0
    with pytest.raises(ValidationError) as error:
        services.restock(mall.rice, -1, by=staff)
    assert "Only 0 in stock" in messages_of(error)
    with pytest.raises(ValidationError):
        services.restock(mall.rice, 0, by=staff)
    with pytest.raises(PermissionDenied):
        services.restock(mall.rice, 1, by=tree.users["merchant"])
    assert fresh(mall.rice).stock == 0
    restocked = events("mall.item_restocked", mall.rice)
    assert [e.data["delta"] for e in restocked] == [5, -15] and restocked[0].data["reason"] == "进货"


# ---- placing orders -----------------------------------------------------------------------------------------


def test_place_order_freezes_points_takes_stock_and_issues_a_code(tree, mall, member, settings):
    settings.MALL_ORDER_HOURS = 24
    grant(member, 30, "participation")
    grant(member, 500, "task")
    now = timezone.now()
    order = services.place_order(member, mall.rice, quantity=2, now=now)
    assert order.state == OrderState.FROZEN and order.points == 200 and not order.replayed
    assert order.paid == {"participation": 30, "task": 170}
    assert len(order.code) == 8 and order.code.isdigit()
    assert order.expires_at == now + dt.timedelta(hours=24)
    assert order.area == tree.community_a and order.merchant == mall.shop
    assert available(member, "participation") == 0 and frozen(member, "participation") == 30
    assert available(member, "task") == 330 and frozen(member, "task") == 170
    assert fresh(mall.rice).stock == 8
    freezes = Transfer.objects.filter(kind=TransferKind.FREEZE, source_type="mall.order", source_id=str(order.pk))
    assert sorted(freezes.values_list("points_kind", "points")) == [("participation", 30), ("task", 170)]
    (placed,) = events("mall.order_placed", order)
    assert placed.actor == member and placed.data["paid"] == order.paid and placed.data["quantity"] == 2
    assert reconcile().ok


def test_only_the_configured_kinds_are_spent(tree, mall, member, settings):
    settings.POINTS_SPENDABLE_KINDS = ["task"]
    grant(member, 1000, "participation")
    grant(member, 50, "task")
    with pytest.raises(ledger.NotEnoughPoints) as error:
        services.place_order(member, mall.rice)
    assert "this needs 100, you have 50 available" in messages_of(error)
    grant(member, 50, "task")
    order = services.place_order(member, mall.rice)
    assert order.paid == {"task": 100} and available(member, "participation") == 1000


def test_not_enough_points_says_how_many(tree, mall, member):
    grant(member, 40, "participation")
    grant(member, 50, "task")
    with pytest.raises(ledger.NotEnoughPoints) as error:
        services.place_order(member, mall.rice)
    assert set(error.value.message_dict) == {"points"}
    assert "this needs 100, you have 90 available" in messages_of(error)
    assert not Order.objects.exists() and fresh(mall.rice).stock == 10
    assert available(member, "task") == 50 and not events("mall.order_placed")


def test_out_of_stock_and_sold_out(tree, mall, member):
    grant(member, 10_000)
    with pytest.raises(ValidationError) as error:
        services.place_order(member, mall.oil, quantity=6)
    assert "Only 5 of “菜籽油” left" in messages_of(error)
    services.place_order(member, mall.oil, quantity=5)
    with pytest.raises(ValidationError) as error:
        services.place_order(member, mall.oil)
    assert "“菜籽油” is sold out" in messages_of(error)
    assert Order.objects.count() == 1 and available(member, "task") == 10_000 - 300


def test_the_per_person_limit_counts_waiting_and_verified_orders(tree, mall, member):
    grant(member, 10_000)
    first = services.place_order(member, mall.rice)
    services.verify_order(first.code, tree.users["merchant"])
    services.place_order(member, mall.rice)
    with pytest.raises(ValidationError) as error:
        services.place_order(member, mall.rice)
    assert "At most 2 of “大米 5kg” per person: you already hold 2" in messages_of(error)
    assert fresh(mall.rice).stock == 8 and frozen(member, "task") == 100
    # Cancelled orders do not count.
    services.cancel_order(Order.objects.get(state=OrderState.FROZEN), member)
    services.place_order(member, mall.rice)


def test_items_not_offered_where_the_user_serves_are_refused(tree, mall):
    outsider = tree.users["outsider_microgrid_member"]
    grant(outsider, 1000)
    with pytest.raises(PermissionDenied, match="not offered"):
        services.place_order(outsider, mall.rice)
    with pytest.raises(PermissionDenied):  # the street-A canteen is not street B's
        services.place_order(outsider, mall.meal)
    assert services.place_order(outsider, mall.eggs).state == OrderState.FROZEN
    # A street's mall is for the whole street: a resident of a micro-grid in street A orders the canteen's meal.
    resident = tree.users["resident"]
    grant(resident, 100)
    assert services.place_order(resident, mall.meal).paid == {"task": 20}


def test_items_off_sale_are_refused(tree, mall, member):
    grant(member, 1000)
    services.update_item(mall.rice, by=tree.users["community_staff"], is_active=False)
    with pytest.raises(ValidationError, match="not on sale"):
        services.place_order(member, mall.rice)


def test_bad_quantities_are_refused(tree, mall, member):
    grant(member, 1000)
    for bad in (0, -1, "two", 100):
        with pytest.raises(ValidationError) as error:
            services.place_order(member, mall.meal, quantity=bad)
        assert set(error.value.message_dict) == {"quantity"}


def test_a_retried_submission_returns_the_first_order(tree, mall, member):
    grant(member, 1000)
    first = services.place_order(member, mall.rice, idempotency_key="k-1")
    again = services.place_order(member, mall.rice, idempotency_key="k-1")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert Order.objects.count() == 1 and available(member, "task") == 900 and fresh(mall.rice).stock == 9
    other = services.place_order(member, mall.rice, idempotency_key="k-2")
    assert other.pk != first.pk and other.code != first.code


# ---- verifying ----------------------------------------------------------------------------------------------


def test_verify_spends_the_frozen_points_to_the_merchant(tree, mall, member):
    grant(member, 30, "participation")
    grant(member, 500, "task")
    order = services.place_order(member, mall.rice)
    merchant_user = tree.users["merchant"]
    done = services.verify_order(f" {order.code[:4]} {order.code[4:]} ", merchant_user)
    assert done.pk == order.pk and done.state == OrderState.VERIFIED and done.verified_by == merchant_user
    order = fresh(order)
    assert order.state == OrderState.VERIFIED and order.verified_at is not None
    assert frozen(member, "participation") == 0 and frozen(member, "task") == 0
    assert redeemed(mall.shop, "participation") == 30 and redeemed(mall.shop, "task") == 70
    (verified,) = events("mall.order_verified", order)
    assert verified.actor == merchant_user and verified.data["points"] == 100
    note = Notification.objects.get(recipient=member, kind="mall.order_verified")
    assert "大米 5kg" in note.title and note.url == f"/mall/orders/{order.pk}/"
    assert reconcile().ok


def test_a_code_is_verified_once(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    services.verify_order(order.code, tree.users["merchant"])
    with pytest.raises(StaleRecord) as error:
        services.verify_order(order.code, tree.users["community_staff"])
    local = timezone.localtime(fresh(order).verified_at)
    assert f"already verified at {local:%Y-%m-%d %H:%M}" in messages_of(error)
    assert redeemed(mall.shop, "task") == 100 and len(events("mall.order_verified")) == 1


def test_an_expired_code_is_refused_before_the_sweep(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    later = order.expires_at + dt.timedelta(minutes=1)
    with pytest.raises(StaleRecord, match="expired"):
        services.verify_order(order.code, tree.users["merchant"], now=later)
    assert fresh(order).state == OrderState.FROZEN and redeemed(mall.shop, "task") == 0


def test_only_the_merchants_users_and_staff_find_a_code(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    for who in ("outsider_merchant", "outsider_community_staff", "microgrid_member", "grid_leader"):
        with pytest.raises(ValidationError) as error:
            services.verify_order(order.code, tree.users[who])
        assert "No order with the code" in messages_of(error)
    assert fresh(order).state == OrderState.FROZEN
    assert services.verify_order(order.code, tree.users["community_staff"]).state == OrderState.VERIFIED


def test_an_account_guessing_codes_is_stopped(tree, mall, member, settings):
    settings.MALL_VERIFY_MISSES_PER_HOUR = 3
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    merchant_user = tree.users["merchant"]
    wrong = "00000000" if order.code != "00000000" else "11111111"
    for _ in range(3):
        with pytest.raises(ValidationError, match="No order with the code"):
            services.verify_order(wrong, merchant_user)
    misses = events("mall.code_miss")
    assert len(misses) == 3 and misses[0].actor == merchant_user and misses[0].data["code"] == wrong[:2] + "******"
    with pytest.raises(ValidationError, match="Too many codes"):
        services.verify_order(order.code, merchant_user)  # even the right one, for an hour
    assert fresh(order).state == OrderState.FROZEN
    # Another account of the merchant is not held up.
    assert services.verify_order(order.code, tree.users["community_staff"]).state == OrderState.VERIFIED


def test_malformed_codes_are_refused(tree, mall):
    for bad in ("", "1234", "abcdefgh", "123456789"):
        with pytest.raises(ValidationError) as error:
            services.verify_order(bad, tree.users["merchant"])
        assert set(error.value.message_dict) == {"code"}


def test_a_cancelled_code_says_so(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    services.cancel_order(order, member)
    with pytest.raises(StaleRecord, match="cancelled"):
        services.verify_order(order.code, tree.users["merchant"])


# ---- cancelling, expiring, refunding --------------------------------------------------------------------------


def test_the_member_cancels_a_waiting_order(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice, quantity=2)
    with pytest.raises(PermissionDenied):
        services.cancel_order(order, tree.users["merchant"])
    services.cancel_order(order, member)
    order = fresh(order)
    assert order.state == OrderState.CANCELLED and order.closed_at is not None
    assert available(member, "task") == 500 and frozen(member, "task") == 0 and fresh(mall.rice).stock == 10
    assert events("mall.order_cancelled", order)[0].actor == member
    assert not Notification.objects.filter(recipient=member).exclude(kind__startswith="points").exists()
    with pytest.raises(StaleRecord, match="cancelled"):
        services.cancel_order(order, member)
    assert reconcile().ok


def test_a_verified_order_cannot_be_cancelled(tree, mall, member):
    grant(member, 500)
    order = services.place_order(member, mall.rice)
    services.verify_order(order.code, tree.users["merchant"])
    with pytest.raises(StaleRecord, match="already verified"):
        services.cancel_order(fresh(order), member)
    assert redeemed(mall.shop, "task") == 100


def test_expire_orders_releases_points_and_stock_once(tree, mall, member):
    grant(member, 1000)
    late = services.place_order(member, mall.rice)
    taken = services.place_order(member, mall.oil)
    services.verify_order(taken.code, tree.users["merchant"])
    fresh_order = services.place_order(member, mall.meal, now=timezone.now() + dt.timedelta(hours=10))
    sweep_at = late.expires_at + dt.timedelta(seconds=1)
    assert services.expire_orders(sweep_at) == 1
    assert services.expire_orders(sweep_at) == 0
    assert fresh(late).state == OrderState.EXPIRED and fresh(taken).state == OrderState.VERIFIED
    assert fresh(fresh_order).state == OrderState.FROZEN
    assert fresh(mall.rice).stock == 10 and frozen(member, "task") == 20
    assert available(member, "task") == 1000 - 60 - 20
    (expired,) = events("mall.order_expired", late)
    assert expired.actor is None
    note = Notification.objects.get(recipient=member, kind="mall.order_expired")
    assert "100 points are back" in note.title
    assert reconcile().ok


def test_the_points_sweep_expires_orders(tree, mall, member):
    from fengchao.points.clock import sweep

    grant(member, 1000)
    order = services.place_order(member, mall.rice)
    assert sweep(order.expires_at + dt.timedelta(minutes=1))["orders_expired"] == 1


def test_refund_after_verification(tree, mall, member):
    grant(member, 30, "participation")
    grant(member, 500, "task")
    order = services.place_order(member, mall.rice)
    merchant_user = tree.users["merchant"]
    with pytest.raises(StaleRecord, match="Only a verified order"):
        services.refund_order(order, merchant_user, "米有虫")
    services.verify_order(order.code, merchant_user)
    with pytest.raises(ValidationError) as error:
        services.refund_order(order, merchant_user, " ")
    assert set(error.value.message_dict) == {"reason"}
    with pytest.raises(PermissionDenied):
        services.refund_order(order, tree.users["outsider_merchant"], "x")
    with pytest.raises(PermissionDenied):
        services.refund_order(order, member, "x")
    services.refund_order(order, merchant_user, "米有虫")
    order = fresh(order)
    assert order.state == OrderState.REFUNDED and order.reason == "米有虫"
    assert available(member, "participation") == 30 and available(member, "task") == 500
    assert redeemed(mall.shop, "task") == 0 and redeemed(mall.shop, "participation") == 0
    assert fresh(mall.rice).stock == 9  # goods that come back are restocked by hand
    assert events("mall.order_refunded", order)[0].data["reason"] == "米有虫"
    assert Notification.objects.filter(recipient=member, kind="mall.order_refunded").exists()
    with pytest.raises(StaleRecord, match="already refunded"):
        services.refund_order(order, tree.users["community_staff"], "again")
    assert reconcile().ok


# ---- settlement -------------------------------------------------------------------------------------------


def test_monthly_statement_from_the_ledger(tree, mall, member):
    grant(member, 30, "participation")
    grant(member, 5000, "task")
    merchant_user = tree.users["merchant"]
    zone = timezone.get_current_timezone()
    in_march = timezone.make_aware(dt.datetime(2026, 3, 10, 9, 0), zone)
    in_april = timezone.make_aware(dt.datetime(2026, 4, 1, 0, 30), zone)
    a = services.place_order(member, mall.rice, now=in_march)
    services.verify_order(a.code, merchant_user, now=in_march + dt.timedelta(hours=1))
    b = services.place_order(member, mall.oil, quantity=2, now=in_march)
    services.verify_order(b.code, merchant_user, now=in_march + dt.timedelta(hours=2))
    services.refund_order(fresh(b), merchant_user, "退货", now=in_march + dt.timedelta(hours=3))
    c = services.place_order(member, mall.oil, now=in_april)
    services.verify_order(c.code, merchant_user, now=in_april)

    march = services.monthly_statement(mall.shop, 2026, 3)
    assert march["count"] == 2 and march["points"] == 220 and march["quantity"] == 3
    kinds = {row["kind"]: row for row in march["by_kind"]}
    assert kinds["participation"] == {**kinds["participation"], "spent": 30, "refunded": 0, "net": 30}
    assert kinds["task"]["spent"] == 70 + 120 and kinds["task"]["refunded"] == 120
    assert march["spent"] == 220 and march["refunded"] == 120 and march["net"] == 100
    assert [row["item__name"] for row in march["by_item"]] == ["大米 5kg", "菜籽油"]
    assert [o.pk for o in march["orders"]] == [a.pk, b.pk]
    april = services.monthly_statement(mall.shop, 2026, 4)
    assert april["count"] == 1 and april["net"] == 60
    with pytest.raises(ValidationError):
        services.monthly_statement(mall.shop, 2026, 13)


def test_reconciliation_per_item(tree, mall, member):
    grant(member, 5000)
    merchant_user = tree.users["merchant"]
    waiting = services.place_order(member, mall.rice)
    done = services.place_order(member, mall.rice)
    services.verify_order(done.code, merchant_user)
    back = services.place_order(member, mall.oil)
    services.verify_order(back.code, merchant_user)
    services.refund_order(fresh(back), merchant_user, "退")
    services.cancel_order(services.place_order(member, mall.oil), member)
    report = services.reconciliation(tree.community_a)
    rows = {row.name: row for row in report["rows"]}
    assert set(rows) == {"大米 5kg", "菜籽油"}  # the street canteen's meal is offered street-wide, not here
    rice, oil = rows["大米 5kg"], rows["菜籽油"]
    assert (rice.stock, rice.n_frozen, rice.n_verified, rice.points_frozen, rice.points_spent) == (8, 1, 1, 100, 100)
    assert (oil.stock, oil.n_refunded, oil.n_cancelled, oil.points_refunded, oil.points_spent) == (4, 1, 1, 60, 0)
    assert waiting.pk and report["totals"]["points_frozen"] == 100 and report["totals"]["n_verified"] == 1
    street = services.reconciliation(tree.street_a)
    assert {row.name for row in street["rows"]} == {"大米 5kg", "菜籽油", "午餐券"}
    assert services.reconciliation(tree.community_a, year=2020, month=1)["totals"]["n_frozen"] == 0
