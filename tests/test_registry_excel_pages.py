"""Excel exports, the import pages, the API for jobs, and the worker running them end to end."""

import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fengchao.accounts import services as accounts
from fengchao.audit.models import AuditEvent
from fengchao.registry import services
from fengchao.registry.excel import columns, jobs
from fengchao.registry.models import (
    AccessLog,
    AccessLogSubject,
    CareTag,
    ExportJob,
    ExportState,
    ImportJob,
    ImportState,
    Resident,
)
from tests.factories import first_micro
from tests.registry_factories import build_registry, id_number
from tests.test_registry_excel import person, residents_file


@pytest.fixture
def reg(tree):
    return build_registry(tree)


def sheet_rows(content: bytes) -> list[list]:
    ws = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [[c.value for c in row] for row in ws.iter_rows()]


def column(rows, header) -> list:
    position = [h.rstrip("*") for h in rows[0]].index(header)
    return [row[position] for row in rows[1:]]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---- exports -----------------------------------------------------------------------------------------


def test_export_is_scoped_filtered_and_masked_by_default(tree, reg):
    result = jobs.start_export(tree.users["community_staff"], "residents", {})
    rows = sheet_rows(result.content)
    assert sorted(column(rows, "姓名")) == ["张三", "張四", "李梅"]  # not 王五 of street B
    ids = column(rows, "证件号码")
    assert all("*" in i for i in ids) and reg.residents["zhang_san"].id_number not in str(rows)
    assert "13800000001" not in str(rows) and "138****0001" in column(rows, "联系电话")
    assert "1945年" in column(rows, "出生日期")  # a full birth date would give the masked digits away
    assert column(rows, "微网格编码")[0] == first_micro(tree, tree.grid_a1).code
    assert not AccessLog.objects.exists()
    tagged = jobs.start_export(tree.users["community_staff"], "residents", {"care_tag": "elderly_alone"})
    assert column(sheet_rows(tagged.content), "姓名") == ["张三"]


@pytest.mark.parametrize("entity", ["households", "buildings", "places", "organisations"])
def test_every_list_exports(tree, reg, entity):
    rows = sheet_rows(jobs.start_export(tree.users["community_staff"], entity, {}).content)
    assert rows[0] == [c.title for c in columns.SHEETS[entity].columns]
    assert len(rows) > 1
    assert "王五" not in str(rows) and "9栋" not in str(rows) and "13600000004" not in str(rows)


def test_an_unmasked_export_needs_the_role_and_a_reason_and_is_logged_per_record(tree, reg):
    staff = tree.users["community_staff"]
    with pytest.raises(ValidationError):
        jobs.start_export(staff, "residents", {}, unmasked=True, reason="")
    with pytest.raises(PermissionDenied):
        jobs.start_export(tree.users["microgrid_member"], "residents", {}, unmasked=True, reason="走访核对")
    result = jobs.start_export(staff, "residents", {}, unmasked=True, reason="走访核对")
    rows = sheet_rows(result.content)
    assert reg.residents["zhang_san"].id_number in column(rows, "证件号码")
    assert any(getattr(d, "year", None) == 1945 and d.month == 3 for d in column(rows, "出生日期"))
    log = AccessLog.objects.get()
    assert (log.actor, log.action, log.reason, log.count, log.area) == (
        staff,
        "export",
        "走访核对",
        3,
        staff_root(tree),
    )
    assert set(AccessLogSubject.objects.values_list("subject_id", flat=True)) == {
        reg.residents[k].pk for k in ("zhang_san", "zhang_si", "li_mei")
    }


def staff_root(tree):
    return tree.community_a


def test_an_export_area_out_of_scope_is_404(client, tree, reg):
    client.force_login(tree.users["community_staff"])
    response = client.get(reverse("registry_excel:export", args=["residents"]) + f"?area={tree.street_b.pk}")
    assert response.status_code == 404


def test_a_large_export_runs_in_the_worker_and_only_its_creator_downloads_it(tree, reg, settings):
    settings.REGISTRY_EXCEL_SYNC_EXPORT_ROWS = 1
    staff = tree.users["community_staff"]
    result = jobs.start_export(staff, "residents", {}, unmasked=True, reason="年度核查")
    job = result.job
    assert job.state == ExportState.QUEUED and result.content is None
    jobs.run_export(job)
    assert job.state == ExportState.DONE and job.progress_done == 3
    assert AccessLog.objects.get().count == 3
    client = logged_in(staff)
    page = client.get(reverse("registry_excel:export_job", args=[job.pk]))
    assert reverse("registry_excel:download", args=[job.pk]) in page.content.decode()
    download = client.get(reverse("registry_excel:download", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert reg.residents["li_mei"].id_number in str(sheet_rows(download.content))
    other = logged_in(tree.users["street_staff"])
    assert other.get(reverse("registry_excel:download", args=[job.pk])).status_code == 404
    assert other.get(reverse("registry_excel:export_job", args=[job.pk])).status_code == 404


def test_export_reads_a_constant_number_of_queries(tree, reg):
    staff = tree.users["community_staff"]

    def count():
        with CaptureQueriesContext(connection) as queries:
            jobs.start_export(staff, "residents", {})
        return len(queries)

    count()  # the first one also reads the user's scope, remembered on the user
    before = count()
    micro = first_micro(tree, tree.grid_a1)
    for i in range(6):
        household = services.create_household(None, area=micro, address=f"和美路{i}号")
        services.create_resident(
            None, household=household, name=f"钱{chr(0x4E00 + i)}", id_number=id_number("19700101", f"{500 + i:03d}")
        )
    assert count() == before


# ---- pages -------------------------------------------------------------------------------------------


def test_pages_open_for_registry_users_and_404_for_others(tree, reg):
    staff = logged_in(tree.users["community_staff"])
    for name in ("imports", "upload"):
        assert staff.get(reverse(f"registry_excel:{name}")).status_code == 200
    response = staff.get(reverse("registry_excel:template", args=["residents"]))
    assert response.status_code == 200 and "xlsx" in response["Content-Disposition"]
    assert staff.get(reverse("registry_excel:template", args=["castles"])).status_code == 404
    handler = logged_in(tree.users["department_handler"])
    assert handler.get(reverse("registry_excel:imports")).status_code == 404
    assert handler.get(reverse("registry_excel:export", args=["residents"])).status_code == 404
    anonymous = Client().get(reverse("registry_excel:imports"))
    assert anonymous.status_code == 302


def test_upload_page_shows_file_errors_on_the_form(tree):
    client = logged_in(tree.users["community_staff"])
    response = client.post(
        reverse("registry_excel:upload"),
        {"entity": "residents", "area": tree.community_a.pk, "file": _file(b"not a sheet", "a.xlsx")},
    )
    assert response.status_code == 200 and ".xlsx" in response.content.decode()
    assert not ImportJob.objects.exists()
    outside = client.post(
        reverse("registry_excel:upload"),
        {"entity": "residents", "area": tree.community_b.pk, "file": _file(residents_file([]), "a.xlsx")},
    )
    assert outside.status_code == 200 and not ImportJob.objects.exists()


def _file(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_the_unmask_option_is_offered_only_to_full_view_roles(tree, reg):
    url = reverse("registry_excel:export", args=["residents"])
    assert 'name="unmasked"' in logged_in(tree.users["community_staff"]).get(url).content.decode()
    member = logged_in(tree.users["microgrid_member"])
    assert 'name="unmasked"' not in member.get(url).content.decode()
    # ticking it anyway (a hand-made request) exports masked
    response = member.post(url, {"unmasked": "on", "reason": "试试"})
    assert response.status_code == 200 and not AccessLog.objects.exists()
    assert reg.residents["zhang_san"].id_number not in str(sheet_rows(response.content))


def test_the_imports_list_reads_a_constant_number_of_queries(tree):
    staff = tree.users["community_staff"]
    client = logged_in(staff)
    url = reverse("registry_excel:imports")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    ImportJob.objects.create(entity="residents", created_by=staff, area=tree.community_a, file_name="a.xlsx")
    one = count()
    for i in range(5):
        ImportJob.objects.create(entity="places", created_by=staff, area=tree.community_a, file_name=f"{i}.xlsx")
    assert count() == one


# ---- API ---------------------------------------------------------------------------------------------


def token_client(user) -> Client:
    _token, raw = accounts.issue_api_token(user, "excel")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_api_upload_check_confirm_and_scope(tree):
    staff = tree.users["community_staff"]
    api = token_client(staff)
    micro = first_micro(tree, tree.grid_a1)
    data = residents_file([person(micro, "赵一", id_number("19800101", "011")), person(micro, "赵二", "12")])
    response = api.post(
        "/api/registry/imports",
        {"entity": "residents", "area_id": tree.community_a.pk, "file": _file(data, "居民.xlsx")},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "uploaded" and body["file_name"] == "居民.xlsx"
    job = ImportJob.objects.get(pk=body["id"])
    from fengchao.registry.excel import importing

    importing.check(job)
    body = api.get(f"/api/registry/imports/{job.pk}").json()
    assert body["state"] == "validated" and body["bad_rows"] == 1
    assert body["errors"][0]["row"] == 3 and body["errors"][0]["header"] == "证件号码"
    refused = api.post(
        f"/api/registry/imports/{job.pk}/confirm", {"mode": "all_or_nothing"}, content_type="application/json"
    )
    assert refused.status_code == 422
    other = token_client(tree.users["street_staff"])
    assert other.get(f"/api/registry/imports/{job.pk}").status_code == 404
    assert (
        other.post(
            f"/api/registry/imports/{job.pk}/confirm", {"mode": "valid_rows"}, content_type="application/json"
        ).status_code
        == 404
    )
    confirmed = api.post(
        f"/api/registry/imports/{job.pk}/confirm", {"mode": "valid_rows"}, content_type="application/json"
    )
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "importing"
    outside = api.post(
        "/api/registry/imports", {"entity": "residents", "area_id": tree.community_b.pk, "file": _file(data, "a.xlsx")}
    )
    assert outside.status_code == 404
    bad = api.post(
        "/api/registry/imports",
        {"entity": "residents", "area_id": tree.community_a.pk, "file": _file(b"nope", "a.xlsx")},
    )
    assert bad.status_code == 422 and ".xlsx" in bad.json()["detail"]


def test_api_templates_and_exports(tree, reg, settings):
    staff = tree.users["community_staff"]
    api = token_client(staff)
    template = api.get("/api/registry/templates/places")
    assert template.status_code == 200 and sheet_rows(template.content)[0][0] == "网格编码*"
    small = api.post(
        "/api/registry/exports", {"entity": "places", "filters": {"kind": "shop"}}, content_type="application/json"
    )
    assert small.status_code == 200 and column(sheet_rows(small.content), "名称") == ["和美便利店"]
    refused = token_client(tree.users["microgrid_member"]).post(
        "/api/registry/exports",
        {"entity": "residents", "unmasked": True, "reason": "核对"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    settings.REGISTRY_EXCEL_SYNC_EXPORT_ROWS = 0
    queued = api.post("/api/registry/exports", {"entity": "residents"}, content_type="application/json")
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    job = ExportJob.objects.get(pk=queued.json()["id"])
    jobs.run_export(job)
    body = api.get(f"/api/registry/exports/{job.pk}").json()
    assert body["state"] == "done" and body["download_url"]
    assert api.get(body["download_url"]).status_code == 200
    assert token_client(tree.users["street_staff"]).get(body["download_url"]).status_code == 404
    bad_filter = api.post(
        "/api/registry/exports",
        {"entity": "residents", "filters": {"status": "asleep"}},
        content_type="application/json",
    )
    assert bad_filter.status_code == 422


# ---- the worker, end to end ------------------------------------------------------------------------


def run_worker():
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_upload_check_choose_and_import_through_the_worker():
    from tests.factories import build_tree

    tree = build_tree()
    micro = first_micro(tree, tree.grid_a1)
    client = logged_in(tree.users["community_staff"])
    data = residents_file([person(micro, "赵一", id_number("19800101", "011")), person(micro, "赵二", "12")])
    response = client.post(
        reverse("registry_excel:upload"),
        {"entity": "residents", "area": tree.community_a.pk, "file": _file(data, "居民.xlsx")},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("registry_excel:job", args=[job.pk])
    polling = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in polling
    run_worker()
    job.refresh_from_db()
    assert job.state == ImportState.VALIDATED and job.bad_rows == 1
    page = client.get(reverse("registry_excel:job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="mode-form"' in page and "证件号码" in page and "hx-trigger" not in page
    client.post(reverse("registry_excel:job", args=[job.pk]), {"mode": "valid_rows", "action": "confirm"})
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.created, job.skipped) == (ImportState.DONE, 1, 1)
    assert Resident.objects.filter(name="赵一").exists()
    done = client.get(reverse("registry_excel:job", args=[job.pk])).content.decode()
    assert 'id="summary-created">1<' in done
    assert AuditEvent.objects.filter(action="registry.excel_imported").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_queued_export_runs_in_the_worker(settings):
    from tests.factories import build_tree

    tree = build_tree()
    CareTag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})  # flushed with the tables
    build_registry(tree)
    settings.REGISTRY_EXCEL_SYNC_EXPORT_ROWS = 0
    client = logged_in(tree.users["community_staff"])
    response = client.post(reverse("registry_excel:export", args=["residents"]), {})
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("registry_excel:export_job", args=[job.pk])
    run_worker()
    job.refresh_from_db()
    assert job.state == ExportState.DONE and job.progress_done == 3
    assert len(sheet_rows(bytes(job.result))) == 4
