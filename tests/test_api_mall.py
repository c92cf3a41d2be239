"""The points mall API: items offered to me, orders (idempotent), cancel, verify, redemptions, refunds,
statements; merchants, items and stock for staff; the reconciliation report. Scope, refusals, query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fengchao.mall import services
from fengchao.mall.models import Item, Merchant, Order, OrderState
from fengchao.points import ledger
from tests.api_client import fields_of, patch, post
from tests.mall_factories import PNG, build_mall, grant

pytestmark = pytest.mark.django_db

API = "/api/mall"


@pytest.fixture
def mall(tree):
    return build_mall(tree, with_picture=True)


@pytest.fixture
def member(tree):
    user = tree.users["microgrid_member"]
    grant(user, 30, "participation")
    grant(user, 1000, "task")
    return user


def test_openapi_lists_the_mall_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/mall/items",
        "/api/mall/orders",
        "/api/mall/orders/{order_id}/cancel",
        "/api/mall/verify",
        "/api/mall/redemptions",
        "/api/mall/merchants",
        "/api/mall/merchants/{merchant_id}/statement",
        "/api/mall/items/{item_id}/restock",
        "/api/mall/report",
    ):
        assert path in paths, path
    body = paths["/api/mall/items"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body and "picture" in body["multipart/form-data"]["schema"]["properties"]


def test_the_api_needs_a_sign_in(client, tree, mall):
    assert client.get(f"{API}/items").status_code == 401


# ---- the member -------------------------------------------------------------------------------------------------


def test_items_offered_to_me(as_, tree, mall, member):
    body = as_("microgrid_member").get(f"{API}/items").json()
    by_id = {row["id"]: row for row in body["items"]}
    assert set(by_id) == {mall.rice.pk, mall.oil.pk, mall.meal.pk}
    rice = by_id[mall.rice.pk]
    assert rice["price"] == 100 and rice["stock"] == 10 and rice["per_person_limit"] == 2 and rice["offered_to_me"]
    assert rice["category"]["code"] == "rice" and rice["merchant"]["name"] == "和美爱心超市"
    assert rice["picture_url"] == f"/api/mall/items/{mall.rice.pk}/picture"
    picture = as_("microgrid_member").get(rice["picture_url"])
    assert picture.status_code == 200 and b"".join(picture.streaming_content) == PNG
    only_meals = as_("microgrid_member").get(f"{API}/items?category=meal").json()["items"]
    assert [row["id"] for row in only_meals] == [mall.meal.pk]
    outsider = as_("outsider_microgrid_member").get(f"{API}/items").json()["items"]
    assert [row["id"] for row in outsider] == [mall.eggs.pk]
    assert as_("outsider_microgrid_member").get(f"{API}/items/{mall.rice.pk}").status_code == 404
    assert as_("outsider_microgrid_member").get(f"{API}/items/{mall.rice.pk}/picture").status_code == 404
    balance = as_("microgrid_member").get(f"{API}/balance").json()
    assert balance["available"] == 1030 and [k["kind"] for k in balance["kinds"]] == ["participation", "task"]


def test_place_an_order_and_retry_it(as_, tree, mall, member):
    api = as_("microgrid_member")
    first = post(api, f"{API}/orders", {"item": mall.rice.pk, "quantity": 2}, HTTP_IDEMPOTENCY_KEY="app-1")
    assert first.status_code == 201, first.content
    order = first.json()
    assert order["state"]["code"] == "frozen" and order["points"] == 200
    assert order["paid"] == {"participation": 30, "task": 170} and len(order["code"]) == 8 and order["mine"]
    assert order["verify_url"] == f"http://testserver/mall/verify/?code={order['code']}"
    again = post(api, f"{API}/orders", {"item": mall.rice.pk, "quantity": 2, "idempotency_key": "app-1"})
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert Order.objects.count() == 1 and ledger.balance(member.pk, "task") == 830
    mine = api.get(f"{API}/orders").json()["items"]
    assert [o["id"] for o in mine] == [order["id"]] and mine[0]["code"] == order["code"]


def test_order_refusals(as_, tree, mall, member):
    api = as_("microgrid_member")
    assert fields_of(post(api, f"{API}/orders", {"item": mall.rice.pk, "quantity": 3})) == {"quantity"}
    response = post(api, f"{API}/orders", {"item": mall.oil.pk, "quantity": 6})
    assert fields_of(response) == {"quantity"} and "Only 5" in response.json()["detail"][0]["msg"]
    poor = as_("grid_leader")
    response = post(poor, f"{API}/orders", {"item": mall.rice.pk})
    assert fields_of(response) == {"points"}
    assert "this needs 100, you have 0 available" in response.json()["detail"][0]["msg"]
    assert post(api, f"{API}/orders", {"item": mall.eggs.pk}).status_code == 404  # not visible
    # Street staff see the community's rice (their scope) but it is not offered to them: 403.
    assert post(as_("street_staff"), f"{API}/orders", {"item": mall.rice.pk}).status_code == 403
    assert post(api, f"{API}/orders", {"item": mall.rice.pk, "quantity": 0}).status_code == 422
    assert post(api, f"{API}/orders", {"quantity": 1}).status_code == 422
    assert not Order.objects.exists()


def test_cancel_my_order(as_, tree, mall, member):
    api = as_("microgrid_member")
    order = post(api, f"{API}/orders", {"item": mall.rice.pk}).json()
    assert post(as_("merchant"), f"{API}/orders/{order['id']}/cancel").status_code == 403
    assert post(as_("outsider_merchant"), f"{API}/orders/{order['id']}/cancel").status_code == 404
    done = post(api, f"{API}/orders/{order['id']}/cancel")
    assert done.status_code == 200 and done.json()["state"]["code"] == "cancelled"
    again = post(api, f"{API}/orders/{order['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    assert ledger.balance(member.pk, "task") == 1000


# ---- the merchant ---------------------------------------------------------------------------------------------------


def test_verify_once_then_409(as_, tree, mall, member):
    order = post(as_("microgrid_member"), f"{API}/orders", {"item": mall.rice.pk}).json()
    shop = as_("merchant")
    seen = shop.get(f"{API}/orders/{order['id']}").json()
    assert seen["code"] is None and seen["verify_url"] is None and not seen["mine"]
    assert post(as_("microgrid_member"), f"{API}/verify", {"code": order["code"]}).status_code == 403
    assert fields_of(post(as_("outsider_merchant"), f"{API}/verify", {"code": order["code"]})) == {"code"}
    done = post(shop, f"{API}/verify", {"code": order["code"]})
    assert done.status_code == 200 and done.json()["state"]["code"] == "verified"
    assert done.json()["code"] == order["code"]  # used now: the merchant may see it
    again = post(shop, f"{API}/verify", {"code": order["code"]})
    assert again.status_code == 409 and "already verified at" in again.json()["detail"]
    assert fields_of(post(shop, f"{API}/verify", {"code": "12"})) == {"code"}


def test_redemptions_and_refund(as_, tree, mall, member):
    api = as_("microgrid_member")
    orders = [post(api, f"{API}/orders", {"item": item.pk}).json() for item in (mall.rice, mall.oil)]
    shop = as_("merchant")
    for order in orders:
        post(shop, f"{API}/verify", {"code": order["code"]})
    rows = shop.get(f"{API}/redemptions").json()["items"]
    assert [r["id"] for r in rows] == [orders[1]["id"], orders[0]["id"]]
    assert as_("outsider_merchant").get(f"{API}/redemptions").json()["items"] == []
    assert shop.get(f"{API}/redemptions?date=2020-01-01").json()["items"] == []
    assert fields_of(post(shop, f"{API}/orders/{orders[0]['id']}/refund", {"reason": ""})) == {"reason"}
    assert post(as_("outsider_merchant"), f"{API}/orders/{orders[0]['id']}/refund", {"reason": "x"}).status_code == 404
    refunded = post(shop, f"{API}/orders/{orders[0]['id']}/refund", {"reason": "坏了"})
    assert refunded.status_code == 200 and refunded.json()["state"]["code"] == "refunded"
    assert post(shop, f"{API}/orders/{orders[0]['id']}/refund", {"reason": "again"}).status_code == 409


def test_statement(as_, tree, mall, member):
    api = as_("microgrid_member")
    order = post(api, f"{API}/orders", {"item": mall.rice.pk}).json()
    post(as_("merchant"), f"{API}/verify", {"code": order["code"]})
    body = as_("merchant").get(f"{API}/merchants/{mall.shop.pk}/statement").json()
    assert body["count"] == 1 and body["spent"] == 100 and body["net"] == 100
    kinds = {k["kind"]: k for k in body["by_kind"]}
    assert kinds["participation"]["spent"] == 30 and kinds["task"]["spent"] == 70
    assert body["by_item"] == [
        {"item": {"id": mall.rice.pk, "name": "大米 5kg"}, "orders": 1, "quantity": 1, "points": 100}
    ]
    assert as_("outsider_merchant").get(f"{API}/merchants/{mall.shop.pk}/statement").status_code == 404
    assert as_("merchant").get(f"{API}/merchants/{mall.shop.pk}/statement?month=13").status_code == 422


# ---- staff: merchants, items, stock, report -------------------------------------------------------------------------


def test_merchant_crud(as_, tree, mall):
    staff = as_("community_staff")
    body = {"area": tree.community_a.pk, "name": "和美面馆", "kind": "restaurant", "users": [tree.users["merchant"].pk]}
    created = post(staff, f"{API}/merchants", body)
    assert created.status_code == 201, created.content
    merchant = created.json()
    assert merchant["version"] == 1 and [u["username"] for u in merchant["users"]] == ["merchant"]
    assert post(as_("merchant"), f"{API}/merchants", body).status_code == 403
    assert post(staff, f"{API}/merchants", {**body, "area": tree.community_b.pk, "users": []}).status_code == 403
    assert fields_of(post(staff, f"{API}/merchants", {**body, "users": [tree.users["grid_leader"].pk]})) == {"user"}
    assert fields_of(post(staff, f"{API}/merchants", {**body, "kind": "bank"})) == {"kind"}
    url = f"{API}/merchants/{merchant['id']}"
    changed = patch(staff, url, {"phone": "028-1234567", "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.json()["name"] == "和美面馆"
    assert patch(staff, url, {"name": "旧", "version": 1}).status_code == 409
    assert as_("outsider_community_staff").get(url).status_code == 404
    assert patch(as_("outsider_community_staff"), url, {"name": "x"}).status_code == 404
    unlinked = staff.delete(f"{url}/users/{tree.users['merchant'].pk}")
    assert unlinked.status_code == 200 and unlinked.json()["users"] == []
    assert post(staff, f"{url}/users", {"user": tree.users["merchant"].pk}).json()["users"][0]["username"] == "merchant"
    off = post(staff, f"{url}/deactivate", {"reason": "装修"})
    assert off.status_code == 200 and not off.json()["is_active"]
    assert post(staff, f"{url}/deactivate", {}).status_code == 409
    assert post(staff, f"{url}/reactivate").json()["is_active"]
    listed = {m["id"] for m in staff.get(f"{API}/merchants").json()["items"]}
    assert listed == {mall.shop.pk, merchant["id"]}
    assert {m["id"] for m in as_("merchant").get(f"{API}/merchants").json()["items"]} == {mall.shop.pk, merchant["id"]}


def test_item_crud_and_restock(as_, tree, mall):
    staff = as_("community_staff")
    created = post(staff, f"{API}/items", {"merchant": mall.shop.pk, "name": "牛奶", "category": "daily", "price": 15})
    assert created.status_code == 201, created.content
    milk = created.json()
    assert milk["stock"] == 0 and milk["area"]["id"] == tree.community_a.pk and milk["picture_url"] is None
    upload = staff.post(
        f"{API}/items",
        {
            "merchant": str(mall.shop.pk),
            "name": "面粉",
            "category": "rice",
            "price": "40",
            "stock": "3",
            "picture": SimpleUploadedFile("f.png", PNG, content_type="image/png"),
        },
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["picture_url"] and upload.json()["stock"] == 3
    bad = staff.post(
        f"{API}/items",
        {
            "merchant": str(mall.shop.pk),
            "name": "x",
            "category": "rice",
            "price": "1",
            "picture": SimpleUploadedFile("f.png", b"MZ\x90\x00", content_type="image/png"),
        },
    )
    assert fields_of(bad) == {"picture"}
    assert fields_of(post(staff, f"{API}/items", {"merchant": mall.shop.pk, "name": "x", "category": "x", "price": 1}))
    assert (
        post(
            staff, f"{API}/items", {"merchant": mall.other.pk, "name": "x", "category": "meat", "price": 1}
        ).status_code
        == 404
    )
    url = f"{API}/items/{milk['id']}"
    changed = patch(staff, url, {"price": 18, "per_person_limit": 3, "version": milk["version"]})
    assert changed.status_code == 200 and changed.json()["price"] == 18 and changed.json()["per_person_limit"] == 3
    assert patch(staff, url, {"price": 1, "version": milk["version"]}).status_code == 409
    assert patch(staff, url, {"per_person_limit": 0}).json()["per_person_limit"] is None
    assert fields_of(patch(staff, url, {"area": tree.community_b.pk})) == {"area"}
    restocked = post(staff, f"{url}/restock", {"delta": 20, "reason": "进货"})
    assert restocked.status_code == 200 and restocked.json()["stock"] == 20
    assert fields_of(post(staff, f"{url}/restock", {"delta": -21})) == {"delta"}
    assert post(as_("merchant"), f"{url}/restock", {"delta": 1}).status_code == 404
    assert post(as_("outsider_community_staff"), f"{url}/restock", {"delta": 1}).status_code == 404
    assert Item.objects.get(pk=milk["id"]).stock == 20
    items = as_("merchant").get(f"{API}/merchants/{mall.shop.pk}/items").json()["items"]
    assert {i["name"] for i in items} == {"大米 5kg", "菜籽油", "牛奶", "面粉"}


def test_reconciliation_report(as_, tree, mall, member):
    order = post(as_("microgrid_member"), f"{API}/orders", {"item": mall.rice.pk}).json()
    staff = as_("street_staff")
    body = staff.get(f"{API}/report?area={tree.community_a.pk}").json()
    rows = {r["item"]["name"]: r for r in body["rows"]}
    assert (
        rows["大米 5kg"]["frozen"] == 1 and rows["大米 5kg"]["points_frozen"] == 100 and rows["大米 5kg"]["stock"] == 9
    )
    assert body["totals"]["points_frozen"] == 100 and order["id"]
    assert staff.get(f"{API}/report?area={tree.community_b.pk}").status_code == 404
    assert as_("merchant").get(f"{API}/report?area={tree.community_a.pk}").status_code == 404
    assert staff.get(f"{API}/report?area={tree.community_a.pk}&year=2026").status_code == 422
    assert staff.get(f"{API}/report?area={tree.community_a.pk}&year=2020&month=1").json()["totals"]["n_frozen"] == 0


def test_merchant_orders_hide_waiting_codes(as_, tree, mall, member):
    waiting = post(as_("microgrid_member"), f"{API}/orders", {"item": mall.rice.pk}).json()
    rows = as_("merchant").get(f"{API}/merchants/{mall.shop.pk}/orders").json()["items"]
    assert [(r["id"], r["code"]) for r in rows] == [(waiting["id"], None)]
    rows = as_("community_staff").get(f"{API}/merchants/{mall.shop.pk}/orders?state=frozen").json()["items"]
    assert [r["code"] for r in rows] == [None]
    assert as_("outsider_community_staff").get(f"{API}/merchants/{mall.shop.pk}/orders").status_code == 404
    assert as_("outsider_merchant").get(f"{API}/orders/{waiting['id']}").status_code == 404


# ---- lists: every row once, queries constant in the page size --------------------------------------------------------


def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_walk_every_row_and_do_not_grow(as_, tree, mall, member):
    grant(member, 100_000)
    staff_user = tree.users["community_staff"]
    for i in range(12):
        item = services.create_item(
            by=staff_user, merchant=mall.shop, name=f"商品{i}", category="daily", price=5, stock=5
        )
        order = services.place_order(member, item)
        if i % 2:
            services.verify_order(order.code, tree.users["merchant"])
    for i in range(6):
        services.create_merchant(by=staff_user, area=tree.community_a, name=f"店{i}", kind="grocery")
    cases = [
        ("microgrid_member", f"{API}/items", Item.objects.filter(is_active=True, area=tree.community_a).count() + 1),
        ("microgrid_member", f"{API}/orders", 12),
        ("merchant", f"{API}/redemptions", 6),
        ("merchant", f"{API}/merchants/{mall.shop.pk}/orders", 12),
        ("merchant", f"{API}/merchants/{mall.shop.pk}/items", 14),
        ("community_staff", f"{API}/merchants", 7),
    ]
    for who, url, total in cases:
        api = as_(who)
        seen, cursor = [], None
        while True:
            page = api.get(url + "?limit=5" + (f"&cursor={cursor}" if cursor else "")).json()
            seen += [row["id"] for row in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == total, (url, len(seen), total)
        small, large = _queries(api, url + "?limit=2"), _queries(api, url + "?limit=50")
        assert large <= small, (url, small, large)


def test_bad_cursor_is_422(as_, tree, mall):
    assert as_("microgrid_member").get(f"{API}/orders?cursor=nonsense").status_code == 422


def test_deactivated_merchant_items_leave_the_list(as_, tree, mall, member):
    services.deactivate_merchant(mall.shop, by=tree.users["community_staff"])
    ids = {row["id"] for row in as_("microgrid_member").get(f"{API}/items").json()["items"]}
    assert ids == {mall.meal.pk}
    assert Merchant.objects.get(pk=mall.shop.pk).is_active is False and OrderState.FROZEN


# ---- every role against an item and an order of community A ---------------------------------------------------------

SEES_RICE = {
    # offered where they hold a role (community A or below)
    "community_staff": True,
    "grid_leader": True,
    "microgrid_leader": True,
    "microgrid_member": True,
    "dedicated_leader": True,
    "merchant": True,
    "resident": True,
    # mall staff above it see it, though it is not offered to them
    "street_staff": True,
    "district_admin": True,
    # roles held at the street that are not mall staff: the street's mall only
    "department_handler": False,
    "auditor": False,
}
SEES_ORDER = {"microgrid_member", "merchant", "community_staff", "street_staff", "district_admin"}


def test_access_matrix(as_, tree, mall, member):
    order = post(as_("microgrid_member"), f"{API}/orders", {"item": mall.rice.pk}).json()
    for who in tree.users:
        api = as_(who)
        item_status = api.get(f"{API}/items/{mall.rice.pk}").status_code
        assert item_status == (200 if SEES_RICE.get(who, False) else 404), (who, item_status)
        order_status = api.get(f"{API}/orders/{order['id']}").status_code
        assert order_status == (200 if who in SEES_ORDER else 404), (who, order_status)
        merchant_status = api.get(f"{API}/merchants/{mall.shop.pk}").status_code
        sees_shop = who in {"merchant", "community_staff", "street_staff", "district_admin"}
        assert merchant_status == (200 if sees_shop else 404), (who, merchant_status)
