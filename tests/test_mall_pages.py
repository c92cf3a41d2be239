"""The mall's pages: the member's mall, item, orders and code; the merchant's verify screen and statement;
the staff's mall admin. Scope (out of scope: 404), the nav entries, and query counts of every list."""

import io
import re

import openpyxl
import pytest
from django.urls import reverse

from fengchao.audit.models import AuditEvent
from fengchao.mall import services
from fengchao.mall.models import Item, Merchant, Order, OrderState
from fengchao.points import ledger
from tests.mall_factories import PNG, build_mall, grant
from tests.page_client import count_queries, html, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def mall(tree):
    return build_mall(tree, with_picture=True)


@pytest.fixture
def member(tree):
    user = tree.users["microgrid_member"]
    grant(user, 1000)
    return user


def order_for(user, item, **kw):
    return services.place_order(user, item, **kw)


# ---- the member's mall -----------------------------------------------------------------------------------------


def test_the_mall_lists_what_is_offered_where_the_member_serves(client, tree, mall, member):
    login(client, tree, "microgrid_member")
    page = html(client, reverse("mall:home"))
    for item in (mall.rice, mall.oil, mall.meal):
        assert f'id="item-{item.pk}"' in page
    assert f'id="item-{mall.eggs.pk}"' not in page
    assert 'id="balance-available">1000<' in page
    assert f'src="/mall/items/{mall.rice.pk}/picture"' in page
    rice_only = html(client, reverse("mall:home") + "?category=rice")
    assert f'id="item-{mall.rice.pk}"' in rice_only and f'id="item-{mall.oil.pk}"' not in rice_only


def test_item_page_and_picture(client, tree, mall, member):
    login(client, tree, "microgrid_member")
    page = html(client, reverse("mall:item", args=[mall.rice.pk]))
    assert "大米 5kg" in page and 'id="order-button"' in page and "和美路1号" in page
    response = client.get(reverse("mall:picture", args=[mall.rice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert client.get(reverse("mall:picture", args=[mall.oil.pk])).status_code == 404  # no picture


@pytest.mark.parametrize("who", ["outsider_microgrid_member", "outsider_community_staff", "outsider_merchant"])
def test_items_out_of_scope_are_404(client, tree, mall, who):
    login(client, tree, who)
    for name in ("mall:item", "mall:picture"):
        assert client.get(reverse(name, args=[mall.rice.pk])).status_code == 404
    assert client.post(reverse("mall:order_item", args=[mall.rice.pk])).status_code == 404


def test_people_without_a_role_find_no_mall(client, tree, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(reverse("mall:home")).status_code == 404
    assert client.get(reverse("mall:verify")).status_code == 404
    assert client.get(reverse("mall:merchants")).status_code == 404
    client.logout()
    assert client.get(reverse("mall:home")).status_code == 302  # to the login page


def test_ordering_shows_the_code_and_its_qr(client, tree, mall, member):
    login(client, tree, "microgrid_member")
    url = reverse("mall:order_item", args=[mall.rice.pk])
    response = client.post(url, {"quantity": "2", "idempotency_key": "form-1"})
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == reverse("mall:order", args=[order.pk])
    again = client.post(url, {"quantity": "2", "idempotency_key": "form-1"})  # a double tap
    assert again.url == response.url and Order.objects.count() == 1
    page = html(client, response.url)
    assert f'id="order-code">{order.code}<' in page
    qr = re.search(r'id="order-qr" src="([^"]+)"', page).group(1)
    assert qr.startswith("data:image/svg+xml")
    assert f"Ordered: show the code {order.code}" in page
    mine = html(client, reverse("mall:orders"))
    assert order.code in mine and 'id="balance-available">800<' in mine


def test_qr_points_at_the_verify_url(client, tree, mall, member):
    from fengchao.mall.views.common import verify_path

    order = order_for(member, mall.rice)
    assert verify_path(order.code) == f"/mall/verify/?code={order.code}"


def test_a_refused_order_says_why_on_the_item_page(client, tree, mall, member):
    login(client, tree, "microgrid_member")
    response = client.post(reverse("mall:order_item", args=[mall.rice.pk]), {"quantity": "3"}, follow=True)
    assert "At most 2 of" in response.content.decode() and not Order.objects.exists()
    poor = tree.users["grid_leader"]
    client.force_login(poor)
    response = client.post(reverse("mall:order_item", args=[mall.rice.pk]), {"quantity": "1"}, follow=True)
    assert "this needs 100, you have 0 available" in response.content.decode()


def test_orders_of_others_are_404_and_only_the_member_sees_the_code(client, tree, mall, member):
    order = order_for(member, mall.rice)
    url = reverse("mall:order", args=[order.pk])
    for who in ("grid_leader", "outsider_merchant", "outsider_community_staff", "resident"):
        login(client, tree, who)
        assert client.get(url).status_code == 404, who
        assert client.post(reverse("mall:cancel", args=[order.pk])).status_code == 404
    for who in ("merchant", "community_staff", "street_staff"):
        login(client, tree, who)
        page = html(client, url)
        assert order.code not in page and 'id="order-qr"' not in page, who


def test_the_member_cancels(client, tree, mall, member):
    order = order_for(member, mall.rice)
    login(client, tree, "microgrid_member")
    response = client.post(reverse("mall:cancel", args=[order.pk]), follow=True)
    assert "100 points are back" in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED and ledger.balance(member.pk, "task") == 1000


# ---- the merchant -------------------------------------------------------------------------------------------


def test_verify_from_the_qr_url_asks_then_verifies(client, tree, mall, member):
    order = order_for(member, mall.rice)
    login(client, tree, "merchant")
    page = html(client, f"/mall/verify/?code={order.code}")
    assert 'id="verify-confirm"' in page and "大米 5kg" in page
    assert "microgrid_member" not in page  # the member's name is masked
    assert Order.objects.get().state == OrderState.FROZEN  # a GET changes nothing
    response = client.post(reverse("mall:verify"), {"code": order.code}, follow=True)
    page = response.content.decode()
    assert "Verified: 大米 5kg ×1, 100 points." in page
    assert f'data-order="{order.pk}"' in page  # today's redemptions
    order.refresh_from_db()
    assert order.state == OrderState.VERIFIED and order.verified_by == tree.users["merchant"]
    again = html(client, f"/mall/verify/?code={order.code}")
    assert "already verified at" in again and 'id="verify-confirm"' not in again


def test_a_second_verification_is_refused_on_the_page(client, tree, mall, member):
    order = order_for(member, mall.rice)
    login(client, tree, "merchant")
    client.post(reverse("mall:verify"), {"code": order.code})
    response = client.post(reverse("mall:verify"), {"code": order.code}, follow=True)
    assert "already verified at" in response.content.decode()
    assert AuditEvent.objects.filter(action="mall.order_verified").count() == 1


def test_other_merchants_do_not_find_the_code(client, tree, mall, member):
    order = order_for(member, mall.rice)
    login(client, tree, "outsider_merchant")
    page = html(client, f"/mall/verify/?code={order.code}")
    assert "No order with the code" in page and 'id="verify-confirm"' not in page
    client.post(reverse("mall:verify"), {"code": order.code})
    assert Order.objects.get().state == OrderState.FROZEN
    login(client, tree, "microgrid_member")  # members do not verify
    assert client.get(reverse("mall:verify")).status_code == 404


def test_refund_from_the_order_page(client, tree, mall, member):
    order = order_for(member, mall.rice)
    services.verify_order(order.code, tree.users["merchant"])
    login(client, tree, "merchant")
    page = html(client, reverse("mall:order", args=[order.pk]))
    assert 'id="refund-form"' in page
    response = client.post(reverse("mall:refund", args=[order.pk]), {"reason": "米受潮"}, follow=True)
    assert "100 points went back" in response.content.decode()
    assert Order.objects.get().state == OrderState.REFUNDED
    login(client, tree, "outsider_merchant")
    assert client.post(reverse("mall:refund", args=[order.pk]), {"reason": "x"}).status_code == 404


def test_statement_page_and_xlsx(client, tree, mall, member):
    order = order_for(member, mall.rice)
    services.verify_order(order.code, tree.users["merchant"])
    login(client, tree, "merchant")
    response = client.get(reverse("mall:my_statement"))
    assert response.status_code == 302 and response.url == reverse("mall:statement", args=[mall.shop.pk])
    page = html(client, response.url)
    assert 'id="statement-count">1<' in page and 'id="statement-net">100<' in page and order.code in page
    xlsx = client.get(reverse("mall:statement_xlsx", args=[mall.shop.pk]))
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    summary, orders = book.worksheets
    assert summary["B1"].value == "和美爱心超市" and summary["B3"].value == 1
    assert [c.value for c in orders[2]][:4] == [order.code, "大米 5kg", 1, 100]
    # Another merchant's statement is out of reach.
    assert client.get(reverse("mall:statement", args=[mall.other.pk])).status_code == 404
    login(client, tree, "community_staff")
    assert client.get(reverse("mall:statement", args=[mall.shop.pk])).status_code == 200
    assert client.get(reverse("mall:statement", args=[mall.other.pk])).status_code == 404


# ---- mall admin ---------------------------------------------------------------------------------------------


def test_staff_create_and_edit_a_merchant(client, tree, mall):
    login(client, tree, "community_staff")
    page = html(client, reverse("mall:merchant_new"))
    assert tree.community_a.name in page and tree.community_b.name not in page
    response = client.post(
        reverse("mall:merchant_new"), {"area": tree.community_a.pk, "name": "和美小厨", "kind": "restaurant"}
    )
    merchant = Merchant.objects.get(name="和美小厨")
    assert response.url == reverse("mall:merchant", args=[merchant.pk])
    bad = client.post(reverse("mall:merchant_new"), {"area": tree.community_b.pk, "name": "x", "kind": "grocery"})
    assert bad.status_code == 200 and not Merchant.objects.filter(name="x").exists()
    url = reverse("mall:merchant_edit", args=[merchant.pk])
    client.post(url, {"name": "和美小厨(二店)", "kind": "restaurant", "version": 1})
    merchant.refresh_from_db()
    assert merchant.name == "和美小厨(二店)" and merchant.version == 2
    stale = client.post(url, {"name": "旧名", "kind": "restaurant", "version": 1})
    assert "Someone else changed this record" in stale.content.decode()
    merchant.refresh_from_db()
    assert merchant.name == "和美小厨(二店)"


def test_staff_link_users_and_deactivate(client, tree, mall, member):
    order = order_for(member, mall.rice)
    login(client, tree, "community_staff")
    url = reverse("mall:merchant_users", args=[mall.shop.pk])
    client.post(url, {"unlink": tree.users["merchant"].pk})
    assert not mall.shop.users.exists()
    page = html(client, reverse("mall:merchant", args=[mall.shop.pk]))
    assert f'<option value="{tree.users["merchant"].pk}">' in page
    client.post(url, {"link": tree.users["merchant"].pk})
    assert mall.shop.users.count() == 1
    response = client.post(url, {"link": tree.users["microgrid_member"].pk}, follow=True)
    assert "merchant role" in response.content.decode() and mall.shop.users.count() == 1
    client.post(reverse("mall:merchant_active", args=[mall.shop.pk]), {"active": "0", "reason": "歇业"})
    mall.shop.refresh_from_db()
    order.refresh_from_db()
    assert not mall.shop.is_active and order.state == OrderState.CANCELLED
    client.post(reverse("mall:merchant_active", args=[mall.shop.pk]), {"active": "1"})
    mall.shop.refresh_from_db()
    assert mall.shop.is_active


def test_staff_create_edit_and_restock_items(client, tree, mall):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, tree, "community_staff")
    new_url = reverse("mall:item_new") + f"?merchant={mall.shop.pk}"
    assert "和美爱心超市" in html(client, new_url)
    data = {"area": tree.community_a.pk, "name": "苹果", "category": "fruit", "price": "30", "stock": "12"}
    data["is_active"] = "on"
    response = client.post(new_url, {**data, "picture": SimpleUploadedFile("a.png", PNG, "image/png")})
    apple = Item.objects.get(name="苹果")
    assert response.status_code == 302 and apple.stock == 12 and apple.picture
    fake = SimpleUploadedFile("b.png", b"GIF89a not a png", "image/png")
    refused = client.post(new_url, {**data, "name": "梨", "picture": fake})
    assert refused.status_code == 200 and "is not a JPEG, PNG or WebP photo" in refused.content.decode()
    edit = reverse("mall:item_edit", args=[apple.pk])
    page = html(client, edit)
    assert 'name="stock"' not in page and 'id="current-picture"' in page
    client.post(edit, {**data, "price": "35", "version": apple.version, "remove_picture": "on"})
    apple.refresh_from_db()
    assert apple.price == 35 and not apple.picture and apple.stock == 12
    client.post(reverse("mall:restock", args=[apple.pk]), {"delta": "-2", "reason": "损耗"})
    apple.refresh_from_db()
    assert apple.stock == 10
    response = client.post(reverse("mall:restock", args=[apple.pk]), {"delta": "-11"}, follow=True)
    assert "Only 10 in stock" in response.content.decode()
    assert client.get(reverse("mall:item_new") + f"?merchant={mall.other.pk}").status_code == 404
    assert client.get(reverse("mall:item_edit", args=[mall.eggs.pk])).status_code == 404
    assert client.post(reverse("mall:restock", args=[mall.eggs.pk]), {"delta": "1"}).status_code == 404


@pytest.mark.parametrize("who", ["outsider_community_staff", "outsider_street_staff"])
def test_mall_admin_of_another_street_is_404(client, tree, mall, who):
    login(client, tree, who)
    for url in (
        reverse("mall:merchant", args=[mall.shop.pk]),
        reverse("mall:merchant_edit", args=[mall.shop.pk]),
        reverse("mall:item_edit", args=[mall.rice.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("mall:merchant_users", args=[mall.shop.pk]),
        reverse("mall:merchant_active", args=[mall.shop.pk]),
    ):
        assert client.post(url, {"active": "0", "unlink": tree.users["merchant"].pk}).status_code == 404
    page = html(client, reverse("mall:merchants"))
    assert "和美爱心超市" not in page and "致强便民店" in page


@pytest.mark.parametrize("who", ["microgrid_member", "grid_leader", "merchant", "resident"])
def test_mall_admin_is_for_staff_only(client, tree, mall, who):
    login(client, tree, who)
    for name in ("mall:merchants", "mall:items", "mall:manage_orders", "mall:report", "mall:merchant_new"):
        assert client.get(reverse(name)).status_code == 404, name


def test_orders_and_reconciliation_pages(client, tree, mall, member):
    order = order_for(member, mall.rice)
    services.verify_order(order.code, tree.users["merchant"])
    order_for(member, mall.oil)
    login(client, tree, "street_staff")
    page = html(client, reverse("mall:manage_orders"))
    assert f'data-order="{order.pk}"' in page and order.code not in page
    verified_only = html(client, reverse("mall:manage_orders") + "?state=frozen")
    assert f'data-order="{order.pk}"' not in verified_only
    report = html(client, reverse("mall:report") + f"?area={tree.community_a.pk}")
    assert f'data-item="{mall.rice.pk}"' in report and f'data-item="{mall.meal.pk}"' not in report
    xlsx = client.get(reverse("mall:report_xlsx") + f"?area={tree.community_a.pk}")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    names = [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert "大米 5kg" in names and "菜籽油" in names
    assert client.get(reverse("mall:report") + f"?area={tree.community_b.pk}").status_code == 404
    assert client.get(reverse("mall:report_xlsx") + f"?area={tree.community_b.pk}").status_code == 404


def test_nav_entries(client, tree, mall):
    login(client, tree, "microgrid_member")
    page = html(client, reverse("home"))
    assert 'href="/mall/"' in page and 'href="/mall/manage/"' not in page
    login(client, tree, "community_staff")
    page = html(client, reverse("home"))
    assert 'href="/mall/"' in page and 'href="/mall/manage/"' in page
    login(client, tree, "merchant")
    assert 'href="/mall/verify/"' in html(client, reverse("mall:home"))


# ---- query counts: constant in the number of rows -------------------------------------------------------------


def _more_items(tree, mall, n):
    staff = tree.users["community_staff"]
    for i in range(n):
        services.create_item(by=staff, merchant=mall.shop, name=f"商品{i}", category="daily", price=10 + i, stock=9)


def test_member_lists_do_not_grow(client, tree, mall, member, django_assert_max_num_queries):
    login(client, tree, "microgrid_member")
    grant(member, 10_000)
    order_for(member, mall.oil)
    few_home = count_queries(client, reverse("mall:home"))
    few_orders = count_queries(client, reverse("mall:orders"))
    _more_items(tree, mall, 8)
    for item in Item.objects.filter(name__startswith="商品"):
        order_for(member, item)
    with django_assert_max_num_queries(few_home):
        client.get(reverse("mall:home"))
    with django_assert_max_num_queries(few_orders):
        client.get(reverse("mall:orders"))


def test_merchant_lists_do_not_grow(client, tree, mall, member, django_assert_max_num_queries):
    grant(member, 10_000)
    login(client, tree, "merchant")
    services.verify_order(order_for(member, mall.oil).code, tree.users["merchant"])
    few_verify = count_queries(client, reverse("mall:verify"))
    few_statement = count_queries(client, reverse("mall:statement", args=[mall.shop.pk]))
    _more_items(tree, mall, 8)
    for item in Item.objects.filter(name__startswith="商品"):
        services.verify_order(order_for(member, item).code, tree.users["merchant"])
    with django_assert_max_num_queries(few_verify):
        client.get(reverse("mall:verify"))
    with django_assert_max_num_queries(few_statement):
        client.get(reverse("mall:statement", args=[mall.shop.pk]))


def test_staff_lists_do_not_grow(client, tree, mall, member, django_assert_max_num_queries):
    grant(member, 10_000)
    login(client, tree, "community_staff")
    order_for(member, mall.oil)
    urls = [
        reverse("mall:merchants"),
        reverse("mall:items"),
        reverse("mall:manage_orders"),
        reverse("mall:report"),
        reverse("mall:merchant", args=[mall.shop.pk]),
    ]
    few = {url: count_queries(client, url) for url in urls}
    _more_items(tree, mall, 8)
    staff = tree.users["community_staff"]
    for i in range(5):
        services.create_merchant(by=staff, area=tree.community_a, name=f"店{i}", kind="grocery")
    for item in Item.objects.filter(name__startswith="商品"):
        order_for(member, item)
    for url, n in few.items():
        with django_assert_max_num_queries(n):
            client.get(url)
