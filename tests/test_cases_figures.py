"""The figures pages: who sees which area or department, filters, drill-down, exports, a phone in Chromium."""

import datetime as dt
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import expect

from fengchao.audit.models import AuditEvent
from fengchao.cases.choices import Rating, Tier
from fengchao.departments.models import Department
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.case_factories import build_categories
from tests.factories import PASSWORD
from tests.test_cases_kpis import Walk, at

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def area_url(area, query=""):
    return reverse("cases_figures:area", args=[area.pk]) + (f"?{query}" if query else "")


@pytest.fixture
def w(tree):
    walk = Walk(tree)
    walk.c = build_categories(department=tree.department)
    march = at("2026-03-02")
    micros = list(tree.micro.values())
    walk.to(walk.report(walk.c.litter, march, phone="13912345678", by=None), "rate", march)
    walk.to(walk.report(walk.c.litter, march), "rate", march, late_take=True, rating=Rating.DISSATISFIED)
    walk.to(walk.report(walk.c.dispute, march, area=micros[1], by=None), "take", march, tier=Tier.COMMUNITY)
    walk.to(walk.report(walk.c.litter, at("2026-01-12")), "dispatch", march, tier=Tier.DEPARTMENT,
            department=tree.department)  # fmt: skip
    walk.report(walk.c.litter, march, area=tree.micro["致强一网格1号微网格"], by="outsider_microgrid_member")
    return walk


def login(client, w, role):
    client.force_login(w.u[role])
    return client


def tiles(response) -> dict[str, str]:
    html = response.content.decode()
    found = {}
    for part in html.split('data-rate="')[1:]:
        key = part.split('"', 1)[0]
        found[key] = part.split('tile-value">', 1)[1].split("<", 1)[0]
    return found


# --- who sees what ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        ("district_admin", "district"),
        ("street_staff", "street_a"),
        ("community_staff", "community_a"),
        ("grid_leader", "grid_a1"),
    ],
)
def test_the_figures_open_on_the_users_own_area(client, w, role, lands_on):
    response = login(client, w, role).get(reverse("cases_figures:home"))
    assert response.status_code == 302
    assert response.url == area_url(getattr(w.t, lands_on))


@pytest.mark.parametrize("role", ["street_staff", "community_staff", "grid_leader", "microgrid_member"])
def test_areas_outside_the_scope_are_not_found(client, w, role):
    login(client, w, role)
    assert client.get(area_url(w.t.street_b)).status_code == 404
    assert client.get(area_url(w.t.district)).status_code == 404
    assert client.get(reverse("cases_figures:area_export", args=[w.t.street_b.pk])).status_code == 404


@pytest.mark.parametrize("role", ["resident", "merchant", "auditor"])
def test_people_without_a_case_role_find_no_figures(client, w, role):
    login(client, w, role)
    assert client.get(reverse("cases_figures:home")).status_code == 404
    assert client.get(area_url(w.t.street_a)).status_code == 404
    assert client.get(reverse("cases_figures:department", args=[w.t.department.pk])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, w):
    response = client.get(area_url(w.t.district))
    assert response.status_code == 302 and "/login/" in response.url


def test_a_department_handler_sees_their_department_only(client, w):
    other = Department.objects.create(name="区住建局", code="ZJ", area=w.t.district)
    login(client, w, "department_handler")
    home = client.get(reverse("cases_figures:home"))
    assert home.url == reverse("cases_figures:department", args=[w.t.department.pk])
    page = client.get(home.url)
    assert page.status_code == 200
    assert "区城管局" in page.content.decode()
    assert page.context["figures"]["cases"] == 1
    assert client.get(reverse("cases_figures:department", args=[other.pk])).status_code == 404
    assert client.get(area_url(w.t.street_a)).status_code == 404


def test_district_admins_list_the_departments_of_their_district(client, w):
    Department.objects.create(name="区住建局", code="ZJ", area=w.t.district)
    login(client, w, "district_admin")
    page = client.get(reverse("cases_figures:departments"))
    assert [row["department"].code for row in page.context["rows"]] == ["CG", "ZJ"]
    assert login(client, w, "street_staff").get(reverse("cases_figures:departments")).status_code == 404


# --- what the page shows -------------------------------------------------------------------------------------


def test_the_area_page_shows_the_rates_states_categories_and_children(client, w):
    page = login(client, w, "street_staff").get(area_url(w.t.street_a, "from=2026-01&to=2026-03"))
    assert page.status_code == 200
    figures = page.context["figures"]
    assert figures["cases"] == 4
    assert tiles(page) == {
        "response": "50.0%",  # of four dispatched: two taken in time, one a week late, one not taken yet
        "resolution": "50.0%",
        "satisfaction": "50.0%",
        "on_time_closing": "50.0%",
        "rework": "0.0%",
    }
    html = page.content.decode()
    assert "responded on time / dispatched" in html  # the formulas are on the tiles
    assert [row["area"].pk for row in page.context["child_rows"]] == [w.t.community_a.pk]
    assert page.context["child_rows"][0]["url"].startswith(area_url(w.t.community_a))
    assert "from=2026-01" in page.context["child_rows"][0]["url"]  # the drill-down keeps the months
    chart = page.context["chart"]
    assert dict(chart["categories"]) == {"测试大类": 4}
    assert dict((str(k), v) for k, v in chart["states"]) == {"Rated": 2, "Being handled": 1, "Dispatched": 1}
    assert 'id="figures-chart-data"' in html


def test_months_and_category_narrow_the_page(client, w):
    login(client, w, "community_staff")
    march = client.get(area_url(w.t.community_a, "from=2026-02&to=2026-03"))
    assert march.context["figures"]["cases"] == 3
    disputes = client.get(area_url(w.t.community_a, f"from=2026-01&to=2026-03&category={w.c.dispute.code}"))
    assert disputes.context["figures"]["cases"] == 1
    wrong = client.get(area_url(w.t.community_a, "from=2026-05&to=2026-02&category=NOPE"))
    assert wrong.status_code == 200
    assert wrong.context["errors"] == [
        "The last month is before the first; showing the last 12 months.",
        "Unknown category “NOPE”; showing every category.",
    ]


def test_a_grid_drills_down_to_its_micro_grids(client, w):
    page = login(client, w, "grid_leader").get(area_url(w.t.grid_a1, "from=2026-01&to=2026-03"))
    rows = {row["area"].name: row["cells"] for row in page.context["child_rows"]}
    assert rows["和美一网格1号微网格"][0] == "3" and rows["和美一网格2号微网格"][0] == "1"
    micro = w.t.micro["和美一网格2号微网格"]
    leaf = login(client, w, "grid_leader").get(area_url(micro, "from=2026-01&to=2026-03"))
    assert leaf.context["figures"]["cases"] == 1 and leaf.context["child_rows"] == []


def test_the_area_page_queries_do_not_grow_with_its_children(client, w):
    login(client, w, "district_admin")
    counts = []
    for area in (w.t.street_a, w.t.community_a, w.t.grid_a1):  # 1, 3 and 2 children
        with CaptureQueriesContext(connection) as queries:
            assert client.get(area_url(area)).status_code == 200
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts


# --- exports ---------------------------------------------------------------------------------------------------


def sheet_rows(content: bytes) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_the_children_table_exports_to_xlsx(client, w):
    login(client, w, "district_admin")
    response = client.get(reverse("cases_figures:area_export", args=[w.t.district.pk]) + "?from=2026-01&to=2026-03")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(response.content)
    assert rows[0][:5] == ["Area", "Code", "Cases", "Open", "Response rate"]
    assert [r[0] for r in rows[1:]] == ["保和街道", "青龙街道", "成华区, total"]
    assert rows[1][2] == 4 and rows[2][2] == 1 and rows[3][2] == 5
    assert rows[1][4] == pytest.approx(0.5)
    assert AuditEvent.objects.filter(action="cases.export_figures", actor=w.u["district_admin"]).count() == 1


def test_the_areas_cases_export_with_masked_phones_and_an_audit_event(client, w):
    login(client, w, "street_staff")
    page = client.get(area_url(w.t.street_a, "from=2026-01&to=2026-03"))
    response = client.get(page.context["cases_export_url"])
    assert response.status_code == 200
    rows = sheet_rows(response.content)
    assert rows[0][0] == "Case number" and rows[0][-1] == "Contact phone (masked)"
    assert len(rows) == 1 + 4  # street A's four cases, not street B's
    assert {r[5] for r in rows[1:]} == {"保和街道"}
    phones = {r[-1] for r in rows[1:]}
    assert "139****5678" in phones and "13912345678" not in phones
    event = AuditEvent.objects.get(action="cases.export")
    assert event.actor == w.u["street_staff"] and event.data["rows"] == 4


def test_an_export_beyond_the_row_limit_is_refused_with_a_reason(client, w, settings):
    settings.CASES_EXPORT_MAX_ROWS = 3
    login(client, w, "street_staff")
    page = client.get(area_url(w.t.street_a, "from=2026-01&to=2026-03"))
    response = client.get(page.context["cases_export_url"], follow=True)
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    assert "This list holds 4 cases; an export holds at most 3." in text
    assert not AuditEvent.objects.filter(action="cases.export").exists()


def test_export_cases_records_the_filters_it_was_given(w):
    from fengchao.cases.exporting import export_cases
    from fengchao.cases.queries import cases_visible_to

    content, name = export_cases(cases_visible_to(w.u["community_staff"]), w.u["community_staff"], filters={"q": "x"})
    assert name.startswith("cases_") and name.endswith(".xlsx")
    assert len(sheet_rows(content)) == 1 + 4
    assert AuditEvent.objects.get(action="cases.export").data["filters"] == {"q": "x"}


# --- in the browser ------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
@pytest.mark.django_db(transaction=True)
def test_community_staff_read_the_figures_on_a_phone_and_drill_down(browser, live_server, w):  # noqa: F811
    today = dt.date.today()
    with open_page(browser, **PHONE) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}{reverse('cases_figures:home')}")
        page.wait_for_url(f"**{area_url(w.t.community_a)}")
        page.fill("#figures-from", "2026-01")
        page.fill("#figures-to", f"{max(today, dt.date(2026, 3, 1)):%Y-%m}")
        page.click("#figures-filters button[type=submit]")
        expect(page.locator("#figures-total")).to_have_text("4")
        expect(page.locator("#chart-states")).to_have_attribute("data-drawn", "3")
        expect(page.locator("#chart-categories")).to_have_attribute("data-drawn", "1")
        assert page.locator("[data-rate=satisfaction] .tile-value").inner_text() == "50.0%"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(page, "figures-community-phone")
        page.locator("#figures-children-table a", has_text="和美一网格").click()
        page.wait_for_url(f"**{area_url(w.t.grid_a1)}?*")
        expect(page.locator("#figures-total")).to_have_text("4")
        page.locator("#figures-children-table a", has_text="2号微网格").click()
        expect(page.locator("#figures-total")).to_have_text("1")  # the dispute in the second micro-grid
        assert "from=2026-01" in page.url
        page.locator("nav .breadcrumb a", has_text="和美社区").click()
        expect(page.locator("h1")).to_contain_text("和美社区")
        problems.collect_csp(page)
        assert problems.errors == []
