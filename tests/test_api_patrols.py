"""The patrols API: check-ins (locate, GCJ-02, outside refused, a repeated key answers the first), my check-ins,
coverage of an area and week, my work log (list, write, edit, refusals), a person's log, scope 404s and
query counts."""

import datetime as dt

import pytest
from django.utils import timezone

from fengchao.areas import coords
from fengchao.patrols import services
from fengchao.patrols.models import PatrolCheckIn, WorkLogEntry

from .api_client import post, put, token_client

pytestmark = pytest.mark.django_db

URL = "/api/patrols"
IN_A1_1 = (104.03, 30.63)
IN_A1_2 = (104.03, 30.68)


def micro(tree, grid, n):
    return [a for a in tree.micro.values() if a.parent_id == grid.pk][n - 1]


def test_check_in_locates_and_repeats_answer_the_first(tree):
    client = token_client(tree.users["microgrid_member"])
    body = {"lon": IN_A1_2[0], "lat": IN_A1_2[1], "note": "巡查", "key": "tap-1"}
    first = post(client, f"{URL}/check-ins", body)
    assert first.status_code == 201, first.content
    assert first.json()["area"]["id"] == micro(tree, tree.grid_a1, 2).pk
    again = post(client, f"{URL}/check-ins", body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert PatrolCheckIn.objects.count() == 1
    mine = client.get(f"{URL}/check-ins").json()
    assert [c["id"] for c in mine["items"]] == [first.json()["id"]]
    assert mine["week"] == "{}-W{:02d}".format(*timezone.localdate().isocalendar()[:2])


def test_check_in_gcj02_and_refusals(tree):
    client = token_client(tree.users["microgrid_member"])
    lon, lat = coords.wgs84_to_gcj02(*IN_A1_1)
    done = post(client, f"{URL}/check-ins", {"lon": lon, "lat": lat, "crs": "gcj02"})
    assert done.status_code == 201 and done.json()["area"]["id"] == micro(tree, tree.grid_a1, 1).pk
    assert done.json()["lon"] == pytest.approx(IN_A1_1[0], abs=1e-6)
    outside = post(client, f"{URL}/check-ins", {"lon": 104.07, "lat": 30.62})
    assert outside.status_code == 422
    (error,) = outside.json()["detail"]
    assert error["loc"][-1] == "location" and "not a micro-grid you patrol" in error["msg"]
    bad_crs = post(client, f"{URL}/check-ins", {"lon": 104.03, "lat": 30.63, "crs": "bj54"})
    assert bad_crs.status_code == 422
    resident = post(token_client(tree.users["resident"]), f"{URL}/check-ins", {"lon": 104.03, "lat": 30.63})
    assert resident.status_code == 403
    assert PatrolCheckIn.objects.count() == 1


def test_coverage_and_scope(tree):
    services.check_in(tree.users["microgrid_member"], lon=IN_A1_1[0], lat=IN_A1_1[1])
    services.check_in(tree.users["grid_leader"], lon=IN_A1_2[0], lat=IN_A1_2[1])
    staff = token_client(tree.users["community_staff"])
    answer = staff.get(f"{URL}/coverage", {"area": tree.community_a.pk})
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["micro_grids"] == 4 and data["walked"] == 2
    grids = {g["id"]: g for g in data["grids"]}
    assert grids[tree.grid_a1.pk]["walked"] == 2 and grids[tree.grid_a1.pk]["full_walk_minutes"] is not None
    assert grids[tree.grid_a2.pk]["walked"] == 0 and grids[tree.grid_a2.pk]["full_walk_minutes"] is None
    assert staff.get(f"{URL}/coverage").json()["area"]["id"] == tree.community_a.pk
    assert staff.get(f"{URL}/coverage", {"area": tree.community_a.pk, "week": "2026-W01"}).json()["walked"] == 0
    assert staff.get(f"{URL}/coverage", {"week": "nope"}).status_code == 422
    assert staff.get(f"{URL}/coverage", {"area": tree.community_b.pk}).status_code == 404
    assert token_client(tree.users["microgrid_member"]).get(f"{URL}/coverage").status_code == 404
    grid_leader = token_client(tree.users["grid_leader"])
    assert grid_leader.get(f"{URL}/coverage", {"area": tree.grid_a2.pk}).status_code == 404
    assert grid_leader.get(f"{URL}/coverage", {"area": tree.grid_a1.pk}).status_code == 200


def test_work_log_write_edit_list(tree):
    client = token_client(tree.users["microgrid_member"])
    written = post(client, f"{URL}/log", {"text": "调解邻里纠纷1起"})
    assert written.status_code == 201, written.content
    entry = written.json()
    assert entry["editable"] and entry["day"] == timezone.localdate().isoformat()
    edited = put(client, f"{URL}/log/{entry['id']}", {"text": "调解邻里纠纷2起"})
    assert edited.status_code == 200 and edited.json()["text"] == "调解邻里纠纷2起"
    assert [e["id"] for e in client.get(f"{URL}/log").json()["items"]] == [entry["id"]]
    assert post(client, f"{URL}/log", {"text": " "}).status_code == 422
    old_day = (timezone.localdate() - dt.timedelta(days=5)).isoformat()
    assert post(client, f"{URL}/log", {"text": "x", "day": old_day}).status_code == 422
    assert post(client, f"{URL}/log", {"text": "x", "area": tree.grid_b1.pk}).status_code == 422
    other = token_client(tree.users["grid_leader"])
    assert put(other, f"{URL}/log/{entry['id']}", {"text": "not mine"}).status_code == 404
    stale = WorkLogEntry.objects.create(
        user=tree.users["microgrid_member"],
        day=timezone.localdate() - dt.timedelta(days=3),
        text="旧",
        area_id=entry["area"]["id"],
    )
    assert put(client, f"{URL}/log/{stale.pk}", {"text": "too late"}).status_code == 422
    assert token_client(tree.users["resident"]).get(f"{URL}/log").status_code == 404


def test_person_log_for_staff_in_scope(tree):
    member = tree.users["microgrid_member"]
    entry = services.write_log(member, text="巡查楼栋3栋")
    url = f"{URL}/people/{member.pk}/log"
    answer = token_client(tree.users["street_staff"]).get(url)
    assert answer.status_code == 200 and [e["id"] for e in answer.json()["items"]] == [entry.pk]
    assert token_client(tree.users["outsider_street_staff"]).get(url).status_code == 404
    assert token_client(tree.users["microgrid_leader"]).get(url).status_code == 404
    assert token_client(tree.users["street_staff"]).get(f"{URL}/people/999999/log").status_code == 404


def test_query_counts_do_not_grow(tree, django_assert_max_num_queries):
    member = tree.users["microgrid_member"]
    client = token_client(member)
    staff = token_client(tree.users["district_admin"])

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        found = []
        for c, url in ((client, f"{URL}/check-ins"), (client, f"{URL}/log"), (staff, f"{URL}/coverage")):
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(url).status_code == 200
            found.append(len(ctx.captured_queries))
        return found

    def fill(n, start):
        for i in range(n):
            services.check_in(member, lon=IN_A1_1[0], lat=IN_A1_1[1], key=f"k{start + i}")
            services.write_log(member, text=f"entry {start + i}")

    fill(1, 0)
    counts()  # warm up: the first use of a token records it
    before = counts()
    fill(8, 1)
    assert counts() == before
    with django_assert_max_num_queries(12):
        staff.get(f"{URL}/coverage")


# --- photos through the API ------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_check_in_with_a_photo_as_multipart_and_the_photo_served_in_scope(tree):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = token_client(tree.users["microgrid_member"])
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    data = {"lon": str(IN_A1_1[0]), "lat": str(IN_A1_1[1]), "note": "楼道畅通", "key": "photo-1", "photo": photo}
    done = client.post(f"{URL}/check-ins", data)  # multipart/form-data
    assert done.status_code == 201, done.content
    body = done.json()
    assert body["has_photo"] is True and body["note"] == "楼道畅通"
    assert body["area"]["id"] == micro(tree, tree.grid_a1, 1).pk
    saved = PatrolCheckIn.objects.get(pk=body["id"])
    assert saved.photo_type == "image/png"
    again = client.post(f"{URL}/check-ins", {**data, "photo": SimpleUploadedFile("p.png", PNG)})
    assert again.status_code == 200 and again.json()["id"] == body["id"]  # the same key: the first check-in
    url = f"{URL}/check-ins/{body['id']}/photo"
    for who in ("microgrid_member", "grid_leader", "community_staff"):
        served = token_client(tree.users[who]).get(url)
        assert served.status_code == 200, who
        assert served["Content-Type"] == "image/png" and b"".join(served.streaming_content) == PNG
    for who in ("outsider_microgrid_member", "outsider_community_staff", "outsider_grid_leader", "resident"):
        assert token_client(tree.users[who]).get(url).status_code == 404, who


def test_a_photo_that_is_not_an_image_is_refused_naming_photo(tree):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = token_client(tree.users["microgrid_member"])
    text = SimpleUploadedFile("p.png", b"not an image at all", content_type="image/png")
    refused = client.post(f"{URL}/check-ins", {"lon": str(IN_A1_1[0]), "lat": str(IN_A1_1[1]), "photo": text})
    assert refused.status_code == 422
    assert {e["loc"][-1] for e in refused.json()["detail"]} == {"photo"}
    assert PatrolCheckIn.objects.count() == 0
    bad_point = client.post(f"{URL}/check-ins", {"lon": "east", "lat": str(IN_A1_1[1])})
    assert bad_point.status_code == 422 and bad_point.json()["detail"][0]["loc"][-1] == "lon"


def test_a_check_in_without_a_photo_has_none_to_serve(tree):
    client = token_client(tree.users["microgrid_member"])
    done = post(client, f"{URL}/check-ins", {"lon": IN_A1_1[0], "lat": IN_A1_1[1]})  # JSON still works
    assert done.status_code == 201 and done.json()["has_photo"] is False
    assert client.get(f"{URL}/check-ins/{done.json()['id']}/photo").status_code == 404
    assert client.get(f"{URL}/check-ins/999999/photo").status_code == 404


def test_openapi_documents_both_bodies_of_a_check_in(client):
    operation = client.get("/api/openapi.json").json()["paths"]["/api/patrols/check-ins"]["post"]
    content = operation["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert "photo" in content["multipart/form-data"]["schema"]["properties"]
