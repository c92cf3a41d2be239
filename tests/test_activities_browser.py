"""Activities on real phones (headless Chromium, 375 px, zh-CN): a micro-grid member signs up for a training,
the organiser's screen shows the rotating check-in QR code, the member's phone camera opens its link, the
member confirms and sees the participation points on the result page and on My points."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fengchao.activities import services
from fengchao.activities.models import Attendance
from fengchao.points import services as points
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_member_signs_up_checks_in_by_qr_and_sees_the_points(browser, live_server, tree):  # noqa: F811
    points.save_rule(
        by=tree.users["district_admin"], area=tree.district, action="training.attended", kind="participation", points=5
    )
    start = timezone.now() - dt.timedelta(minutes=10)
    training = services.publish(
        tree.users["community_staff"],
        area=tree.community_a,
        kind="training",
        title="微网格员业务培训",
        place="和美社区党群服务中心",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        capacity=30,
    )

    with open_page(browser, **PHONE) as (phone, problems):
        log_in(phone, live_server.url, "microgrid_member", PASSWORD)
        phone.click("button.navbar-toggler")
        with phone.expect_navigation():
            phone.click("#nav-activitieshome")
        expect(phone.locator(f"#activity-{training.pk}")).to_contain_text("微网格员业务培训")
        expect(phone.locator(f"#activity-{training.pk} .places")).to_have_attribute("data-left", "30")
        fits_the_screen(phone)
        screenshot(phone, "activities-home-phone")
        with phone.expect_navigation():
            phone.click(f"#activity-{training.pk}")
        with phone.expect_navigation():
            phone.click("#sign-up")
        expect(phone.locator("#signup-state")).to_have_attribute("data-state", "confirmed")
        fits_the_screen(phone)
        screenshot(phone, "activities-detail-phone")

        # The organiser's screen shows the code; it refreshes itself without a script.
        with open_page(browser) as (screen, screen_problems):
            log_in(screen, live_server.url, "community_staff", PASSWORD)
            screen.goto(f"{live_server.url}/activities/{training.pk}/qr/")
            qr = screen.locator("#checkin-qr")
            expect(qr).to_be_visible()
            assert qr.get_attribute("src").startswith("data:image/svg+xml")
            assert screen.locator("meta[http-equiv=refresh]").get_attribute("content") == "30"
            screenshot(screen, "activities-qr-screen")
            screen_problems.collect_csp(screen)
            assert screen_problems.errors == []

        # The phone camera opens the link the QR code holds; opening it checks in nobody.
        phone.goto(live_server.url + services.checkin_url(training))
        expect(phone.locator("#activity-title")).to_have_text("微网格员业务培训")
        assert not Attendance.objects.exists()
        fits_the_screen(phone)
        with phone.expect_navigation():
            phone.click("#checkin-confirm")
        expect(phone.locator("#checkin-points")).to_have_text("+5")
        fits_the_screen(phone)
        screenshot(phone, "activities-checked-in-phone")
        with phone.expect_navigation():
            phone.click("#my-points-link")
        expect(phone.locator("section.balance[data-kind=participation] .balance-available")).to_have_text("5")
        problems.collect_csp(phone)
        assert problems.errors == []

    attendance = Attendance.objects.get()
    assert attendance.user == tree.users["microgrid_member"] and attendance.method == "qr"


def test_the_organiser_marks_a_member_present_on_a_phone(browser, live_server, tree):  # noqa: F811
    start = timezone.now() - dt.timedelta(minutes=5)
    meeting = services.publish(
        tree.users["community_staff"],
        area=tree.grid_a1,
        kind="grid_meeting",
        title="网格周例会",
        place="和美一网格工作站",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    member = tree.users["microgrid_member"]
    services.sign_up(member, meeting)
    with open_page(browser, **PHONE) as (phone, problems):
        log_in(phone, live_server.url, "community_staff", PASSWORD)
        phone.goto(f"{live_server.url}/activities/{meeting.pk}/")
        row = phone.locator(f"#sheet-rows [data-user='{member.pk}']")
        expect(row.locator(".present")).to_have_text("")
        with phone.expect_navigation():
            row.locator(".mark-present").click()
        expect(phone.locator(f"#sheet-rows [data-user='{member.pk}'] .present")).not_to_have_text("")
        expect(phone.locator(f"#sheet-rows [data-user='{member.pk}'] .mark-present")).to_have_count(0)
        fits_the_screen(phone)
        screenshot(phone, "activities-sheet-phone")
        problems.collect_csp(phone)
        assert problems.errors == []
    attendance = Attendance.objects.get()
    assert attendance.method == "organiser" and attendance.marked_by == tree.users["community_staff"]
