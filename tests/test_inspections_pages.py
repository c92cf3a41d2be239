"""The inspection pages: a member's targets, inspecting on the phone (pass, fail with photo, refusal shown), the
detail with its hazard cases and re-inspection, staff coverage with its .xlsx export, the rectification tracker,
photos served by scope, 404 out of scope, and query counts constant in the length of the lists."""

import io

import pytest
from django.urls import reverse

from fengchao.inspections.models import Inspection
from tests.case_factories import photo
from tests.page_client import count_queries, html, login
from tests.registry_factories import build_registry
from tests.test_inspections_services import all_pass, failed_once, fire_safety, inspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(tree):
    return build_registry(tree)


def form_for(template, target_field, pk, key="page-1", **changes):
    data = {target_field: pk, "template": template.code, "key": key}
    for answer in all_pass(template, **changes):
        data[f"outcome_{answer['code']}"] = answer["outcome"]
    return data


def test_home_lists_my_targets_and_links_to_inspect(client, tree, reg):
    login(client, tree, "microgrid_member")
    page = html(client, reverse("inspections:home"))
    assert "1栋" in page and "和美便利店" in page and "9栋" not in page
    assert f"{reverse('inspections:new')}?building={reg.buildings['a'].pk}" in page
    assert 'id="coverage-link"' not in page
    page = html(client, reverse("inspections:home") + "?q=便利")
    assert "和美便利店" in page and "1栋" not in page
    login(client, tree, "community_staff")
    page = html(client, reverse("inspections:home"))
    assert 'id="coverage-link"' in page and 'id="hazards-link"' in page
    login(client, tree, "resident")
    html(client, reverse("inspections:home"), 404)


def test_inspect_page_records_a_pass_once(client, tree, reg):
    login(client, tree, "microgrid_member")
    url = reverse("inspections:new") + f"?building={reg.buildings['a'].pk}"
    page = html(client, url)
    assert "无电动车飞线充电" in page and 'capture="environment"' in page and 'accept="image/*"' in page
    data = form_for(fire_safety(), "building", reg.buildings["a"].pk)
    response = client.post(reverse("inspections:new"), data)
    found = Inspection.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("inspections:detail", args=[found.pk])
    assert client.post(reverse("inspections:new"), data).status_code == 302
    assert Inspection.objects.count() == 1 and found.state == "passed"


def test_inspect_page_shows_the_refusal_and_keeps_the_answers(client, tree, reg):
    login(client, tree, "microgrid_member")
    data = form_for(fire_safety(), "building", reg.buildings["a"].pk, gas_safety="fail")
    response = client.post(reverse("inspections:new"), data)
    page = response.content.decode()
    assert response.status_code == 200 and "燃气使用安全" in page and "refusal" in page
    assert 'value="fail" checked' in page
    assert not Inspection.objects.exists()


def test_a_failure_with_its_photo_shows_the_case_and_is_reinspected(client, tree, reg):
    login(client, tree, "microgrid_member")
    data = form_for(fire_safety(), "place", reg.places["shop"].pk, extinguishers="fail")
    data["photo_extinguishers"] = photo()
    assert client.post(reverse("inspections:new"), data).status_code == 302
    found = Inspection.objects.get()
    item = found.items.get(code="extinguishers")
    page = html(client, reverse("inspections:detail", args=[found.pk]))
    assert item.case.number in page and reverse("inspections:photo", args=[item.pk]) in page
    assert 'id="reinspect-link"' in page
    reinspect_url = reverse("inspections:reinspect", args=[found.pk])
    assert "灭火器在有效期内" in html(client, reinspect_url)
    response = client.post(reinspect_url, {"key": "re-page-1", "outcome_extinguishers": "pass"})
    again = Inspection.objects.get(follows=found)
    assert response.status_code == 302 and response["Location"] == reverse("inspections:detail", args=[again.pk])
    found.refresh_from_db()
    assert found.state == "rectified"
    assert 'id="reinspect-link"' not in html(client, reverse("inspections:detail", args=[found.pk]))
    page = html(client, reinspect_url)
    assert "nothing left to re-inspect" in page and 'id="reinspect-submit"' not in page


def test_photos_are_served_by_scope(client, tree, reg):
    found = failed_once(tree, reg)
    item = found.items.get(code="ebike_charging")
    url = reverse("inspections:photo", args=[item.pk])
    login(client, tree, "microgrid_member")
    assert client.get(url).status_code == 200
    login(client, tree, "community_staff")
    assert client.get(url).status_code == 200
    for who in ("outsider_community_staff", "outsider_microgrid_member", "resident"):
        login(client, tree, who)
        assert client.get(url).status_code == 404, who
    login(client, tree, "microgrid_member")
    assert client.get(reverse("inspections:after_photo", args=[item.pk])).status_code == 404  # none taken


def test_out_of_scope_pages_answer_404(client, tree, reg):
    found = failed_once(tree, reg)
    login(client, tree, "outsider_microgrid_member")
    html(client, reverse("inspections:detail", args=[found.pk]), 404)
    html(client, reverse("inspections:reinspect", args=[found.pk]), 404)
    html(client, reverse("inspections:new") + f"?building={reg.buildings['a'].pk}", 404)
    login(client, tree, "microgrid_member")
    html(client, reverse("inspections:new") + f"?building={reg.buildings['b'].pk}", 404)
    html(client, reverse("inspections:new") + "?building=abc", 404)
    html(client, reverse("inspections:coverage"), 404)
    login(client, tree, "outsider_community_staff")
    html(client, reverse("inspections:coverage") + f"?area={tree.community_a.pk}", 404)
    html(client, reverse("inspections:hazards") + f"?area={tree.community_a.pk}", 404)
    html(client, reverse("inspections:detail", args=[found.pk]), 404)


def test_coverage_page_and_its_xlsx_export(client, tree, reg):
    from openpyxl import load_workbook

    failed_once(tree, reg)
    login(client, tree, "community_staff")
    page = html(client, reverse("inspections:coverage") + "?show=all")
    assert "1栋" in page and "和美便利店" in page and "9栋" not in page
    assert "1 of 2 buildings and places inspected" in page
    page = html(client, reverse("inspections:coverage"))  # not inspected (the default)
    assert "和美便利店" in page and 'data-kind="building"' not in page
    response = client.get(reverse("inspections:coverage_export") + f"?area={tree.community_a.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:4] == ("Grid", "Area", "Kind", "Name")
    by_name = {r[3]: r for r in rows[1:]}
    assert set(by_name) == {"1栋", "和美便利店"}
    assert by_name["1栋"][5] == "Yes" and by_name["1栋"][8] == 2
    assert by_name["和美便利店"][5] == "No" and by_name["和美便利店"][6] is None
    grids = list(book.worksheets[1].iter_rows(values_only=True))
    assert grids[1] == (tree.grid_a1.name, 2, 1, 1, 2)


def test_hazards_page_lists_open_failures_with_their_age(client, tree, reg):
    found = failed_once(tree, reg)
    login(client, tree, "community_staff")
    page = html(client, reverse("inspections:hazards"))
    assert "无电动车飞线充电" in page and "楼道无杂物堆放" in page
    assert found.items.get(code="ebike_charging").case.number in page
    login(client, tree, "microgrid_member")
    assert "无电动车飞线充电" in html(client, reverse("inspections:home"))


def test_list_pages_take_queries_constant_in_their_length(client, tree, reg):
    from fengchao.registry import services as registry

    failed_once(tree, reg)
    member = login(client, tree, "microgrid_member")
    home_url, hazards_url = reverse("inspections:home"), reverse("inspections:hazards")
    coverage_url = reverse("inspections:coverage") + "?show=all"
    detail_url = reverse("inspections:detail", args=[Inspection.objects.get().pk])
    before = {"home": count_queries(member, home_url), "detail": count_queries(member, detail_url)}
    staff = login(client, tree, "community_staff")
    before["hazards"], before["coverage"] = count_queries(staff, hazards_url), count_queries(staff, coverage_url)
    area = reg.buildings["a"].area
    for n in range(2, 7):
        building = registry.create_building(None, area, name=f"{n}栋")
        failed_once(tree, reg) if n == 2 else None
        inspect(tree, building, answers=all_pass(gas_safety="fail"), photos={"gas_safety": photo()})
    member = login(client, tree, "microgrid_member")
    assert count_queries(member, home_url) == before["home"]
    assert count_queries(member, detail_url) == before["detail"]
    staff = login(client, tree, "community_staff")
    assert count_queries(staff, hazards_url) == before["hazards"]
    assert count_queries(staff, coverage_url) == before["coverage"]


@pytest.mark.zh_hans
def test_pages_render_in_the_default_language(client, tree, reg):
    found = failed_once(tree, reg)
    login(client, tree, "microgrid_member")
    assert "1栋" in html(client, reverse("inspections:home"))
    assert "消防安全排查" in html(client, reverse("inspections:new") + f"?building={reg.buildings['a'].pk}")
    assert "无电动车飞线充电" in html(client, reverse("inspections:detail", args=[found.pk]))
    assert "楼道无杂物堆放" in html(client, reverse("inspections:reinspect", args=[found.pk]))
    login(client, tree, "community_staff")
    assert "1栋" in html(client, reverse("inspections:coverage") + "?show=all")
    assert "楼道无杂物堆放" in html(client, reverse("inspections:hazards"))
