"""The staff case pages in headless Chromium: community staff find a new report from the nav, dispatch it to
a grid member and watch the timeline grow; a hotline call is entered with the map, a suggestion and duplicates."""

import pytest
from playwright.sync_api import expect

from fengchao.cases.choices import CaseState, Channel, Tier
from fengchao.cases.models import Case
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.case_factories import build_categories, centre, report
from tests.factories import PASSWORD, first_micro

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_community_staff_dispatch_a_new_report_to_a_grid_member(browser, live_server, tree):  # noqa: F811
    cats = build_categories()
    case = report(tree, cats.litter, description="三号楼门口垃圾堆了三天")
    member = tree.users["microgrid_member"]
    with open_page(browser) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        expect(page.locator("#nav-caseslist .nav-count")).to_have_text("1")
        page.click("#nav-caseslist")
        page.click('#inbox-tabs [data-inbox="to_dispatch"]')
        row = page.locator("#case-rows .case-row", has_text=case.number)
        expect(row).to_contain_text("暴露垃圾")
        row.click()
        page.wait_for_url(f"**/cases/{case.pk}/")
        expect(page.locator("h1")).to_contain_text("暴露垃圾")
        for step in ("accept", "register"):
            page.click(f"#action-{step} summary")
            with page.expect_navigation():
                page.click(f"#action-{step} button[type=submit]")
        page.click("#action-dispatch summary")
        assignee = page.locator("#dispatch-assignee")
        member_option = assignee.locator(f'option[value="{member.pk}"]')
        page.select_option("#dispatch-tier", "community")
        assert member_option.evaluate("o => o.hidden")  # a grid member is not offered for the community tier
        page.select_option("#dispatch-tier", "grid")
        assert not member_option.evaluate("o => o.hidden")
        page.select_option("#dispatch-assignee", str(member.pk))
        page.fill("#note-dispatch", "请网格员今天清运")
        with page.expect_navigation():
            page.click("#action-dispatch button[type=submit]")
        timeline = page.locator("#timeline")
        expect(timeline.locator(".timeline-entry")).to_have_count(4)
        expect(timeline).to_contain_text("请网格员今天清运")
        expect(timeline).to_contain_text("microgrid_member")
        expect(page.locator("#nav-caseslist .nav-count")).to_have_count(0)  # nothing waits on the dispatcher now
        screenshot(page, "cases-staff-dispatched")
        problems.collect_csp(page)
        assert problems.errors == []
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.tier == Tier.GRID and case.assignee == member


def test_a_hotline_call_entered_on_a_phone_with_the_map(browser, live_server, tree):  # noqa: F811
    cats = build_categories()
    earlier = report(tree, cats.litter, area=first_micro(tree, tree.grid_a2))
    lon, lat = centre(first_micro(tree, tree.grid_a2))
    with open_page(browser, **PHONE) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}/cases/new/")
        fits_the_screen(page)
        page.fill("#id_reporter_name", "李阿姨")
        page.fill("#id_phone", "13912345678")
        page.fill("#id_description", "二网格路口垃圾堆放没人清运")
        suggestion = page.locator(f'#suggestions [data-category="{cats.litter.code}"]')
        expect(suggestion).to_have_text("暴露垃圾")
        suggestion.click()
        expect(page.locator("#id_category")).to_have_value(cats.litter.code)
        # tap the map where the earlier report was made: the point is kept and that report shows as a duplicate
        page.locator("#intake-map").scroll_into_view_if_needed()
        x, y = page.evaluate(
            "([lat, lon]) => { const p = fengchaoIntakeMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            [lat, lon],
        )
        box = page.locator("#intake-map").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        expect(page.locator("#point-shown")).not_to_be_empty()
        expect(page.locator("#duplicate-list")).to_contain_text(earlier.number)
        with page.expect_navigation():
            page.click("#intake-form button[type=submit]")
        expect(page.locator("#case-reporter")).to_contain_text("139****5678")
        assert "13912345678" not in page.content()
        fits_the_screen(page)
        screenshot(page, "cases-staff-intake-phone")
        page.goto(f"{live_server.url}/cases/?inbox=to_dispatch")
        expect(page.locator("#case-rows .case-row")).to_have_count(2)
        fits_the_screen(page)
        problems.collect_csp(page)
        assert problems.errors == []
    case = Case.objects.exclude(pk=earlier.pk).get()
    assert case.channel == Channel.HOTLINE and case.category == cats.litter and case.reporter_name == "李阿姨"
    assert case.area == earlier.area and abs(case.lon - lon) < 0.001 and abs(case.lat - lat) < 0.001
