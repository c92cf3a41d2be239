"""What a person sees in headless Chromium: a community worker on their community's map, a resident on 亮身份."""

import pytest

from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.factories import PASSWORD, first_micro

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def test_community_worker_opens_their_community_on_the_map(browser, live_server, tree):  # noqa: F811
    with open_page(browser) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.get_by_role("link", name="和美社区").first.click()
        page.wait_for_selector("#area-map .leaflet-interactive")
        assert page.locator("h1").inner_text() == "和美社区"
        children = page.locator("#children-table tbody tr").count()
        assert children == 3
        assert page.locator("#area-map path.leaflet-interactive").count() >= children + 1
        labels = page.locator("#area-map .leaflet-tooltip").all_inner_texts()
        assert {"和美一网格", "和美二网格", "和美医院专属网格"} <= set(labels)
        assert "community_staff" in page.locator("#members").inner_text()
        # the interface itself speaks Simplified Chinese to a browser asking for zh-CN
        assert "区域" in page.locator("nav.navbar").inner_text()
        assert "下级区域" in page.content() and "职责清单" in page.content()
        # a polygon on the map leads to that grid's page
        label = page.locator("#area-map .leaflet-tooltip", has_text="和美二网格").bounding_box()
        page.mouse.click(label["x"] + label["width"] / 2, label["y"] + label["height"] + 8)
        page.wait_for_url(f"**/areas/{tree.grid_a2.pk}/")
        assert page.locator("h1").inner_text() == "和美二网格"
        screenshot(page, "area-page-desktop")
        problems.collect_csp(page)
        assert problems.errors == []


def test_resident_opens_the_qr_page_without_logging_in(browser, live_server, tree):  # noqa: F811
    micro = first_micro(tree, tree.grid_a1)
    member = tree.users["microgrid_member"]
    with open_page(browser, viewport={"width": 375, "height": 740}) as (page, problems):
        page.goto(f"{live_server.url}/g/{micro.code}/")
        people = page.locator("#serving-people").inner_text()
        assert member.display_name in people and member.masked_phone in people
        assert member.phone not in page.content()
        assert page.locator("h1").inner_text() == micro.name
        assert "本楼服务人员" in page.content() and "拨打电话" in people
        screenshot(page, "public-page-phone")
        problems.collect_csp(page)
        assert problems.errors == []


def test_area_page_fits_a_phone_screen(browser, live_server, tree):  # noqa: F811
    with open_page(browser, viewport={"width": 375, "height": 740}, is_mobile=True) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}/areas/{tree.community_a.pk}/")
        page.wait_for_selector("#area-map .leaflet-interactive")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(page, "area-page-phone")
        problems.collect_csp(page)
        assert problems.errors == []
