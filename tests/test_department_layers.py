"""Department grid layers (多网合一): import, map onto the unified micro-grids, show only in scope.

The department grids below, over tests.factories.build_tree:
    CG-1 = grid A1's box            → A1-1 and A1-2 fully
    CG-2 = 104.05–104.125 × 30.60–30.65 → A2-1 fully, a quarter of B1-1 (edge-touching A2-2 is not an overlap)
    CG-3 = 104.05–104.1005 × 30.65–30.70 → A2-2 fully; the 0.5 % sliver of B1-2 is ignored
"""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fengchao.areas import coords
from fengchao.audit.models import AuditEvent
from fengchao.departments import services
from fengchao.departments.models import Department, DepartmentGrid, DepartmentGridOverlap, DepartmentLayer
from tests.factories import PASSWORD, box

pytestmark = pytest.mark.usefixtures("locator_checks_every_call")


def feature(code, name, geometry, keys=("code", "name")):
    return {"type": "Feature", "properties": {keys[0]: code, keys[1]: name}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


GOOD = collection(
    feature("CG-1", "城管一网格", box(104.0, 30.6, 104.05, 30.7)),
    feature("CG-2", "城管二网格", box(104.05, 30.6, 104.125, 30.65)),
    feature("CG-3", "城管三网格", box(104.05, 30.65, 104.1005, 30.7)),
)


def micro(tree, grid_name, number):
    return tree.micro[f"{grid_name}{number}号微网格"]


def overlaps_by_code(layer):
    return {
        (o.department_grid.code, o.area.name): o.share_of_area
        for o in DepartmentGridOverlap.objects.filter(department_grid__layer=layer).select_related(
            "department_grid", "area"
        )
    }


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- the service --------------------------------------------------------------------------------


def test_import_maps_each_grid_onto_the_micro_grids_it_overlaps(tree):
    admin = tree.users["district_admin"]
    result = services.import_layer(tree.department, "城管网格", "城市管理", json.dumps(GOOD).encode(), by=admin)
    assert (result.grid_count, result.overlap_count, result.replaced, result.unmapped_codes) == (3, 5, False, [])
    assert overlaps_by_code(result.layer) == {
        ("CG-1", "和美一网格1号微网格"): 1.0,
        ("CG-1", "和美一网格2号微网格"): 1.0,
        ("CG-2", "和美二网格1号微网格"): 1.0,
        ("CG-2", "致强一网格1号微网格"): 0.25,
        ("CG-3", "和美二网格2号微网格"): 1.0,
    }
    grid = result.layer.grids.get(code="CG-2")
    assert (grid.name, grid.min_lon, grid.max_lon) == ("城管二网格", 104.05, 104.125)
    event = AuditEvent.objects.get(action="department.layer_imported")
    assert (event.actor, event.object_id, event.data["grids"], event.data["overlaps"]) == (
        admin,
        str(result.layer.pk),
        3,
        5,
    )


def test_chinese_property_names_are_accepted(bare_tree):
    data = collection(feature("JW-1", "警格一", box(104.0, 30.6, 104.05, 30.65), keys=("编码", "名称")))
    result = services.import_layer(bare_tree.department, "警格", "公安", data, by=None)
    assert list(result.layer.grids.values_list("code", "name")) == [("JW-1", "警格一")]


def test_gcj02_coordinates_are_converted_to_wgs84_before_mapping(bare_tree):
    t = bare_tree
    west, south, east, north = 104.0, 30.6, 104.05, 30.65
    ring = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    shifted = [list(coords.wgs84_to_gcj02(lon, lat)) for lon, lat in ring]
    data = collection(feature("CG-9", "高德坐标网格", {"type": "Polygon", "coordinates": [shifted]}))
    result = services.import_layer(t.department, "高德", "", data, by=None, crs="gcj02")
    stored = result.layer.grids.get().boundary["coordinates"][0]
    assert stored[0] == pytest.approx([west, south], abs=1e-6)
    assert overlaps_by_code(result.layer) == {("CG-9", "和美一网格1号微网格"): pytest.approx(1.0, abs=1e-4)}


def test_bad_features_are_all_listed_and_nothing_is_written(bare_tree):
    t = bare_tree
    data = collection(
        feature("CG-1", "好网格", box(104.0, 30.6, 104.05, 30.7)),
        feature("", "没有编码", box(104.0, 30.6, 104.05, 30.7)),
        feature("CG-1", "重复编码", box(104.05, 30.6, 104.1, 30.7)),
        feature("CG-4", "点", {"type": "Point", "coordinates": [104.0, 30.6]}),
        feature("CG-5", "", box(104.0, 30.6, 104.05, 30.7)),
        {"type": "Feature", "properties": None, "geometry": None},
    )
    with pytest.raises(ValidationError) as caught:
        services.import_layer(t.department, "城管网格", "", data, by=None)
    messages = caught.value.messages
    assert len(messages) == 5
    assert messages[0].startswith("Feature 2:") and "no code" in messages[0]
    assert messages[1].startswith("Feature 3 (code CG-1):") and "repeats feature 1" in messages[1]
    assert messages[2].startswith("Feature 4 (code CG-4):") and "Polygon or MultiPolygon" in messages[2]
    assert messages[3].startswith("Feature 5 (code CG-5):") and "no name" in messages[3]
    assert messages[4].startswith("Feature 6:")
    assert not DepartmentLayer.objects.exists() and not DepartmentGrid.objects.exists()
    assert not AuditEvent.objects.filter(action="department.layer_imported").exists()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (json.dumps({"type": "Polygon", "coordinates": []}).encode(), "FeatureCollection"),
        (json.dumps(collection()).encode(), "no features"),
    ],
)
def test_unreadable_files_get_a_clear_error(bare_tree, data, message):
    with pytest.raises(ValidationError, match=message):
        services.import_layer(bare_tree.department, "城管网格", "", data, by=None)
    assert not DepartmentLayer.objects.exists()


def test_reimport_with_the_same_name_replaces_the_layer(bare_tree):
    t = bare_tree
    first = services.import_layer(t.department, "城管网格", "", GOOD, by=None).layer
    smaller = collection(feature("CG-7", "新网格", box(104.1, 30.6, 104.2, 30.7)))
    result = services.import_layer(t.department, "城管网格", "", smaller, by=None)
    assert result.replaced
    assert list(DepartmentLayer.objects.values_list("pk", flat=True)) == [result.layer.pk]
    assert not DepartmentLayer.objects.filter(pk=first.pk).exists()
    assert list(DepartmentGrid.objects.values_list("code", flat=True)) == ["CG-7"]
    assert set(overlaps_by_code(result.layer)) == {("CG-7", "致强一网格1号微网格"), ("CG-7", "致强一网格2号微网格")}
    # A failed re-import leaves the current layer as it was.
    with pytest.raises(ValidationError):
        services.import_layer(t.department, "城管网格", "", collection(feature("", "", None)), by=None)
    assert list(DepartmentGrid.objects.values_list("code", flat=True)) == ["CG-7"]


def test_lookups_both_ways_between_department_grids_and_unified_areas(bare_tree):
    t = bare_tree
    layer = services.import_layer(t.department, "城管网格", "", GOOD, by=None).layer
    cg2 = layer.grids.get(code="CG-2")
    assert [(o.area.name, o.share_of_area) for o in services.unified_areas_for_department_grid(cg2)] == [
        ("和美二网格1号微网格", 1.0),
        ("致强一网格1号微网格", 0.25),
    ]
    b1_1 = micro(t, "致强一网格", 1)
    assert [g.code for g in services.department_grids_for_area(b1_1)] == ["CG-2"]
    assert [g.code for g in services.department_grids_for_area(t.grid_a2)] == ["CG-2", "CG-3"]
    assert [g.code for g in services.department_grids_for_area(t.district)] == ["CG-1", "CG-2", "CG-3"]
    other = Department.objects.create(name="区公安分局", code="GA", area=t.district)
    assert list(services.department_grids_for_area(t.district, department=other)) == []


def test_only_managers_in_scope_may_import(tree):
    with pytest.raises(ValidationError, match="may not import"):
        services.import_layer(tree.department, "城管网格", "", GOOD, by=tree.users["grid_leader"])
    # Community staff manage, but the district's department is above their community.
    with pytest.raises(ValidationError, match="may not import"):
        services.import_layer(tree.department, "城管网格", "", GOOD, by=tree.users["community_staff"])
    assert not DepartmentLayer.objects.exists()


# --- the pages and the API ----------------------------------------------------------------------


def upload(name, data, filename="layer.geojson"):
    return SimpleUploadedFile(filename, json.dumps(data).encode(), content_type="application/geo+json")


def test_upload_through_the_page_then_see_the_layer(client, tree):
    login(client, tree.users["district_admin"])
    url = reverse("departments:layers")
    response = client.post(
        url,
        {
            "department": tree.department.pk,
            "name": "城管网格",
            "grid_type": "城市管理",
            "crs": "wgs84",
            "file": upload("x", GOOD),
        },
        follow=True,
    )
    layer = DepartmentLayer.objects.get()
    assert response.redirect_chain[-1][0] == reverse("departments:layer_detail", args=[layer.pk])
    text = response.content.decode()
    assert "城管二网格" in text and "致强一网格1号微网格 25%" in text
    assert 'id="layer-map-data"' in text and "fengchao/layers.js" in text
    assert any("3" in str(m) for m in response.context["messages"])


def test_upload_errors_are_listed_on_the_page(client, tree):
    login(client, tree.users["district_admin"])
    bad = collection(feature("", "没有编码", box(104.0, 30.6, 104.05, 30.7)), feature("CG-2", "点", None))
    response = client.post(
        reverse("departments:layers"),
        {"department": tree.department.pk, "name": "城管网格", "crs": "wgs84", "file": upload("x", bad)},
    )
    assert response.status_code == 200
    assert response.context["import_errors"][0].startswith("Feature 1:")
    assert response.context["import_errors"][1].startswith("Feature 2 (code CG-2):")
    assert "Nothing was imported" in response.content.decode()
    assert not DepartmentLayer.objects.exists()


def test_upload_refuses_other_file_types(client, tree):
    login(client, tree.users["district_admin"])
    response = client.post(
        reverse("departments:layers"),
        {"department": tree.department.pk, "name": "城管网格", "crs": "wgs84", "file": upload("x", GOOD, "layer.xlsx")},
    )
    assert response.context["form"].errors["file"] == ["Upload a .geojson or .json file."]
    assert not DepartmentLayer.objects.exists()


def test_non_managers_get_no_form_and_cannot_post(client, tree):
    login(client, tree.users["grid_leader"])
    url = reverse("departments:layers")
    assert client.get(url).context["form"] is None
    response = client.post(
        url, {"department": tree.department.pk, "name": "x", "crs": "wgs84", "file": upload("x", GOOD)}
    )
    assert response.status_code == 404
    assert not DepartmentLayer.objects.exists()


def test_the_department_choice_is_limited_to_departments_in_scope(client, tree):
    street_department = Department.objects.create(name="保和街道综合执法队", code="BH", area=tree.street_a)
    login(client, tree.users["street_staff"])
    form = client.get(reverse("departments:layers")).context["form"]
    assert list(form.fields["department"].queryset) == [street_department]


def test_layers_out_of_scope_answer_404(client, tree):
    layer = services.import_layer(tree.department, "城管网格", "", GOOD, by=None).layer
    login(client, tree.users["outsider_street_staff"])
    assert client.get(reverse("departments:layer_detail", args=[layer.pk])).status_code == 404
    assert "城管网格" not in client.get(reverse("departments:layers")).content.decode()
    assert client.get(f"/api/layers/{layer.pk}/grids").status_code == 404
    assert client.get("/api/layers").json() == []


def test_the_layer_list_costs_the_same_queries_for_2_or_6_layers(client, tree, django_assert_max_num_queries):
    admin = tree.users["district_admin"]
    login(client, admin)
    url = reverse("departments:layers")
    for n in range(2):
        services.import_layer(tree.department, f"图层{n}", "", GOOD, by=None)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        assert client.get(url).status_code == 200
    for n in range(2, 6):
        services.import_layer(tree.department, f"图层{n}", "", GOOD, by=None)
    with django_assert_max_num_queries(len(two)):
        response = client.get(url)
    assert response.content.decode().count("图层") == 6


def test_the_layer_page_costs_the_same_queries_for_few_or_many_grids(client, tree, django_assert_max_num_queries):
    login(client, tree.users["district_admin"])
    one = services.import_layer(tree.department, "一", "", collection(GOOD["features"][0]), by=None).layer
    three = services.import_layer(tree.department, "三", "", GOOD, by=None).layer
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("departments:layer_detail", args=[one.pk]))
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("departments:layer_detail", args=[three.pk])).status_code == 200


def test_the_api_lists_layers_and_their_grids(client, tree):
    layer = services.import_layer(tree.department, "城管网格", "城市管理", GOOD, by=None).layer
    login(client, tree.users["street_staff"])  # a district department is above street A: out of scope
    assert client.get("/api/layers").json() == []
    client.logout()
    login(client, tree.users["district_admin"])
    listed = client.get("/api/layers").json()
    assert [(row["name"], row["grid_count"], row["department"]["name"]) for row in listed] == [
        ("城管网格", 3, "区城管局")
    ]
    grids = client.get(f"/api/layers/{layer.pk}/grids").json()
    assert [g["code"] for g in grids] == ["CG-1", "CG-2", "CG-3"]
    assert [(m["name"], m["share"]) for m in grids[1]["microgrids"]] == [
        ("和美二网格1号微网格", 1.0),
        ("致强一网格1号微网格", 0.25),
    ]
