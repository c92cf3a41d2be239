"""The activities API: list (filters), detail, publish, sign-up with the waiting list and promotion, check-in
and check-out by the QR token, the organiser's sheet and marks, cancelling. Scope and query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fengchao.activities import services
from fengchao.activities.models import Activity, Attendance
from fengchao.points import ledger
from fengchao.points import services as points
from tests.api_client import post

pytestmark = pytest.mark.django_db

API = "/api/activities"


def publish(
    tree, *, kind="training", capacity=None, starts_in=-10, hours=2, area=None, title="微网格员业务培训", by=None
):
    start = timezone.now() + dt.timedelta(minutes=starts_in)
    return services.publish(
        tree.users[by or "community_staff"],
        area=area or tree.community_a,
        kind=kind,
        title=title,
        place="和美社区党群服务中心",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        capacity=capacity,
    )


@pytest.fixture
def training(tree):
    return publish(tree)


@pytest.fixture
def rule(tree):
    return points.save_rule(
        by=tree.users["district_admin"], area=tree.district, action="training.attended", kind="participation", points=5
    )


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/activities",
        "/api/activities/{activity_id}",
        "/api/activities/{activity_id}/signup",
        "/api/activities/{activity_id}/cancel-signup",
        "/api/activities/{activity_id}/check-in",
        "/api/activities/{activity_id}/check-out",
        "/api/activities/{activity_id}/attendance",
        "/api/activities/{activity_id}/cancel",
    ):
        assert path in paths, path


def test_needs_a_sign_in(client, tree, training):
    assert client.get(API).status_code == 401


def test_list_and_filters(as_, tree, training):
    meeting = publish(tree, kind="grid_meeting", area=tree.grid_a1, title="网格例会", capacity=2)
    street = publish(tree, area=tree.community_b, title="致强社区培训", by="outsider_community_staff")
    body = as_("microgrid_member").get(API).json()
    ids = [row["id"] for row in body["items"]]
    assert set(ids) == {training.pk, meeting.pk}
    row = next(r for r in body["items"] if r["id"] == meeting.pk)
    assert row["places_left"] == 2 and row["kind"]["code"] == "grid_meeting" and row["my_signup"] is None
    assert [r["id"] for r in as_("microgrid_member").get(API, {"kind": "grid_meeting"}).json()["items"]] == [meeting.pk]
    by_area = as_("microgrid_member").get(API, {"area": tree.grid_a1.pk}).json()["items"]
    assert [r["id"] for r in by_area] == [meeting.pk]
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    assert as_("microgrid_member").get(API, {"from": later}).json()["items"] == []
    assert street.pk not in [r["id"] for r in as_("microgrid_member").get(API).json()["items"]]
    assert street.pk in [r["id"] for r in as_("district_admin").get(API).json()["items"]]


def test_out_of_scope_is_404(as_, tree, training):
    c = as_("outsider_microgrid_member")
    assert c.get(f"{API}/{training.pk}").status_code == 404
    for step in ("signup", "cancel-signup"):
        assert post(c, f"{API}/{training.pk}/{step}").status_code == 404
    assert post(c, f"{API}/{training.pk}/check-in", {"token": services.qr_token(training)}).status_code == 404
    assert as_("outsider_community_staff").get(f"{API}/{training.pk}/attendance").status_code == 404
    assert post(as_("outsider_community_staff"), f"{API}/{training.pk}/cancel", {"reason": "x"}).status_code == 404


def test_sign_up_waiting_list_and_promotion(as_, tree):
    activity = publish(tree, capacity=1)
    url = f"{API}/{activity.pk}"
    first = post(as_("microgrid_member"), f"{url}/signup").json()
    assert first["my_signup"]["state"]["code"] == "confirmed" and first["places_left"] == 0
    second = post(as_("microgrid_leader"), f"{url}/signup").json()
    assert second["my_signup"] == {"state": {"code": "waitlisted", "label": "On the waiting list"}, "position": 1}
    gone = post(as_("microgrid_member"), f"{url}/cancel-signup").json()
    assert gone["my_signup"] is None
    moved = as_("microgrid_leader").get(url).json()
    assert moved["my_signup"]["state"]["code"] == "confirmed"
    again = post(as_("microgrid_member"), f"{url}/cancel-signup")
    assert again.status_code == 422


def test_publish(as_, tree):
    start = timezone.now() + dt.timedelta(days=2)
    body = {
        "area": tree.community_a.pk,
        "kind": "party_theme",
        "title": "主题党日",
        "place": "党群服务中心",
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        "capacity": 20,
        "audience": "party",
    }
    response = post(as_("community_staff"), API, body)
    assert response.status_code == 201, response.content
    assert response.json()["organises"] and response.json()["audience"]["code"] == "party"
    assert post(as_("microgrid_member"), API, body).status_code == 403
    assert post(as_("outsider_community_staff"), API, body).status_code == 403
    bad = post(as_("community_staff"), API, {**body, "ends_at": start.isoformat()})
    assert bad.status_code == 422 and "ends_at" in {e["loc"][-1] for e in bad.json()["detail"]}
    assert Activity.objects.count() == 1


def test_check_in_with_the_token_grants_points_once(as_, tree, training, rule):
    member = tree.users["microgrid_member"]
    url = f"{API}/{training.pk}/check-in"
    response = post(as_("microgrid_member"), url, {"token": services.qr_token(training)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["method"]["code"] == "qr" and body["points"]["points"] == 5
    assert body["points"]["state"]["code"] == "granted"
    assert ledger.balance(member.pk, "participation") == 5
    again = post(as_("microgrid_member"), url, {"token": services.qr_token(training)})
    assert again.status_code == 422 and again.json()["detail"][0]["loc"][-1] == "token"
    old = services.qr_token(training, now=timezone.now() - dt.timedelta(minutes=10))
    expired = post(as_("microgrid_leader"), url, {"token": old})
    assert expired.status_code == 422 and Attendance.objects.count() == 1


def test_check_out_counts_hours(as_, tree):
    activity = publish(tree, kind="volunteering", starts_in=-5)
    url = f"{API}/{activity.pk}"
    assert post(as_("microgrid_member"), f"{url}/check-in", {"token": services.qr_token(activity)}).status_code == 200
    out = post(as_("microgrid_member"), f"{url}/check-out", {"token": services.qr_token(activity)})
    assert out.status_code == 200 and out.json()["checked_out_at"] is not None


def test_the_organiser_sheet_and_marks(as_, tree, training, rule):
    member = tree.users["microgrid_member"]
    services.sign_up(member, training)
    url = f"{API}/{training.pk}/attendance"
    assert as_("microgrid_member").get(url).status_code == 403
    assert post(as_("microgrid_member"), url, {"user": member.pk}).status_code == 403
    sheet = as_("community_staff").get(url).json()
    assert [r["user"]["id"] for r in sheet["rows"]] == [member.pk] and sheet["rows"][0]["attendance"] is None
    marked = post(as_("community_staff"), url, {"user": member.pk})
    assert marked.status_code == 200 and marked.json()["method"]["code"] == "organiser"
    assert marked.json()["points"]["points"] == 5
    sheet = as_("community_staff").get(url).json()
    assert sheet["rows"][0]["attendance"]["user"]["id"] == member.pk
    assert post(as_("community_staff"), url, {"user": 10**9}).status_code == 422


def test_cancel(as_, tree, training):
    url = f"{API}/{training.pk}/cancel"
    assert post(as_("microgrid_member"), url, {"reason": "x"}).status_code == 403
    response = post(as_("community_staff"), url, {"reason": "场地维修"})
    assert response.status_code == 200 and response.json()["state"]["code"] == "cancelled"
    assert post(as_("microgrid_member"), f"{API}/{training.pk}/signup").status_code == 422


def test_the_list_does_not_grow(as_, tree, django_assert_max_num_queries):
    member = tree.users["microgrid_member"]
    c = as_("microgrid_member")
    services.sign_up(member, publish(tree, capacity=4))
    c.get(API)  # warm the token
    with CaptureQueriesContext(connection) as ctx:
        c.get(API)
    few = len(ctx.captured_queries)
    for n in range(10):
        services.sign_up(member, publish(tree, capacity=4, title=f"培训{n}"))
    with django_assert_max_num_queries(few):
        assert len(c.get(API).json()["items"]) == 11
