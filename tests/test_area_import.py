"""Importing the grid hierarchy from GeoJSON, with 14- and 15-digit unit-grid codes."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from fengchao.areas.codes import normalise_imported_code
from fengchao.areas.importing import import_areas
from fengchao.areas.models import Area
from fengchao.audit.models import AuditEvent
from tests.factories import box


def feature(code, name, geometry=None, **properties):
    return {"type": "Feature", "properties": {"code": code, "name": name, **properties}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("510108001001", "510108001001"),
        ("51010800100103", "510108001001003"),  # 14-digit unit-grid code: 2-digit grid number
        ("510108001001003", "510108001001003"),
        ("51010800100103007", "510108001001003007"),  # micro-grid under a 14-digit grid code
        ("５１０１０８-００１", "510108001"),
    ],
)
def test_imported_codes_are_normalised(raw, expected):
    assert normalise_imported_code(raw) == expected


@pytest.mark.parametrize("raw", ["51010", "5101080010010030070", "51O108"])
def test_malformed_codes_are_refused_with_the_code_named(raw):
    with pytest.raises(ValidationError, match=raw):
        normalise_imported_code(raw)


def test_import_creates_grids_from_legacy_codes_and_updates_on_reimport(bare_tree):
    t = bare_tree
    data = collection(
        feature("51010800100103", "和美三网格", box(104.0, 30.6, 104.02, 30.62)),
        feature("51010800100103001", "和美三网格1栋", box(104.0, 30.6, 104.01, 30.61), 编码=None),
        feature("510108001001905", "和美商场专属网格", None, dedicated_kind="mall"),
    )
    result = import_areas(data, within=t.community_a)
    assert sorted(result.created) == ["510108001001003", "510108001001003001", "510108001001905"]
    grid = Area.objects.get(code="510108001001003")
    micro = Area.objects.get(code="510108001001003001")
    assert grid.parent == t.community_a and grid.kind == "grid" and grid.has_boundary
    assert micro.parent == grid and micro.kind == "microgrid" and micro.path.startswith(grid.path)
    assert Area.objects.get(code="510108001001905").dedicated_kind == "mall"
    assert AuditEvent.objects.filter(action="area.created", object_id=str(micro.pk)).exists()
    assert AuditEvent.objects.filter(action="areas.imported", object_id=str(t.community_a.pk)).exists()

    data["features"][0]["properties"]["name"] = "和美三网格（新）"
    again = import_areas(data, within=t.community_a)
    assert again.created == [] and again.updated == ["510108001001003"] and len(again.unchanged) == 2
    grid.refresh_from_db()
    assert grid.name == "和美三网格（新）"


def test_a_bad_file_lists_every_problem_and_writes_nothing(bare_tree):
    t = bare_tree
    before = Area.objects.count(), AuditEvent.objects.count()
    data = collection(
        feature("510108001001004", "好网格"),
        feature("510108001001004", "重复网格"),
        feature("", "无编码"),
        feature("510108002001001", "别人的网格"),
        feature("510108001001", "和美社区"),
        feature("510108001001006", "坏边界", {"type": "Point", "coordinates": [104, 30]}),
    )
    with pytest.raises(ValidationError) as caught:
        import_areas(data, within=t.community_a)
    messages = caught.value.messages
    assert [re.match(r"Feature (\d+)", m).group(1) for m in messages] == ["2", "3", "4", "5", "6"]
    assert "repeats feature 1" in messages[0] and "no code" in messages[1]
    assert "not inside 和美社区" in messages[2] and "not inside" in messages[3]
    assert "Polygon" in messages[4]
    assert (Area.objects.count(), AuditEvent.objects.count()) == before


def test_a_new_area_needs_its_parent(bare_tree):
    with pytest.raises(ValidationError, match="parent 510108001001007"):
        import_areas(collection(feature("510108001001007001", "孤儿微网格")), within=bare_tree.community_a)
    assert not Area.objects.filter(code="510108001001007001").exists()


def test_the_import_page_is_for_managers_of_the_area(client, tree):
    url = reverse("areas:import", args=[tree.community_a.pk])
    for role in ("grid_leader", "outsider_community_staff"):
        client.force_login(tree.users[role])
        assert client.get(url).status_code == 404
    client.force_login(tree.users["community_staff"])
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile(
        "grids.geojson", json.dumps(collection(feature("51010800100108", "和美八网格"))).encode(), "application/json"
    )
    response = client.post(url, {"file": upload, "crs": "wgs84"})
    assert response.status_code == 302
    assert Area.objects.get(code="510108001001008").parent == tree.community_a
    bad = SimpleUploadedFile("grids.geojson", b"{not json", "application/json")
    response = client.post(url, {"file": bad, "crs": "wgs84"})
    assert response.status_code == 200 and "not valid JSON" in response.content.decode()


def test_import_command(bare_tree, tmp_path, capsys):
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps(collection(feature("510108003", "府青路街道", box(104.2, 30.6, 104.3, 30.7)))))
    call_command("import_areas", str(path), "--within", "510108")
    assert "created 1" in capsys.readouterr().out
    assert Area.objects.get(code="510108003").parent == bare_tree.district
    with pytest.raises(CommandError, match="Nothing was imported"):
        path.write_text(json.dumps(collection(feature("510108003001", ""))))
        call_command("import_areas", str(path))
