"""A community worker imports residents from the Excel template in headless Chromium, start to finish."""

import pytest
from django.core.management import call_command

from fengchao.registry.models import ImportJob, Resident
from fengchao.registry.search_keys import has_cjk
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.factories import PASSWORD, first_micro
from tests.registry_factories import id_number

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

GIVEN_NAMES = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸"


def fill_template(path, micro):
    """20 residents in the downloaded template; row 5 has a mistyped ID number, row 9 a bad phone."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    headers = [str(c.value).rstrip("*") for c in ws[1]]
    for i in range(20):
        number = id_number("19800101", f"{100 + i:03d}")
        phone = f"139{i:08d}"
        if i == 3:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        if i == 7:
            phone = "12345"
        values = {
            "微网格编码": micro.code,
            "楼栋": "6栋",
            "单元": "1",
            "房号": f"{101 + i // 4}",
            "姓名": f"钱{GIVEN_NAMES[i]}",
            "证件号码": number,
            "联系电话": phone,
            "入住日期": "2024年3月1日",
        }
        ws.append([values.get(h) for h in headers])
    book.save(path)


def run_worker():
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)


def test_community_worker_imports_the_valid_rows_of_a_filled_in_template(browser, live_server, tree, tmp_path):  # noqa: F811
    micro = first_micro(tree, tree.grid_a1)
    with open_page(browser, viewport={"width": 375, "height": 800}, accept_downloads=True) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}/registry/excel/")
        with page.expect_download() as download:
            page.click("#templates a[data-template=residents]")
        template = tmp_path / "居民.xlsx"
        download.value.save_as(template)
        fill_template(template, micro)

        page.click("#upload-link")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.select_option("#id_entity", "residents")
        page.select_option("#id_area", str(tree.community_a.pk))
        page.set_input_files("#id_file", str(template))
        with page.expect_navigation():
            page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#job-status[data-state=uploaded]")

        run_worker()  # the check
        page.wait_for_selector("#job-status[data-state=validated]", timeout=15000)
        report = page.locator("#report-table tbody tr")
        assert report.count() == 2
        assert report.nth(0).get_attribute("data-row") == "5" and "证件号码" in report.nth(0).inner_text()
        assert report.nth(1).get_attribute("data-row") == "9" and "联系电话" in report.nth(1).inner_text()
        messages = page.locator("#report-table tbody td:last-child").all_inner_texts()
        assert all(has_cjk(m) for m in messages), messages  # the reasons are given in Chinese
        assert id_number("19800101", "103")[:-1] not in page.content()  # the bad ID number is shown masked
        assert page.locator("#mode-all_or_nothing").is_disabled()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(page, "excel-import-report-phone")

        page.check("#mode-valid_rows")
        with page.expect_navigation():
            page.click("#confirm-import")
        run_worker()  # the import
        page.wait_for_selector("#job-status[data-state=done]", timeout=15000)
        assert page.locator("#summary-created").inner_text() == "18"
        assert page.locator("#summary-skipped").inner_text() == "2"
        screenshot(page, "excel-import-done-phone")
        problems.collect_csp(page)
        assert problems.errors == []
    assert Resident.objects.filter(name__startswith="钱").count() == 18
    assert ImportJob.objects.get().file_data is None


def test_staff_export_a_filtered_list_unmasked_with_a_reason(browser, live_server, tree, tmp_path):  # noqa: F811
    import openpyxl

    from fengchao.registry.models import AccessLog, CareTag
    from tests.registry_factories import build_registry

    CareTag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})  # flushed with the tables
    reg = build_registry(tree)
    with open_page(browser, viewport={"width": 375, "height": 800}, accept_downloads=True) as (page, problems):
        log_in(page, live_server.url, "community_staff", PASSWORD)
        page.goto(f"{live_server.url}/registry/excel/export/residents/?area={tree.grid_a1.pk}&q=zs")
        assert "2" in page.locator("#export-count").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.check("#id_unmasked")
        page.fill("#id_reason", "核对高龄补贴名单")
        with page.expect_download() as download:
            page.click("#export-submit")
        path = tmp_path / "export.xlsx"
        download.value.save_as(path)
        problems.collect_csp(page)
        assert problems.errors == []
    rows = list(openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3 and reg.residents["zhang_san"].id_number in str(rows)
    log = AccessLog.objects.get()
    assert log.reason == "核对高龄补贴名单" and log.count == 2 and log.area == tree.grid_a1
