"""The registry API beyond residents: households, buildings, places, organisations, care tags, the access log."""

import pytest
from django.utils import timezone

from fengchao.accounts import services as accounts
from fengchao.accounts.roles import Role
from fengchao.audit.models import AuditEvent
from fengchao.registry import access, services
from fengchao.registry.models import (
    AccessLog,
    Building,
    Household,
    MoveRecord,
    Organisation,
    Place,
    Resident,
    Room,
)
from tests.factories import first_micro
from tests.registry_factories import build_registry, credit_code, id_number
from tests.test_api_registry import API, assert_masked, error_fields, page_queries, post, token_client, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(tree):
    return build_registry(tree)


@pytest.fixture
def staff(tree):
    return token_client(tree.users["community_staff"])


# ---- households ----------------------------------------------------------------------------------


def test_household_list_and_detail_with_members_masked(tree, reg, staff):
    response = staff.get(f"{API}/households")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [h["address"] for h in items] == ["和美路1号1栋101", "和美路1号1栋102"]
    zhang = items[0]
    assert zhang["head"] == "张三" and zhang["residents"] == 2 and zhang["number"] == "H-0001"
    assert zhang["building"]["name"] == "1栋" and zhang["room"]["number"] == "101" and zhang["room"]["floor"] == 1
    assert [h["address"] for h in staff.get(f"{API}/households", {"q": "102"}).json()["items"]] == ["和美路1号1栋102"]

    detail = staff.get(f"{API}/households/{reg.households['zhang'].pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert [m["name"] for m in body["members"]] == ["张三", "張四"]
    assert body["members"][0]["masked_phone"] == "138****0001"
    assert body["members"][0]["care_tags"][0]["code"] == "elderly_alone"
    assert_masked(response, reg)
    assert_masked(detail, reg)
    assert staff.get(f"{API}/households/{reg.households['wang'].pk}").status_code == 404


def test_create_household_at_a_room_named_by_number(tree, reg, staff):
    building = reg.buildings["a"]
    response = post(
        staff, f"{API}/households", {"building_id": building.pk, "unit": "2单元", "room": "301室", "number": "H-0009"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == "和美路1号1栋2单元301" and body["room"]["unit"] == "2" and body["room"]["floor"] == 3
    assert body["members"] == [] and body["residents"] == 0
    assert AuditEvent.objects.filter(action="registry.household_created", object_id=str(body["id"])).exists()

    rooms = Room.objects.count()
    taken = post(staff, f"{API}/households", {"building_id": building.pk, "unit": "2", "room": "301"})
    assert error_fields(taken) == {("body", "address")}
    fresh_room = post(
        staff, f"{API}/households", {"building_id": building.pk, "unit": "3", "room": "302", "notes": "x" * 2001}
    )
    assert error_fields(fresh_room) == {("body", "notes")}
    assert Room.objects.count() == rooms  # the room named for a refused household is not left behind
    assert error_fields(post(staff, f"{API}/households", {})) == {("body", "room_id")}
    assert post(staff, f"{API}/households", {"building_id": reg.buildings["b"].pk, "room": "1"}).status_code == 404


def test_household_by_address_in_a_micro_grid(tree, reg, staff):
    micro = first_micro(tree, tree.grid_a1)
    response = post(staff, f"{API}/households", {"area_id": micro.pk, "address": "和美路5号平房"})
    assert response.status_code == 201, response.content
    assert response.json()["room"] is None and response.json()["area"]["id"] == micro.pk
    no_address = post(staff, f"{API}/households", {"area_id": micro.pk})
    assert error_fields(no_address) == {("body", "address")}
    not_a_micro = post(staff, f"{API}/households", {"area_id": tree.grid_a1.pk, "address": "网格里"})
    assert error_fields(not_a_micro) == {("body", "area_id")}


def test_update_household_head_and_compare_and_set(tree, reg, staff):
    household = reg.households["zhang"]
    loaded = staff.get(f"{API}/households/{household.pk}").json()
    si = reg.residents["zhang_si"]
    response = post(
        staff,
        f"{API}/households/{household.pk}",
        {"head_id": si.pk, "number": "H-0002", "expected_updated_at": loaded["updated_at"]},
        method="patch",
    )
    assert response.status_code == 200, response.content
    assert response.json()["head"] == "張四" and response.json()["number"] == "H-0002"
    stale = post(
        staff,
        f"{API}/households/{household.pk}",
        {"number": "H-0003", "expected_updated_at": loaded["updated_at"]},
        method="patch",
    )
    assert stale.status_code == 409
    assert Household.objects.get(pk=household.pk).number == "H-0002"
    stranger = post(staff, f"{API}/households/{household.pk}", {"head_id": reg.residents["li_mei"].pk}, method="patch")
    assert error_fields(stranger) == {("body", "head_id")}


def test_move_household_takes_its_residents_and_moving_out(tree, reg, staff):
    household = reg.households["li"]
    micro2 = [a for a in tree.micro.values() if a.parent_id == tree.grid_a1.pk][1]
    response = post(
        staff,
        f"{API}/households/{household.pk}/move",
        {"area_id": micro2.pk, "address": "和美路8号", "reason": "拆迁安置"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["address"] == "和美路8号" and body["area"]["id"] == micro2.pk
    assert body["moves"][0]["reason"] == "拆迁安置" and body["moves"][0]["from_address"] == "和美路1号1栋102"
    assert Resident.objects.get(pk=reg.residents["li_mei"].pk).area_id == micro2.pk
    away = post(staff, f"{API}/households/{household.pk}/move", {"area_id": tree.micro["致强一网格1号微网格"].pk})
    assert away.status_code == 404

    left = post(staff, f"{API}/households/{household.pk}/leave", {"reason": "搬离本区"})
    assert left.status_code == 200, left.content
    assert left.json()["is_active"] is False and left.json()["members"][0]["status"] == "moved_out"
    assert post(staff, f"{API}/households/{household.pk}/leave", {}).status_code == 409
    assert MoveRecord.objects.filter(household=household).count() == 2


# ---- buildings -----------------------------------------------------------------------------------


def test_building_detail_shows_who_lives_where_masked(tree, reg, staff):
    building = reg.buildings["a"]
    response = staff.get(f"{API}/buildings/{building.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "1栋" and body["households"] == 2 and body["residents"] == 3
    rooms = {r["number"]: r for r in body["rooms"]}
    assert list(rooms) == ["101", "102"]
    assert [p["name"] for p in rooms["101"]["households"][0]["residents"]] == ["张三", "張四"]
    assert rooms["101"]["households"][0]["residents"][0]["masked_phone"] == "138****0001"
    assert [p["name"] for p in rooms["102"]["households"][0]["residents"]] == ["李梅"]
    assert_masked(response, reg)
    assert staff.get(f"{API}/buildings/{reg.buildings['b'].pk}").status_code == 404
    listed = staff.get(f"{API}/buildings").json()["items"]
    assert [b["name"] for b in listed] == ["1栋"]


def test_create_update_and_number_rooms_of_a_building(tree, reg, staff):
    micro = first_micro(tree, tree.grid_a1)
    response = post(
        staff, f"{API}/buildings", {"area_id": micro.pk, "name": "2栋", "address": "和美路2号", "floors": 6}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "2栋" and body["rooms"] == [] and body["floors"] == 6
    duplicate = post(staff, f"{API}/buildings", {"area_id": micro.pk, "name": "2栋"})
    assert error_fields(duplicate) == {("body", "name")}
    bad = post(staff, f"{API}/buildings", {"area_id": micro.pk, "name": "3栋", "lon": 500})
    assert error_fields(bad) == {("body", "lon")}
    wrong_kind = post(staff, f"{API}/buildings", {"area_id": tree.community_a.pk, "name": "4栋"})
    assert error_fields(wrong_kind) == {("body", "area_id")}
    assert post(staff, f"{API}/buildings", {"area_id": tree.street_b.pk, "name": "5栋"}).status_code == 404
    assert Building.objects.filter(area=micro).count() == 2

    rooms = post(staff, f"{API}/buildings/{body['id']}/rooms", {"units": 2, "floors": 3, "rooms_per_floor": 2})
    assert rooms.status_code == 200 and rooms.json() == {"created": 12}
    again = post(staff, f"{API}/buildings/{body['id']}/rooms", {"units": 2, "floors": 3, "rooms_per_floor": 2})
    assert again.json() == {"created": 0}
    too_many = post(staff, f"{API}/buildings/{body['id']}/rooms", {"units": 2, "floors": 300, "rooms_per_floor": 2})
    assert too_many.status_code == 422 and "floors" in too_many.json()["detail"]

    changed = post(
        staff,
        f"{API}/buildings/{body['id']}",
        {"name": "2号楼", "expected_updated_at": staff.get(f"{API}/buildings/{body['id']}").json()["updated_at"]},
        method="patch",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "2号楼" and len(changed.json()["rooms"]) == 12
    stale = post(
        staff,
        f"{API}/buildings/{body['id']}",
        {"notes": "x", "expected_updated_at": body["updated_at"]},
        method="patch",
    )
    assert stale.status_code == 409


# ---- places --------------------------------------------------------------------------------------


def test_places_list_filters_detail_and_reveal(tree, reg, staff):
    listed = staff.get(f"{API}/places", {"flag": "is_small_venue"})
    assert listed.status_code == 200
    shop = listed.json()["items"][0]
    assert shop["name"] == "和美便利店" and shop["masked_phone"] == "136****0004"
    assert shop["kind"]["code"] == "shop" and [f["code"] for f in shop["flags"]] == ["is_small_venue"]
    assert staff.get(f"{API}/places", {"flag": "is_crowded"}).json()["items"] == []
    assert error_fields(staff.get(f"{API}/places", {"flag": "is_haunted"})) == {("query", "flag")}
    assert error_fields(staff.get(f"{API}/places", {"kind": "castle"})) == {("query", "kind")}
    assert_masked(listed, reg)

    detail = staff.get(f"{API}/places/{shop['id']}")
    assert detail.status_code == 200 and detail.json()["can_reveal"] is True
    assert_masked(detail, reg)
    revealed = post(staff, f"{API}/places/{shop['id']}/reveal", {"reason": "联系店主"})
    assert revealed.json()["phone"] == "13600000004"
    assert AccessLog.objects.get().subject_type == "place"
    member = token_client(tree.users["microgrid_member"])
    assert member.get(f"{API}/places/{shop['id']}").status_code == 404  # the shop is in the grid, above the member
    assert token_client(tree.users["outsider_grid_leader"]).get(f"{API}/places/{shop['id']}").status_code == 404


def test_create_and_move_a_place(tree, reg, staff):
    response = post(
        staff,
        f"{API}/places",
        {
            "area_id": tree.grid_a1.pk,
            "kind": "enterprise",
            "name": "和美科技",
            "credit_code": credit_code("91510108MA7"),
            "phone": "028-84001234",
            "building_id": reg.buildings["a"].pk,
            "is_crowded": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["building"]["name"] == "1栋" and body["masked_phone"] == "028****1234"
    assert [f["code"] for f in body["flags"]] == ["is_crowded"]
    assert "02884001234" not in response.content.decode()

    bad = post(staff, f"{API}/places", {"area_id": tree.grid_a1.pk, "kind": "castle", "name": "", "credit_code": "1"})
    assert error_fields(bad) == {("body", "kind")}  # the first bad value stops the place's cleaning
    assert Place.objects.count() == 2

    moved = post(
        staff,
        f"{API}/places/{body['id']}",
        {"area_id": tree.grid_a2.pk, "expected_updated_at": body["updated_at"]},
        method="patch",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["area"]["id"] == tree.grid_a2.pk
    assert post(staff, f"{API}/places/{body['id']}", {"area_id": tree.grid_b1.pk}, method="patch").status_code == 404
    stale = post(
        staff, f"{API}/places/{body['id']}", {"name": "改名", "expected_updated_at": body["updated_at"]}, method="patch"
    )
    assert stale.status_code == 409
    assert Place.objects.get(pk=body["id"]).name == "和美科技"


# ---- organisations -------------------------------------------------------------------------------


def test_organisation_with_members(tree, reg, staff):
    branch = reg.organisations["branch"]
    zhang = reg.residents["zhang_san"]
    added = post(
        staff,
        f"{API}/organisations/{branch.pk}/members",
        {"resident_id": zhang.pk, "position": "书记", "phone": "13800000001", "is_contact": True},
    )
    assert added.status_code == 201, added.content
    member = added.json()
    assert member["name"] == "张三" and member["masked_phone"] == "138****0001" and member["resident_id"] == zhang.pk
    second = post(staff, f"{API}/organisations/{branch.pk}/members", {"name": "赵六", "joined_on": "2020-07-01"})
    assert second.status_code == 201
    assert error_fields(post(staff, f"{API}/organisations/{branch.pk}/members", {"name": "赵6"})) == {("body", "name")}
    away = post(staff, f"{API}/organisations/{branch.pk}/members", {"resident_id": reg.residents["wang_wu"].pk})
    assert away.status_code == 404

    ended = post(staff, f"{API}/organisations/{branch.pk}/members/{second.json()['id']}/end", {"left_on": "2024-01-01"})
    assert ended.status_code == 200 and ended.json()["left_on"] == "2024-01-01"
    assert post(staff, f"{API}/organisations/{branch.pk}/members/{second.json()['id']}/end", {}).status_code == 422

    detail = staff.get(f"{API}/organisations/{branch.pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["masked_phone"] == "028****0001" and body["kind"]["code"] == "party_branch"
    assert [(m["name"], m["left_on"]) for m in body["members"]] == [("张三", None), ("赵六", "2024-01-01")]
    assert_masked(detail, reg)

    revealed = post(staff, f"{API}/organisations/{branch.pk}/members/{member['id']}/reveal", {"reason": "通知开会"})
    assert revealed.json()["phone"] == "13800000001"
    assert AccessLog.objects.get().subject_type == "organisation_member"
    other = services.create_organisation(None, tree.community_b, kind="party_branch", name="致强支部")
    assert staff.get(f"{API}/organisations/{other.pk}").status_code == 404
    foreign = services.add_organisation_member(None, other, name="外人")
    assert post(staff, f"{API}/organisations/{branch.pk}/members/{foreign.pk}/end", {}).status_code == 404


def test_create_update_organisation(tree, reg, staff):
    response = post(
        staff,
        f"{API}/organisations",
        {"area_id": tree.community_a.pk, "kind": "Owners' committee", "name": "和美小区业委会"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"]["code"] == "owners_committee" and body["members"] == []
    same_name = post(
        staff,
        f"{API}/organisations",
        {"area_id": tree.community_a.pk, "kind": "party_branch", "name": "和美小区业委会"},
    )
    assert error_fields(same_name) == {("body", "name")}
    wrong_kind = post(
        staff,
        f"{API}/organisations",
        {"area_id": first_micro(tree, tree.grid_a1).pk, "kind": "party_branch", "name": "楼"},
    )
    assert error_fields(wrong_kind) == {("body", "area_id")}
    changed = post(
        staff,
        f"{API}/organisations/{body['id']}",
        {"phone": "13811112222", "expected_updated_at": body["updated_at"]},
        method="patch",
    )
    assert changed.status_code == 200 and changed.json()["masked_phone"] == "138****2222"
    assert "13811112222" not in changed.content.decode()
    stale = post(
        staff,
        f"{API}/organisations/{body['id']}",
        {"notes": "x", "expected_updated_at": body["updated_at"]},
        method="patch",
    )
    assert stale.status_code == 409
    assert Organisation.objects.get(pk=body["id"]).notes == ""


# ---- care tags -----------------------------------------------------------------------------------


def test_care_tags_list(tree, reg, staff):
    tags = staff.get(f"{API}/care-tags").json()
    assert tags[0]["code"] == "elderly_alone" and tags[0]["name"] == "独居老人"
    services.save_care_tag(None, code="old_tag", name="旧标签", is_active=False)
    assert "old_tag" not in [t["code"] for t in staff.get(f"{API}/care-tags").json()]
    assert "old_tag" in [t["code"] for t in staff.get(f"{API}/care-tags", {"inactive": 1}).json()]
    assert token_client(tree.users["department_handler"]).get(f"{API}/care-tags").status_code == 403


# ---- access log ----------------------------------------------------------------------------------


def test_access_log_is_for_auditors_and_scoped(tree, reg):
    zhang, wang = reg.residents["zhang_san"], reg.residents["wang_wu"]
    admin = tree.users["district_admin"]
    access.reveal(tree.users["community_staff"], zhang, reason="核对", channel="page")
    access.reveal(admin, wang, reason="复核", channel="api")
    access.log_export(
        admin,
        subject_type="resident",
        subject_ids=[zhang.pk, reg.residents["li_mei"].pk],
        area=tree.community_a,
        reason="年报",
        fields=["id_number"],
        channel="excel",
        filters={"q": "13800000001"},  # a search by whole phone number: shown masked to auditors
    )
    auditor = accounts.create_user(username="auditor_a", display_name="审计员")
    accounts.assign_role(auditor, Role.AUDITOR, tree.street_a)

    everything = token_client(admin).get(f"{API}/access-log")
    assert everything.status_code == 200
    items = everything.json()["items"]
    assert [i["reason"] for i in items] == ["年报", "复核", "核对"]  # newest first
    assert items[0]["action"]["code"] == "export" and items[0]["count"] == 2
    assert items[0]["details"] == {"filters": {"q": "138****0001"}}
    assert_masked(everything, reg)

    street_a = token_client(auditor).get(f"{API}/access-log").json()["items"]
    assert [i["reason"] for i in street_a] == ["年报", "核对"]
    history = token_client(admin).get(f"{API}/access-log", {"subject_type": "resident", "subject_id": zhang.pk})
    assert [i["reason"] for i in history.json()["items"]] == ["年报", "核对"]
    by_actor = token_client(admin).get(f"{API}/access-log", {"actor_id": admin.pk, "action": "reveal"})
    assert [i["reason"] for i in by_actor.json()["items"]] == ["复核"]
    today = timezone.localdate().isoformat()
    assert len(token_client(admin).get(f"{API}/access-log", {"since": today, "until": today}).json()["items"]) == 3
    assert token_client(admin).get(f"{API}/access-log", {"until": "2000-01-01"}).json()["items"] == []
    assert token_client(auditor).get(f"{API}/access-log", {"area": tree.street_b.pk}).status_code == 404

    for username in ("community_staff", "street_staff", "grid_leader", "microgrid_member"):
        assert token_client(tree.users[username]).get(f"{API}/access-log").status_code == 403, username


# ---- every list: pagination and queries constant in page size -------------------------------------


def _grow(tree, reg, n, start):
    """n more of everything in street A."""
    micro = first_micro(tree, tree.grid_a1)
    building = reg.buildings["a"]
    branch = reg.organisations["branch"]
    tag = reg.residents["zhang_san"].care_tags.first()
    for i in range(start, start + n):
        room = services.room_for(building, "", f"{i + 2}01")
        household = services.create_household(None, room=room)
        resident = services.create_resident(
            None,
            household=household,
            name=f"住户{chr(0x4E00 + i)}",
            id_number=id_number("19800101", f"{i + 200:03d}"),
            phone=f"1370000{i:04d}",
            relation="head",
            care_tags=[tag],
        )
        services.create_building(None, micro, name=f"{i + 10}栋")
        services.create_place(None, tree.grid_a1, kind="shop", name=f"店{chr(0x4E00 + i)}", building=building)
        services.create_organisation(None, tree.community_a, kind="social_organisation", name=f"协会{chr(0x4E00 + i)}")
        services.add_organisation_member(None, branch, resident=resident, phone=f"1360000{i:04d}")
        access.reveal(tree.users["district_admin"], resident, reason="核对", channel="api")


LISTS = ["residents", "households", "buildings", "places", "organisations", "access-log"]


@pytest.mark.parametrize("entity", LISTS)
def test_each_list_costs_the_same_queries_whatever_the_page_size(tree, reg, entity):
    client = token_client(tree.users["district_admin"])
    url = f"{API}/{entity}"
    _grow(tree, reg, 3, 0)
    few = page_queries(client, url, {"limit": 3})
    _grow(tree, reg, 30, 3)
    many = page_queries(client, url, {"limit": 30})
    assert (few[1], many[1]) == (3, 30)
    assert few[0] == many[0], entity

    seen, pages = walk(client, url, {}, 4)
    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids)) and pages == -(-len(ids) // 4)
    assert len(ids) >= 33
