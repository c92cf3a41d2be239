"""The registry API, residents: lists, detail, writes, reveal; masking and scope on every answer.

Shared helpers for tests/test_api_registry_*.py live here too.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fengchao.audit.models import AuditEvent
from fengchao.registry import services
from fengchao.registry.models import AccessLog, MoveRecord, Resident
from tests.api_client import token_client
from tests.factories import first_micro
from tests.registry_factories import build_registry, id_number

pytestmark = pytest.mark.django_db

API = "/api/registry"


def post(client, url, body, method="post"):
    return getattr(client, method)(url, body, content_type="application/json")


def secrets_of(registry) -> list[str]:
    """Every full ID number and phone of the test registry."""
    values = []
    for resident in registry.residents.values():
        resident = Resident.objects.get(pk=resident.pk)
        values += [resident.id_number, resident.phone, resident.contact_phone]
    values += [place.phone for place in registry.places.values()]
    values += [organisation.phone for organisation in registry.organisations.values()]
    return [v for v in values if v]


def assert_masked(response, registry, *extra):
    text = response.content.decode()
    for secret in [*secrets_of(registry), *extra]:
        assert secret not in text, f"{secret} in {response.request['PATH_INFO']}"


def error_fields(response) -> set:
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    # ("body", field) or ("query", field), whether pydantic or the registry's cleaning found the problem.
    return {(error["loc"][0], error["loc"][-1]) for error in detail}


def walk(client, url, params, limit):
    """Every item of a list, page by page."""
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(url, {**params, "limit": limit} | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.content
        body = response.json()
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def page_queries(client, url, params) -> tuple[int, int]:
    client.get(url, params)  # the token's last_used_at is written once, not on every request
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["items"])


@pytest.fixture
def reg(tree):
    return build_registry(tree)


@pytest.fixture
def staff(tree):
    return token_client(tree.users["community_staff"])


# ---- the document --------------------------------------------------------------------------------


REGISTRY_OPERATIONS = {
    ("get", "/api/registry/residents"),
    ("post", "/api/registry/residents"),
    ("get", "/api/registry/residents/{resident_id}"),
    ("patch", "/api/registry/residents/{resident_id}"),
    ("post", "/api/registry/residents/{resident_id}/move"),
    ("post", "/api/registry/residents/{resident_id}/leave"),
    ("put", "/api/registry/residents/{resident_id}/care-tags"),
    ("post", "/api/registry/residents/{resident_id}/reveal"),
    ("get", "/api/registry/households"),
    ("post", "/api/registry/households"),
    ("get", "/api/registry/households/{household_id}"),
    ("patch", "/api/registry/households/{household_id}"),
    ("post", "/api/registry/households/{household_id}/move"),
    ("post", "/api/registry/households/{household_id}/leave"),
    ("get", "/api/registry/buildings"),
    ("post", "/api/registry/buildings"),
    ("get", "/api/registry/buildings/{building_id}"),
    ("patch", "/api/registry/buildings/{building_id}"),
    ("post", "/api/registry/buildings/{building_id}/rooms"),
    ("get", "/api/registry/places"),
    ("post", "/api/registry/places"),
    ("get", "/api/registry/places/{place_id}"),
    ("patch", "/api/registry/places/{place_id}"),
    ("post", "/api/registry/places/{place_id}/reveal"),
    ("get", "/api/registry/organisations"),
    ("post", "/api/registry/organisations"),
    ("get", "/api/registry/organisations/{organisation_id}"),
    ("patch", "/api/registry/organisations/{organisation_id}"),
    ("post", "/api/registry/organisations/{organisation_id}/members"),
    ("post", "/api/registry/organisations/{organisation_id}/members/{member_id}/end"),
    ("post", "/api/registry/organisations/{organisation_id}/reveal"),
    ("post", "/api/registry/organisations/{organisation_id}/members/{member_id}/reveal"),
    ("get", "/api/registry/care-tags"),
    ("get", "/api/registry/access-log"),
}


def test_openapi_document_lists_the_registry_endpoints(client):
    document = client.get("/api/openapi.json").json()
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations >= REGISTRY_OPERATIONS
    # Only the reveal answers have a field for a full value; everything else names it masked_*.
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if name == "RevealOut" or name.endswith(("In", "Patch", "Fields")):
            continue
        assert not {"id_number", "phone", "contact_phone"} & set(schema.get("properties", {})), name


# ---- list ----------------------------------------------------------------------------------------


def test_list_is_scoped_sorted_by_name_and_masked(tree, reg, staff):
    response = staff.get(f"{API}/residents")
    assert response.status_code == 200
    items = response.json()["items"]
    # Simplified and traditional sort together: 张三, 張四 (张四), then 李梅.
    assert [r["name"] for r in items] == ["张三", "張四", "李梅"]
    zhang = items[0]
    assert zhang["masked_id_number"] == "5101**********" + id_number("19450302", "001")[-4:]
    assert zhang["masked_phone"] == "138****0001"
    assert zhang["care_tags"] == [{"code": "elderly_alone", "name": "独居老人"}]
    assert zhang["household"]["address"] == "和美路1号1栋101" and zhang["household"]["number"] == "H-0001"
    assert zhang["area"]["id"] == first_micro(tree, tree.grid_a1).pk
    assert zhang["status"]["code"] == "living" and zhang["age"] >= 80
    assert_masked(response, reg)

    admin = token_client(tree.users["district_admin"]).get(f"{API}/residents").json()["items"]
    assert "王五" in [r["name"] for r in admin]


def test_list_filters(tree, reg, staff):
    def names(**params):
        response = staff.get(f"{API}/residents", params)
        assert response.status_code == 200, response.content
        return [r["name"] for r in response.json()["items"]]

    assert names(q="zs") == ["张三", "張四"]
    assert names(q="張三") == ["张三"]
    assert names(q="0001") == ["张三"]  # last four of the phone
    assert names(q="13900000002") == ["李梅"]
    assert names(care_tag="elderly_alone") == ["张三"]
    assert names(area=tree.grid_a2.pk) == []
    assert names(building=reg.buildings["a"].pk) == ["张三", "張四", "李梅"]
    services.update_resident(None, reg.residents["li_mei"], is_party_member=True, residence_type="floating")
    assert names(party_member="1") == ["李梅"]
    assert names(party_member="否") == ["张三", "張四"]
    assert names(residence_type="floating") == ["李梅"]
    services.end_residence(None, reg.residents["zhang_si"], status="deceased")
    assert names() == ["张三", "李梅"]
    assert names(status="deceased") == ["張四"]
    assert names(status="all") == ["张三", "張四", "李梅"]


def test_list_refuses_bad_filters_by_name_and_other_areas_with_404(tree, reg, staff):
    assert error_fields(staff.get(f"{API}/residents", {"residence_type": "外星"})) == {("query", "residence_type")}
    assert error_fields(staff.get(f"{API}/residents", {"care_tag": "nope"})) == {("query", "care_tag")}
    assert error_fields(staff.get(f"{API}/residents", {"status": "gone"})) == {("query", "status")}
    out = staff.get(f"{API}/residents", {"area": tree.street_b.pk})
    assert out.status_code == 404 and out.json()["detail"]
    assert staff.get(f"{API}/residents", {"cursor": "forged"}).status_code == 422


def test_roles_that_do_not_open_the_registry_are_refused(tree, reg):
    for username in ("department_handler", "merchant", "resident"):
        client = token_client(tree.users[username])
        assert client.get(f"{API}/residents").status_code == 403, username
        assert client.get(f"{API}/residents/{reg.residents['zhang_san'].pk}").status_code == 404, username


def test_list_queries_are_constant_in_page_size_and_pages_walk_every_resident(tree, reg, staff):
    micro = first_micro(tree, tree.grid_a1)
    tag = reg.residents["zhang_san"].care_tags.first()

    def add(n, start):
        for i in range(start, start + n):
            services.create_resident(
                None,
                area=micro,
                name=f"测试{chr(0x4E00 + i)}",
                id_number=id_number("19700101", f"{i + 100:03d}"),
                phone=f"1350000{i:04d}",
                care_tags=[tag],
            )

    add(2, 0)
    few = page_queries(staff, f"{API}/residents", {"limit": 5})
    add(40, 2)
    many = page_queries(staff, f"{API}/residents", {"limit": 45})
    assert few[1] == 5 and many[1] == 45
    assert few[0] == many[0]

    seen, pages = walk(staff, f"{API}/residents", {}, 7)
    ids = [r["id"] for r in seen]
    assert len(ids) == len(set(ids)) == 45 and pages == 7
    assert [r["name"] for r in seen][:3] == ["张三", "張四", "李梅"]


# ---- detail --------------------------------------------------------------------------------------


def test_detail_is_masked_with_household_address_and_age(tree, reg, staff):
    zhang = reg.residents["zhang_san"]
    services.update_resident(None, zhang, contact_name="张小三", contact_phone="13511112222")
    response = staff.get(f"{API}/residents/{zhang.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "张三" and body["gender"] == "male" and body["gender_label"] == "Male"
    assert body["birth_date"] == "1945-03-02"
    assert body["address"] == "和美路1号1栋101" and body["building"] == "1栋"
    assert body["masked_contact_phone"] == "135****2222"
    assert body["id_type"]["code"] == "resident_id"
    assert body["relation"] == "head" and body["relation_label"] == "Head of household"
    assert body["can_reveal"] is True
    assert_masked(response, reg, "13511112222")

    member = token_client(tree.users["microgrid_member"]).get(f"{API}/residents/{zhang.pk}")
    assert member.status_code == 200 and member.json()["can_reveal"] is False
    assert_masked(member, reg, "13511112222")


def test_residents_of_other_streets_are_404(tree, reg):
    wang = reg.residents["wang_wu"]
    for username in ("community_staff", "grid_leader", "microgrid_member", "street_staff"):
        response = token_client(tree.users[username]).get(f"{API}/residents/{wang.pk}")
        assert response.status_code == 404, username
        assert response.json()["detail"] == "No such resident in your areas."
    assert token_client(tree.users["outsider_grid_leader"]).get(f"{API}/residents/{wang.pk}").status_code == 200
    assert token_client(tree.users["district_admin"]).get(f"{API}/residents/999999").status_code == 404


# ---- create --------------------------------------------------------------------------------------


def test_create_in_a_household_with_care_tags(tree, reg, staff):
    household = reg.households["li"]
    number = id_number("20100615", "031")
    response = post(
        staff,
        f"{API}/residents",
        {
            "household_id": household.pk,
            "name": "李小梅",
            "id_number": number,
            "phone": "１３６ ００００ ０００９",  # full-width digits and spaces, as typed
            "relation": "Child",  # a coded value by its label
            "care_tags": ["left_behind_child"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "李小梅" and body["gender"] == "male" and body["birth_date"] == "2010-06-15"
    assert body["relation"] == "child" and body["household"]["id"] == household.pk
    assert body["masked_phone"] == "136****0009"
    assert [t["code"] for t in body["care_tags"]] == ["left_behind_child"]
    assert number not in response.content.decode() and "13600000009" not in response.content.decode()
    created = Resident.objects.get(pk=body["id"])
    assert created.id_number == number and created.phone == "13600000009"
    assert AuditEvent.objects.filter(action="registry.resident_created", object_id=str(created.pk)).exists()


def test_create_reports_every_bad_field_and_writes_nothing(tree, reg, staff):
    before = Resident.objects.count()
    response = post(
        staff,
        f"{API}/residents",
        {
            "household_id": reg.households["li"].pk,
            "name": "",
            "id_number": "510108199001010091",
            "phone": "12345",
            "moved_in_on": "2024-13-45",
        },
    )
    assert error_fields(response) == {
        ("body", "name"),
        ("body", "id_number"),
        ("body", "phone"),
        ("body", "moved_in_on"),
    }
    messages = {e["loc"][-1]: e["msg"] for e in response.json()["detail"]}
    assert "check character" in messages["id_number"]
    # The same shape as ninja's own errors for a malformed body.
    assert ["body", "payload", "id_number"] in [e["loc"] for e in response.json()["detail"]]
    assert Resident.objects.count() == before

    duplicate = post(
        staff,
        f"{API}/residents",
        {"household_id": reg.households["li"].pk, "name": "冒名", "id_number": reg.residents["li_mei"].id_number},
    )
    assert error_fields(duplicate) == {("body", "id_number")}
    assert reg.residents["li_mei"].id_number not in duplicate.content.decode()
    assert Resident.objects.count() == before


def test_control_characters_are_refused_by_field_not_a_server_error(tree, reg, staff):
    # PostgreSQL cannot store NUL in text: without this check the answer would be a 500.
    li = reg.residents["li_mei"]
    before = Resident.objects.count()
    created = post(staff, f"{API}/residents", {"household_id": reg.households["li"].pk, "name": "张\x00三"})
    assert error_fields(created) == {("body", "name")}
    patched = post(staff, f"{API}/residents/{li.pk}", {"notes": "a\x00b"}, method="patch")
    assert error_fields(patched) == {("body", "notes")}
    assert error_fields(staff.get(f"{API}/residents", {"q": "张\x00"})) == {("query", "q")}
    assert error_fields(staff.get(f"{API}/places", {"q": "\x00"})) == {("query", "q")}
    assert Resident.objects.count() == before
    assert Resident.objects.get(pk=li.pk).notes == ""


@pytest.mark.zh_hans
def test_create_errors_speak_chinese_by_default(tree, reg, staff):
    response = post(staff, f"{API}/residents", {"household_id": reg.households["li"].pk, "name": "", "phone": "1"})
    assert error_fields(response) == {("body", "name"), ("body", "phone")}
    messages = " ".join(e["msg"] for e in response.json()["detail"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in messages), messages


def test_create_needs_a_place_to_live_in_your_areas(tree, reg, staff):
    assert error_fields(post(staff, f"{API}/residents", {"name": "无处"})) == {("body", "household_id")}
    out = post(staff, f"{API}/residents", {"household_id": reg.households["wang"].pk, "name": "越界"})
    assert out.status_code == 404
    wrong_kind = post(staff, f"{API}/residents", {"area_id": tree.grid_a1.pk, "name": "网格"})
    assert error_fields(wrong_kind) == {("body", "household_id")}
    unknown_tag = post(
        staff, f"{API}/residents", {"household_id": reg.households["li"].pk, "name": "标签", "care_tags": ["x"]}
    )
    assert error_fields(unknown_tag) == {("body", "care_tags")}
    assert not Resident.objects.filter(name__in=["无处", "越界", "网格", "标签"]).exists()


# ---- update --------------------------------------------------------------------------------------


def test_patch_changes_only_what_is_sent_and_answers_masked(tree, reg, staff):
    li = reg.residents["li_mei"]
    loaded = staff.get(f"{API}/residents/{li.pk}").json()
    response = post(
        staff,
        f"{API}/residents/{li.pk}",
        {"phone": "13912345678", "notes": "新手机", "expected_updated_at": loaded["updated_at"]},
        method="patch",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["masked_phone"] == "139****5678" and body["notes"] == "新手机"
    assert body["name"] == "李梅" and body["masked_id_number"] == loaded["masked_id_number"]
    assert "13912345678" not in response.content.decode()
    assert Resident.objects.get(pk=li.pk).phone == "13912345678"
    event = AuditEvent.objects.get(action="registry.resident_updated", object_id=str(li.pk))
    assert sorted(event.data["fields"]) == ["notes", "phone"]


def test_patch_with_a_stale_version_is_409_and_changes_nothing(tree, reg, staff):
    li = reg.residents["li_mei"]
    loaded = staff.get(f"{API}/residents/{li.pk}").json()
    other = token_client(tree.users["grid_leader"])
    first = post(
        other,
        f"{API}/residents/{li.pk}",
        {"notes": "网格长先改", "expected_updated_at": loaded["updated_at"]},
        method="patch",
    )
    assert first.status_code == 200, first.content
    late = post(
        staff,
        f"{API}/residents/{li.pk}",
        {"notes": "社区后改", "expected_updated_at": loaded["updated_at"]},
        method="patch",
    )
    assert late.status_code == 409
    assert "changed this record" in late.json()["detail"]
    assert Resident.objects.get(pk=li.pk).notes == "网格长先改"
    retried = post(
        staff,
        f"{API}/residents/{li.pk}",
        {"notes": "社区后改", "expected_updated_at": first.json()["updated_at"]},
        method="patch",
    )
    assert retried.status_code == 200 and retried.json()["notes"] == "社区后改"


def test_repeating_a_patch_changes_nothing_more(tree, reg, staff):
    li = reg.residents["li_mei"]
    once = post(staff, f"{API}/residents/{li.pk}", {"residence_type": "Floating (流动)"}, method="patch")
    assert once.status_code == 200 and once.json()["residence_type"]["code"] == "floating"
    twice = post(staff, f"{API}/residents/{li.pk}", {"residence_type": "floating"}, method="patch")
    assert twice.status_code == 200
    assert twice.json()["updated_at"] == once.json()["updated_at"]
    assert AuditEvent.objects.filter(action="registry.resident_updated", object_id=str(li.pk)).count() == 1


def test_patch_refusals(tree, reg, staff):
    li = reg.residents["li_mei"]
    bad = post(staff, f"{API}/residents/{li.pk}", {"name": None, "gender": "robot"}, method="patch")
    assert error_fields(bad) == {("body", "name"), ("body", "gender")}
    assert Resident.objects.get(pk=li.pk).name == "李梅"
    taken = post(staff, f"{API}/residents/{li.pk}", {"id_number": reg.residents["zhang_san"].id_number}, method="patch")
    assert error_fields(taken) == {("body", "id_number")}
    out = post(staff, f"{API}/residents/{reg.residents['wang_wu'].pk}", {"notes": "x"}, method="patch")
    assert out.status_code == 404
    assert Resident.objects.get(pk=reg.residents["wang_wu"].pk).notes == ""


# ---- move, leave, care tags -----------------------------------------------------------------------


def test_move_to_another_household_keeps_history(tree, reg, staff):
    si = reg.residents["zhang_si"]
    response = post(
        staff,
        f"{API}/residents/{si.pk}/move",
        {"household_id": reg.households["li"].pk, "relation": "other", "reason": "投亲"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["household"]["id"] == reg.households["li"].pk and body["relation"] == "other"
    assert body["moves"][0]["from_address"] == "和美路1号1栋101"
    assert body["moves"][0]["to_address"] == "和美路1号1栋102" and body["moves"][0]["reason"] == "投亲"
    assert MoveRecord.objects.filter(resident=si).count() == 1
    assert_masked(response, reg)

    again = post(staff, f"{API}/residents/{si.pk}/move", {"household_id": reg.households["li"].pk})
    assert error_fields(again) == {("body", "household_id")}
    away = post(staff, f"{API}/residents/{si.pk}/move", {"household_id": reg.households["wang"].pk})
    assert away.status_code == 404
    assert Resident.objects.get(pk=si.pk).household_id == reg.households["li"].pk


def test_leave_and_leaving_twice(tree, reg, staff):
    zhang = reg.residents["zhang_san"]
    bad = post(staff, f"{API}/residents/{zhang.pk}/leave", {"status": "vanished"})
    assert error_fields(bad) == {("body", "status")}
    future = post(staff, f"{API}/residents/{zhang.pk}/leave", {"status": "deceased", "at": "2999-01-01T00:00:00Z"})
    assert error_fields(future) == {("body", "at")}
    response = post(staff, f"{API}/residents/{zhang.pk}/leave", {"status": "Deceased", "reason": "病故"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"]["code"] == "deceased" and body["moved_out_at"]
    assert staff.get(f"{API}/households/{reg.households['zhang'].pk}").json()["head_id"] is None
    twice = post(staff, f"{API}/residents/{zhang.pk}/leave", {"status": "moved_out"})
    assert twice.status_code == 409
    assert Resident.objects.get(pk=zhang.pk).status == "deceased"


def test_care_tags_are_replaced_as_a_set(tree, reg, staff):
    zhang = reg.residents["zhang_san"]
    url = f"{API}/residents/{zhang.pk}/care-tags"
    response = post(staff, url, {"codes": ["advanced_age", "disabled"]}, method="put")
    assert response.status_code == 200, response.content
    assert [t["code"] for t in response.json()["care_tags"]] == ["advanced_age", "disabled"]
    event = AuditEvent.objects.filter(action="registry.care_tags_changed").latest("pk")
    assert event.data == {"added": ["advanced_age", "disabled"], "removed": ["elderly_alone"]}
    assert error_fields(post(staff, url, {"codes": ["advanced_age", "nonsense"]}, method="put")) == {("body", "codes")}
    assert sorted(zhang.care_tags.values_list("code", flat=True)) == ["advanced_age", "disabled"]
    assert post(staff, url, {"codes": []}, method="put").json()["care_tags"] == []


# ---- reveal --------------------------------------------------------------------------------------


def test_staff_reveal_with_a_reason_is_logged_with_channel_api(tree, reg):
    zhang = reg.residents["zhang_san"]
    user = tree.users["community_staff"]
    response = post(token_client(user), f"{API}/residents/{zhang.pk}/reveal", {"reason": "核对低保申请"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id_number"] == zhang.id_number and body["phone"] == "13800000001"
    log = AccessLog.objects.get()
    assert (log.actor, log.subject_type, log.subject_id, log.channel, log.reason) == (
        user,
        "resident",
        zhang.pk,
        "api",
        "核对低保申请",
    )
    assert log.fields == ["id_number", "phone"] and log.area == zhang.area
    assert log.details["ip"] == "127.0.0.1"

    only_phone = post(
        token_client(tree.users["grid_leader"]),
        f"{API}/residents/{zhang.pk}/reveal",
        {"reason": "电话回访", "fields": ["phone"]},
    ).json()
    assert only_phone == {"id_number": None, "phone": "13800000001", "contact_phone": None}
    assert AccessLog.objects.latest("pk").fields == ["phone"]


def test_reveal_refusals(tree, reg):
    zhang = reg.residents["zhang_san"]
    url = f"{API}/residents/{zhang.pk}/reveal"
    staff = token_client(tree.users["community_staff"])
    assert error_fields(post(staff, url, {"reason": " "})) == {("body", "reason")}
    assert error_fields(post(staff, url, {"reason": "核对", "fields": ["name"]})) == {("body", "fields")}
    for username in ("microgrid_member", "microgrid_leader"):
        refused = post(token_client(tree.users[username]), url, {"reason": "想看看"})
        assert refused.status_code == 403, username
        assert refused.json()["detail"]
        assert_masked(refused, reg)
    outsider = post(token_client(tree.users["outsider_community_staff"]), url, {"reason": "想看看"})
    assert outsider.status_code == 404
    assert_masked(outsider, reg)
    assert not AccessLog.objects.exists()


def test_session_writes_need_the_csrf_token(tree, reg):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tree.users["community_staff"])
    url = f"{API}/residents/{reg.residents['li_mei'].pk}"
    assert client.get(url).status_code == 200
    assert post(client, url, {"notes": "无令牌"}, method="patch").status_code == 403
    assert Resident.objects.get(pk=reg.residents["li_mei"].pk).notes == ""


# ---- every role against a resident in street A -----------------------------------------------------

# Written out by hand from the tree's shape: 张三 lives in the first micro-grid of grid A1.
SEES_ZHANG = {
    "district_admin",
    "street_staff",
    "community_staff",
    "grid_leader",
    "microgrid_leader",
    "microgrid_member",
}
MAY_REVEAL = {"district_admin", "street_staff", "community_staff", "grid_leader"}


MATRIX_USERS = [
    "district_admin",
    "street_staff",
    "community_staff",
    "grid_leader",
    "microgrid_leader",
    "microgrid_member",
    "dedicated_leader",
    "department_handler",
    "merchant",
    "resident",
    "outsider_street_staff",
    "outsider_community_staff",
    "outsider_grid_leader",
    "outsider_microgrid_leader",
    "outsider_microgrid_member",
    "outsider_department_handler",
    "outsider_merchant",
    "outsider_resident",
    "auditor",
    "outsider_auditor",
]


def test_access_matrix_covers_every_user_of_the_factory(tree):
    assert set(tree.users) == set(MATRIX_USERS)


@pytest.mark.parametrize("username", MATRIX_USERS)
def test_access_matrix_for_a_resident(tree, reg, username):
    zhang = reg.residents["zhang_san"]
    client = token_client(tree.users[username])
    seen = client.get(f"{API}/residents/{zhang.pk}")
    assert seen.status_code == (200 if username in SEES_ZHANG else 404)
    listed = client.get(f"{API}/residents")
    if listed.status_code == 200:
        assert (zhang.pk in [r["id"] for r in listed.json()["items"]]) == (username in SEES_ZHANG)
    else:
        assert listed.status_code == 403 and username not in SEES_ZHANG
    edited = post(client, f"{API}/residents/{zhang.pk}", {"notes": username}, method="patch")
    assert edited.status_code == (200 if username in SEES_ZHANG else 404)
    revealed = post(client, f"{API}/residents/{zhang.pk}/reveal", {"reason": "矩阵测试"})
    expected = 200 if username in MAY_REVEAL else 403 if username in SEES_ZHANG else 404
    assert revealed.status_code == expected
    assert AccessLog.objects.count() == (1 if username in MAY_REVEAL else 0)
    for response in (seen, listed, edited):
        assert_masked(response, reg)
