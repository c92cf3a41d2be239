"""The category catalogue: the seeded tree, the grid centre's edits with their history, suggestions from
a report's text, and the settings pages (district administrators only)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import expect

from fengchao.audit.models import AuditEvent
from fengchao.cases import catalogue, suggest
from fengchao.cases.category_seed import CATEGORIES
from fengchao.cases.models import CalendarDay, Category, CategoryRevision, WorkSchedule
from fengchao.cases.views.catalogue import initial_of
from fengchao.core.errors import StaleRecord
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.case_factories import report
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def fresh_suggestions():
    """Test databases reuse pks, so no keyword table may outlive its test."""
    suggest.clear_cache()
    yield
    suggest.clear_cache()


@pytest.fixture
def admin(tree):
    return tree.users["district_admin"]


def seeded(code) -> Category:
    return Category.objects.get(code=code)


def new_category(by, **fields):
    values = {"code": "G9901", "name": "测试类", "kind": "social", "parent": seeded("G04")}
    return catalogue.create_category(by, **{**values, **fields})


# ---- the seeded tree -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_seed_holds_the_national_classes_and_the_social_ones():
    tops = dict(Category.objects.filter(parent=None).values_list("code", "name"))
    assert {tops[f"B0{i}"] for i in range(1, 7)} == {
        "公用设施",
        "道路交通",
        "市容环境",
        "园林绿化",
        "房屋土地",
        "其他设施",
    }
    assert {tops[f"S0{i}"] for i in range(1, 7)} == {"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他"}
    assert {tops[f"G0{i}"] for i in range(1, 5)} == {"矛盾纠纷", "治安与安全隐患", "民生服务", "其他"}
    assert Category.objects.count() == len(CATEGORIES)
    for leaf in catalogue.usable_categories():
        assert leaf.parent is not None and leaf.parent.kind == leaf.kind and leaf.code.startswith(leaf.parent.code)
        assert leaf.registration_standard and leaf.closing_standard
        assert leaf.default_tier in ("grid", "community", "street") and leaf.default_department is None
        assert leaf.photo_required or leaf.kind != "component"
    cover = seeded("B0101")
    assert (cover.name, cover.kind, cover.photo_required) == ("上水井盖", "component", True)
    sinkhole = seeded("S0401")  # an emergency: accepted within the working hour, made safe within a natural day
    assert sinkhole.limit("accept") == (1, "working_hours") and sinkhole.limit("handle") == (1, "natural_days")
    wire = seeded("G0202")
    assert wire.name == "电动车飞线充电" and "飞线" in wire.keywords.split()


# ---- who may ---------------------------------------------------------------------------------------------


def test_only_the_district_grid_centre_manages_the_catalogue(tree, django_user_model):
    assert catalogue.can_manage_catalogue(tree.users["district_admin"])
    for role in ("street_staff", "community_staff", "grid_leader", "microgrid_member", "department_handler"):
        assert not catalogue.can_manage_catalogue(tree.users[role]), role
    assert catalogue.can_manage_catalogue(django_user_model.objects.create_superuser("root", password=PASSWORD))
    from django.contrib.auth.models import AnonymousUser

    assert not catalogue.can_manage_catalogue(AnonymousUser())


# ---- creating and editing --------------------------------------------------------------------------------


def test_a_new_category_is_written_with_its_audit_event(admin):
    category = new_category(
        admin,
        keywords="快递柜，外卖柜、 快递柜  驿站",
        handle_limit="5",
        handle_unit="natural_days",
        registration_standard="  快递柜损坏\n\n  无法取件 ",
    )
    category.refresh_from_db()
    assert (category.code, category.parent.code, category.version) == ("G9901", "G04", 1)
    assert category.keywords == "快递柜 外卖柜 驿站"  # any separator, duplicates dropped
    assert category.limit("handle") == (5, "natural_days")
    assert category.registration_standard == "快递柜损坏\n无法取件"
    event = AuditEvent.objects.get(action="cases.category_created")
    assert event.actor == admin and event.object_id == str(category.pk) and event.data["code"] == "G9901"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"code": ""}, "code", "This field is required."),
        ({"code": "井盖01"}, "code", "A code is 1 to 16 letters, digits, dots, hyphens or underscores."),
        ({"code": "B0101"}, "code", "A category with code B0101 exists."),
        ({"name": "  "}, "name", "This field is required."),
        ({"kind": "thing"}, "kind", "Choose one of the offered values."),
        ({"handle_limit": 0}, "handle_limit", "A time limit is a whole number from 1 to 999."),
        ({"accept_limit": "1000"}, "accept_limit", "A time limit is a whole number from 1 to 999."),
        ({"take_limit": "两"}, "take_limit", "A time limit is a whole number from 1 to 999."),
        ({"verify_unit": "hours"}, "verify_unit", "Choose one of the offered values."),
        ({"default_tier": "department"}, "default_department", "A category handled by a department names the"),
        ({"parent": "S01"}, "parent", "is of another kind"),
        ({"parent": 999999}, "parent", "There is no such category."),
        ({"keywords": "词" * 301}, "keywords", "At most 300 characters"),
    ],
)
def test_creating_refuses_bad_settings_by_field(admin, fields, field, message):
    if fields.get("parent") == "S01":
        fields = {**fields, "parent": seeded("S01")}
    count = Category.objects.count()
    with pytest.raises(ValidationError) as refused:
        new_category(admin, **fields)
    assert message in refused.value.message_dict[field][0]
    assert Category.objects.count() == count
    assert not AuditEvent.objects.filter(action="cases.category_created").exists()


def test_every_problem_is_reported_at_once(admin):
    with pytest.raises(ValidationError) as refused:
        new_category(admin, code="", handle_limit=0, verify_unit="weeks")
    assert set(refused.value.message_dict) == {"code", "handle_limit", "verify_unit"}


def test_an_edit_bumps_the_version_and_keeps_the_previous_settings(admin):
    wire = seeded("G0202")
    catalogue.update_category(wire, admin, 1, handle_limit=4, handle_unit="working_hours")
    wire = catalogue.update_category(wire, admin, 2, keywords="飞线 充电 电动车 充电桩", default_tier="community")
    assert wire.version == 3 and wire.limit("handle") == (4, "working_hours") and wire.default_tier == "community"
    first, second = CategoryRevision.objects.filter(category=wire).order_by("version")
    # each revision is the category as it was before the edit that replaced it, and who replaced it
    assert (first.version, first.data["handle_limit"], first.data["handle_unit"]) == (1, 1, "natural_days")
    assert (second.version, second.data["handle_limit"], second.data["default_tier"]) == (2, 4, "grid")
    assert first.changed_by == second.changed_by == admin
    entries = catalogue.history(wire)
    assert [e["new_version"] for e in entries] == [3, 2, 1]
    assert {(c["field"], c["before"], c["after"]) for c in entries[1]["changes"]} == {
        ("handle_limit", "1 natural days", "4 working hours")
    }
    assert {c["field"] for c in entries[0]["changes"]} == {"keywords", "default_tier"}
    assert entries[2]["by"] is None  # seeded: it came with the installation
    events = AuditEvent.objects.filter(action="cases.category_updated").order_by("pk")
    assert [e.data["version"] for e in events] == [2, 3]
    assert events[0].data["before"] == {"handle_limit": 1, "handle_unit": "natural_days"}
    assert events[0].data["after"] == {"handle_limit": 4, "handle_unit": "working_hours"}


def test_an_edit_against_an_old_version_is_refused(admin):
    wire = seeded("G0202")
    catalogue.update_category(wire, admin, 1, handle_limit=2)
    with pytest.raises(StaleRecord):
        catalogue.update_category(wire, admin, 1, handle_limit=9)
    wire.refresh_from_db()
    assert (wire.version, wire.handle_limit) == (2, 2)
    assert CategoryRevision.objects.filter(category=wire).count() == 1


def test_saving_without_a_change_writes_no_version(admin):
    wire = seeded("G0202")
    same = catalogue.update_category(wire, admin, 1, name="电动车飞线充电", handle_limit="1")
    assert same.version == 1
    assert not CategoryRevision.objects.exists() and not AuditEvent.objects.filter(action__startswith="cases.").exists()


def test_a_category_cannot_move_under_itself_or_its_descendants(admin):
    top = seeded("G02")
    for below in (top, seeded("G0202")):
        with pytest.raises(ValidationError) as refused:
            catalogue.update_category(top, admin, 1, parent=below)
        assert "lies within this category" in refused.value.message_dict["parent"][0]
    # moving a leaf to another class of the same kind is fine
    moved = catalogue.update_category(seeded("G0206"), admin, 1, parent=seeded("G04"))
    assert moved.parent.code == "G04"


def test_the_kind_is_fixed_once_cases_use_the_category(admin, tree):
    litter = seeded("S0102")
    report(tree, litter, by=tree.users["microgrid_member"])
    with pytest.raises(ValidationError) as refused:
        catalogue.update_category(litter, admin, 1, kind="social", parent=seeded("G04"))
    assert refused.value.message_dict["kind"] == ["Cases are filed under this category, so its kind cannot change."]
    # nor can a category with cases become a parent
    with pytest.raises(ValidationError) as refused:
        new_category(admin, code="S010201", kind="event", parent=litter)
    assert "Cases are filed under S0102 暴露垃圾" in refused.value.message_dict["parent"][0]


def test_a_class_with_subcategories_keeps_its_kind(admin):
    with pytest.raises(ValidationError) as refused:
        catalogue.update_category(seeded("G01"), admin, 1, kind="event")
    assert "Its subcategories are of the present kind" in refused.value.message_dict["kind"][0]


def test_the_department_tier_needs_a_department(admin, tree):
    wire = seeded("G0202")
    with pytest.raises(ValidationError) as refused:
        catalogue.update_category(wire, admin, 1, default_tier="department")
    assert refused.value.message_dict == {
        "default_department": ["A category handled by a department names the department."]
    }
    wire = catalogue.update_category(wire, admin, 1, default_tier="department", default_department=tree.department)
    assert wire.default_department == tree.department
    assert CategoryRevision.objects.get(category=wire).data["default_department"] == ""
    assert catalogue.history(wire)[0]["changes"][-1]["after"] == "区城管局"


def test_taking_a_class_out_of_use_takes_its_subcategories_too(admin, django_capture_on_commit_callbacks):
    assert suggest.suggest_categories("井盖丢了")  # the keyword table is built and cached
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.deactivate_category(seeded("B01"), admin, 1)
    leaves = Category.objects.filter(parent__code="B01")
    assert not leaves.filter(is_active=True).exists()
    assert CategoryRevision.objects.filter(category__in=leaves).count() == leaves.count()
    assert AuditEvent.objects.filter(action="cases.category_updated").count() == leaves.count() + 1
    assert all(not c.code.startswith("B01") for c in suggest.suggest_categories("井盖丢了"))
    # a subcategory cannot come back while its class is out of use
    cover = seeded("B0101")
    with pytest.raises(ValidationError) as refused:
        catalogue.update_category(cover, admin, cover.version, is_active=True)
    assert refused.value.message_dict["is_active"] == ["B01 公用设施 is not in use; put it back in use first."]


# ---- suggestions -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("楼道里有人飞线给电动车充电", "G0202"),
        ("小区消防通道被车堵住了", "G0201"),
        ("路中间塌陷了一个大坑", "S0401"),
        ("楼上邻居天天吵架", "G0101"),
        ("路灯晚上不亮", "B0118"),
        ("门口有人摆地摊", "S0501"),
        ("隔壁工地半夜施工噪音很大", "S0301"),
        ("独居老人腿受伤了，没人做饭", "G0301"),
    ],
)
def test_suggestion_from_the_report_text(text, code):
    assert suggest.suggest_categories(text)[0].code == code


@pytest.mark.django_db
def test_suggestions_are_ranked_leaves_in_use_and_limited():
    found = suggest.suggest_categories("楼道里有人飞线给电动车充电", limit=2)
    assert [c.code for c in found] == ["G0202", "G0203"]  # flying wire first, e-bike in the building next
    assert suggest.suggest_categories("ＤＩＹ") == [] and suggest.suggest_categories("   ") == []
    assert [c.code for c in suggest.suggest_categories("公用设施")] == []  # a class is not a leaf
    assert suggest.suggest_categories("电动车飞线充电")[0].code == "G0202"  # the name counts as a keyword


def test_suggestions_follow_edits_in_this_process_and_in_others(admin, settings, django_capture_on_commit_callbacks):
    text = "快递柜坏了取不出件"
    assert suggest.suggest_categories(text) == []
    with django_capture_on_commit_callbacks(execute=True):
        other = catalogue.update_category(seeded("G0401"), admin, 1, keywords="快递柜 驿站")
    assert [c.code for c in suggest.suggest_categories(text)] == ["G0401"]
    # another process changes the table: seen once the stamp is checked again
    Category.objects.filter(pk=other.pk).update(is_active=False, updated_at=other.updated_at.replace(year=2030))
    assert [c.code for c in suggest.suggest_categories(text)] == ["G0401"]  # checked less than a minute ago
    settings.CATEGORY_SUGGEST_CHECK_S = 0
    assert suggest.suggest_categories(text) == []


@pytest.mark.django_db
def test_a_suggestion_asks_the_database_nothing_once_the_table_is_built(settings):
    suggest.suggest_categories("井盖")
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(20):
            suggest.suggest_categories("楼道里有人飞线给电动车充电")
    assert len(ctx) == 0


# ---- pages -----------------------------------------------------------------------------------------------


def form_data(category, **changes) -> dict:
    """The edit form as the page fills it, with some fields changed (a False checkbox is left out)."""
    data = {}
    for name, value in {**initial_of(category), **changes}.items():
        if value is True:
            data[name] = "on"
        elif value is not False and value is not None:
            data[name] = str(value)
    return data


@pytest.fixture
def centre(client, admin):
    client.force_login(admin)
    return client


def test_the_district_admin_edits_a_limit_and_sees_the_history(centre, admin):
    wire = seeded("G0202")
    url = reverse("catalogue:category_edit", args=[wire.pk])
    page = centre.get(url).content.decode()
    assert "电动车飞线充电" in page and "Came with the installation" in page
    response = centre.post(url, form_data(wire, handle_limit=2, handle_unit="working_days"), follow=True)
    assert response.redirect_chain == [(url, 302)]
    page = response.content.decode()
    assert "Category G0202 电动车飞线充电 saved." in page
    assert "version 1 → 2" in page and "handle within" in page
    assert "1 natural days" in page and "2 working days" in page and str(admin) in page
    wire.refresh_from_db()
    assert (wire.version, wire.limit("handle")) == (2, (2, "working_days"))


def test_a_refusal_is_shown_on_its_field_and_nothing_changes(centre):
    wire = seeded("G0202")
    url = reverse("catalogue:category_edit", args=[wire.pk])
    response = centre.post(url, form_data(wire, accept_limit=0, default_tier="department"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "A time limit is a whole number from 1 to 999." in page
    assert "A category handled by a department names the department." in page
    wire.refresh_from_db()
    assert wire.version == 1 and wire.accept_limit == 1


def test_an_edit_over_someone_elses_is_refused_on_the_page(centre, admin):
    wire = seeded("G0202")
    data = form_data(wire, handle_limit=5)
    catalogue.update_category(wire, admin, 1, name="电动车飞线充电（楼道）")
    response = centre.post(reverse("catalogue:category_edit", args=[wire.pk]), data)
    assert "Someone else changed this record in the meantime" in response.content.decode()
    wire.refresh_from_db()
    assert (wire.version, wire.handle_limit, wire.name) == (2, 1, "电动车飞线充电（楼道）")


def test_adding_a_subcategory_from_its_class(centre):
    g04 = seeded("G04")
    url = reverse("catalogue:category_create")
    page = centre.get(url, {"parent": g04.pk}).content.decode()
    assert 'value="G04"' in page  # the code starts as the class's code
    data = form_data(g04, code="G0402", name="噪声扰民", keywords="噪声 广场舞", handle_limit=5)
    data.pop("version")
    data["parent"] = str(g04.pk)
    response = centre.post(url, data)
    created = Category.objects.get(code="G0402")
    assert response.status_code == 302 and response["Location"] == reverse("catalogue:category_edit", args=[created.pk])
    assert (created.parent, created.kind, created.handle_limit, created.version) == (g04, "social", 5, 1)


def test_the_category_list_searches_and_filters(centre):
    url = reverse("catalogue:categories")
    page = centre.get(url, {"q": "飞线"}).content.decode()
    assert 'data-code="G0202"' in page and 'data-code="G02"' in page  # the match, and its class for context
    assert 'data-code="G0201"' not in page and 'data-code="B01"' not in page
    page = centre.get(url, {"kind": "component"}).content.decode()
    assert 'data-code="B0101"' in page and 'data-code="S0401"' not in page


def test_the_category_list_costs_the_same_queries_however_long(centre, admin):
    url = reverse("catalogue:categories")
    centre.get(url)
    with CaptureQueriesContext(connection) as before:
        assert centre.get(url).status_code == 200
    for n in range(15):
        new_category(admin, code=f"G04{n:02d}X", name=f"测试{n}")
    with CaptureQueriesContext(connection) as after:
        page = centre.get(url).content.decode()
    assert "测试14" in page
    assert len(after) == len(before)


def test_the_calendar_page_lists_the_official_days_and_takes_edits(centre, admin):
    url = reverse("catalogue:calendar")
    page = centre.get(url, {"year": 2026}).content.decode()
    assert "国庆节调休上班" in page and 'data-date="2026-10-01"' in page
    response = centre.post(
        reverse("catalogue:calendar_day"), {"date": "2026-11-11", "is_working": "0", "name": "区运动会"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?year=2026")
    assert CalendarDay.objects.get(date="2026-11-11").name == "区运动会"
    response = centre.post(reverse("catalogue:calendar_day_remove"), {"date": "2026-10-01"})
    assert response.status_code == 302 and not CalendarDay.objects.filter(date="2026-10-01").exists()
    bad = {"morning_start": "09:00", "morning_end": "14:00", "afternoon_start": "13:30", "afternoon_end": "17:30"}
    page = centre.post(reverse("catalogue:working_hours"), bad).content.decode()
    assert "The afternoon starts when the morning has ended, or later." in page
    assert str(WorkSchedule.objects.get().morning_end)[:5] == "12:00"
    good = {**bad, "morning_end": "12:00", "afternoon_start": "14:00"}
    assert centre.post(reverse("catalogue:working_hours"), good).status_code == 302
    assert str(WorkSchedule.objects.get().afternoon_start)[:5] == "14:00"


def test_the_calendar_warns_while_next_year_has_no_holidays(centre, admin):
    from django.utils import timezone

    year = timezone.localdate().year
    CalendarDay.objects.filter(date__year=year + 1).delete()
    if not CalendarDay.objects.filter(date__year=year, is_working=False).exists():
        catalogue.set_calendar_day(admin, f"{year}-01-01", False, "元旦")
    warning = f"{year + 1} has no public holidays entered yet"
    assert warning in centre.get(reverse("catalogue:calendar")).content.decode()
    catalogue.set_calendar_day(admin, f"{year + 1}-01-01", False, "元旦")
    assert warning not in centre.get(reverse("catalogue:calendar")).content.decode()


@pytest.mark.parametrize("role", ["community_staff", "street_staff", "microgrid_member", "department_handler"])
def test_the_settings_pages_do_not_exist_for_anyone_else(client, tree, role):
    client.force_login(tree.users[role])
    wire = seeded("G0202")
    for url in (
        reverse("catalogue:categories"),
        reverse("catalogue:category_create"),
        reverse("catalogue:category_edit", args=[wire.pk]),
        reverse("catalogue:calendar"),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("catalogue:category_edit", args=[wire.pk]), form_data(wire, handle_limit=9)).status_code
        == 404
    )
    assert client.post(reverse("catalogue:calendar_day"), {"date": "2026-11-11", "is_working": "0"}).status_code == 404
    assert client.post(reverse("catalogue:calendar_day_remove"), {"date": "2026-10-01"}).status_code == 404
    assert client.post(reverse("catalogue:working_hours"), {"morning_start": "08:00"}).status_code == 404
    wire.refresh_from_db()
    assert wire.version == 1 and CalendarDay.objects.filter(date="2026-10-01").exists()
    assert not CalendarDay.objects.filter(date="2026-11-11").exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("catalogue:categories"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---- in the browser --------------------------------------------------------------------------------------

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
@pytest.mark.django_db(transaction=True)
def test_the_grid_centre_edits_a_category_and_a_holiday_on_a_phone(browser, live_server, tree):  # noqa: F811
    admin = tree.users["district_admin"]
    # Transactional tests may start from emptied tables: make the class and leaf this test edits.
    group = catalogue.create_category(admin, code="X01", name="楼道安全", kind="social")
    catalogue.create_category(
        admin, code="X0101", name="楼道飞线充电", kind="social", parent=group, keywords="飞线 充电 电动车"
    )
    with open_page(browser, **PHONE) as (page, problems):
        log_in(page, live_server.url, "district_admin", PASSWORD)
        page.goto(f"{live_server.url}/cases/settings/categories/")
        page.fill("#filter-q", "楼道飞线")
        page.locator("#category-filters button[type=submit]").click()
        expect(page.locator(".category-row")).to_have_count(2)  # the match and its class
        screenshot(page, "catalogue-categories-phone")
        page.locator(".category-row", has_text="楼道飞线充电").click()
        page.wait_for_selector("#category-form")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.fill("#id_handle_limit", "2")
        page.select_option("#id_handle_unit", "working_hours")
        page.locator("#category-form button[type=submit]").click()
        expect(page.locator("#category-history .history-change").first).to_contain_text("2")
        history = page.locator("#category-history").inner_text()
        assert "district_admin" in history
        screenshot(page, "catalogue-category-phone")
        page.goto(f"{live_server.url}/cases/settings/calendar/?year=2026")
        page.fill("#id_date", "2026-11-11")
        page.fill("#id_name", "区运动会")
        page.locator("#day-form button[type=submit]").click()
        expect(page.locator('.calendar-day[data-date="2026-11-11"]')).to_contain_text("区运动会")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(page, "catalogue-calendar-phone")
        problems.collect_csp(page)
        assert problems.errors == []
