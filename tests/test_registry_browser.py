"""The registry in headless Chromium: a member finds a resident on a phone, staff unmask with a reason, a building."""

import pytest
from playwright.sync_api import expect

from fengchao.registry.models import AccessLog, CareTag
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.factories import PASSWORD
from tests.registry_factories import build_registry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def reg(tree):
    # Transactional tests empty the tables after each test, seeded care tags included.
    CareTag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人", "position": 1})
    return build_registry(tree)


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_member_on_a_phone_finds_a_resident_by_initials(browser, live_server, tree, reg):  # noqa: F811
    zhang = reg.residents["zhang_san"]
    with open_page(browser, **PHONE) as (page, problems):
        log_in(page, live_server.url, "microgrid_member", PASSWORD)
        page.click(".navbar-toggler")
        page.get_by_role("link", name="Residents").or_(page.get_by_role("link", name="居民")).first.click()
        page.wait_for_selector("#resident-rows")
        fits_the_screen(page)
        page.fill("#filter-q", "zs")
        # the list narrows as the member types (htmx), without leaving the page
        expect(page.locator("#resident-rows .resident-name")).to_have_count(2)
        names = page.locator("#resident-rows .resident-name").all_inner_texts()
        assert set(names) == {"张三", "張四"}
        assert "zs" in page.url  # the address bar keeps the search, so back and reload work
        page.locator("#resident-rows a", has_text="张三").click()
        page.wait_for_url(f"**/registry/residents/{zhang.pk}/")
        assert page.locator("h1").inner_text() == "张三"
        body = page.content()
        assert zhang.masked_phone in body and zhang.phone not in body and zhang.id_number not in body
        assert page.locator("details.reveal").count() == 0  # members see masked values only
        assert "独居老人" in page.locator("#care-tags").inner_text()
        fits_the_screen(page)
        screenshot(page, "registry-resident-phone")
        problems.collect_csp(page)
        assert problems.errors == []


def test_community_staff_reveals_a_phone_with_a_reason(browser, live_server, tree, reg):  # noqa: F811
    zhang = reg.residents["zhang_san"]
    with open_page(browser) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}/registry/residents/{zhang.pk}/")
        box = page.locator(f"#sensitive-resident-{zhang.pk}")
        assert zhang.phone not in page.content()
        box.locator("summary").click()
        box.locator("input[name=reason]").fill("上门走访，核对联系电话")
        box.locator("button[type=submit]").click()
        page.wait_for_selector(f"#sensitive-resident-{zhang.pk} .revealed")
        shown = page.locator(f"#sensitive-resident-{zhang.pk}").inner_text()
        assert zhang.phone in shown and zhang.id_number in shown
        assert page.url.endswith(f"/registry/residents/{zhang.pk}/")  # in place, no navigation
        log = AccessLog.objects.get()
        assert log.reason == "上门走访，核对联系电话" and log.actor.username == "community_staff"
        # reloading shows masked values again: the full ones are never part of the page itself
        page.reload()
        assert zhang.phone not in page.content()
        screenshot(page, "registry-reveal-desktop")
        problems.collect_csp(page)
        assert problems.errors == []


def test_building_page_shows_rooms_and_residents(browser, live_server, tree, reg):  # noqa: F811
    building = reg.buildings["a"]
    with open_page(browser, **PHONE) as (page, problems):
        log_in(page, live_server.url, "grid_leader", PASSWORD)
        page.goto(f"{live_server.url}/registry/buildings/")
        page.locator("#building-rows a", has_text=building.name).click()
        page.wait_for_url(f"**/registry/buildings/{building.pk}/")
        room_101 = page.locator('[data-room="-101"]').inner_text()
        room_102 = page.locator('[data-room="-102"]').inner_text()
        assert "张三" in room_101 and "張四" in room_101 and reg.residents["zhang_san"].masked_phone in room_101
        assert "李梅" in room_102
        assert "13800000001" not in page.content()
        fits_the_screen(page)
        screenshot(page, "registry-building-phone")
        page.locator('[data-room="-102"] a', has_text="李梅").click()
        page.wait_for_url(f"**/registry/residents/{reg.residents['li_mei'].pk}/")
        problems.collect_csp(page)
        assert problems.errors == []
