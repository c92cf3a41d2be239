"""Excel in and out for the registry: templates, checking and importing sheets, re-imports, bad files."""

import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fengchao.audit.models import AuditEvent
from fengchao.registry import services
from fengchao.registry.excel import columns, importing, jobs, writing
from fengchao.registry.models import (
    Building,
    CareTag,
    Household,
    ImportJob,
    ImportMode,
    ImportState,
    MoveRecord,
    Organisation,
    Place,
    Resident,
    Room,
)
from tests.factories import first_micro
from tests.registry_factories import build_registry, credit_code, id_number

RESIDENT_HEADERS = [c.title for c in columns.RESIDENTS.import_columns]


def xlsx(headers, rows, *, tweak=None, title="居民") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = title
    ws.append(headers)
    for row in rows:
        ws.append(row)
    if tweak:
        tweak(ws)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def row_for(sheet, **values):
    """A row of the sheet's import columns, by Chinese header (without the * of required ones)."""
    return [values.get(c.header) for c in sheet.import_columns]


def person(micro, name, id_no, *, building="5栋", room="101", **extra):
    values = {"微网格编码": micro.code, "楼栋": building, "单元": "1", "房号": room, "姓名": name, "证件号码": id_no}
    values.update(extra)
    return row_for(columns.RESIDENTS, **values)


def residents_file(rows):
    return xlsx(RESIDENT_HEADERS, rows)


def checked(user, area, data, entity="residents") -> ImportJob:
    job = jobs.create_import(user, entity=entity, area=area, upload=data)
    importing.check(job)
    job.refresh_from_db()
    return job


def imported(user, job, mode=ImportMode.VALID_ROWS) -> ImportJob:
    jobs.confirm_import(user, job, mode)
    importing.run(job)
    job.refresh_from_db()
    return job


def import_file(user, area, data, entity="residents", mode=ImportMode.VALID_ROWS) -> ImportJob:
    job = checked(user, area, data, entity)
    assert job.state == ImportState.VALIDATED, job.message
    return imported(user, job, mode)


def problems(job):
    return [(e["row"], e["header"]) for e in job.report["errors"]]


@pytest.fixture
def micro(tree):
    return first_micro(tree, tree.grid_a1)


@pytest.fixture
def staff(tree):
    return tree.users["community_staff"]


# ---- templates -------------------------------------------------------------------------------------


def test_residents_template_has_chinese_headers_notes_and_dropdowns(tree):
    book = openpyxl.load_workbook(io.BytesIO(writing.build_template("residents")))
    ws = book.worksheets[0]
    headers = [cell.value for cell in ws[1]]
    assert headers[:2] == ["微网格编码*", "楼栋"]
    assert "姓名*" in headers and "证件号码" in headers and "关爱标签" in headers
    assert "出生日期" not in headers  # export-only columns are not in the template
    id_column = headers.index("证件号码")
    assert "18" in ws.cell(row=1, column=id_column + 1).comment.text
    options = book["选项"]
    assert options.sheet_state == "hidden"
    lists = {}
    for validation in ws.data_validations.dataValidation:
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        sheet_ref = validation.formula1.split("!")[1].replace("$", "")
        start, end = sheet_ref.split(":")
        values = [c.value for row in options[start:end] for c in row]
        lists[headers[openpyxl.utils.column_index_from_string(column) - 1]] = (values, validation.showErrorMessage)
    assert lists["是否党员"][0] == ["是", "否"]
    assert len(lists["性别"][0]) == 2 and len(lists["与户主关系"][0]) == 9
    tags, strict = lists["关爱标签"]
    assert "独居老人" in tags or CareTag.objects.get(code="elderly_alone").name in tags
    assert not strict  # several care tags may be typed into one cell
    assert lists["居住类型"][1]  # coded columns refuse other values


@pytest.mark.parametrize("entity", ["buildings", "places", "organisations"])
def test_other_templates_open_with_their_required_columns(entity):
    book = openpyxl.load_workbook(io.BytesIO(writing.build_template(entity)))
    headers = [cell.value for cell in book.worksheets[0][1]]
    required = [c.title for c in columns.SHEETS[entity].import_columns if c.required]
    assert required and all(h in headers for h in required)


def test_a_template_filled_in_imports(tree, micro, staff):
    book = openpyxl.load_workbook(io.BytesIO(writing.build_template("buildings")))
    ws = book.worksheets[0]
    ws.append([micro.code, "8栋", "和美路8号", 18, 2, None, None, "新楼"])
    buffer = io.BytesIO()
    book.save(buffer)
    job = import_file(staff, tree.community_a, buffer.getvalue(), entity="buildings")
    assert job.created == 1
    assert Building.objects.get(name="8栋").floors == 18


# ---- importing residents -----------------------------------------------------------------------------


def test_residents_import_creates_buildings_rooms_households_and_one_audit_event(tree, micro, staff):
    rows = [
        person(
            micro, "赵一", id_number("19800101", "011"), 与户主关系="head", 联系电话="13912345678", 关爱标签="独居老人"
        ),
        person(micro, "赵二", id_number("19820202", "022"), 与户主关系="spouse"),
        person(micro, "钱三", id_number("19900303", "033"), room="102", 入住日期="2024/3/1"),
        person(micro, "孙四", "", building=None, room=None, 地址="和美路9号附1号"),
    ]
    CareTag.objects.filter(code="elderly_alone").update(name="独居老人")
    job = import_file(staff, tree.community_a, residents_file(rows))
    assert (job.state, job.created, job.updated, job.skipped) == (ImportState.DONE, 4, 0, 0)
    assert job.file_data is None  # the file is not kept once imported
    zhao = Resident.objects.get(name="赵一")
    assert zhao.phone == "13912345678" and zhao.gender == "male" and zhao.birth_date.year == 1980
    assert zhao.area == micro and zhao.street_pk == tree.street_a.pk
    assert list(zhao.care_tags.values_list("code", flat=True)) == ["elderly_alone"]
    household = zhao.household
    assert household.head == zhao and household.room.building.name == "5栋"
    assert household.address == f"{micro.name}5栋1单元101"
    assert Resident.objects.get(name="赵二").household == household
    assert Resident.objects.get(name="钱三").moved_in_on.isoformat() == "2024-03-01"
    assert Resident.objects.get(name="孙四").household.address == "和美路9号附1号"
    assert Room.objects.filter(building__name="5栋").count() == 2
    event = AuditEvent.objects.get(action="registry.excel_imported")
    assert event.data["created"] == 4 and event.actor == staff
    assert "13912345678" not in str(event.data)


def test_reimporting_the_same_file_updates_instead_of_duplicating(tree, micro, staff):
    rows = [
        person(micro, "赵一", id_number("19800101", "011"), 与户主关系="head"),
        person(micro, "孙四", "", building=None, room=None, 地址="和美路9号附1号"),
    ]
    import_file(staff, tree.community_a, residents_file(rows))
    again = import_file(staff, tree.community_a, residents_file(rows))
    assert (again.created, again.updated, again.skipped) == (0, 0, 2)
    assert Resident.objects.filter(name__in=["赵一", "孙四"]).count() == 2
    assert Household.objects.filter(address_key__contains="5栋").count() == 1
    assert Building.objects.filter(name="5栋").count() == 1
    rows[0] = person(micro, "赵一", id_number("19800101", "011"), 与户主关系="head", 联系电话="13600001111")
    changed = import_file(staff, tree.community_a, residents_file(rows))
    assert (changed.created, changed.updated, changed.skipped) == (0, 1, 1)
    assert Resident.objects.get(name="赵一").phone == "13600001111"


def test_reimport_moving_a_resident_to_another_household_keeps_the_move(tree, micro, staff):
    reg = build_registry(tree)
    zhang = reg.residents["zhang_san"]
    rows = [person(micro, "张三", zhang.id_number, building="1栋", room="102", 单元=None, 与户主关系="other")]
    job = import_file(staff, tree.community_a, residents_file(rows))
    assert (job.created, job.updated) == (0, 1)
    zhang.refresh_from_db()
    assert zhang.household == reg.households["li"] and zhang.relation == "other"
    move = MoveRecord.objects.get(resident=zhang)
    assert move.from_address == reg.households["zhang"].address and move.to_address == reg.households["li"].address
    assert Household.objects.get(pk=reg.households["zhang"].pk).head is None
    assert zhang.care_tags.count() == 1  # an empty care-tag cell leaves the tags as they are


def test_bad_rows_are_reported_by_row_and_column_with_masked_values(tree, micro, staff):
    rows = [
        person(micro, "赵一", id_number("19800101", "011")),
        person(micro, "赵二", id_number("19800101", "012")[:-1] + "0", 联系电话="13912345678"),
        person(micro, "赵三", id_number("19800101", "013"), 联系电话="12345"),
        person(micro, "赵四", id_number("19800101", "014"), 入住日期="三月一日", 性别="martian"),
        person(micro, "赵五", id_number("19800101", "011")),
    ]
    job = checked(staff, tree.community_a, residents_file(rows))
    assert job.state == ImportState.VALIDATED and (job.rows, job.bad_rows) == (5, 4)
    assert problems(job) == [(3, "证件号码"), (4, "联系电话"), (5, "性别"), (5, "入住日期"), (6, "证件号码")]
    errors = job.report["errors"]
    assert "check character" in errors[0]["message"]
    assert errors[0]["value"].startswith("5101") and "*" in errors[0]["value"]
    assert errors[0]["column"] == "K"
    assert errors[1]["value"] == "*****"  # a short bad phone is still masked
    assert "三月一日" in errors[3]["message"]
    assert "row 2" in errors[4]["message"]
    assert id_number("19800101", "011") not in str(job.report)


@pytest.mark.zh_hans
def test_the_report_is_written_in_the_uploaders_language(tree, micro, staff):
    job = checked(staff, tree.community_a, residents_file([person(micro, "赵二", "123")]))
    assert job.language == "zh-hans"
    assert job.report["errors"][0]["header"] == "证件号码"


def test_all_or_nothing_refuses_a_file_with_bad_rows_and_valid_rows_imports_the_rest(tree, micro, staff):
    rows = [person(micro, "赵一", id_number("19800101", "011")), person(micro, "赵二", "123")]
    job = checked(staff, tree.community_a, residents_file(rows))
    with pytest.raises(ValidationError, match="all or nothing"):
        jobs.confirm_import(staff, job, ImportMode.ALL_OR_NOTHING)
    job = imported(staff, job, ImportMode.VALID_ROWS)
    assert (job.created, job.skipped) == (1, 1)
    assert not Resident.objects.filter(name="赵二").exists()


def test_all_or_nothing_writes_nothing_when_a_row_goes_bad_before_writing(tree, micro, staff):
    reg = build_registry(tree)
    rows = [person(micro, "赵一", id_number("19800101", "011")), person(micro, "赵二", id_number("19800101", "022"))]
    job = checked(staff, tree.community_a, residents_file(rows))
    assert job.bad_rows == 0
    # meanwhile the second ID number is registered in street B, outside community staff's scope
    services.update_resident(None, reg.residents["wang_wu"], id_number=id_number("19800101", "022"))
    job = imported(staff, job, ImportMode.ALL_OR_NOTHING)
    assert job.state == ImportState.FAILED and "nothing was imported" in job.message
    assert problems(job) == [(3, "证件号码")]
    assert not Resident.objects.filter(name="赵一").exists()
    assert not Building.objects.filter(name="5栋").exists()


def test_rows_must_lie_inside_the_target_area_and_the_importers_scope(tree, micro, staff):
    reg = build_registry(tree)
    outside = first_micro(tree, tree.grid_b1)
    other_grid = first_micro(tree, tree.grid_a2)
    rows = [
        person(outside, "赵一", id_number("19800101", "011")),
        person(other_grid, "赵二", id_number("19800101", "022")),
        person(micro, "赵三", reg.residents["wang_wu"].id_number),
        person(tree.grid_a1, "赵四", id_number("19800101", "044")),
        person(micro, "赵五", id_number("19800101", "055"), 微网格编码="999999"),
    ]
    job = checked(tree.users["grid_leader"], tree.grid_a1, residents_file(rows))
    messages = {e["row"]: e["message"] for e in job.report["errors"]}
    assert set(messages) == {2, 3, 4, 5, 6}
    assert tree.street_b.name not in str(job.report) and outside.name not in str(job.report)
    assert "outside yours" in messages[4]
    assert "Micro-grid" in messages[5] or "micro-grid" in messages[5].lower()
    with pytest.raises(ValidationError):
        jobs.create_import(
            tree.users["grid_leader"], entity="residents", area=tree.community_a, upload=residents_file(rows)
        )


def test_full_width_digits_date_cells_and_codes_as_labels_are_accepted(tree, micro, staff):
    import datetime

    rows = [
        person(
            micro,
            "赵一",
            id_number("19800101", "011").translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            联系电话="１３９１２３４５６７８",
            入住日期=datetime.date(2023, 5, 6),
            性别="Male",
            居住类型="floating",
            是否党员="是",
        ),
        person(micro, "赵二", id_number("19800101", "022"), room="102", 入住日期="2024年3月1日"),
        person(micro, "赵三", id_number("19800101", "033"), room="103", 入住日期="2024.3.1"),
    ]
    job = import_file(staff, tree.community_a, residents_file(rows))
    assert job.created == 3, job.report
    zhao = Resident.objects.get(name="赵一")
    assert zhao.id_number == id_number("19800101", "011") and zhao.phone == "13912345678"
    assert zhao.moved_in_on == datetime.date(2023, 5, 6) and zhao.is_party_member
    assert zhao.residence_type == "floating"


def test_an_id_number_typed_as_a_number_is_refused_because_excel_lost_digits(tree, micro, staff):
    rows = [person(micro, "赵一", int(id_number("19800101", "011")))]
    job = checked(staff, tree.community_a, residents_file(rows))
    assert problems(job) == [(2, "证件号码")] and "format the column as text" in job.report["errors"][0]["message"]


def test_checking_and_importing_take_a_constant_number_of_queries(tree, micro, staff):
    def run_counting(n, start, building):
        rows = [
            person(
                micro,
                f"赵{chr(0x4E00 + i)}",
                id_number("19800101", f"{start + i:03d}"),
                building=building,
                room=f"{100 + i}",
            )
            for i in range(n)
        ]
        data = residents_file(rows)
        with CaptureQueriesContext(connection) as queries:
            job = import_file(staff, tree.community_a, data)
        assert job.created + job.skipped == n
        return len(queries)

    run_counting(1, 500, "4栋")  # the first also reads the importer's scope, which is then remembered
    assert run_counting(40, 100, "5栋") == run_counting(10, 300, "6栋")
    assert run_counting(40, 100, "5栋") == run_counting(10, 300, "6栋")  # again: every row found, unchanged


# ---- places, organisations, buildings ------------------------------------------------------------------


def test_places_reimport_matches_by_credit_code_else_by_name(tree, staff):
    sheet = columns.PLACES
    code = credit_code("91510108MA7")
    rows = [
        row_for(
            sheet, 网格编码=tree.grid_a1.code, 场所类型="shop", 名称="和美超市", 统一社会信用代码=code, 九小场所="是"
        ),
        row_for(sheet, 网格编码=tree.grid_a1.code, 场所类型="school", 名称="和美小学", 联系电话="02884000002"),
    ]
    headers = [c.title for c in sheet.import_columns]
    job = import_file(staff, tree.community_a, xlsx(headers, rows), entity="places")
    assert job.created == 2
    rows[0] = row_for(sheet, 网格编码=tree.grid_a1.code, 场所类型="shop", 名称="和美大超市", 统一社会信用代码=code)
    rows[1] = row_for(sheet, 网格编码=tree.grid_a1.code, 场所类型="school", 名称="和美小学", 联系电话="02884000003")
    again = import_file(staff, tree.community_a, xlsx(headers, rows), entity="places")
    assert (again.created, again.updated) == (0, 2)
    shop = Place.objects.get(credit_code=code)
    assert shop.name == "和美大超市" and shop.name_key == "和美大超市"
    assert Place.objects.get(name="和美小学").phone == "02884000003"
    assert Place.objects.count() == 2


def test_organisations_keep_names_unique_in_an_area(tree, staff):
    reg = build_registry(tree)
    sheet = columns.ORGANISATIONS
    headers = [c.title for c in sheet.import_columns]
    rows = [
        row_for(sheet, 区域编码=tree.community_a.code, 组织类型="party_branch", 名称=reg.organisations["branch"].name),
        row_for(
            sheet,
            区域编码=tree.community_a.code,
            组织类型="owners_committee",
            名称=reg.organisations["branch"].name,
            统一社会信用代码=credit_code("53510108MA8"),
        ),
        row_for(sheet, 区域编码=tree.community_a.code, 组织类型="castle", 名称="城堡"),
    ]
    job = checked(staff, tree.community_a, xlsx(headers, rows), entity="organisations")
    assert problems(job) == [(3, "名称"), (4, "组织类型")]
    job = imported(staff, job)
    assert job.created == 0 and job.skipped == 2  # the first row matched the branch by area and name
    assert Organisation.objects.count() == 1


def test_buildings_need_a_micro_grid(tree, micro, staff):
    sheet = columns.BUILDINGS
    headers = [c.title for c in sheet.import_columns]
    rows = [
        row_for(sheet, 微网格编码=micro.code, 楼栋名称="7栋", 层数="七"),
        row_for(sheet, 微网格编码=tree.grid_a1.code, 楼栋名称="8栋"),
        row_for(sheet, 微网格编码=micro.code, 楼栋名称="9栋", 层数=6),
    ]
    job = checked(staff, tree.community_a, xlsx(headers, rows), entity="buildings")
    assert problems(job) == [(2, "层数"), (3, "微网格编码")]
    assert imported(staff, job).created == 1


# ---- bad files ---------------------------------------------------------------------------------------


def upload_error(staff, area, data) -> str:
    with pytest.raises(ValidationError) as error:
        jobs.create_import(staff, entity="residents", area=area, upload=data)
    return " ".join(error.value.messages)


def check_error(staff, area, data) -> str:
    job = jobs.create_import(staff, entity="residents", area=area, upload=data)
    importing.check(job)
    job.refresh_from_db()
    assert job.state == ImportState.FAILED and job.file_data is None
    return job.message


def test_files_that_are_not_xlsx_are_refused_at_upload(tree, staff):
    assert ".xlsx" in upload_error(staff, tree.community_a, b"%PDF-1.7 not a sheet")
    assert "empty" in upload_error(staff, tree.community_a, b"")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "a zip, but not a workbook")
    assert "damaged" in upload_error(staff, tree.community_a, buffer.getvalue())
    truncated = residents_file([])[:300]
    assert "damaged" in upload_error(staff, tree.community_a, truncated)


def test_a_file_over_the_size_limit_is_refused(tree, staff, settings):
    settings.REGISTRY_EXCEL_MAX_BYTES = 4000
    message = upload_error(staff, tree.community_a, residents_file([]) + b"\0" * 5000)
    assert "MB" in message and "split" in message


def test_too_many_rows_are_refused(tree, micro, staff, settings):
    settings.REGISTRY_EXCEL_MAX_ROWS = 3
    rows = [person(micro, f"赵{i}", "") for i in range(5)]
    assert "at most 3" in check_error(staff, tree.community_a, residents_file(rows))


def test_formulas_are_named_by_cell(tree, micro, staff):
    def add_formulas(ws):
        ws["H2"] = '=CONCATENATE("赵","一")'
        ws["L3"] = "=1+1"

    rows = [person(micro, "赵一", ""), person(micro, "赵二", "")]
    message = upload_error(staff, tree.community_a, xlsx(RESIDENT_HEADERS, rows, tweak=add_formulas))
    assert "H2" in message and "L3" in message and "formula" in message


def test_merged_cells_are_named_by_range(tree, micro, staff):
    rows = [person(micro, "赵一", ""), person(micro, "赵二", "")]
    message = upload_error(
        staff, tree.community_a, xlsx(RESIDENT_HEADERS, rows, tweak=lambda ws: ws.merge_cells("B2:B3"))
    )
    assert "B2:B3" in message and "merged" in message.lower()


def test_wrong_headers_name_the_missing_and_the_unknown_columns(tree, micro, staff):
    headers = [h for h in RESIDENT_HEADERS if h != "姓名*"] + ["血型"]
    message = check_error(staff, tree.community_a, xlsx(headers, [[micro.code]]))
    assert "姓名" in message and "血型" in message


def test_an_empty_sheet_and_a_sheet_of_headers_only_are_refused(tree, staff):
    assert "empty" in check_error(staff, tree.community_a, xlsx([], []))
    assert "only headers" in check_error(staff, tree.community_a, residents_file([]))


def test_a_date_typed_as_text_in_another_format_names_the_cell(tree, micro, staff):
    job = checked(staff, tree.community_a, residents_file([person(micro, "赵一", "", 入住日期="2024-13-45")]))
    assert problems(job) == [(2, "入住日期")]
    assert job.report["errors"][0]["column"] == "Q"


# ---- who may see a job -----------------------------------------------------------------------------


def test_jobs_belong_to_their_creator(tree, micro, staff):
    job = jobs.create_import(staff, entity="residents", area=tree.community_a, upload=residents_file([]))
    assert list(jobs.imports_of(staff)) == [job]
    assert not jobs.imports_of(tree.users["street_staff"]).exists()
    assert not jobs.imports_of(tree.users["department_handler"]).exists()


def test_a_job_can_only_be_confirmed_once_and_runs_once(tree, micro, staff):
    job = checked(staff, tree.community_a, residents_file([person(micro, "赵一", "")]))
    jobs.confirm_import(staff, job, ImportMode.VALID_ROWS)
    with pytest.raises(ValidationError):
        jobs.confirm_import(staff, job, ImportMode.VALID_ROWS)
    with pytest.raises(ValidationError):
        jobs.cancel_import(staff, job)
    again = ImportJob.objects.get(pk=job.pk)
    importing.run(job)
    importing.run(again)  # the same task delivered twice
    assert AuditEvent.objects.filter(action="registry.excel_imported").count() == 1
    assert Resident.objects.filter(name="赵一").count() == 1


def test_cancelling_drops_the_file(tree, micro, staff):
    job = checked(staff, tree.community_a, residents_file([person(micro, "赵一", "")]))
    jobs.cancel_import(staff, job)
    job.refresh_from_db()
    assert job.state == ImportState.FAILED and job.file_data is None
    assert AuditEvent.objects.filter(action="registry.excel_import_cancelled").count() == 1
