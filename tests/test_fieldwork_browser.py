"""Field work on real phones (headless Chromium, 375 px, zh-CN): a micro-grid member opens today's page, visits the
elderly resident who is overdue and sees them leave the list; inspects a building, fails the e-bike charging item
with a camera photo and gets the hazard case; staff open the coverage map with the micro-grids drawn."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fengchao.inspections.models import Inspection
from fengchao.registry import services as registry
from fengchao.registry.models import CareTag, ResidentCareTag
from tests.browser import browser, log_in, open_page, reseed_reference_data, screenshot  # noqa: F401  (a fixture)
from tests.case_factories import photo
from tests.factories import PASSWORD, first_micro
from tests.registry_factories import build_registry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_member_visits_the_overdue_resident_and_inspects_a_building(browser, live_server, tree, tmp_path):  # noqa: F811
    reseed_reference_data()
    reg = build_registry(tree)
    household = registry.create_household(None, area=first_micro(tree, tree.grid_a1), address="和美路8号2单元301")
    elderly = registry.create_resident(
        None, household=household, name="王大爷", care_tags=list(CareTag.objects.filter(code="elderly_alone"))
    )
    ResidentCareTag.objects.filter(resident=elderly).update(since=timezone.localdate() - dt.timedelta(days=20))
    camera = Path(tmp_path) / "stairs.png"
    camera.write_bytes(photo().read())

    with open_page(browser, **PHONE) as (phone, problems):
        log_in(phone, live_server.url, "microgrid_member", PASSWORD)
        phone.click("button.navbar-toggler")
        with phone.expect_navigation():
            phone.click("#nav-todaytoday")
        visits = phone.locator("#today-visits")
        expect(visits).to_contain_text("王大爷")
        expect(phone.locator("#today-visit-overdue")).to_have_attribute("data-overdue", "1")
        fits_the_screen(phone)
        screenshot(phone, "today-phone")
        with phone.expect_navigation():
            visits.locator(".today-visit", has_text="王大爷").click()
        phone.fill("#id_findings", "老人精神不错，已提醒冬季用电安全")
        with phone.expect_navigation():
            phone.click("#visit-submit")
        with phone.expect_navigation():
            phone.goto(f"{live_server.url}/today/")
        expect(phone.locator("#today-visits")).not_to_contain_text("王大爷")

        with phone.expect_navigation():
            phone.goto(f"{live_server.url}/inspections/")
        with phone.expect_navigation():
            phone.locator("#my-targets a", has_text=reg.buildings["a"].name).click()
        expect(phone.locator("#inspect-form")).to_contain_text("消防安全排查")
        for item in phone.locator(".checklist-item").all():
            code = item.get_attribute("data-code")
            phone.check(f"#o_{code}_pass")
        expect(phone.locator("#p_ebike_charging")).to_be_hidden()  # the camera asks only on a failure
        phone.check("#o_ebike_charging_fail")
        expect(phone.locator("#p_ebike_charging")).to_be_visible()
        phone.set_input_files("#p_ebike_charging", str(camera))
        fits_the_screen(phone)
        screenshot(phone, "inspection-phone")
        with phone.expect_navigation():
            phone.click("#inspect-submit")
        expect(phone.locator("#inspection-state")).to_have_attribute("data-state", "open")
        problems.collect_csp(phone)
        assert problems.errors == []
    found = Inspection.objects.get()
    hazard = found.items.get(code="ebike_charging")
    assert hazard.case is not None and hazard.case.attachments.count() == 1

    with open_page(browser, viewport={"width": 1280, "height": 900}) as (desk, problems):
        log_in(desk, live_server.url, "community_staff", PASSWORD)
        with desk.expect_navigation():
            desk.goto(f"{live_server.url}/coverage/?area={tree.community_a.pk}&layer=inspected")
        expect(desk.locator("#coverage-map path.leaflet-interactive")).to_have_count(4)  # the community's micro-grids
        expect(desk.locator(f'#coverage-table tr[data-area="{reg.buildings["a"].area_id}"]')).to_have_attribute(
            "data-status", "bad"
        )  # inspected, with the open hazard
        screenshot(desk, "coverage-map")
        problems.collect_csp(desk)
        assert problems.errors == []
