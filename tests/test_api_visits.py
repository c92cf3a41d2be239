"""The visits API: plans (read, change by the district administrator, stale version 409), who is due, recording
a visit (201, key replay 200, refusals naming fields, need → service request), the visit list (scope, filters,
keyset pages), one visit and the overview, scope 404s and query counts; documented in OpenAPI."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fengchao.visits.models import CarePlan, Visit
from tests.factories import first_micro
from tests.test_visits_services import NUM, days, second_micro, subject, visit

from .api_client import fields_of, post, put, token_client

pytestmark = pytest.mark.django_db

URL = "/api/visits"


def test_plans_list_and_change(tree):
    member = token_client(tree.users["microgrid_member"])
    plans = {p["tag"]["code"]: p for p in member.get(f"{URL}/plans").json()["items"]}
    assert plans["elderly_alone"]["every_days"] == 7 and plans["disabled"]["every_days"] == 30
    version = plans["disabled"]["version"]
    body = {"every_days": 21, "is_active": True, "expected_version": version}
    assert put(member, f"{URL}/plans/disabled", body).status_code == 403
    admin = token_client(tree.users["district_admin"])
    changed = put(admin, f"{URL}/plans/disabled", body)
    assert changed.status_code == 200 and changed.json()["every_days"] == 21
    assert changed.json()["version"] == version + 1
    stale = put(admin, f"{URL}/plans/disabled", {**body, "every_days": 3})
    assert stale.status_code == 409 and "in the meantime" in stale.json()["detail"]
    assert fields_of(put(admin, f"{URL}/plans/disabled", {"every_days": 400})) == {"every_days"}
    assert put(admin, f"{URL}/plans/no_such_tag", body).status_code == 404
    assert CarePlan.objects.get(tag__code="disabled").every_days == 21
    assert token_client(tree.users["resident"]).get(f"{URL}/plans").status_code == 404


def test_due_list_is_mine(tree):
    late = subject(tree, name="逾期", since=days(-10))
    due = subject(tree, name="待访")
    subject(tree, name="青龙", area=first_micro(tree, tree.grid_b1))
    answer = token_client(tree.users["microgrid_member"]).get(f"{URL}/due").json()
    assert [r["resident"] for r in answer["items"]] == [late.pk, due.pk]
    row = answer["items"][0]
    assert row["overdue"] and row["due_in_days"] == -3 and row["tags"] == ["独居老人"]
    assert row["area"] == {"id": late.area_id, "name": late.area.name} and row["masked_phone"] == late.masked_phone
    outsider = token_client(tree.users["outsider_microgrid_member"]).get(f"{URL}/due").json()
    assert [r["name"] for r in outsider["items"]] == ["青龙"]


def test_record_a_visit_and_replay_the_key(tree):
    alone = subject(tree)
    client = token_client(tree.users["microgrid_member"])
    body = {
        "resident": alone.pk, "findings": "身体良好", "needs": "需要助餐", "need_category": "G0301", "key": "api-k-1",
        "how": "phone",
    }  # fmt: skip
    first = post(client, URL, body)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["how"] == "phone" and data["resident"] == {"id": alone.pk, "name": "张三"}
    assert data["case"]["kind"] == "service_request" and data["case"]["category"] == "G0301"
    again = post(client, URL, {**body, "findings": "重发"})
    assert again.status_code == 200 and again.json()["id"] == data["id"] and again.json()["findings"] == "身体良好"
    assert Visit.objects.count() == 1
    assert client.get(f"{URL}/due").json()["items"] == []
    assert client.get(f"{URL}/{data['id']}").json()["id"] == data["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"findings": " "}, "findings"),
        ({"need_category": "G0301"}, "needs"),
        ({"needs": "需要", "need_category": "X1"}, "need_category"),
        ({"at": "2020-01-01T08:00:00+08:00"}, "at"),
        ({"how": "letter"}, "how"),
    ],
)
def test_refusals_name_the_field(tree, change, field):
    alone = subject(tree)
    client = token_client(tree.users["microgrid_member"])
    assert field in fields_of(post(client, URL, {"resident": alone.pk, "findings": "好", **change}))
    assert not Visit.objects.exists()


def test_moved_out_resident_is_refused_naming_resident(tree):
    from fengchao.registry import services as registry

    gone = subject(tree)
    registry.end_residence(None, gone, status="deceased")
    client = token_client(tree.users["microgrid_member"])
    assert fields_of(post(client, URL, {"resident": gone.pk, "findings": "好"})) == {"resident"}


def test_scope_404s(tree):
    alone = subject(tree)
    done, _ = visit(tree, alone)
    outsider = token_client(tree.users["outsider_microgrid_member"])
    answer = post(outsider, URL, {"resident": alone.pk, "findings": "好"})
    assert answer.status_code == 404 and "detail" in answer.json()
    assert outsider.get(f"{URL}/{done.pk}").status_code == 404
    assert outsider.get(URL).json()["items"] == []
    staff_b = token_client(tree.users["outsider_community_staff"])
    assert staff_b.get(f"{URL}/overview?area={tree.community_a.pk}").status_code == 404
    assert token_client(tree.users["microgrid_member"]).get(f"{URL}/overview").status_code == 404
    staff_a = token_client(tree.users["community_staff"])  # staff read, they do not record visits
    assert post(staff_a, URL, {"resident": alone.pk, "findings": "好"}).status_code == 404
    assert Visit.objects.count() == 1


def test_visit_list_filters_and_pages(tree):
    here = subject(tree, name="甲")
    there = subject(tree, name="乙", area=second_micro(tree, tree.grid_a1))
    for _ in range(3):
        visit(tree, here)
    visit(tree, there)
    staff = token_client(tree.users["community_staff"])
    page = staff.get(f"{URL}?limit=3").json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = staff.get(f"{URL}?limit=3&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = [v["id"] for v in page["items"] + rest["items"]]
    assert ids == list(Visit.objects.order_by("-at", "-pk").values_list("pk", flat=True))
    assert len(staff.get(f"{URL}?resident={here.pk}").json()["items"]) == 3
    assert len(staff.get(f"{URL}?area={there.area_id}").json()["items"]) == 1
    assert len(staff.get(f"{URL}?since={days(1)}").json()["items"]) == 0
    assert len(staff.get(f"{URL}?until={days(0)}").json()["items"]) == 4
    assert fields_of(staff.get(f"{URL}?cursor=nonsense")) == {"cursor"}


def test_overview(tree):
    visit(tree, subject(tree, name="已访"))
    subject(tree, name="逾期", since=days(-20))
    answer = token_client(tree.users["community_staff"]).get(f"{URL}/overview").json()
    assert answer["area"]["id"] == tree.community_a.pk
    assert (answer["subjects"], answer["visited_in_time"], answer["overdue"], answer["percent"]) == (2, 1, 1, 50)
    rows = {r["area"]["id"]: r for r in answer["items"]}
    assert rows[tree.grid_a1.pk]["subjects"] == 2 and rows[tree.grid_a2.pk]["subjects"] == 0


def test_query_counts_do_not_grow(tree):
    member = token_client(tree.users["microgrid_member"])
    staff = token_client(tree.users["community_staff"])
    urls = ((member, f"{URL}/due"), (member, URL), (staff, URL), (staff, f"{URL}/overview"))

    def counts():
        found = []
        for c, url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(url).status_code == 200
            found.append(len(ctx.captured_queries))
        return found

    visit(tree, subject(tree, name="甲"))
    counts()  # warm up: the first use of a token records it
    before = counts()
    for i in range(8):
        person = subject(tree, name=f"乙{NUM[i]}", tags=("disabled", "elderly_alone"), since=days(-9))
        if i % 2:
            visit(tree, person, who="grid_leader", needs="需要助餐", need_category="G0301")
    assert counts() == before


def test_openapi_documents_the_visits_api(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/visits"])
    for path in ("/api/visits/due", "/api/visits/plans", "/api/visits/overview", "/api/visits/{visit_id}"):
        assert "get" in paths[path]
    assert "put" in paths["/api/visits/plans/{tag_code}"]
    content = paths["/api/visits"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert "photo" in content["multipart/form-data"]["schema"]["properties"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_record_with_a_photo_as_multipart_and_the_photo_in_scope(tree, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    alone = subject(tree)
    client = token_client(tree.users["microgrid_member"])
    form = {"resident": str(alone.pk), "findings": "门口有积水", "key": "mp-key-1"}
    bad = client.post(URL, {**form, "photo": SimpleUploadedFile("x.png", b"not an image")})
    assert fields_of(bad) == {"photo"} and not Visit.objects.exists()
    answer = client.post(URL, {**form, "photo": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
    assert answer.status_code == 201 and answer.json()["has_photo"]
    url = f"{URL}/{answer.json()['id']}/photo"
    assert client.get(url).status_code == 200
    assert token_client(tree.users["community_staff"]).get(url).status_code == 200
    assert token_client(tree.users["outsider_community_staff"]).get(url).status_code == 404
    no_photo, _ = visit(tree, alone)
    assert client.get(f"{URL}/{no_photo.pk}/photo").status_code == 404
