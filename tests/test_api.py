"""The JSON API: documents, authentication, each endpoint's behaviour, pagination and query counts."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fengchao.accounts import services as accounts
from fengchao.accounts.models import ApiToken
from fengchao.accounts.roles import IdentityTag, Role
from fengchao.areas import services as areas
from fengchao.audit.models import AuditEvent
from tests.factories import box, first_micro

pytestmark = pytest.mark.django_db


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def token_client(user):
    _, raw = accounts.issue_api_token(user, "test")
    client = Client()
    client.defaults.update(bearer(raw))
    return client


def session_client(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


# --- documents ---------------------------------------------------------------------------


EXPECTED_OPERATIONS = {
    ("get", "/api/me"),
    ("get", "/api/tokens"),
    ("post", "/api/tokens"),
    ("delete", "/api/tokens/{token_id}"),
    ("get", "/api/areas"),
    ("get", "/api/areas/{area_id}"),
    ("get", "/api/areas/{area_id}/children"),
    ("get", "/api/areas/{area_id}/members"),
    ("get", "/api/areas/{area_id}/duties"),
    ("get", "/api/locate"),
}


def test_openapi_document_is_3_1_and_lists_every_endpoint(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Fengchao API"
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations >= EXPECTED_OPERATIONS
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}


def test_docs_page_lists_operations_without_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/areas/{area_id}/members" in html and "/api/locate" in html
    # The CSP allows only scripts from our own origin: every <script> must be an external file.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert " on" not in " ".join(re.findall(r"<[a-z]+\s[^>]*\son[a-z]+=", html))
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


# --- authentication ----------------------------------------------------------------------


def test_unauthenticated_requests_get_401_json(client, tree):
    for url in ("/api/me", "/api/areas", f"/api/areas/{tree.community_a.pk}", "/api/tokens"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["detail"]


def test_token_auth_identifies_the_user(tree):
    user = tree.users["community_staff"]
    response = token_client(user).get("/api/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "community_staff"
    assert body["roles"] == [
        {
            "role": "community_staff",
            "role_label": str(Role.COMMUNITY_STAFF.label),
            "area_id": tree.community_a.pk,
            "area_name": "和美社区",
            "area_code": tree.community_a.code,
            "department": None,
        }
    ]
    assert body["masked_phone"] and "*" in body["masked_phone"]
    assert user.phone not in response.content.decode()


def test_revoked_expired_and_unknown_tokens_get_401(tree):
    user = tree.users["street_staff"]
    revoked, revoked_raw = accounts.issue_api_token(user, "old")
    accounts.revoke_api_token(revoked, by=user)
    expired, expired_raw = accounts.issue_api_token(user, "expired")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for raw in (revoked_raw, expired_raw, "fc_not-a-real-token", ""):
        assert Client().get("/api/me", **bearer(raw)).status_code == 401, raw


def test_a_bad_token_is_refused_even_with_a_valid_session(tree):
    client = session_client(tree.users["street_staff"])
    assert client.get("/api/me").status_code == 200
    assert client.get("/api/me", **bearer("fc_wrong")).status_code == 401


def test_inactive_user_token_gets_401(tree):
    user = tree.users["grid_leader"]
    client = token_client(user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/me").status_code == 401


def test_session_post_needs_csrf_token(tree):
    user = tree.users["community_staff"]
    client = session_client(user, enforce_csrf_checks=True)
    refused = client.post("/api/tokens", {"name": "laptop"}, content_type="application/json")
    assert refused.status_code == 403
    assert ApiToken.objects.filter(user=user).count() == 0

    client.get("/api/docs")  # any page that renders a CSRF token sets the cookie
    csrf = client.cookies["csrftoken"].value
    created = client.post("/api/tokens", {"name": "laptop"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert created.status_code == 201, created.content
    raw = created.json()["token"]
    assert raw.startswith("fc_")
    assert Client().get("/api/me", **bearer(raw)).json()["username"] == "community_staff"


def test_token_lifecycle_create_list_revoke(tree):
    user = tree.users["grid_leader"]
    client = session_client(user)
    created = client.post("/api/tokens", {"name": "巡查手机", "days": 30}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    raw = body["token"]
    assert body["name"] == "巡查手机" and body["prefix"] == raw[:8]
    assert AuditEvent.objects.filter(action="token.issued").exists()

    listed = client.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0] and raw not in json.dumps(listed)

    # A token cannot mint more tokens: creating them takes a signed-in session.
    assert (
        Client().post("/api/tokens", {"name": "x"}, content_type="application/json", **bearer(raw)).status_code == 401
    )

    assert client.delete(f"/api/tokens/{body['id']}").status_code == 204
    assert AuditEvent.objects.filter(action="token.revoked").exists()
    assert Client().get("/api/me", **bearer(raw)).status_code == 401
    again = client.delete(f"/api/tokens/{body['id']}")
    assert again.status_code == 422 and again.json()["detail"]


def test_cannot_see_or_revoke_someone_elses_token(tree):
    owner = tree.users["grid_leader"]
    token, _ = accounts.issue_api_token(owner, "mine")
    other = session_client(tree.users["district_admin"])
    assert other.get("/api/tokens").json() == []
    assert other.delete(f"/api/tokens/{token.pk}").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_token_input_is_validated(tree):
    client = session_client(tree.users["grid_leader"])
    response = client.post("/api/tokens", {"name": "x" * 101, "days": 0}, content_type="application/json")
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["detail"]}
    assert fields == {"name", "days"}
    assert ApiToken.objects.count() == 0


# --- areas -------------------------------------------------------------------------------


def test_area_list_defaults_to_scope_roots(tree):
    body = token_client(tree.users["community_staff"]).get("/api/areas").json()
    assert [a["name"] for a in body["items"]] == ["和美社区"]
    assert body["next_cursor"] is None
    admin = token_client(tree.users["district_admin"]).get("/api/areas").json()
    assert [a["name"] for a in admin["items"]] == ["成华区"]


def test_area_list_filters(tree):
    client = token_client(tree.users["street_staff"])

    def names(**params):
        response = client.get("/api/areas", params)
        assert response.status_code == 200, response.content
        return [a["name"] for a in response.json()["items"]]

    assert names(parent_id=tree.community_a.pk) == ["和美一网格", "和美二网格", "和美医院专属网格"]
    assert names(kind="grid") == ["和美一网格", "和美二网格"]  # street B's grid is out of scope
    assert names(level=5) == [a.name for a in tree.micro.values() if a.path.startswith(tree.street_a.path)]
    assert names(q="医院") == ["和美医院专属网格"]
    assert names(q=tree.grid_a2.code) == ["和美二网格", "和美二网格1号微网格", "和美二网格2号微网格"]
    assert names(q="致强") == []
    assert client.get("/api/areas", {"parent_id": tree.community_b.pk}).status_code == 404


def test_area_list_pagination_walks_every_page_once(tree):
    client = token_client(tree.users["district_admin"])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"level": 5, "limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/areas", params).json()
        seen += [a["id"] for a in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(tree.micro) == 6


def test_tampered_cursor_is_a_clear_422(tree):
    client = token_client(tree.users["district_admin"])
    response = client.get("/api/areas", {"level": 5, "cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


def test_area_detail(tree):
    grid = tree.grid_a1
    response = token_client(tree.users["grid_leader"]).get(f"/api/areas/{grid.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "和美一网格" and body["kind"] == "grid" and body["level"] == 4
    assert body["parent_id"] == tree.community_a.pk
    assert [(a["name"], a["visible"]) for a in body["ancestors"]] == [
        ("成华区", False),
        ("保和街道", False),
        ("和美社区", False),
    ]
    assert body["bbox"] == pytest.approx([104.0, 30.6, 104.05, 30.7])
    assert body["centre"] == pytest.approx([104.025, 30.65])
    assert body["boundary"]["type"] == "Polygon"
    assert body["totals"]["by_kind"]["microgrid"] == 2
    # Its own grid leader plus the micro-grid leader and member of its first micro-grid.
    assert body["totals"]["members"] == 3


def test_children_with_rollups_and_geometry(tree):
    client = token_client(tree.users["community_staff"])
    body = client.get(f"/api/areas/{tree.community_a.pk}/children").json()
    by_name = {c["name"]: c for c in body["items"]}
    assert list(by_name) == ["和美一网格", "和美二网格", "和美医院专属网格"]
    assert by_name["和美一网格"]["by_kind"]["microgrid"] == 2
    assert by_name["和美一网格"]["members"] == 3
    assert by_name["和美医院专属网格"]["members"] == 1
    assert all(c["boundary"] is None for c in body["items"])
    with_geometry = client.get(f"/api/areas/{tree.community_a.pk}/children", {"geometry": 1}).json()
    assert with_geometry["items"][0]["boundary"]["type"] == "Polygon"


def test_members_show_masked_phones_and_tags(tree):
    leader = tree.users["microgrid_leader"]
    accounts.set_identity_tags(leader, [IdentityTag.PARTY_MEMBER, IdentityTag.BUILDING_HEAD])
    micro = first_micro(tree, tree.grid_a1)
    client = token_client(tree.users["grid_leader"])
    response = client.get(f"/api/areas/{micro.pk}/members")
    assert response.status_code == 200
    items = response.json()["items"]
    assert {(m["name"], m["role"]) for m in items} == {
        ("microgrid_leader", "microgrid_leader"),
        ("microgrid_member", "microgrid_member"),
    }
    leader_row = next(m for m in items if m["role"] == "microgrid_leader")
    assert [t["tag"] for t in leader_row["tags"]] == ["building_head", "party_member"]
    assert leader_row["masked_phone"].endswith(leader.phone[-4:]) and "*" in leader_row["masked_phone"]
    assert leader.phone not in response.content.decode()

    grid_only = client.get(f"/api/areas/{tree.grid_a1.pk}/members").json()["items"]
    assert [m["role"] for m in grid_only] == ["grid_leader"]
    subtree = client.get(f"/api/areas/{tree.grid_a1.pk}/members", {"subtree": 1}).json()["items"]
    assert len(subtree) == 3


def test_members_pagination_and_constant_queries(tree):
    client = token_client(tree.users["district_admin"])
    micro = first_micro(tree, tree.grid_a2)

    def add_members(n, start):
        for i in range(start, start + n):
            user = accounts.create_user(username=f"m{i}", display_name=f"成员{i:03d}", phone=f"1370000{i:04d}")
            accounts.set_identity_tags(user, [IdentityTag.VOLUNTEER])
            accounts.assign_role(user, Role.MICROGRID_MEMBER, micro)

    def page_queries(limit):
        client.get(f"/api/areas/{micro.pk}/members", {"limit": limit})  # warm the token's last_used_at
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/areas/{micro.pk}/members", {"limit": limit})
        assert len(response.json()["items"]) == limit
        return len(ctx.captured_queries)

    add_members(2, 0)
    few = page_queries(2)
    add_members(28, 2)
    many = page_queries(30)
    assert few == many

    seen, cursor = [], None
    while True:
        body = client.get(
            f"/api/areas/{micro.pk}/members", {"limit": 7} | ({"cursor": cursor} if cursor else {})
        ).json()
        seen += [m["id"] for m in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 30
    names = [m["name"] for m in client.get(f"/api/areas/{micro.pk}/members", {"limit": 200}).json()["items"]]
    assert names == sorted(names)


def test_area_list_and_children_queries_are_constant_in_page_size(tree):
    client = token_client(tree.users["district_admin"])
    parent = tree.grid_b1

    def count(url, params):
        client.get(url, params)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, params)
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["items"])

    small = count(f"/api/areas/{parent.pk}/children", {"geometry": 1})
    small_list = count("/api/areas", {"parent_id": parent.pk})
    for i in range(3, 23):
        west = 104.1 + (i - 3) * 0.005
        areas.create_area(
            parent=parent,
            kind="microgrid",
            name=f"致强一网格{i}号微网格",
            local_code=str(i),
            boundary=box(west, 30.6, west + 0.005, 30.61),
        )
    large = count(f"/api/areas/{parent.pk}/children", {"geometry": 1})
    large_list = count("/api/areas", {"parent_id": parent.pk})
    assert small[1] == 2 and large[1] == 22
    assert small[0] == large[0]
    assert small_list[0] == large_list[0]


def test_token_list_queries_are_constant(tree):
    user = tree.users["grid_leader"]
    client = session_client(user)
    accounts.issue_api_token(user, "a")
    with CaptureQueriesContext(connection) as one:
        client.get("/api/tokens")
    for i in range(15):
        accounts.issue_api_token(user, f"t{i}")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/tokens").json()) == 16
    assert len(one.captured_queries) == len(many.captured_queries)


def test_duties_inherit_from_the_nearest_ancestor(tree):
    areas.replace_duties(tree.district, Role.GRID_LEADER, [("巡查网格", "每日一次"), ("上报事件", "")])
    areas.replace_duties(tree.community_a, Role.GRID_LEADER, [("入户走访", "每月覆盖全部住户")])
    areas.replace_duties(tree.district, Role.MICROGRID_MEMBER, [("熟悉住户", "")])
    client = token_client(tree.users["grid_leader"])
    body = client.get(f"/api/areas/{tree.grid_a1.pk}/duties").json()
    lists = {d["role"]: d for d in body["roles"]}
    assert lists["grid_leader"]["inherited"] is True
    assert lists["grid_leader"]["source_area"]["name"] == "和美社区"
    assert [i["title"] for i in lists["grid_leader"]["items"]] == ["入户走访"]
    assert lists["microgrid_member"]["source_area"]["name"] == "成华区"
    areas.replace_duties(tree.grid_a1, Role.GRID_LEADER, [("自定职责", "")])
    own = client.get(f"/api/areas/{tree.grid_a1.pk}/duties").json()
    grid_list = next(d for d in own["roles"] if d["role"] == "grid_leader")
    assert grid_list["inherited"] is False and grid_list["items"][0]["title"] == "自定职责"


# --- locate ------------------------------------------------------------------------------


@pytest.fixture
def fresh_locator(settings):
    from fengchao.areas import locator

    settings.LOCATOR_VERSION_CHECK_S = 0
    locator.clear_cache()
    yield locator
    locator.clear_cache()


def test_locate_returns_the_visible_micro_grid(tree, fresh_locator):
    client = token_client(tree.users["grid_leader"])
    response = client.get("/api/locate", {"lon": 104.02, "lat": 30.62})
    assert response.status_code == 200, response.content
    body = response.json()
    micro = first_micro(tree, tree.grid_a1)
    assert body["microgrid"]["id"] == micro.pk and body["microgrid"]["name"] == micro.name
    assert body["area"]["id"] == micro.pk
    assert body["in_gap"] is False and body["distance_m"] == 0
    assert body["lon"] == pytest.approx(104.02)


def test_locate_gcj02_input_is_converted(tree, fresh_locator):
    client = token_client(tree.users["district_admin"])
    # GCJ-02 shifts Chengdu by roughly +0.0025 lon / -0.0025 lat; the WGS84 point returned differs from the input.
    body = client.get("/api/locate", {"lon": 104.0225, "lat": 30.6175, "crs": "gcj02"}).json()
    assert body["lon"] != pytest.approx(104.0225, abs=1e-4)
    assert body["area"]["id"] == first_micro(tree, tree.grid_a1).pk


def test_locate_out_of_scope_is_404(tree, fresh_locator):
    client = token_client(tree.users["grid_leader"])
    response = client.get("/api/locate", {"lon": 104.15, "lat": 30.62})  # street B
    assert response.status_code == 404
    assert response.json()["detail"]
    outside = client.get("/api/locate", {"lon": 110.0, "lat": 35.0})  # no area at all
    assert outside.status_code == 404


def test_locate_validates_coordinates(tree):
    client = token_client(tree.users["grid_leader"])
    for params, field in (
        ({"lon": 181, "lat": 30}, "lon"),
        ({"lon": 104, "lat": -91}, "lat"),
        ({"lon": "east", "lat": 30}, "lon"),
        ({"lon": "nan", "lat": 30}, "lon"),
        ({"lat": 30}, "lon"),
        ({"lon": 104, "lat": 30, "crs": "mercator"}, "crs"),
    ):
        response = client.get("/api/locate", params)
        assert response.status_code == 422, params
        assert field in {error["loc"][-1] for error in response.json()["detail"]}, params


# --- robustness --------------------------------------------------------------------------


BAD_REQUESTS = [
    "/api/areas/0",
    "/api/areas/-1",
    "/api/areas/abc",
    "/api/areas/99999999999999999999999",
    "/api/areas/9223372036854775807",
    "/api/areas/9223372036854775807/children",
    "/api/areas/1.5/members",
    "/api/areas?parent_id=abc",
    "/api/areas?parent_id=99999999999999999999999",
    "/api/areas?level=9",
    "/api/areas?kind=planet",
    "/api/areas?limit=0",
    "/api/areas?limit=201",
    "/api/areas?limit=x",
    "/api/areas?q=",
    "/api/areas?q=" + "长" * 101,
    "/api/areas?level=5&cursor=%00%00",
    "/api/areas?level=5&cursor=" + "x" * 2001,
    "/api/areas/1/children?geometry=maybe",
    "/api/areas/1/members?subtree=perhaps",
    "/api/locate?lon=&lat=",
    "/api/locate?lon=1e400&lat=0",
    "/api/tokens/abc",
    "/api/nowhere",
]


@pytest.mark.parametrize("url", BAD_REQUESTS)
def test_invalid_ids_and_parameters_are_4xx_not_500(tree, url):
    client = token_client(tree.users["district_admin"])
    method = client.delete if url.startswith("/api/tokens/") else client.get
    response = method(url)
    assert 400 <= response.status_code < 500, (url, response.status_code, response.content[:300])


def test_unknown_endpoint_answers_json_404(client):
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json") and response.json()["detail"]


def test_malformed_json_body_is_4xx(tree):
    client = session_client(tree.users["grid_leader"])
    response = client.post("/api/tokens", "{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert ApiToken.objects.count() == 0
