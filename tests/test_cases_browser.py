"""The closed loop on real phones (headless Chromium, 375 px, zh-CN): a resident scans a building's QR code and
reports with a photo, a member takes and resolves the case with an after photo, the resident rates it, and the
community's figures move."""

import struct
import zlib

import pytest
from playwright.sync_api import expect

from fengchao.cases import kpis, services, suggest
from fengchao.cases.choices import CaseState, Channel, Rating
from fengchao.cases.models import Case
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.case_factories import build_categories, centre, photo
from tests.factories import PASSWORD, first_micro

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def png_file(path, width=48, height=32, rgb=(220, 60, 40)):
    """A real PNG image (what a phone camera hands over is a JPEG; the server accepts both)."""
    row = b"\x00" + bytes(rgb) * width
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        (b"IDAT", zlib.compress(row * height)),
        (b"IEND", b""),
    ]
    body = b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)) for kind, data in chunks
    )
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return str(path)


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def photos_loaded(page) -> bool:
    """Every photo on the page is a decoded image (they load lazily, so each is scrolled to first)."""
    images = page.locator("img.case-photo")
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        # A function, not an expression: Playwright would eval an expression, which the page's CSP forbids.
        "() => Array.from(document.querySelectorAll('img.case-photo')).every(i => i.complete && i.naturalWidth > 0)",
        timeout=10_000,
    )
    return True


@pytest.fixture
def cats(tree):
    suggest.clear_cache()
    yield build_categories(tree.department)
    suggest.clear_cache()


def test_resident_reports_member_resolves_resident_rates(browser, live_server, tree, cats, tmp_path):  # noqa: F811
    micro = first_micro(tree, tree.grid_a1)
    lon, lat = centre(micro)
    before = kpis.area_kpis(tree.community_a)
    resident_phone = {**PHONE, "geolocation": {"longitude": lon, "latitude": lat}, "permissions": ["geolocation"]}

    with open_page(browser, **resident_phone) as (resident, resident_problems):
        # The QR code in the lobby opens the building's 亮身份 page; the big button opens the report form.
        resident.goto(f"{live_server.url}/g/{micro.code}/")
        resident.click("#report-button")
        resident.wait_for_url(f"**/report/{micro.code}/")
        expect(resident.locator("#report-area")).to_have_text(micro.name)
        resident.fill("#report-description", "3栋门口垃圾堆了两天，没人清理")
        resident.locator("#suggested-categories [data-pick-category='T0101']").click()
        assert resident.input_value("#report-category") == "T0101"
        resident.set_input_files("#report-photos", png_file(tmp_path / "door.png"))
        resident.click("[data-gps]")
        expect(resident.locator("#report-lon")).not_to_have_value("")
        resident.fill("#report-name", "李阿姨")
        resident.check("#report-anonymous")
        expect(resident.locator("#report-name")).to_be_disabled()
        fits_the_screen(resident)
        screenshot(resident, "cases-report-phone")
        resident.click("button[type=submit][data-submit-once]")
        resident.wait_for_url("**/report/done/**")
        code = resident.locator("#tracking-code").inner_text().strip()
        case = Case.objects.get(tracking_code=code)
        assert case.channel == Channel.RESIDENT_QR and case.area == micro and case.is_anonymous
        assert case.lon == pytest.approx(lon) and case.attachments.count() == 1
        fits_the_screen(resident)
        screenshot(resident, "cases-tracking-code-phone")
        resident_problems.collect_csp(resident)

        # The community accepts, registers and sends it to the grid (the staff pages have their own tests).
        staff = tree.users["community_staff"]
        for step in ("accept", "register"):
            services.transition(case, step, by=staff)
        services.dispatch(case, by=staff, tier="grid")

        # The micro-grid member takes it on the phone and resolves it with a photo of the result.
        with open_page(browser, **PHONE) as (member, member_problems):
            log_in(member, live_server.url, "microgrid_member", PASSWORD)
            member.goto(f"{live_server.url}/m/")
            card = member.locator(f"#member-case-{case.pk}")
            expect(card).to_contain_text("暴露垃圾")
            fits_the_screen(member)
            with member.expect_navigation():
                card.locator("form[data-action=take] button").click()
            case.refresh_from_db()
            assert case.state == CaseState.TAKEN and case.assignee == tree.users["microgrid_member"]
            card = member.locator(f"#member-case-{case.pk}")
            card.locator("details[data-action=resolve] summary").click()
            member.set_input_files(f"#photos-{case.pk}-resolve", png_file(tmp_path / "after.png", rgb=(40, 160, 60)))
            member.fill(f"#note-{case.pk}-resolve", "已联系物业清运")
            with member.expect_navigation():
                card.locator("details[data-action=resolve] button[type=submit]").click()
            case.refresh_from_db()
            assert case.state == CaseState.RESOLVED and case.attachments.filter(kind="after").count() == 1
            member.goto(f"{live_server.url}/m/cases/{case.pk}/")
            expect(member.locator("#case-timeline")).to_contain_text("已联系物业清运")
            assert photos_loaded(member)
            fits_the_screen(member)
            screenshot(member, "cases-member-phone")
            member_problems.collect_csp(member)
            assert member_problems.errors == []

        # The grid leader checks on site; the community closes the case.
        services.verify(case, by=tree.users["grid_leader"], photos_in=[photo("check.png")])
        case.refresh_from_db()
        services.close(case, by=staff)

        # The resident follows the case with the code, sees the before and after photos, and rates it.
        resident.goto(f"{live_server.url}/track/{code}/")
        expect(resident.locator("#case-timeline")).to_contain_text("已联系物业清运")
        assert resident.locator("img.case-photo").count() == 3  # before, after, and the verification photo
        assert photos_loaded(resident)
        assert "李阿姨" not in resident.content()
        resident.check(f"#rating-{Rating.SATISFIED}")
        expect(resident.locator("#ask-reopen")).to_be_hidden()
        resident.fill("#rate-comment", "处理得很及时")
        with resident.expect_navigation():
            resident.click("#rate-form button[type=submit]")
        expect(resident.locator("#case-rating")).to_contain_text("处理得很及时")
        fits_the_screen(resident)
        screenshot(resident, "cases-track-phone")
        resident_problems.collect_csp(resident)
        assert resident_problems.errors == []

    case.refresh_from_db()
    assert case.state == CaseState.RATED and case.rating == Rating.SATISFIED
    assert before["cases"] == 0
    # The community reads the change on its figures page: one case, rated, all satisfied.
    with open_page(browser) as (staff, staff_problems):
        log_in(staff, live_server.url, "community_staff", PASSWORD)
        staff.goto(f"{live_server.url}/cases/figures/area/{tree.community_a.pk}/")
        expect(staff.locator("#figures-total")).to_have_text("1")
        expect(staff.locator("[data-rate=satisfaction] .tile-value")).to_have_text("100.0%")
        screenshot(staff, "cases-figures-after-rating")
        staff_problems.collect_csp(staff)
        assert staff_problems.errors == []


def test_resident_taps_the_map_to_report(browser, live_server, tree, cats):  # noqa: F811
    with open_page(browser, **PHONE) as (page, problems):
        page.goto(f"{live_server.url}/report/")
        box = page.locator("#area-map").bounding_box()
        # The map shows the whole district; a quarter in from the top left lies in street A (和美社区).
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.4)
        found = page.locator("#map-result [data-found]")
        expect(found).to_be_visible()
        expect(found.locator("[data-found-community]")).to_have_text("和美社区")
        name = found.locator("[data-found-name]").inner_text()
        assert "微网格" in name
        fits_the_screen(page)
        screenshot(page, "cases-report-map-phone")
        with page.expect_navigation():
            found.locator("[data-report-here]").click()
        expect(page.locator("#report-area")).to_have_text(name)
        assert page.input_value("#report-lon") != "" and "via=map" in page.url
        page.fill("#report-description", "路口井盖松动，车辆经过有响声")
        page.select_option("#report-category", "T0101")
        page.click("button[type=submit][data-submit-once]")
        page.wait_for_url("**/report/done/**")
        case = Case.objects.get()
        assert case.channel == Channel.RESIDENT_MAP and case.area.name == name and case.lon is not None
        problems.collect_csp(page)
        assert problems.errors == []
