"""The points mall on real phones (headless Chromium, 375 px, zh-CN): a member orders a bag of rice and gets
the code and its QR code; the merchant opens the QR's link with the phone camera, signs in, confirms the
verification; the member's points and the rice's stock show the change."""

import pytest
from playwright.sync_api import expect

from fengchao.mall.models import Order, OrderState
from fengchao.mall.views.common import qr_data_uri
from fengchao.points import ledger
from fengchao.points.choices import Purpose
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.factories import PASSWORD
from tests.mall_factories import build_mall, grant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def images_loaded(page, selector) -> bool:
    page.wait_for_function(
        # A function, not an expression: Playwright would eval an expression, which the page's CSP forbids.
        f"() => Array.from(document.querySelectorAll({selector!r})).every(i => i.complete && i.naturalWidth > 0)",
        timeout=10_000,
    )
    return True


def test_member_orders_rice_and_the_merchant_verifies_the_qr_code(browser, live_server, tree):  # noqa: F811
    mall = build_mall(tree, with_picture=True)
    member = tree.users["microgrid_member"]
    grant(member, 20, "participation")
    grant(member, 480, "task")

    with open_page(browser, **PHONE) as (phone, problems):
        log_in(phone, live_server.url, "microgrid_member", PASSWORD)
        # The menu has the mall; the mall shows the member's points and what is offered in their community.
        phone.click("button.navbar-toggler")
        with phone.expect_navigation():
            phone.click("#nav-mallhome")
        expect(phone.locator("#balance-available")).to_have_text("500")
        expect(phone.locator(f"#item-{mall.rice.pk}")).to_contain_text("大米 5kg")
        expect(phone.locator(f"#item-{mall.eggs.pk}")).to_have_count(0)  # street B's shop is not offered here
        assert images_loaded(phone, "img.item-picture")
        fits_the_screen(phone)
        screenshot(phone, "mall-home-phone")

        with phone.expect_navigation():
            phone.click(f"#item-{mall.rice.pk}")
        expect(phone.locator("#item-stock")).to_have_text("10")
        with phone.expect_navigation():
            phone.click("#order-button")
        order = Order.objects.get()
        code = phone.locator("#order-code").inner_text().strip()
        assert code == order.code and len(code) == 8
        verify_url = f"{live_server.url}/mall/verify/?code={code}"
        qr = phone.locator("#order-qr")
        assert images_loaded(phone, "#order-qr")
        assert qr.get_attribute("src") == qr_data_uri(verify_url)  # the QR code holds the verify link
        fits_the_screen(phone)
        screenshot(phone, "mall-order-code-phone")
        problems.collect_csp(phone)
        assert problems.errors == []

        # The merchant scans it: the phone camera opens the link, the merchant signs in and confirms.
        with open_page(browser, **PHONE) as (shop, shop_problems):
            shop.goto(verify_url)
            assert "/login/" in shop.url
            shop.fill("input[name=username]", "merchant")
            shop.fill("input[name=password]", PASSWORD)
            with shop.expect_navigation():
                shop.click("button[type=submit]")
            expect(shop.locator("#verify-order")).to_contain_text("大米 5kg")
            expect(shop.locator("#verify-code")).to_have_value(code)
            assert Order.objects.get().state == OrderState.FROZEN  # opening the link verifies nothing
            fits_the_screen(shop)
            screenshot(shop, "mall-verify-phone")
            with shop.expect_navigation():
                shop.click("#verify-confirm")
            expect(shop.locator(f"#today [data-order='{order.pk}']")).to_contain_text(code)
            expect(shop.locator("#verify-order")).to_have_count(0)
            fits_the_screen(shop)
            screenshot(shop, "mall-verified-phone")
            # Scanning the same code again says when it was verified.
            shop.goto(verify_url)
            expect(shop.locator("#verify-problem")).to_be_visible()
            expect(shop.locator("#verify-confirm")).to_have_count(0)
            shop_problems.collect_csp(shop)
            assert shop_problems.errors == []

        order.refresh_from_db()
        assert order.state == OrderState.VERIFIED and order.verified_by == tree.users["merchant"]
        assert ledger.balance(member.pk, "task", Purpose.FROZEN) == 0

        # Back on the member's phone: the order is verified, 100 points are gone, one bag less on the shelf.
        phone.goto(f"{live_server.url}/mall/orders/{order.pk}/")
        expect(phone.locator(".order-state")).to_have_attribute("data-state", "verified")
        expect(phone.locator("#order-code")).to_have_count(0)
        phone.goto(f"{live_server.url}/mall/")
        expect(phone.locator("#balance-available")).to_have_text("400")
        expect(phone.locator("[data-balance-kind=participation]")).to_have_text("0")
        expect(phone.locator("[data-balance-kind=task]")).to_have_text("400")
        expect(phone.locator("#balance-frozen")).to_have_count(0)
        phone.goto(f"{live_server.url}/mall/items/{mall.rice.pk}/")
        expect(phone.locator("#item-stock")).to_have_text("9")
        problems.collect_csp(phone)
        assert problems.errors == []


def test_staff_restock_on_the_merchant_page(browser, live_server, tree):  # noqa: F811
    mall = build_mall(tree)
    with open_page(browser) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}/mall/manage/")
        with page.expect_navigation():
            page.click(f"[data-merchant='{mall.shop.pk}'] a")
        row = page.locator(f"#merchant-items [data-item='{mall.oil.pk}']")
        expect(row.locator(".item-stock")).to_have_text("5")
        row.locator("input[name=delta]").fill("7")
        with page.expect_navigation():
            row.locator("button[type=submit]").click()
        expect(page.locator(f"#merchant-items [data-item='{mall.oil.pk}'] .item-stock")).to_have_text("12")
        page.goto(f"{live_server.url}/mall/manage/report/?area={tree.community_a.pk}")
        expect(page.locator(f"#report-rows [data-item='{mall.oil.pk}']")).to_contain_text("12")
        screenshot(page, "mall-report")
        problems.collect_csp(page)
        assert problems.errors == []
