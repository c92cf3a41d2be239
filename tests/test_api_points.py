"""The points API: your points, history and claims; rules; reviewing claims; adjustments; a person's points;
the public listing board; the report; scopes, refusals and query counts."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fengchao.api.pagination import encode_cursor
from fengchao.points import ledger, services
from fengchao.points.choices import Action, Approval, ClaimState, PointsKind
from fengchao.points.models import Claim, Rule, Transfer
from tests.api_client import post, put, token_client
from tests.case_factories import build_categories, report
from tests.factories import first_micro
from tests.points_factories import claim, district_rules, grant

pytestmark = pytest.mark.django_db

API = "/api/points"
TASK, PARTICIPATION = PointsKind.TASK, PointsKind.PARTICIPATION


def fields_of(response) -> set:
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return {error["loc"][-1] for error in detail}


@pytest.fixture
def w(tree):
    return SimpleNamespace(
        t=tree,
        u=tree.users,
        rules=district_rules(tree),
        micro=first_micro(tree, tree.grid_a1),
        micro_b=first_micro(tree, tree.grid_b1),
        api=lambda who: token_client(tree.users[who]),
    )


def fresh(c) -> Claim:
    return Claim.objects.get(pk=c.pk)


# ---- the document ----------------------------------------------------------------------------------------------


def test_openapi_lists_the_points_endpoints(client):
    document = client.get("/api/openapi.json").json()
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations >= {
        ("get", "/api/points/me"),
        ("get", "/api/points/me/history"),
        ("get", "/api/points/me/claims"),
        ("get", "/api/points/rules"),
        ("post", "/api/points/rules"),
        ("get", "/api/points/rules/{rule_id}"),
        ("put", "/api/points/rules/{rule_id}"),
        ("get", "/api/points/claims"),
        ("post", "/api/points/claims/{claim_id}/approve"),
        ("post", "/api/points/claims/{claim_id}/reject"),
        ("post", "/api/points/adjustments"),
        ("get", "/api/points/people/{user_id}"),
        ("get", "/api/points/people/{user_id}/history"),
        ("get", "/api/points/listing"),
        ("get", "/api/points/report"),
    }


def test_every_endpoint_needs_a_login(client):
    assert client.get(f"{API}/me").status_code == 401
    assert client.get(f"{API}/claims").status_code == 401


# ---- your own points -------------------------------------------------------------------------------------------


def test_my_points_balances_and_expiring(w, settings):
    settings.POINTS_EXPIRY = "months:1"
    settings.POINTS_EXPIRY_WARNING_DAYS = 45
    member = w.u["microgrid_member"]
    claim(member, Action.CASE_HANDLED, w.micro)
    grant(member, 4, PARTICIPATION, area=w.micro)
    body = w.api("microgrid_member").get(f"{API}/me").json()
    assert body["user"] == {"id": member.pk, "name": "microgrid_member"}
    task, participation = body["balances"]
    assert task["kind"] == {"code": "task", "label": "Task points"}
    assert (task["available"], task["frozen"], task["expiring"]) == (10, 0, 10) and task["expires_at"]
    assert participation["available"] == 4


def test_my_history_has_sources_signs_and_pages(w):
    member = w.u["microgrid_member"]
    case = report(w.t, build_categories().litter, area=w.micro)
    services.earn(member, Action.CASE_HANDLED, source=case, area=w.micro, label=f"{case.number} 暴露垃圾")
    training = claim(member, Action.TRAINING_ATTENDED, w.micro, label="消防培训")
    services.approve_claim(training, by=w.u["community_staff"])
    services.adjust(member, kind=TASK, points=-3, reason="扣减", by=w.u["community_staff"], area=w.micro)
    api = w.api("microgrid_member")
    first = api.get(f"{API}/me/history?limit=2").json()
    assert [i["available_change"] for i in first["items"]] == [-3, 5]
    assert first["items"][0]["movement"]["code"] == "adjust" and first["items"][0]["reason"] == "扣减"
    assert first["items"][1]["approved_by"]["name"] == "community_staff"
    assert first["items"][1]["rule_version"] == 1 and first["next_cursor"]
    second = api.get(f"{API}/me/history", {"limit": 2, "cursor": first["next_cursor"]}).json()
    (granted,) = second["items"]
    assert granted["source"] == {
        "type": "cases.case",
        "id": str(case.pk),
        "label": f"{case.number} 暴露垃圾",
        "url": f"/cases/{case.pk}/",
    }
    assert second["next_cursor"] is None
    only = api.get(f"{API}/me/history?kind=participation").json()["items"]
    assert [i["kind"]["code"] for i in only] == ["participation"]
    assert api.get(f"{API}/me/history?cursor=forged").status_code == 422
    assert api.get(f"{API}/me/history", {"cursor": encode_cursor(["张三", 5])}).status_code == 422
    assert api.get(f"{API}/me/history?kind=gold").status_code == 422


def test_my_claims_are_the_waiting_ones_by_default(w):
    member = w.u["microgrid_member"]
    pending = claim(member, Action.TRAINING_ATTENDED, w.micro)
    listed = claim(member, Action.VOLUNTEER_HOURS, w.micro, hours=1)
    services.approve_claim(listed, by=w.u["community_staff"])
    claim(member, Action.CASE_HANDLED, w.micro)
    api = w.api("microgrid_member")
    items = api.get(f"{API}/me/claims").json()["items"]
    assert {(i["id"], i["state"]["code"]) for i in items} == {(pending.pk, "pending"), (listed.pk, "listed")}
    assert all(i["listed_until"] for i in items if i["state"]["code"] == "listed")
    granted = api.get(f"{API}/me/claims?state=granted").json()["items"]
    assert [i["action"]["code"] for i in granted] == ["case.handled"]


# ---- rules -------------------------------------------------------------------------------------------------------


def test_the_rules_in_force_in_an_area(w):
    body = w.api("community_staff").get(f"{API}/rules").json()
    assert body["area"]["id"] == w.t.community_a.pk and body["editable"] is True
    rows = {r["action"]["code"]: r for r in body["rules"]}
    handled = rows["case.handled"]
    assert handled["own"] is None and handled["inherited"] and handled["in_force"]["area"]["id"] == w.t.district.pk
    assert handled["in_force"]["editable"] is False and rows["task.completed"]["in_force"] is None
    grid = w.api("grid_leader").get(f"{API}/rules").json()
    assert grid["area"]["id"] == w.t.grid_a1.pk and grid["editable"] is False
    assert w.api("community_staff").get(f"{API}/rules?area={w.t.community_b.pk}").status_code == 404
    assert w.api("microgrid_member").get(f"{API}/rules").status_code == 403


def test_creating_and_changing_a_rule_keeps_versions(w):
    api = w.api("community_staff")
    body = {"area": w.t.community_a.pk, "action": "case.handled", "kind": "task", "points": 15}
    response = post(api, f"{API}/rules", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["points"] == 15 and created["version"] == 1 and created["editable"]
    assert post(api, f"{API}/rules", body).status_code == 409  # change the existing one instead
    rule_id = created["id"]
    response = put(api, f"{API}/rules/{rule_id}", {"version": 1, "monthly_cap": 60})
    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["points"], changed["monthly_cap"], changed["version"]) == (15, 60, 2)  # the rest kept
    assert put(api, f"{API}/rules/{rule_id}", {"version": 1, "points": 20}).status_code == 409
    detail = api.get(f"{API}/rules/{rule_id}").json()
    assert [r["version"] for r in detail["revisions"]] == [2, 1]
    assert detail["revisions"][0]["changed_by"]["name"] == "community_staff"
    assert detail["revisions"][0]["values"]["monthly_cap"] == 60


def test_rule_refusals(w):
    api = w.api("community_staff")
    body = {"area": w.t.community_a.pk, "action": "party.activity", "kind": "participation", "points": 5}
    assert fields_of(post(api, f"{API}/rules", {**body, "approval": "listing"})) == {"listing_days"}
    assert fields_of(post(api, f"{API}/rules", {**body, "points": 0})) == {"points"}
    assert fields_of(post(api, f"{API}/rules", {**body, "kind": "gold"})) == {"kind"}
    assert fields_of(post(api, f"{API}/rules", {**body, "action": "nap"})) == {"action"}
    assert fields_of(post(api, f"{API}/rules", {**body, "area": w.t.grid_a1.pk})) == {"area"}
    assert post(api, f"{API}/rules", {**body, "area": w.t.community_b.pk}).status_code == 404
    # The district's rule is in force here but set there: read, not changed.
    district_rule = w.rules.training
    assert api.get(f"{API}/rules/{district_rule.pk}").status_code == 200
    response = put(api, f"{API}/rules/{district_rule.pk}", {"version": 1, "points": 50})
    assert response.status_code == 403 and Rule.objects.get(pk=district_rule.pk).points == 5
    # Grid leaders read rules and set none.
    leader = w.api("grid_leader")
    assert post(leader, f"{API}/rules", {**body, "area": w.t.grid_a1.pk}).status_code == 422
    outsider = w.api("outsider_community_staff")
    own = Rule.objects.filter(area=w.t.community_a).first()
    assert own is None
    created = post(api, f"{API}/rules", body).json()
    assert outsider.get(f"{API}/rules/{created['id']}").status_code == 404
    assert put(outsider, f"{API}/rules/{created['id']}", {"version": 1, "points": 1}).status_code == 404


# ---- claims --------------------------------------------------------------------------------------------------------


def test_staff_list_the_claims_of_their_areas_with_filters(w):
    member = w.u["microgrid_member"]
    training = claim(member, Action.TRAINING_ATTENDED, w.micro)
    meeting = claim(member, Action.MEETING_ATTENDED, w.micro)
    in_grid_2 = claim(member, Action.TRAINING_ATTENDED, first_micro(w.t, w.t.grid_a2))
    theirs = claim(w.u["outsider_microgrid_member"], Action.TRAINING_ATTENDED, w.micro_b)
    api = w.api("community_staff")

    def ids(query=""):
        response = api.get(f"{API}/claims{query}")
        assert response.status_code == 200, response.content
        return [i["id"] for i in response.json()["items"]]

    assert ids() == [training.pk, meeting.pk, in_grid_2.pk]
    assert ids(f"?area={w.t.grid_a1.pk}") == [training.pk, meeting.pk]
    assert ids("?action=meeting.attended") == [meeting.pk]
    assert ids("?state=granted") == []
    assert api.get(f"{API}/claims?area={w.t.community_b.pk}").status_code == 404
    assert api.get(f"{API}/claims?state=lost").status_code == 422
    assert [i["id"] for i in w.api("outsider_community_staff").get(f"{API}/claims").json()["items"]] == [theirs.pk]
    assert w.api("microgrid_member").get(f"{API}/claims").status_code == 403


def test_approve_and_reject_through_the_api(w):
    member = w.u["microgrid_member"]
    training = claim(member, Action.TRAINING_ATTENDED, w.micro)
    hours = claim(member, Action.VOLUNTEER_HOURS, w.micro, hours=2)
    api = w.api("grid_leader")
    body = post(api, f"{API}/claims/{training.pk}/approve", {"version": 1}).json()
    assert body["state"]["code"] == "granted" and body["reviewed_by"]["name"] == "grid_leader" and body["version"] == 2
    assert ledger.balance(member.pk, PARTICIPATION) == 5
    body = post(api, f"{API}/claims/{hours.pk}/approve").json()
    assert body["state"]["code"] == "listed" and body["listed_until"]
    response = post(api, f"{API}/claims/{hours.pk}/reject", {"reason": "有异议：当天未到场", "version": 2})
    assert response.status_code == 200 and response.json()["state"]["code"] == "rejected"
    assert fresh(hours).reason == "有异议：当天未到场"


def test_claim_refusals(w):
    member = w.u["microgrid_member"]
    pending = claim(member, Action.TRAINING_ATTENDED, w.micro)
    api = w.api("community_staff")
    assert fields_of(post(api, f"{API}/claims/{pending.pk}/reject", {"reason": "   "})) == {"reason"}
    assert fields_of(post(api, f"{API}/claims/{pending.pk}/reject", {})) == {"reason"}
    assert post(api, f"{API}/claims/{pending.pk}/approve", {"version": 7}).status_code == 409
    assert w.api("outsider_community_staff").post(f"{API}/claims/{pending.pk}/approve").status_code == 404
    # The claimant sees their claim, and may not decide it.
    response = post(w.api("microgrid_member"), f"{API}/claims/{pending.pk}/approve")
    assert response.status_code == 403
    own = claim(w.u["grid_leader"], Action.TRAINING_ATTENDED, w.t.grid_a1)
    response = post(w.api("grid_leader"), f"{API}/claims/{own.pk}/approve")
    assert response.status_code == 403 and response.json()["detail"] == "Your own claims are reviewed by someone else."
    post(api, f"{API}/claims/{pending.pk}/approve")
    response = post(api, f"{API}/claims/{pending.pk}/approve")
    assert response.status_code == 422 and "Granted" in str(response.json()["detail"])
    assert post(api, f"{API}/claims/999999/approve").status_code == 404
    assert fresh(own).state == ClaimState.PENDING


# ---- adjustments and people ----------------------------------------------------------------------------------------


def test_adjustments_add_and_take_away_with_a_reason(w):
    member = w.u["microgrid_member"]
    api = w.api("community_staff")
    response = post(api, f"{API}/adjustments", {"user": member.pk, "kind": "task", "points": 20, "reason": "补录"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["available_change"] == 20 and body["area"]["id"] == w.micro.pk and body["actor"]["name"]
    body = post(api, f"{API}/adjustments", {"user": member.pk, "kind": "task", "points": -5, "reason": "扣减"}).json()
    assert body["available_change"] == -5 and ledger.balance(member.pk, TASK) == 15


def test_adjustment_refusals(w):
    member = w.u["microgrid_member"]
    api = w.api("community_staff")
    base = {"user": member.pk, "kind": "task", "points": -5, "reason": "扣减"}
    response = post(api, f"{API}/adjustments", base)
    assert response.status_code == 422 and response.json()["detail"] == "Not enough points: 5 needed."
    assert fields_of(post(api, f"{API}/adjustments", {**base, "points": 0})) == {"points"}
    assert fields_of(post(api, f"{API}/adjustments", {**base, "reason": " "})) == {"reason"}
    assert fields_of(post(api, f"{API}/adjustments", {**base, "kind": "gold"})) == {"kind"}
    assert fields_of(post(api, f"{API}/adjustments", {**base, "area": w.t.community_b.pk})) == {"area"}
    outsider = w.u["outsider_microgrid_member"]
    assert fields_of(post(api, f"{API}/adjustments", {**base, "user": outsider.pk})) == {"user"}
    own = {**base, "user": w.u["community_staff"].pk, "points": 50}
    assert post(api, f"{API}/adjustments", own).status_code == 403
    assert post(w.api("microgrid_member"), f"{API}/adjustments", base).status_code == 403
    assert not Transfer.objects.exists()


def test_a_persons_points_for_staff_in_scope(w):
    member = w.u["microgrid_member"]
    claim(member, Action.CASE_HANDLED, w.micro)
    claim(member, Action.TRAINING_ATTENDED, w.micro)
    for i in range(3):
        grant(member, 1, area=w.micro, at=timezone.now() - dt.timedelta(hours=i + 1))
    api = w.api("grid_leader")
    body = api.get(f"{API}/people/{member.pk}?limit=2").json()
    assert body["user"]["id"] == member.pk and body["roles"][0]["role"] == "microgrid_member"
    assert body["balances"][0]["available"] == 13 and len(body["waiting"]) == 1
    assert len(body["history"]) == 2 and body["next_cursor"]
    rest = api.get(f"{API}/people/{member.pk}/history", {"cursor": body["next_cursor"]}).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert w.api("outsider_community_staff").get(f"{API}/people/{member.pk}").status_code == 404
    assert w.api("microgrid_leader").get(f"{API}/people/{member.pk}").status_code == 403


# ---- the listing board and the report ------------------------------------------------------------------------------


def test_the_listing_board_for_everyone_serving_there(w):
    member = w.u["microgrid_member"]
    hours = claim(member, Action.VOLUNTEER_HOURS, w.micro, hours=3, label="社区义诊")
    services.approve_claim(hours, by=w.u["community_staff"])
    claim(member, Action.TRAINING_ATTENDED, w.micro)  # pending: not on the board
    for who in ("microgrid_member", "microgrid_leader", "community_staff"):
        items = w.api(who).get(f"{API}/listing").json()["items"]
        assert [(i["name"], i["source_label"], i["points"]) for i in items] == [("microgrid_member", "社区义诊", 30)]
    assert w.api("microgrid_member").get(f"{API}/listing?area={w.micro.pk}").json()["items"]
    assert w.api("outsider_microgrid_member").get(f"{API}/listing").json()["items"] == []
    assert w.api("outsider_microgrid_member").get(f"{API}/listing?area={w.micro.pk}").status_code == 404
    assert w.api("resident").get(f"{API}/listing").json()["items"] == []


def test_the_report_of_an_area(w):
    year = timezone.localdate().year
    zone = timezone.get_current_timezone()
    claim(w.u["microgrid_member"], Action.CASE_HANDLED, w.micro, at=dt.datetime(year, 1, 5, 9, tzinfo=zone))
    claim(w.u["microgrid_leader"], Action.TRAINING_ATTENDED, w.micro, at=dt.datetime(year, 1, 6, 9, tzinfo=zone))
    body = w.api("street_staff").get(f"{API}/report?year={year}").json()
    assert body["area"]["id"] == w.t.street_a.pk and body["total"] == 10
    assert body["months"][0] == {"month": f"{year}-01", "by_kind": {"task": 10, "participation": 0}, "total": 10}
    assert body["top_earners"][0]["user"]["name"] == "microgrid_member"
    states = {s["state"]["code"]: s["claims"] for s in body["claims"]}
    assert states["granted"] == 1 and states["pending"] == 1
    assert body["within"][0]["area"]["id"] == w.t.community_a.pk
    assert w.api("community_staff").get(f"{API}/report?area={w.t.street_a.pk}").status_code == 404


# ---- query counts --------------------------------------------------------------------------------------------------


def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
        assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def test_list_endpoints_cost_the_same_queries_for_few_or_many_rows(w, django_assert_max_num_queries):
    member, staff = w.u["microgrid_member"], w.u["community_staff"]

    def add(i):
        grant(member, 1, PARTICIPATION, area=w.micro, approved_by=staff, rule=w.rules.meeting)
        claim(member, Action.MEETING_ATTENDED, w.micro, label=f"会议 {i}")
        listed = claim(member, Action.VOLUNTEER_HOURS, w.micro, hours=1, label=f"志愿 {i}")
        services.approve_claim(listed, by=staff)

    add(0)
    member_api, staff_api = w.api("microgrid_member"), w.api("community_staff")
    urls = {
        member_api: [f"{API}/me/history?limit=20", f"{API}/me/claims?limit=20", f"{API}/listing?limit=20"],
        staff_api: [
            f"{API}/claims?limit=20",
            f"{API}/claims?state=listed&limit=20",
            f"{API}/people/{member.pk}?limit=20",
            f"{API}/people/{member.pk}/history?limit=20",
            f"{API}/rules",
        ],
    }
    few = {(api, url): _queries(api, url) for api, group in urls.items() for url in group}
    for i in range(1, 25):
        add(i)
    for (api, url), n in few.items():
        with django_assert_max_num_queries(n):
            api.get(url)


def test_the_rule_field_for_approval_is_documented(client):
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["RuleIn"]["properties"]["approval"]["enum"]) == set(Approval.values)
