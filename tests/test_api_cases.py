"""The cases API: intake, residents' intake and tracking, lists, detail, every kind of step, photos, notices."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fengchao.areas import coords
from fengchao.cases import services
from fengchao.cases.choices import CaseState, Channel, Tier
from fengchao.cases.models import Case, CaseAttachment, CoHandler
from fengchao.notices.models import Notification
from tests.api_client import post, token_client
from tests.case_factories import PNG, build_categories, centre, photo, report
from tests.factories import first_micro

pytestmark = pytest.mark.django_db

API = "/api/cases"


def fields_of(response) -> set:
    """The body fields a 422 names (["body", "payload", field] or ["query", key])."""
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return {error["loc"][-1] for error in detail}


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def cats(tree):
    return build_categories()


@pytest.fixture
def micro_a(tree):
    return first_micro(tree, tree.grid_a1)


@pytest.fixture
def member(tree):
    return token_client(tree.users["microgrid_member"])


@pytest.fixture
def staff(tree):
    return token_client(tree.users["community_staff"])


def intake(client, cats, area, **body):
    lon, lat = centre(area)
    data = {"category": cats.litter.code, "description": "楼下垃圾堆了三天", "lon": lon, "lat": lat}
    data |= {"channel": "member", "idempotency_key": key()} | body
    return post(client, API, data)


def act(client, case, name, **body):
    return post(client, f"{API}/{case.pk}/actions/{name}", body)


def act_with_photo(client, case, name, content=PNG, filename="after.png", **fields):
    files = {"photos": photo(filename) if content is PNG else _upload(filename, content)}
    return client.post(f"{API}/{case.pk}/actions/{name}", {**fields, **files})


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


# ---- the document -----------------------------------------------------------------------------------------

CASES_OPERATIONS = {
    ("post", "/api/cases"),
    ("get", "/api/cases"),
    ("get", "/api/cases/inboxes"),
    ("get", "/api/cases/categories"),
    ("get", "/api/cases/categories/suggest"),
    ("get", "/api/cases/duplicates"),
    ("get", "/api/cases/{case_id}"),
    ("get", "/api/cases/{case_id}/duplicates"),
    ("post", "/api/cases/{case_id}/actions/{name}"),
    ("post", "/api/cases/{case_id}/whistle"),
    ("post", "/api/cases/{case_id}/report-in"),
    ("post", "/api/cases/{case_id}/part"),
    ("post", "/api/cases/{case_id}/supervise"),
    ("post", "/api/cases/{case_id}/follow-up"),
    ("post", "/api/cases/{case_id}/notes"),
    ("post", "/api/cases/{case_id}/attachments"),
    ("get", "/api/cases/{case_id}/attachments/{token}"),
    ("post", "/api/public/cases"),
    ("get", "/api/public/cases/categories"),
    ("get", "/api/public/cases/{tracking_code}"),
    ("post", "/api/public/cases/{tracking_code}/rating"),
    ("get", "/api/public/cases/{tracking_code}/photos/{token}"),
    ("get", "/api/notifications"),
    ("post", "/api/notifications/read"),
    ("get", "/api/open311/v2/services.json"),
    ("post", "/api/open311/v2/requests.json"),
    ("get", "/api/open311/v2/requests/{request_id}.json"),
}


def test_openapi_document_lists_the_cases_endpoints_and_their_bodies(client):
    document = client.get("/api/openapi.json").json()
    paths = document["paths"]
    operations = {(method, path) for path, item in paths.items() for method in item}
    assert operations >= CASES_OPERATIONS
    intake_body = paths["/api/cases"]["post"]["requestBody"]["content"]
    assert "idempotency_key" in intake_body["application/json"]["schema"]["properties"]
    assert "photos" in intake_body["multipart/form-data"]["schema"]["properties"]
    listed = {p["name"] for p in paths["/api/cases"]["get"]["parameters"]}
    assert listed >= {"inbox", "area", "category", "state", "channel", "tier", "department", "from", "to", "q"}
    assert "`overdue`" in paths["/api/cases"]["get"]["description"]
    actions = paths["/api/cases/{case_id}/actions/{name}"]["post"]["parameters"]
    name = next(p for p in actions if p["name"] == "name")
    assert {"dispatch", "resolve", "merge", "rate"} <= set(name["schema"]["enum"])
    # Residents' endpoints need no sign-in; everything else does.
    assert "security" not in paths["/api/public/cases/{tracking_code}"]["get"]
    assert "security" not in paths["/api/public/cases"]["post"]
    assert paths["/api/cases/{case_id}"]["get"]["security"]


# ---- intake -----------------------------------------------------------------------------------------------


def test_intake_creates_then_a_retry_returns_the_same_case(tree, cats, member, micro_a):
    first = intake(member, cats, micro_a, idempotency_key="retry-key-0001")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["state"]["code"] == "reported"
    assert body["area"]["id"] == micro_a.pk
    assert body["category"] == {"code": cats.litter.code, "name": "暴露垃圾"}
    again = intake(member, cats, micro_a, idempotency_key="retry-key-0001", description="another text entirely")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["number"] == body["number"]
    assert Case.objects.count() == 1


def test_the_key_may_come_as_a_header_and_is_required(tree, cats, member, micro_a):
    lon, lat = centre(micro_a)
    data = {"category": cats.litter.code, "description": "路灯不亮了", "lon": lon, "lat": lat, "channel": "member"}
    assert fields_of(post(member, API, data)) == {"idempotency_key"}
    first = post(member, API, data, HTTP_IDEMPOTENCY_KEY="header-key-42")
    assert first.status_code == 201
    assert post(member, API, data, HTTP_IDEMPOTENCY_KEY="header-key-42").status_code == 200
    assert Case.objects.count() == 1


def test_intake_refusals_name_the_field(tree, cats, member, micro_a):
    assert fields_of(intake(member, cats, micro_a, category="NOPE")) == {"category"}
    assert fields_of(intake(member, cats, micro_a, category=cats.parent.code)) == {"category"}  # not a leaf
    assert fields_of(intake(member, cats, micro_a, description="")) == {"description"}
    assert fields_of(intake(member, cats, micro_a, lon=103.5, lat=30.0)) == {"location"}  # outside the district
    assert fields_of(intake(member, cats, micro_a, crs="utm")) == {"crs"}
    assert fields_of(intake(member, cats, micro_a, lat=91)) == {"lat"}
    assert fields_of(intake(member, cats, micro_a, category=cats.manhole.code)) == {"photos"}
    assert fields_of(intake(member, cats, micro_a, handled_on_spot=True)) == {"after_photos"}
    assert fields_of(intake(member, cats, micro_a, description="坏了\x00")) == {"description"}
    assert Case.objects.count() == 0


def test_member_reporting_outside_their_area_and_residents_using_staff_channels_are_refused(tree, cats, member):
    outside = first_micro(tree, tree.grid_b1)
    assert fields_of(intake(member, cats, outside)) == {"location"}
    resident = token_client(tree.users["resident"])
    assert intake(resident, cats, first_micro(tree, tree.grid_a1), channel="hotline").status_code == 403
    assert Case.objects.count() == 0


def test_malformed_bodies_are_4xx(tree, cats, member):
    assert member.post(API, "{not json", content_type="application/json").status_code == 400
    assert fields_of(member.post(API, "[1, 2]", content_type="application/json")) == {"payload"}


def test_a_gcj02_point_lands_in_the_micro_grid_it_is_in(tree, cats, member, micro_a):
    # A point just west of the line between the two micro-grid columns of grid A1a and A1b (104.05):
    # read as WGS84 its GCJ-02 coordinates would fall east of the line, in the other grid.
    wgs_lon, wgs_lat = 104.0495, 30.62
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert gcj_lon > 104.05
    response = intake(member, cats, micro_a, lon=gcj_lon, lat=gcj_lat, crs="gcj02")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.area == micro_a
    assert case.lon == pytest.approx(wgs_lon, abs=1e-5) and case.lat == pytest.approx(wgs_lat, abs=1e-5)


def test_the_area_of_a_qr_code_is_used_without_a_point(tree, cats, micro_a):
    resident = token_client(tree.users["resident"])
    data = {"category": cats.litter.code, "description": "单元门坏了", "area": micro_a.pk, "idempotency_key": key()}
    response = post(resident, API, data)
    assert response.status_code == 201, response.content
    assert response.json()["area"]["id"] == micro_a.pk
    assert fields_of(post(resident, API, data | {"area": 999999, "idempotency_key": key()})) == {"area"}


def test_multipart_intake_with_photos_and_handled_on_the_spot(tree, cats, member, micro_a):
    lon, lat = centre(micro_a)
    data = {"category": cats.manhole.code, "description": "井盖不见了", "lon": lon, "lat": lat}
    data |= {"channel": "member", "idempotency_key": key(), "photos": photo()}
    response = member.post(API, data)
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.attachments.get().kind == "before"

    spot = {"category": cats.litter.code, "description": "随手清理了垃圾", "lon": lon, "lat": lat}
    spot |= {"channel": "member", "idempotency_key": key(), "handled_on_spot": "true", "after_photos": photo()}
    response = member.post(API, spot)
    assert response.status_code == 201, response.content
    assert response.json()["state"]["code"] == "resolved"


# ---- residents without an account --------------------------------------------------------------------------


def public_report(client, cats, area, **body):
    data = {"category": cats.litter.code, "description": "小区门口垃圾没人收", "area": area.pk}
    return post(client, "/api/public/cases", data | {"idempotency_key": key()} | body)


def test_public_intake_tracking_and_rating(tree, cats, micro_a):
    public = Client()
    response = public_report(public, cats, micro_a, reporter_name="王阿姨", phone="13912345678")
    assert response.status_code == 201, response.content
    code = response.json()["tracking_code"]
    case = Case.objects.get(tracking_code=code)
    assert case.channel == Channel.RESIDENT_QR and case.reporter is None

    staff_user = tree.users["community_staff"]
    services.transition(case, "accept", by=staff_user)
    services.transition(case, "register", by=staff_user, note="内部备注：联系物业")
    tracked = public.get(f"/api/public/cases/{code.lower()}")
    assert tracked.status_code == 200
    body = tracked.json()
    assert body["state"]["code"] == "registered"
    assert [e["action"]["code"] for e in body["timeline"]] == ["report", "accept"]  # register is not public
    text = tracked.content.decode()
    assert "13912345678" not in text and "内部备注" not in text and "王阿姨" not in text

    # Rating before the case is closed is refused as "not in that state any more".
    assert post(public, f"/api/public/cases/{code}/rating", {"rating": "satisfied"}).status_code == 409
    services.dispatch(case, by=staff_user, tier=Tier.GRID)
    services.take(case, by=tree.users["microgrid_member"])
    services.resolve(case, by=tree.users["microgrid_member"], photos_in=[photo()])
    services.verify(case, by=tree.users["grid_leader"], photos_in=[photo()])
    services.close(case, by=staff_user)
    body = public.get(f"/api/public/cases/{code}").json()
    assert body["can_rate"] is True
    after = [p for e in body["timeline"] for p in e["photos"] if p["kind"]["code"] == "after"]
    assert len(after) == 1
    image = public.get(after[0]["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == PNG

    assert fields_of(post(public, f"/api/public/cases/{code}/rating", {"rating": "great"})) == {"rating"}
    rated = post(public, f"/api/public/cases/{code}/rating", {"rating": "dissatisfied", "ask_reopen": True})
    assert rated.status_code == 200, rated.content
    assert rated.json()["state"]["code"] == "registered"  # reopened at the resident's request
    assert [e["action"]["code"] for e in rated.json()["timeline"]][-2:] == ["rate", "reopen"]
    assert case.events.get(action="rate").data["rating"] == "dissatisfied"
    assert post(public, f"/api/public/cases/{code}/rating", {"rating": "satisfied"}).status_code == 409


def test_public_intake_needs_a_long_key_and_a_retry_returns_the_same_code(tree, cats, micro_a):
    public = Client()
    assert fields_of(public_report(public, cats, micro_a, idempotency_key="short-key")) == {"idempotency_key"}
    body = {"idempotency_key": "0f0e0d0c-0b0a-4908-8706-050403020100"}
    first = public_report(public, cats, micro_a, **body)
    again = public_report(public, cats, micro_a, **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["tracking_code"] == again.json()["tracking_code"]


def test_public_intake_from_the_map_and_with_a_photo(tree, cats, micro_a):
    lon, lat = centre(micro_a)
    data = {"category": cats.manhole.code, "description": "井盖缺失很危险", "lon": lon, "lat": lat}
    response = Client().post("/api/public/cases", data | {"idempotency_key": key(), "photos": photo()})
    assert response.status_code == 201, response.content
    case = Case.objects.get(tracking_code=response.json()["tracking_code"])
    assert case.channel == Channel.RESIDENT_MAP and case.area == micro_a
    assert case.attachments.count() == 1


def test_public_intake_is_rate_limited_per_address(tree, cats, micro_a, settings):
    settings.CASES_PUBLIC_REPORTS_PER_HOUR = 2
    public = Client(REMOTE_ADDR="203.0.113.7")
    assert public_report(public, cats, micro_a).status_code == 201
    assert public_report(public, cats, micro_a).status_code == 201
    refused = public_report(public, cats, micro_a)
    assert refused.status_code == 429 and "Too many" in refused.json()["detail"]
    assert public_report(Client(REMOTE_ADDR="203.0.113.8"), cats, micro_a).status_code == 201
    assert Case.objects.count() == 3


def test_the_report_page_and_the_api_share_the_public_limit(client, tree, cats, micro_a, settings):
    settings.CASES_PUBLIC_REPORTS_PER_HOUR = 1
    assert public_report(Client(), cats, micro_a).status_code == 201
    page = client.post(f"/report/{micro_a.code}/", {"description": "又有垃圾", "category": cats.litter.code})
    assert page.status_code == 429


def test_unknown_tracking_codes_are_404(tree):
    assert Client().get("/api/public/cases/ABCDEFGHJK").status_code == 404
    assert Client().get("/api/public/cases/bad!code").status_code in (404, 422)


# ---- lists --------------------------------------------------------------------------------------------------


def test_list_filters_and_scope(tree, cats, micro_a, staff):
    litter = report(tree, cats.litter, by=tree.users["microgrid_member"])
    dispute = report(tree, cats.dispute, by=tree.users["microgrid_member"], description="楼上噪音吵架")
    services.transition(dispute, "accept", by=tree.users["community_staff"])
    elsewhere = report(tree, cats.litter, area=first_micro(tree, tree.grid_b1))

    def ids(**params):
        response = staff.get(API, params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [dispute.pk, litter.pk]  # newest first; street B's case is not in community A
    assert ids(state="accepted") == [dispute.pk]
    assert ids(state="open") == [dispute.pk, litter.pk]
    assert ids(category=cats.dispute.code) == [dispute.pk]
    assert ids(category=cats.parent.code) == [dispute.pk, litter.pk]
    assert ids(tier="community") == [dispute.pk]
    assert ids(q=litter.number) == [litter.pk]
    assert ids(q="噪音") == [dispute.pk]
    assert ids(inbox="to_dispatch") == [dispute.pk, litter.pk]
    assert ids(area=tree.grid_a2.pk) == []
    assert ids(**{"from": "2000-01-01", "to": "2000-01-02"}) == []
    assert staff.get(API, {"area": tree.grid_b1.pk}).status_code == 404
    assert fields_of(staff.get(API, {"state": "nonsense"})) == {"state"}
    assert fields_of(staff.get(API, {"from": "yesterday"})) == {"from"}
    assert fields_of(staff.get(API, {"inbox": "everything"})) == {"inbox"}
    item = staff.get(API, {"q": litter.number}).json()["items"][0]
    assert item["number"] == litter.number and item["category"]["name"] == "暴露垃圾"
    assert item["area"]["id"] == micro_a.pk and item["state"]["label"] == "Reported"
    assert elsewhere.pk in [i["id"] for i in token_client(tree.users["outsider_street_staff"]).get(API).json()["items"]]


def test_list_pages_walk_every_case_once_and_queries_do_not_grow_with_the_page(tree, cats, staff):
    cases = [report(tree, cats.litter, by=tree.users["microgrid_member"]) for _ in range(12)]
    for case in cases[:4]:
        services.transition(case, "accept", by=tree.users["community_staff"])
        services.transition(case, "register", by=tree.users["community_staff"])
        services.dispatch(case, by=tree.users["community_staff"], tier=Tier.DEPARTMENT, department=tree.department)

    def queries(limit):
        staff.get(API, {"limit": limit})  # the token's last use is written once, not on every request
        with CaptureQueriesContext(connection) as ctx:
            response = staff.get(API, {"limit": limit})
        assert len(response.json()["items"]) == limit
        return len(ctx.captured_queries)

    assert queries(2) == queries(12)

    seen, cursor = [], None
    while True:
        body = staff.get(API, {"limit": 5} | ({"cursor": cursor} if cursor else {})).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted((c.pk for c in cases), reverse=True)
    departments = [i["department"] for i in staff.get(API, {"tier": "department"}).json()["items"]]
    assert departments == [{"id": tree.department.pk, "name": "区城管局"}] * 4
    assert staff.get(API, {"cursor": "forged"}).status_code == 422


def test_inbox_counts(tree, cats, staff, member):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"])
    report(tree, cats.litter, by=tree.users["microgrid_member"])
    assert staff.get(f"{API}/inboxes").json() == {
        "to_dispatch": 2,
        "mine": 0,
        "overdue": 0,
        "supervised": 0,
        "whistles": 0,
        "to_verify": 0,
    }
    for name in ("accept", "register"):
        services.transition(case, name, by=tree.users["community_staff"])
    services.dispatch(case, by=tree.users["community_staff"], tier=Tier.GRID)
    counts = member.get(f"{API}/inboxes").json()
    assert counts["mine"] == 1 and counts["to_dispatch"] == 0


def test_categories_tree_suggestions_and_duplicates(tree, cats, member, micro_a):
    tree_rows = {row["code"]: row for row in member.get(f"{API}/categories").json()}
    assert tree_rows[cats.parent.code]["leaf"] is False and tree_rows[cats.litter.code]["leaf"] is True
    assert tree_rows[cats.litter.code]["parent"] == cats.parent.code
    assert tree_rows[cats.manhole.code]["photo_required"] is True
    assert tree_rows[cats.dispute.code]["handling_mode"]["code"] == "coordinated"
    assert Client().get("/api/public/cases/categories").status_code == 200

    near = report(tree, cats.litter, by=tree.users["microgrid_member"])
    lon, lat = centre(micro_a)
    found = member.get(f"{API}/duplicates", {"category": cats.litter.code, "lon": lon, "lat": lat}).json()
    assert [d["id"] for d in found] == [near.pk] and found[0]["description"]
    outsider = token_client(tree.users["outsider_street_staff"])
    hidden = outsider.get(f"{API}/duplicates", {"category": cats.litter.code, "lon": lon, "lat": lat}).json()
    assert hidden == [{**found[0], "id": None, "description": None, "address": None}]
    assert fields_of(member.get(f"{API}/duplicates", {"category": "NOPE"})) == {"category"}

    second = report(tree, cats.litter, by=tree.users["microgrid_member"])
    staff = token_client(tree.users["community_staff"])
    assert [d["id"] for d in staff.get(f"{API}/{second.pk}/duplicates").json()] == [near.pk]


def test_suggestions(tree, cats, member):
    pytest.importorskip("fengchao.cases.suggest")
    response = member.get(f"{API}/categories/suggest", {"text": "小区里有人吵架，噪音很大"})
    assert response.status_code == 200
    assert cats.dispute.code in [c["code"] for c in response.json()]


# ---- one case -------------------------------------------------------------------------------------------------


def test_detail_masks_the_phone_and_lists_timeline_and_allowed_actions(tree, cats, staff):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"], phone="13912345678", before_photos=[photo()])
    response = staff.get(f"{API}/{case.pk}")
    assert response.status_code == 200
    body = response.json()
    assert "13912345678" not in response.content.decode()
    assert body["masked_phone"].endswith("5678") and "*" in body["masked_phone"]
    assert body["version"] == case.version and body["full_view"] is True
    assert [a["name"] for a in body["actions"]] == ["accept", "reject", "merge", "cancel"]
    [event] = body["timeline"]
    assert event["action"]["code"] == "report" and event["actor_label"] == "microgrid_member"
    [attachment] = event["attachments"]
    image = staff.get(attachment["url"])
    assert image.status_code == 200 and b"".join(image.streaming_content) == PNG
    assert token_client(tree.users["outsider_street_staff"]).get(attachment["url"]).status_code == 404
    member_actions = token_client(tree.users["microgrid_member"]).get(f"{API}/{case.pk}").json()["actions"]
    assert [a["name"] for a in member_actions] == ["cancel"]  # the reporter may withdraw it


def test_detail_queries_do_not_grow_with_the_timeline(tree, cats, staff):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"])
    staff_user = tree.users["community_staff"]

    def queries():
        staff.get(f"{API}/{case.pk}")
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(f"{API}/{case.pk}").status_code == 200
        return len(ctx.captured_queries)

    services.add_note(case, by=staff_user, note="一", photos_in=[photo()])
    services.supervise(case, by=tree.users["street_staff"], level=1, instruction="关注")
    short = queries()
    for i in range(5):
        services.add_note(case, by=staff_user, note=f"备注{i}", photos_in=[photo(), photo()])
    services.supervise(case, by=tree.users["street_staff"], level=2, instruction="加快")
    assert queries() == short
    assert len(staff.get(f"{API}/{case.pk}").json()["timeline"]) == 9


def test_the_api_needs_a_sign_in_except_for_residents(tree):
    anonymous = Client()
    assert anonymous.get(API).status_code == 401
    assert post(anonymous, API, {"category": "T0101"}).status_code == 401
    assert anonymous.get(f"{API}/1").status_code == 401
    assert anonymous.get("/api/notifications").status_code == 401


def test_a_reporter_without_a_role_there_sees_the_public_timeline_only(tree, cats, micro_a):
    resident = token_client(tree.users["resident"])
    data = {"category": cats.litter.code, "description": "垃圾桶满了", "area": micro_a.pk, "idempotency_key": key()}
    case = Case.objects.get(pk=post(resident, API, data).json()["id"])
    services.transition(case, "accept", by=tree.users["community_staff"])
    services.transition(case, "register", by=tree.users["community_staff"], note="内部备注")
    body = resident.get(f"{API}/{case.pk}").json()
    assert body["full_view"] is False
    assert [e["action"]["code"] for e in body["timeline"]] == ["report", "accept"]
    assert [c["id"] for c in resident.get(API).json()["items"]] == [case.pk]
    assert resident.get(f"{API}/{report(tree, cats.litter).pk}").status_code == 404


def test_department_handlers_see_only_their_cases(tree, cats):
    mine = report(tree, cats.litter, by=tree.users["microgrid_member"])
    other = report(tree, cats.litter, by=tree.users["microgrid_member"])
    staff_user = tree.users["community_staff"]
    for name in ("accept", "register"):
        services.transition(mine, name, by=staff_user)
    services.dispatch(mine, by=staff_user, tier=Tier.DEPARTMENT, department=tree.department)
    handler = token_client(tree.users["department_handler"])
    assert [c["id"] for c in handler.get(API).json()["items"]] == [mine.pk]
    assert handler.get(f"{API}/{mine.pk}").status_code == 200
    assert handler.get(f"{API}/{other.pk}").status_code == 404
    assert act(handler, other, "take").status_code == 404
    taken = act(handler, mine, "take", version=fresh(mine).version)
    assert taken.status_code == 200 and taken.json()["state"]["code"] == "taken"


def test_steps_answer_200_403_404_409_and_422(tree, cats, staff, member):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"])
    assert act(member, case, "accept").status_code == 403  # sees it, is not its dispatcher
    outsider = token_client(tree.users["outsider_community_staff"])
    assert act(outsider, case, "accept").status_code == 404
    assert fields_of(act(staff, case, "reject")) == {"note"}  # a reason is required
    assert act(staff, case, "accept", version=case.version + 5).status_code == 409  # stale version
    accepted = act(staff, case, "accept", version=case.version)
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["version"] == case.version + 1
    assert [a["name"] for a in accepted.json()["actions"]] == ["register", "merge", "cancel"]
    again = act(staff, case, "accept", version=case.version)
    assert again.status_code == 409 and "now" in again.json()["detail"]  # someone acted first
    assert act(staff, case, "nonsense").status_code == 422
    assert fields_of(act(staff, case, "register", version="x")) == {"version"}
    assert fields_of(act_with_photo(staff, case, "dispatch", tier="grid")) == {"photos"}
    assert fresh(case).state == CaseState.ACCEPTED


def test_dispatch_escalate_and_merge_take_their_arguments(tree, cats, staff):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"])
    duplicate = report(tree, cats.litter, by=tree.users["microgrid_member"])
    for name in ("accept", "register"):
        assert act(staff, case, name).status_code == 200
    assert fields_of(act(staff, case, "dispatch", tier="moon")) == {"tier"}
    assert fields_of(act(staff, case, "dispatch", tier="department")) == {"department"}
    assert fields_of(act(staff, case, "dispatch", tier="department", department=99999)) == {"department"}
    assert fields_of(
        act(staff, case, "dispatch", tier="grid", assignee=tree.users["outsider_microgrid_member"].pk)
    ) == {"assignee"}
    member_user = tree.users["microgrid_member"]
    sent = act(staff, case, "dispatch", tier="grid", assignee=member_user.pk)
    assert sent.status_code == 200 and sent.json()["assignee_id"] == member_user.pk
    handler = token_client(member_user)
    escalated = act(handler, case, "escalate", note="需要社区协调")
    assert escalated.status_code == 200 and escalated.json()["tier"]["code"] == "community"

    assert fields_of(act(staff, duplicate, "merge", into=duplicate.pk)) == {"into"}
    elsewhere = report(tree, cats.litter, area=first_micro(tree, tree.grid_b1))
    assert fields_of(act(staff, duplicate, "merge", into=elsewhere.pk)) == {"into"}
    merged = act(staff, duplicate, "merge", into=case.pk, version=fresh(duplicate).version)
    assert merged.status_code == 200 and merged.json()["state"]["code"] == "merged"
    assert fresh(duplicate).merged_into_id == case.pk


def test_the_whole_loop_over_the_api(tree, cats, micro_a):
    member = token_client(tree.users["microgrid_member"])
    staff = token_client(tree.users["community_staff"])
    leader = token_client(tree.users["grid_leader"])
    response = intake(member, cats, micro_a)
    assert response.status_code == 201
    case = Case.objects.get(pk=response.json()["id"])

    def step(client, name, **body):
        answer = act(client, case, name, version=fresh(case).version, **body)
        assert answer.status_code == 200, (name, answer.content)
        return answer.json()

    step(staff, "accept")
    step(staff, "register")
    step(staff, "dispatch", tier="grid")
    assert step(member, "take")["assignee_id"] == tree.users["microgrid_member"].pk
    resolved = act_with_photo(member, case, "resolve", note="已清理", version=fresh(case).version)
    assert resolved.status_code == 200, resolved.content
    assert fields_of(act(leader, case, "verify")) == {"photos"}  # on site, with a photo
    assert act_with_photo(member, case, "verify").status_code == 403  # never the one who resolved it
    verified = act_with_photo(leader, case, "verify", note="现场已干净", version="")  # blank: not given
    assert verified.status_code == 200, verified.content
    step(staff, "close")
    rated = step(member, "rate", rating="satisfied", comment="很快")
    assert rated["state"]["code"] == "rated" and rated["actions"] == []

    case = fresh(case)
    assert case.state == CaseState.RATED and case.rating == "satisfied"
    kinds = sorted(CaseAttachment.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["after", "verify"]
    timeline = staff.get(f"{API}/{case.pk}").json()["timeline"]
    assert [e["action"]["code"] for e in timeline] == [
        "report",
        "accept",
        "register",
        "dispatch",
        "take",
        "resolve",
        "verify",
        "close",
        "rate",
    ]
    assert timeline[5]["attachments"][0]["kind"]["code"] == "after"


def test_whistle_report_in_part_then_close(tree, cats, micro_a):
    staff = token_client(tree.users["community_staff"])
    handler = token_client(tree.users["department_handler"])
    leader = token_client(tree.users["grid_leader"])
    case = report(tree, cats.dispute, by=tree.users["microgrid_member"], description="楼道堆物堵塞消防通道")
    for name in ("accept", "register"):
        act(staff, case, name)
    act(staff, case, "dispatch", tier="community")
    act(staff, case, "take")
    assert handler.get(f"{API}/{case.pk}").status_code == 404  # not called yet

    assert fields_of(post(staff, f"{API}/{case.pk}/whistle", {"level": "daily", "departments": [99999], "reason": "x"}))
    body = {"level": "tough", "departments": [tree.department.pk], "reason": "需要城管执法"}
    assert post(token_client(tree.users["microgrid_member"]), f"{API}/{case.pk}/whistle", body).status_code == 403
    whistled = post(staff, f"{API}/{case.pk}/whistle", body)
    assert whistled.status_code == 200, whistled.content
    assert handler.get(f"{API}/{case.pk}").status_code == 200
    assert handler.get(f"{API}/inboxes").json()["whistles"] == 1

    assert post(staff, f"{API}/{case.pk}/report-in").status_code == 403  # staff are not the called department
    assert post(handler, f"{API}/{case.pk}/report-in").status_code == 200
    assert fields_of(post(handler, f"{API}/{case.pk}/report-in")) == {"action"}  # only once
    assert act_with_photo(staff, case, "resolve").status_code == 200
    assert act_with_photo(leader, case, "verify").status_code == 200
    refused = act(staff, case, "close")
    assert fields_of(refused) == {"action"} and "区城管局" in refused.json()["detail"][0]["msg"]

    assert fields_of(post(handler, f"{API}/{case.pk}/part", {"note": ""})) == {"note"}
    part = handler.post(f"{API}/{case.pk}/part", {"note": "已清理堆物", "photos": photo()})
    assert part.status_code == 200, part.content
    assert CoHandler.objects.get(case=case).part_done_at is not None
    assert act(staff, case, "close").status_code == 200
    detail = staff.get(f"{API}/{case.pk}").json()
    assert detail["co_handlers"][0]["department"]["name"] == "区城管局"
    assert {"whistle", "report_in", "part_done", "close"} <= {e["action"]["code"] for e in detail["timeline"]}


def test_supervise_follow_up_and_notes(tree, cats):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"])
    street = token_client(tree.users["street_staff"])
    staff = token_client(tree.users["community_staff"])
    url = f"{API}/{case.pk}"
    assert post(staff, f"{url}/supervise", {"level": 2, "instruction": "尽快"}).status_code == 403
    assert fields_of(post(street, f"{url}/supervise", {"level": 0, "instruction": "尽快"})) == {"level"}
    supervised = post(street, f"{url}/supervise", {"level": 2, "instruction": "今天内处理"})
    assert supervised.status_code == 200, supervised.content
    detail = staff.get(url).json()
    assert detail["supervision"]["code"] == "2" and detail["supervisions"][0]["instruction"] == "今天内处理"

    assert fields_of(post(staff, f"{url}/follow-up", {"note": "", "rating": ""})) == {"note"}
    followed = post(staff, f"{url}/follow-up", {"note": "电话回访，居民满意", "rating": "satisfied"})
    assert followed.status_code == 201 and followed.json()["action"]["code"] == "follow_up"
    assert post(token_client(tree.users["resident"]), f"{url}/follow-up", {"note": "x"}).status_code == 404

    assert fields_of(post(staff, f"{url}/notes", {"note": ""})) == {"note"}
    noted = post(staff, f"{url}/notes", {"note": "已联系物业"})
    assert noted.status_code == 201 and noted.json()["note"] == "已联系物业"


def test_attachments_are_checked_by_content_and_size(tree, cats, staff, settings):
    case = report(tree, cats.litter, by=tree.users["microgrid_member"])
    url = f"{API}/{case.pk}/attachments"
    added = staff.post(url, {"photos": photo(), "note": "现场照片"})
    assert added.status_code == 201, added.content
    [attachment] = added.json()["attachments"]
    assert attachment["content_type"] == "image/png" and attachment["kind"]["code"] == "other"

    text = staff.post(url, {"photos": _upload("notes.jpg", b"just some text, not a photo")})
    assert fields_of(text) == {"photos"} and "notes.jpg" in text.json()["detail"][0]["msg"]
    settings.CASES_PHOTO_MAX_BYTES = 20
    big = staff.post(url, {"photos": photo("big.png")})
    assert fields_of(big) == {"photos"} and "larger" in big.json()["detail"][0]["msg"]
    assert staff.post(url, {}).status_code == 422
    assert CaseAttachment.objects.filter(case=case).count() == 1
    assert token_client(tree.users["outsider_community_staff"]).post(url, {"photos": photo()}).status_code == 404


# ---- notifications ----------------------------------------------------------------------------------------------


def test_notifications_unread_first_and_marking_read(tree, cats):
    user = tree.users["community_staff"]
    client = token_client(user)
    for _ in range(3):
        report(tree, cats.litter, by=tree.users["microgrid_member"])  # each waits on community staff
    notes = list(Notification.objects.filter(recipient=user).order_by("pk"))
    assert len(notes) == 3
    assert post(client, "/api/notifications/read", {"ids": [notes[-1].pk]}).json() == {"marked": 1}

    page = client.get("/api/notifications", {"limit": 2}).json()
    assert [n["id"] for n in page["items"]] == [notes[1].pk, notes[0].pk] and page["unread"] == 2
    rest = client.get("/api/notifications", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [n["id"] for n in rest["items"]] == [notes[2].pk] and rest["next_cursor"] is None

    other = token_client(tree.users["street_staff"])
    assert post(other, "/api/notifications/read", {"ids": [notes[0].pk]}).json() == {"marked": 0}
    assert fields_of(post(client, "/api/notifications/read", {})) == {"ids"}
    assert post(client, "/api/notifications/read", {"all": True}).json() == {"marked": 2}
    assert client.get("/api/notifications").json()["unread"] == 0


def test_notification_list_queries_are_constant(tree, cats):
    client = token_client(tree.users["community_staff"])
    for _ in range(6):
        report(tree, cats.litter, by=tree.users["microgrid_member"])

    def queries(limit):
        client.get("/api/notifications", {"limit": limit})
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get("/api/notifications", {"limit": limit}).json()["items"]) == limit
        return len(ctx.captured_queries)

    assert queries(1) == queries(6)


# ---- Open311 GeoReport v2 ---------------------------------------------------------------------------------------


def test_open311_services_create_and_read_back(tree, cats, micro_a):
    client = token_client(tree.users["microgrid_member"])
    services_list = client.get("/api/open311/v2/services.json").json()
    codes = {s["service_code"] for s in services_list}
    assert codes >= {cats.litter.code, cats.manhole.code, cats.dispute.code} and cats.parent.code not in codes
    assert next(s for s in services_list if s["service_code"] == cats.litter.code)["group"] == "测试大类"

    lon, lat = centre(micro_a)
    form = {"service_code": cats.litter.code, "lat": lat, "long": lon, "description": "路边垃圾没人清理"}
    created = client.post("/api/open311/v2/requests.json", form)
    assert created.status_code == 201, created.content
    [answer] = created.json()
    resent = client.post("/api/open311/v2/requests.json", form)  # no key: the fields stand in for one
    assert resent.status_code == 200 and resent.json()[0]["service_request_id"] == answer["service_request_id"]
    case = Case.objects.get(pk=int(answer["service_request_id"]))
    assert case.channel == Channel.API and case.area == micro_a

    [read] = client.get(f"/api/open311/v2/requests/{case.pk}.json").json()
    assert read["status"] == "open" and read["service_code"] == cats.litter.code
    outsider = token_client(tree.users["outsider_street_staff"])
    assert outsider.get(f"/api/open311/v2/requests/{case.pk}.json").status_code == 404
    assert fields_of(client.post("/api/open311/v2/requests.json", {**form, "service_code": "NOPE"})) == {"category"}
    assert Client().get("/api/open311/v2/services.json").status_code == 401
