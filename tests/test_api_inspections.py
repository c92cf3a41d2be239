"""The inspections API: checklists, my targets, inspecting (multipart, photos by item code, key replay), the
scoped list with keyset pages and filters, one inspection, re-inspection (409 when not open), coverage and open
hazards for staff; 404 out of scope; queries constant in page size; the OpenAPI document."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fengchao.inspections.models import Inspection
from tests.case_factories import photo
from tests.registry_factories import build_registry
from tests.test_inspections_services import all_pass, failed_once, inspect

pytestmark = pytest.mark.django_db

URL = "/api/inspections"


@pytest.fixture
def reg(tree):
    return build_registry(tree)


def body(answers=None, **fields):
    return {"template": "fire_safety", "answers": json.dumps(answers or all_pass()), **fields}


def test_templates_and_my_targets(as_, reg):
    templates = as_("microgrid_member").get(f"{URL}/templates").json()
    assert [t["code"] for t in templates] == ["fire_safety"] and len(templates[0]["items"]) == 6
    targets = as_("microgrid_member").get(f"{URL}/targets").json()["items"]
    assert {(t["kind"], t["name"]) for t in targets} == {("building", "1栋"), ("place", "和美便利店")}
    assert all(t["last_inspected"] is None for t in targets)
    assert as_("resident").get(f"{URL}/templates").status_code == 404
    assert as_("community_staff").get(f"{URL}/targets").status_code == 404


def test_inspect_with_a_failure_raises_a_case_and_a_repeat_answers_200(as_, reg):
    client = as_("microgrid_member")
    data = body(all_pass(ebike_charging="fail"), building=reg.buildings["a"].pk, key="api-key-1")
    data["photo_ebike_charging"] = photo()
    response = client.post(URL, data)
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["state"] == "open" and out["kind"] == "building" and out["target_name"] == "1栋"
    failed = next(i for i in out["items"] if i["code"] == "ebike_charging")
    assert failed["has_photo"] and failed["case"]["number"] and failed["case"]["state"] == "reported"
    data["photo_ebike_charging"] = photo()
    again = client.post(URL, data)
    assert again.status_code == 200 and again.json()["id"] == out["id"]
    assert Inspection.objects.count() == 1


def test_inspect_refusals_name_the_field(as_, reg):
    client = as_("microgrid_member")
    response = client.post(URL, body(all_pass(gas_safety="fail"), building=reg.buildings["a"].pk))
    assert response.status_code == 422 and "燃气使用安全" in json.dumps(response.json(), ensure_ascii=False)
    assert "photos" in response.content.decode()
    response = client.post(URL, {"template": "fire_safety", "answers": "not json", "building": reg.buildings["a"].pk})
    assert response.status_code == 422 and "answers" in response.content.decode()
    response = client.post(URL, body(template="nope", building=reg.buildings["a"].pk))
    assert response.status_code == 422 and "template" in response.content.decode()
    assert client.post(URL, body(building=reg.buildings["b"].pk)).status_code == 404
    assert as_("community_staff").post(URL, body(building=reg.buildings["a"].pk)).status_code == 404
    assert not Inspection.objects.exists()


def test_list_detail_and_scope(as_, tree, reg):
    first = failed_once(tree, reg)
    inspect(tree, reg.places["shop"])
    mine = as_("microgrid_member").get(URL).json()
    assert len(mine["items"]) == 2 and mine["next_cursor"] is None
    in_grid = as_("microgrid_member").get(f"{URL}?area={tree.grid_a1.pk}").json()["items"]
    assert len(in_grid) == 2  # the member's grid, above the micro-grid where the role is held
    staff = as_("community_staff")
    assert [i["id"] for i in staff.get(f"{URL}?state=open").json()["items"]] == [first.pk]
    assert len(staff.get(f"{URL}?area={tree.grid_a1.pk}&limit=1").json()["items"]) == 1
    page = staff.get(f"{URL}?limit=1").json()
    rest = staff.get(f"{URL}?limit=1&cursor={page['next_cursor']}").json()
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == set(Inspection.objects.values_list("pk", flat=True))
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert staff.get(f"{URL}?since={tomorrow}").json()["items"] == []
    detail = staff.get(f"{URL}/{first.pk}").json()
    assert len(detail["items"]) == 6 and detail["follows_id"] is None
    outsider = as_("outsider_community_staff")
    assert outsider.get(URL).json()["items"] == []
    assert outsider.get(f"{URL}/{first.pk}").status_code == 404
    assert outsider.get(f"{URL}?area={tree.community_a.pk}").status_code == 404
    assert as_("outsider_microgrid_member").get(f"{URL}/{first.pk}").status_code == 404
    item = first.items.get(code="ebike_charging")
    photo_url = f"{URL}/items/{item.pk}/photo"
    response = staff.get(photo_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert outsider.get(photo_url).status_code == 404
    assert staff.get(f"{URL}/items/{item.pk}/after-photo").status_code == 404


def test_reinspect_rectifies_and_a_closed_one_answers_409(as_, tree, reg):
    first = failed_once(tree, reg)
    client = as_("microgrid_member")
    answers = [{"code": "ebike_charging", "outcome": "pass"}, {"code": "stairwell_clutter", "outcome": "pass"}]
    data = {"answers": json.dumps(answers), "key": "api-re-1"}
    response = client.post(f"{URL}/{first.pk}/reinspect", data)
    assert response.status_code == 201, response.content
    assert response.json()["follows_id"] == first.pk and response.json()["state"] == "rectified"
    assert client.post(f"{URL}/{first.pk}/reinspect", data).status_code == 200
    assert client.get(f"{URL}/{first.pk}").json()["state"] == "rectified"
    refused = client.post(f"{URL}/{first.pk}/reinspect", {"answers": "[]"})
    assert refused.status_code == 409 and "nothing left" in refused.json()["detail"]
    assert as_("outsider_microgrid_member").post(f"{URL}/{first.pk}/reinspect", data).status_code == 404


def test_coverage_and_hazards_for_staff(as_, tree, reg):
    failed_once(tree, reg)
    staff = as_("community_staff")
    out = staff.get(f"{URL}/coverage").json()
    assert out["area"]["id"] == tree.community_a.pk and out["targets"] == 2 and out["inspected"] == 1
    rows = {r["name"]: r for r in out["rows"]}
    assert rows["1栋"]["inspected"] and rows["1栋"]["open_failures"] == 2 and not rows["和美便利店"]["inspected"]
    assert staff.get(f"{URL}/coverage?since=2026-12-09&until=2026-12-01").status_code == 422
    hazards = staff.get(f"{URL}/hazards").json()["items"]
    assert {h["text"] for h in hazards} == {"无电动车飞线充电", "楼道无杂物堆放"}
    assert all(h["case"] and h["days_open"] == 0 for h in hazards)
    outsider = as_("outsider_community_staff")
    assert outsider.get(f"{URL}/coverage?area={tree.community_a.pk}").status_code == 404
    assert outsider.get(f"{URL}/hazards?area={tree.community_a.pk}").status_code == 404
    assert as_("microgrid_member").get(f"{URL}/coverage").status_code == 404


def test_lists_take_queries_constant_in_page_size(client, tree, reg):
    failed_once(tree, reg)
    staff = client
    staff.force_login(tree.users["community_staff"])  # a session: no token bookkeeping in the counts

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(url).status_code == 200
        return len(ctx.captured_queries)

    before = {u: count(u) for u in (URL, f"{URL}/hazards", f"{URL}/coverage")}
    for _n in range(4):
        inspect(tree, reg.places["shop"], answers=all_pass(gas_safety="fail"), photos={"gas_safety": photo()})
    assert {u: count(u) for u in before} == before


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "",
        "/templates",
        "/targets",
        "/coverage",
        "/hazards",
        "/{inspection_id}",
        "/{inspection_id}/reinspect",
    ):
        assert f"{URL}{path}" in paths, path
    assert "multipart/form-data" in paths[URL]["post"]["requestBody"]["content"]


def test_malformed_requests_are_refused_never_500(as_, tree, reg):
    client = as_("microgrid_member")
    building = reg.buildings["a"].pk
    bodies = [
        {"template": "fire_safety", "answers": "[1, 2]", "building": building},
        {"template": "fire_safety", "answers": '{"a": 1}', "building": building},
        {"template": "fire_safety", "answers": "[]", "building": building, "place": reg.places["shop"].pk},
        {"template": "fire_safety", "answers": "[]"},
        {"template": "fire_safety", "answers": "[]", "building": "abc"},
        {"template": "fire_safety", "answers": json.dumps(all_pass()), "building": building, "lon": "500"},
    ]
    for data in bodies:
        response = client.post(URL, data)
        assert response.status_code in (404, 422), (data, response.status_code)
    for url in (f"{URL}?cursor=nonsense", f"{URL}?since=yesterday", f"{URL}/coverage?since=x", f"{URL}/99999"):
        assert as_("community_staff").get(url).status_code in (404, 422), url
    assert not Inspection.objects.exists()
