"""The area pages as people who serve use them: browsing, the area page, and the management forms."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fengchao.accounts import services as accounts
from fengchao.areas import services as areas
from fengchao.areas.models import Area, DutyItem
from fengchao.audit.models import AuditEvent
from tests.factories import box


@pytest.fixture
def staff_client(client, tree):
    client.force_login(tree.users["community_staff"])
    return client


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_browser_lists_my_areas_and_finds_by_name_and_code(staff_client, tree):
    html = page(staff_client, reverse("areas:browse"))
    assert "和美社区" in html and "致强社区" not in html

    html = page(staff_client, reverse("areas:browse"), q="一网格")
    assert "和美一网格" in html and "致强一网格" not in html  # out of scope never appears
    assert "保和街道" in html  # breadcrumb above the user's scope, shown without a link
    assert f'href="/areas/{tree.street_a.pk}/"' not in html

    html = page(staff_client, reverse("areas:browse"), q=tree.grid_a2.code)
    assert "和美二网格1号微网格" in html and "和美一网格1号微网格" not in html


def test_search_results_alone_for_htmx(staff_client):
    response = staff_client.get(reverse("areas:browse"), {"q": "和美"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "和美一网格" in html and '<nav class="navbar' not in html


def test_area_page_shows_map_children_people_and_duties(staff_client, tree):
    areas.replace_duties(tree.district, "grid_leader", [("每日巡查", "走访楼栋"), ("上报事件", "")])
    html = page(staff_client, reverse("areas:detail", args=[tree.community_a.pk]))
    assert "和美社区" in html and tree.community_a.code in html
    for child in ("和美一网格", "和美二网格", "和美医院专属网格"):
        assert child in html
    assert 'id="area-map"' in html and 'id="area-map-data"' in html
    data = json.loads(re.search(r'id="area-map-data"[^>]*>(.*?)</script>', html).group(1))
    assert {f["name"] for f in data["features"]} >= {"和美社区", "和美一网格", "和美二网格"}
    assert "community_staff" in html and "139" in html and "****" in html  # name and masked phone
    staff_phone = tree.users["community_staff"].phone
    assert staff_phone not in html
    assert "每日巡查" in html and "成华区" in html  # inherited from the district, with its source


def test_grid_page_links_public_page_and_qr_sheet(staff_client, tree):
    html = page(staff_client, reverse("areas:detail", args=[tree.grid_a1.pk]))
    assert reverse("public:grid", args=[tree.grid_a1.code]) in html
    assert reverse("areas:qr_sheet", args=[tree.grid_a1.pk]) in html


def test_qr_sheet_has_a_card_per_microgrid(staff_client, tree):
    html = page(staff_client, reverse("areas:qr_sheet", args=[tree.community_a.pk]))
    assert html.count('class="qr-card"') == 4
    assert html.count("<svg") == 4 + 1  # a QR code per card, and the navigation's bell
    assert "和美二网格2号微网格" in html


def test_managers_see_edit_actions_and_members_do_not(client, tree):
    client.force_login(tree.users["community_staff"])
    html = page(client, reverse("areas:detail", args=[tree.grid_a1.pk]))
    assert reverse("areas:edit", args=[tree.grid_a1.pk]) in html
    client.force_login(tree.users["grid_leader"])
    html = page(client, reverse("areas:detail", args=[tree.grid_a1.pk]))
    assert reverse("areas:edit", args=[tree.grid_a1.pk]) not in html


def test_edit_area_through_the_form(staff_client, tree):
    url = reverse("areas:edit", args=[tree.grid_a1.pk])
    assert "和美一网格" in page(staff_client, url)
    response = staff_client.post(url, {"name": "和美东网格", "address": "建设路1号", "service_phone": "028-84000000"})
    assert response.status_code == 302
    tree.grid_a1.refresh_from_db()
    assert (tree.grid_a1.name, tree.grid_a1.service_phone) == ("和美东网格", "028-84000000")
    assert AuditEvent.objects.filter(action="area.updated", object_id=str(tree.grid_a1.pk)).exists()


def test_edit_with_an_empty_name_shows_the_error_and_writes_nothing(staff_client, tree):
    before = AuditEvent.objects.count()
    response = staff_client.post(reverse("areas:edit", args=[tree.grid_a1.pk]), {"name": "  "})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.name == "和美一网格" and AuditEvent.objects.count() == before


def test_add_child_through_the_form(staff_client, tree):
    url = reverse("areas:add_child", args=[tree.grid_a1.pk])
    response = staff_client.post(url, {"kind": "microgrid", "local_code": "3", "name": "和美一网格3号微网格"})
    assert response.status_code == 302
    child = Area.objects.get(name="和美一网格3号微网格")
    assert child.parent == tree.grid_a1 and child.code == tree.grid_a1.code + "003"
    assert AuditEvent.objects.filter(action="area.created", object_id=str(child.pk)).exists()


def test_add_child_with_a_taken_code_shows_the_error(staff_client, tree):
    before = Area.objects.count()
    response = staff_client.post(
        reverse("areas:add_child", args=[tree.grid_a1.pk]), {"kind": "microgrid", "local_code": "1", "name": "重复"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="form-errors"' in html and tree.grid_a1.code + "001" in html
    assert Area.objects.count() == before


def test_add_dedicated_grid_needs_its_kind(staff_client, tree):
    url = reverse("areas:add_child", args=[tree.community_a.pk])
    response = staff_client.post(url, {"kind": "dedicated", "local_code": "902", "name": "万达广场"})
    assert response.status_code == 200 and not Area.objects.filter(name="万达广场").exists()
    response = staff_client.post(
        url, {"kind": "dedicated", "local_code": "902", "name": "万达广场", "dedicated_kind": "mall"}
    )
    assert response.status_code == 302 and Area.objects.get(name="万达广场").dedicated_kind == "mall"


def test_move_area_through_the_form(client, tree):
    client.force_login(tree.users["district_admin"])
    micro = next(a for a in tree.micro.values() if a.parent_id == tree.grid_a1.pk)
    url = reverse("areas:move", args=[micro.pk])
    assert "致强一网格" in page(client, url)  # any visible grid the admin manages is a choice
    response = client.post(url, {"new_parent": tree.grid_a2.pk, "local_code": "7"})
    assert response.status_code == 302
    micro.refresh_from_db()
    assert micro.parent_id == tree.grid_a2.pk and micro.code == tree.grid_a2.code + "007"
    assert AuditEvent.objects.filter(action="area.moved", object_id=str(micro.pk)).exists()


def test_move_choices_are_limited_to_the_managers_areas(staff_client, tree):
    micro = next(a for a in tree.micro.values() if a.parent_id == tree.grid_a1.pk)
    url = reverse("areas:move", args=[micro.pk])
    html = page(staff_client, url)
    assert "和美二网格" in html and "致强一网格" not in html
    response = staff_client.post(url, {"new_parent": tree.grid_b1.pk})
    assert response.status_code == 200
    micro.refresh_from_db()
    assert micro.parent_id == tree.grid_a1.pk


def test_set_boundary_by_upload(staff_client, tree):
    upload = SimpleUploadedFile(
        "grid.geojson", json.dumps(box(104.0, 30.6, 104.04, 30.7)).encode(), content_type="application/geo+json"
    )
    response = staff_client.post(reverse("areas:boundary", args=[tree.grid_a1.pk]), {"file": upload})
    assert response.status_code == 302
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.max_lon == pytest.approx(104.04)
    assert AuditEvent.objects.filter(action="area.boundary_set", object_id=str(tree.grid_a1.pk)).exists()


def test_set_boundary_by_drawing(staff_client, tree):
    drawn = json.dumps(box(104.0, 30.6, 104.08, 30.7))
    response = staff_client.post(reverse("areas:boundary", args=[tree.grid_a1.pk]), {"drawn": drawn}, follow=True)
    assert response.status_code == 200
    assert not [m for m in response.context["messages"] if m.level_tag == "warning"]
    tree.grid_a1.refresh_from_db()
    assert tree.grid_a1.max_lon == pytest.approx(104.08)


def test_boundary_outside_the_parent_is_saved_with_a_warning(staff_client, tree):
    outside = json.dumps(box(104.0, 30.6, 104.15, 30.7))  # reaches into the neighbouring community
    response = staff_client.post(reverse("areas:boundary", args=[tree.grid_a1.pk]), {"drawn": outside}, follow=True)
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1 and "和美社区" in warnings[0]
    assert warnings[0] in response.content.decode()


def test_drawn_polygon_that_is_not_json_is_refused(staff_client, tree):
    before = AuditEvent.objects.count()
    response = staff_client.post(reverse("areas:boundary", args=[tree.grid_a1.pk]), {"drawn": "[[104, 30]"})
    assert response.status_code == 200 and "GeoJSON" in response.content.decode()
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("grid.txt", b"{}", "geojson"),
        ("grid.geojson", b"not json", "GeoJSON"),
        ("grid.geojson", json.dumps({"type": "Point", "coordinates": [104, 30]}).encode(), "Polygon"),
        ("grid.geojson", b" " * (2 * 1024 * 1024 + 1), "2 MB"),
    ],
)
def test_bad_boundary_upload_is_refused(staff_client, tree, name, content, error):
    before = (Area.objects.get(pk=tree.grid_a1.pk).boundary, AuditEvent.objects.count())
    upload = SimpleUploadedFile(name, content)
    response = staff_client.post(reverse("areas:boundary", args=[tree.grid_a1.pk]), {"file": upload})
    assert response.status_code == 200 and error in response.content.decode()
    assert (Area.objects.get(pk=tree.grid_a1.pk).boundary, AuditEvent.objects.count()) == before


def test_edit_duty_list(staff_client, tree):
    url = reverse("areas:duties", args=[tree.grid_a1.pk])
    response = staff_client.post(url, {"role": "grid_leader", "text": "每日巡查：走访楼栋\n\n上报事件\n"})
    assert response.status_code == 302
    items = list(DutyItem.objects.filter(area=tree.grid_a1, role="grid_leader").values_list("title", "detail"))
    assert items == [("每日巡查", "走访楼栋"), ("上报事件", "")]
    assert AuditEvent.objects.filter(action="area.duties_replaced").exists()
    html = page(staff_client, url, role="grid_leader")
    assert "每日巡查: 走访楼栋" in html
    assert "每日巡查" in page(staff_client, reverse("areas:detail", args=[first_micro_of(tree, tree.grid_a1).pk]))


def test_too_long_duty_is_refused(staff_client, tree):
    response = staff_client.post(
        reverse("areas:duties", args=[tree.grid_a1.pk]), {"role": "grid_leader", "text": "长" * 121}
    )
    assert response.status_code == 200 and "120" in response.content.decode()
    assert not DutyItem.objects.exists()


def test_locate_shows_the_area_in_scope_only(staff_client, tree):
    html = page(staff_client, reverse("areas:locate"), lon="104.02", lat="30.62", crs="wgs84")
    assert "和美一网格1号微网格" in html
    html = page(staff_client, reverse("areas:locate"), lon="104.15", lat="30.62", crs="wgs84")
    assert "致强" not in html and 'id="locate-result"' in html
    html = page(staff_client, reverse("areas:locate"), lon="500", lat="30.62", crs="wgs84")
    assert "is-invalid" in html


def test_boundary_check_lists_strays(client, tree):
    areas.set_boundary(tree.grid_a1, box(104.0, 30.6, 104.15, 30.7))
    client.force_login(tree.users["district_admin"])
    html = page(client, reverse("areas:boundary_check"))
    assert "和美一网格" in html and "和美社区" in html


def first_micro_of(tree, grid):
    return next(a for a in tree.micro.values() if a.parent_id == grid.pk)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_area_page_queries_do_not_grow_with_children_or_members(client, bare_tree):
    t = bare_tree
    admin = accounts.create_user(username="admin", display_name="管理员")
    accounts.assign_role(admin, "district_admin", t.district)
    client.force_login(admin)
    url = reverse("areas:detail", args=[t.grid_a1.pk])
    client.get(url)  # warm session/caches
    with_two = count_queries(client, url)
    for i in range(3, 9):
        micro = areas.create_area(parent=t.grid_a1, kind="microgrid", name=f"新{i}号微网格", local_code=str(i)).area
        for j in range(2):
            person = accounts.create_user(username=f"m{i}-{j}", display_name=f"网格员{i}{j}", phone=f"1380000{i}{j}00")
            accounts.assign_role(person, "microgrid_member", micro)
            accounts.set_identity_tags(person, ["volunteer", "party_member"])
            accounts.assign_role(person, "resident", t.grid_a1)
    assert count_queries(client, url) == with_two
    # the people listed on the page: 2 vs 10 in the same area
    community_url = reverse("areas:detail", args=[t.community_a.pk])

    def add_staff(numbers):
        for i in numbers:
            person = accounts.create_user(username=f"s{i}", display_name=f"社区工作者{i}", phone=f"1390000{i:02d}00")
            accounts.assign_role(person, "community_staff", t.community_a)
            accounts.set_identity_tags(person, ["community_police"])

    add_staff(range(2))
    before = count_queries(client, community_url)
    add_staff(range(2, 10))
    assert count_queries(client, community_url) == before


def test_browser_search_queries_are_constant(staff_client, tree):
    url = reverse("areas:browse") + "?q=微网格"
    few = count_queries(staff_client, url)
    for i in range(3, 13):
        areas.create_area(parent=tree.grid_a1, kind="microgrid", name=f"和美一网格{i}号微网格", local_code=str(i))
    assert count_queries(staff_client, url) == few


def test_boundary_check_queries_do_not_grow_with_the_areas_checked(client, tree):
    client.force_login(tree.users["district_admin"])
    url = reverse("areas:boundary_check")
    before = count_queries(client, url)
    for number in range(3, 9):
        areas.create_area(
            parent=tree.community_a,
            kind="grid",
            name=f"新{number}网格",
            local_code=str(number),
            boundary=box(104.0, 30.6, 104.01, 30.61),
        )
    assert count_queries(client, url) == before
