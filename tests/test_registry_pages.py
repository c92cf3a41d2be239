"""The registry pages as the people who keep the registry use them: lists, details, unmasking, and every form."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fengchao.accounts import services as accounts
from fengchao.audit.models import AuditEvent
from fengchao.registry import services
from fengchao.registry.models import (
    AccessLog,
    Building,
    CareTag,
    Household,
    Organisation,
    OrganisationMember,
    Place,
    Resident,
    Room,
)
from fengchao.registry.views.common import PAGE_SIZE
from tests.factories import first_micro
from tests.registry_factories import build_registry, credit_code, id_number


@pytest.fixture
def reg(tree):
    return build_registry(tree)


@pytest.fixture
def staff(client, tree):
    client.force_login(tree.users["community_staff"])
    return client


@pytest.fixture
def member(client, tree):
    client.force_login(tree.users["microgrid_member"])
    return client


def get(client, url, params=None, **headers):
    response = client.get(url, params or {}, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def url(name, *args):
    return reverse(f"registry:{name}", args=args)


# ---- residents: the list ----------------------------------------------------------------------------


def test_resident_list_shows_the_viewers_residents_masked(staff, reg):
    html = get(staff, url("residents"))
    assert "张三" in html and "張四" in html and "李梅" in html
    assert "王五" not in html  # street B
    assert reg.residents["zhang_san"].masked_phone in html
    assert "13800000001" not in html and "13900000002" not in html


@pytest.mark.parametrize(
    ("query", "found", "not_found"),
    [
        ("zs", {"张三", "張四"}, {"李梅"}),  # initials of 张三 and 張四 (zhang si)
        ("zhangsan", {"张三"}, {"張四", "李梅"}),
        ("张", {"张三", "張四"}, {"李梅"}),  # simplified finds traditional too
        ("0001", {"张三"}, {"張四", "李梅"}),  # last four of the phone
        ("13900000002", {"李梅"}, {"张三"}),  # a whole phone
        ("1栋102", {"李梅"}, {"张三"}),  # the address
    ],
)
def test_resident_search_box(staff, reg, query, found, not_found):
    html = get(staff, url("residents"), {"q": query})
    for name in found:
        assert name in html, name
    for name in not_found:
        assert name not in html, name


def test_resident_filters(staff, reg, tree):
    zhang_si = reg.residents["zhang_si"]
    services.update_resident(None, zhang_si, is_party_member="是", residence_type="floating")
    html = get(staff, url("residents"), {"care_tag": "elderly_alone"})
    assert "张三" in html and "張四" not in html
    html = get(staff, url("residents"), {"party_member": "1"})
    assert "張四" in html and "张三" not in html
    html = get(staff, url("residents"), {"residence_type": "floating"})
    assert "張四" in html and "李梅" not in html
    html = get(staff, url("residents"), {"area": tree.grid_a2.pk})
    assert "张三" not in html and "Nothing found" in html
    services.end_residence(None, reg.residents["li_mei"], status="moved_out")
    assert "李梅" not in get(staff, url("residents"))
    assert "李梅" in get(staff, url("residents"), {"status": "moved_out"})
    assert "李梅" in get(staff, url("residents"), {"status": "all"})


def test_resident_list_refuses_bad_filters_politely_and_other_areas_with_404(staff, reg, tree):
    html = get(staff, url("residents"), {"residence_type": "martian"})
    assert "is not one of" in html and "张三" not in html
    html = get(staff, url("residents"), {"care_tag": "nope"})
    assert "is not a care tag" in html
    assert staff.get(url("residents"), {"area": tree.street_b.pk}).status_code == 404
    assert staff.get(url("residents"), {"area": "abc"}).status_code == 200  # named as a filter error


def test_live_search_answers_with_the_results_only(staff, reg):
    html = get(staff, url("residents"), {"q": "zs"}, HTTP_HX_REQUEST="true")
    assert "<html" not in html and 'id="results"' in html and "张三" in html


def test_list_links_to_the_export_with_the_same_filters(staff, reg):
    from django.urls import NoReverseMatch

    try:
        export = reverse("registry_excel:export", args=["residents"])
    except NoReverseMatch:
        pytest.skip("the Excel export pages are not wired up yet")
    html = get(staff, url("residents"), {"q": "zs", "care_tag": "elderly_alone"})
    assert f"{export}?q=zs&amp;care_tag=elderly_alone" in html


STEMS = "甲乙丙丁戊己庚辛壬癸"


def make_residents(tree, n, start=0):
    micro = first_micro(tree, tree.grid_a1)
    for i in range(start, start + n):
        household = services.create_household(None, area=micro, address=f"和美路{i}号")
        resident = services.create_resident(
            None,
            household=household,
            name=f"居{STEMS[i // 10 % 10]}{STEMS[i % 10]}",
            phone=f"135{i:08d}",
            relation="head",
        )
        services.set_care_tags(None, resident, [CareTag.objects.get(code="disabled")])


def count_queries(client, target, params=None):
    with CaptureQueriesContext(connection) as ctx:
        get(client, target, params)
    return len(ctx.captured_queries)


def add_records(tree, n, start=0):
    """n residents (each in a household of their own), buildings, places and organisations in street A."""
    micro = first_micro(tree, tree.grid_a1)
    make_residents(tree, n, start)
    for i in range(start, start + n):
        building = services.create_building(None, micro, name=f"{i}栋")
        services.generate_rooms(None, building, units=1, floors=1, rooms_per_floor=1)
        services.create_place(None, micro, kind="shop", name=f"商店{i}", phone=f"136{i:08d}")
        services.create_organisation(None, tree.grid_a1, kind="social_organisation", name=f"协会{i}")


LIST_NAMES = ["residents", "households", "buildings", "places", "organisations"]


@pytest.mark.parametrize("name", LIST_NAMES)
def test_list_queries_do_not_grow_with_the_rows(staff, tree, name, django_assert_max_num_queries):
    add_records(tree, 2)
    few = count_queries(staff, url(name))
    add_records(tree, PAGE_SIZE + 5, start=2)
    with django_assert_max_num_queries(few):
        html = get(staff, url(name))
    assert "Next page" in html


def row_pk(row):
    return row.pk if hasattr(row, "pk") else next(v.pk for v in row.values() if hasattr(v, "pk"))


@pytest.mark.parametrize("name", LIST_NAMES)
def test_every_list_pages_through_all_rows_once(staff, tree, name):
    add_records(tree, PAGE_SIZE + 4)
    seen, target, pages = [], url(name), 0
    while target:
        response = staff.get(target)
        seen += [row_pk(row) for row in response.context["rows"]]
        following = response.context["next_url"]
        target = url(name) + following if following else None
        pages += 1
    model = {"residents": Resident, "households": Household, "buildings": Building, "places": Place}.get(
        name, Organisation
    )
    expected = {"residents": Resident.objects.filter(status="living")}.get(name, model.objects.all())
    assert pages == 2 and len(seen) == len(set(seen)) == expected.count()


def test_resident_list_pages_by_keyset_without_gaps_or_repeats(staff, tree):
    make_residents(tree, PAGE_SIZE + 7)
    first = staff.get(url("residents"))
    rows = [r["resident"].pk for r in first.context["rows"]]
    assert len(rows) == PAGE_SIZE
    second = staff.get(url("residents") + first.context["next_url"])
    more = [r["resident"].pk for r in second.context["rows"]]
    assert len(more) == 7 and not set(rows) & set(more)
    assert second.context["next_url"] is None
    # a tampered cursor starts again from the first page instead of failing
    assert staff.get(url("residents"), {"cursor": "forged"}).status_code == 200


# ---- residents: detail and unmasking -------------------------------------------------------------


def test_resident_detail_is_masked_with_household_care_tags_and_moves(staff, reg):
    zhang = reg.residents["zhang_san"]
    html = get(staff, url("resident_detail", zhang.pk))
    assert zhang.masked_id_number in html and zhang.masked_phone in html
    assert zhang.id_number not in html and zhang.phone not in html
    assert reg.households["zhang"].address in html
    assert "独居老人" in html
    assert "Show in full" in html  # community staff may unmask, on request


def test_members_see_masked_values_and_no_way_to_unmask(member, reg):
    zhang = reg.residents["zhang_san"]
    html = get(member, url("resident_detail", zhang.pk))
    assert zhang.masked_phone in html and zhang.phone not in html
    assert "Show in full" not in html and url("reveal", "resident", zhang.pk) not in html
    response = member.post(url("reveal", "resident", zhang.pk), {"reason": "想看看"})
    assert response.status_code == 403
    assert not AccessLog.objects.exists()


def test_staff_reveal_with_a_reason_shows_the_values_in_place_and_logs_it(staff, reg, tree):
    zhang = reg.residents["zhang_san"]
    response = staff.post(url("reveal", "resident", zhang.pk), {"reason": "上门走访核实"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert zhang.phone in html and zhang.id_number in html
    log = AccessLog.objects.get()
    assert log.actor == tree.users["community_staff"] and log.reason == "上门走访核实"
    assert log.subject_id == zhang.pk and log.fields == ["id_number", "phone"] and log.channel == "page"


def test_reveal_without_a_reason_asks_for_one_and_logs_nothing(staff, reg):
    zhang = reg.residents["zhang_san"]
    html = staff.post(url("reveal", "resident", zhang.pk), {"reason": " "}, HTTP_HX_REQUEST="true").content.decode()
    assert "Say why you need to see this in full" in html and zhang.phone not in html
    assert not AccessLog.objects.exists()


def test_reveal_without_javascript_answers_with_a_page(staff, reg):
    place = reg.places["shop"]
    html = staff.post(url("reveal", "place", place.pk), {"reason": "消防检查"}).content.decode()
    assert "<html" in html and "13600000004" in html
    assert AccessLog.objects.get().subject_type == "place"


def test_reveal_of_others_records_is_404(staff, reg):
    wang = reg.residents["wang_wu"]
    assert staff.post(url("reveal", "resident", wang.pk), {"reason": "想看看"}).status_code == 404
    assert staff.get(url("reveal", "resident", reg.residents["zhang_san"].pk)).status_code == 405
    assert staff.post(url("reveal", "spaceship", 1), {"reason": "想看看"}).status_code == 404
    assert not AccessLog.objects.exists()


def test_organisation_member_phone_can_be_revealed(staff, reg, tree):
    branch = reg.organisations["branch"]
    member = services.add_organisation_member(None, branch, name="赵六", phone="13512345678", position="书记")
    html = get(staff, url("organisation_detail", branch.pk))
    assert "赵六" in html and "13512345678" not in html and member.masked_phone in html
    html = staff.post(url("reveal", "member", member.pk), {"reason": "联系书记"}, HTTP_HX_REQUEST="true").content
    assert "13512345678" in html.decode()
    assert AccessLog.objects.get().subject_type == "organisation_member"


# ---- residents: forms --------------------------------------------------------------------------------


def resident_post(**overrides):
    data = {"name": "王小明", "id_type": "resident_id", "residence_type": "registered", "relation": "child"}
    data.update(overrides)
    return data


def test_add_a_resident_to_a_household_with_care_tags(staff, reg):
    household = reg.households["li"]
    tag = CareTag.objects.get(code="left_behind_child")
    response = staff.post(
        url("resident_create") + f"?household={household.pk}",
        resident_post(id_number=id_number("20150601", "031"), phone="13711112222", care_tags=[tag.pk]),
    )
    resident = Resident.objects.get(name="王小明")
    assert response.status_code == 302 and response.url == url("resident_detail", resident.pk)
    assert resident.household == household and resident.birth_date == datetime.date(2015, 6, 1)
    assert resident.gender == "male" and resident.phone == "13711112222"
    assert list(resident.care_tags.all()) == [tag]
    assert AuditEvent.objects.filter(action="registry.resident_created", object_id=str(resident.pk)).exists()


def test_add_a_resident_in_a_micro_grid_without_a_household(staff, tree):
    micro = first_micro(tree, tree.grid_a1)
    response = staff.post(url("resident_create"), resident_post(area=micro.pk, relation=""))
    assert response.status_code == 302
    assert Resident.objects.get(name="王小明").area == micro


def test_bad_resident_input_names_the_field_and_writes_nothing(staff, reg, tree):
    household = reg.households["li"]
    target = url("resident_create") + f"?household={household.pk}"
    response = staff.post(target, resident_post(id_number="510108201506010311", phone="12345"))
    form = response.context["form"]
    assert response.status_code == 200
    assert "check character" in form.errors["id_number"][0]
    assert "Not a phone number" in form.errors["phone"][0]
    response = staff.post(target, resident_post(id_number=reg.residents["zhang_san"].id_number))
    assert "already in the registry" in response.context["form"].errors["id_number"][0]
    response = staff.post(url("resident_create"), resident_post(area=tree.grid_a1.pk))
    assert response.context["form"].errors["area"]  # a grid is no place for a resident
    assert not Resident.objects.filter(name="王小明").exists()


def test_residents_cannot_be_added_to_others_households(staff, reg, tree):
    wang = reg.households["wang"]
    assert staff.get(url("resident_create") + f"?household={wang.pk}").status_code == 404
    micro_b = first_micro(tree, tree.grid_b1)
    response = staff.post(url("resident_create"), resident_post(area=micro_b.pk))
    assert response.status_code == 200 and response.context["form"].errors["area"]
    assert not Resident.objects.filter(name="王小明").exists()


def test_edit_a_resident_keeps_masked_values_unless_replaced(staff, reg):
    zhang = reg.residents["zhang_san"]
    html = get(staff, url("resident_edit", zhang.pk))
    assert zhang.phone not in html and zhang.id_number not in html and zhang.masked_phone in html
    form = staff.get(url("resident_edit", zhang.pk)).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(name="张叁", notes="腿脚不便", is_party_member="on")
    response = staff.post(url("resident_edit", zhang.pk), data)
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.name == "张叁" and zhang.notes == "腿脚不便" and zhang.is_party_member
    assert zhang.phone == "13800000001" and zhang.id_number  # kept

    data = {**staff.get(url("resident_edit", zhang.pk)).context["form"].initial, "clear_phone": "on"}
    staff.post(url("resident_edit", zhang.pk), {k: v for k, v in data.items() if v is not None})
    zhang.refresh_from_db()
    assert zhang.phone == ""


def test_editing_over_someone_elses_change_is_refused_with_a_clear_message(staff, reg):
    zhang = reg.residents["zhang_san"]
    loaded = staff.get(url("resident_edit", zhang.pk)).context["form"].initial
    services.update_resident(None, zhang, notes="别人刚改的")
    data = {k: v for k, v in loaded.items() if v is not None}
    data["name"] = "张叁"
    response = staff.post(url("resident_edit", zhang.pk), data)
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    zhang.refresh_from_db()
    assert zhang.name == "张三" and zhang.notes == "别人刚改的"


def test_care_tags_form(staff, reg):
    zhang = reg.residents["zhang_san"]
    disabled = CareTag.objects.get(code="disabled")
    response = staff.post(url("resident_care_tags", zhang.pk), {"care_tags": [disabled.pk]})
    assert response.status_code == 302
    assert [t.code for t in zhang.care_tags.all()] == ["disabled"]
    assert AuditEvent.objects.filter(action="registry.care_tags_changed").exists()


def test_move_a_resident_to_a_household_found_by_address(staff, reg):
    zhang_si = reg.residents["zhang_si"]
    li = reg.households["li"]
    html = get(staff, url("resident_move", zhang_si.pk), {"q": "102"}, HTTP_HX_REQUEST="true")
    assert li.address in html and 'name="household"' in html
    assert reg.households["wang"].address not in get(staff, url("resident_move", zhang_si.pk), {"q": "301"})
    response = staff.post(
        url("resident_move", zhang_si.pk), {"household": li.pk, "relation": "tenant", "reason": "租住"}
    )
    assert response.status_code == 302
    zhang_si.refresh_from_db()
    assert zhang_si.household == li and zhang_si.relation == "tenant"
    html = get(staff, url("resident_detail", zhang_si.pk))
    assert "租住" in html and li.address in html


def test_moving_into_a_household_outside_the_scope_is_refused(staff, reg):
    zhang_si = reg.residents["zhang_si"]
    response = staff.post(url("resident_move", zhang_si.pk), {"household": reg.households["wang"].pk})
    assert response.status_code == 200 and response.context["form"].errors["household"]
    zhang_si.refresh_from_db()
    assert zhang_si.household == reg.households["zhang"]


def test_mark_a_resident_deceased(staff, reg):
    zhang = reg.residents["zhang_san"]
    response = staff.post(url("resident_leave", zhang.pk), {"status": "deceased", "reason": "病故", "on": "2026-01-05"})
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.status == "deceased" and timezone.localtime(zhang.moved_out_at).date() == datetime.date(2026, 1, 5)
    assert "病故" in get(staff, url("resident_detail", zhang.pk))
    assert staff.get(url("resident_leave", zhang.pk)).status_code == 404  # only the living leave
    response = staff.post(url("resident_leave", reg.residents["li_mei"].pk), {"status": "vanished"})
    assert response.status_code == 200 and response.context["form"].errors["status"]


# ---- households --------------------------------------------------------------------------------------


def test_household_list_and_detail(staff, reg):
    html = get(staff, url("households"))
    assert reg.households["zhang"].address in html and reg.households["wang"].address not in html
    html = get(staff, url("household_detail", reg.households["zhang"].pk))
    assert "张三" in html and "張四" in html and "Head" in html
    assert reg.residents["zhang_san"].masked_phone in html and "13800000001" not in html


def test_add_a_household_in_a_room_of_a_building(staff, reg):
    building = reg.buildings["a"]
    response = staff.post(
        url("household_create"), {"building": building.pk, "unit": "", "room": "201", "number": "H-9"}
    )
    household = Household.objects.get(number="H-9")
    assert response.status_code == 302 and household.room.number == "201" and household.room.floor == 2
    assert household.area == building.area


def test_a_taken_address_is_refused_without_leaving_a_new_room_behind(staff, reg):
    building = reg.buildings["a"]
    rooms = Room.objects.count()
    reg_address = reg.households["zhang"].address
    response = staff.post(url("household_create"), {"area": building.area.pk, "address": reg_address})
    assert "already lives" in response.context["form"].errors["address"][0]
    Household.objects.filter(pk=reg.households["li"].pk).update(address_key="x")  # not a clash any more
    clash = services.address_of(building, Room(unit="", number="301"))
    services.create_household(None, area=building.area, address=clash)
    response = staff.post(url("household_create"), {"building": building.pk, "room": "301"})
    assert response.status_code == 200 and "already lives" in str(response.context["form"].errors)
    assert Room.objects.count() == rooms  # the room named on the failed form was not kept


def test_household_form_says_what_is_missing(staff, reg):
    response = staff.post(url("household_create"), {})
    assert "Choose a building and room" in response.context["form"].errors["building"][0]
    response = staff.post(url("household_create"), {"building": reg.buildings["a"].pk})
    assert response.context["form"].errors["room"]


def test_edit_household_head_move_and_move_out(staff, reg):
    household = reg.households["zhang"]
    zhang_si = reg.residents["zhang_si"]
    loaded = staff.get(url("household_edit", household.pk)).context["form"].initial
    response = staff.post(
        url("household_edit", household.pk),
        {"expected_updated_at": loaded["expected_updated_at"], "number": "H-1", "head": zhang_si.pk, "notes": ""},
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.head == zhang_si and household.number == "H-1"

    response = staff.post(
        url("household_move", household.pk), {"building": reg.buildings["a"].pk, "room": "502", "reason": "换房"}
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.room.number == "502"
    assert "换房" in get(staff, url("household_detail", household.pk))

    response = staff.post(url("household_moved_out", household.pk), {"reason": "迁往外地"})
    assert response.status_code == 302
    household.refresh_from_db()
    assert not household.is_active
    assert set(Resident.objects.filter(household=household).values_list("status", flat=True)) == {"moved_out"}
    assert staff.get(url("household_edit", household.pk)).status_code == 404


def test_household_edit_over_a_change_is_stale(staff, reg):
    household = reg.households["zhang"]
    loaded = staff.get(url("household_edit", household.pk)).context["form"].initial
    services.update_household(None, household, notes="刚改")
    response = staff.post(
        url("household_edit", household.pk),
        {"expected_updated_at": loaded["expected_updated_at"], "number": "H-2", "notes": ""},
    )
    assert "Someone else changed this record" in response.content.decode()
    household.refresh_from_db()
    assert household.number == "H-0001"


# ---- buildings ---------------------------------------------------------------------------------------


def test_building_page_shows_rooms_by_floor_and_who_lives_there_masked(staff, reg):
    building = reg.buildings["a"]
    services.generate_rooms(None, building, units=2, floors=3, rooms_per_floor=2)
    response = staff.get(url("building_detail", building.pk))
    html = response.content.decode()
    units = response.context["units"]
    assert [u["unit"] for u in units] == ["", "1", "2"]
    assert [f["floor"] for f in units[1]["floors"]] == [3, 2, 1]  # top floor first
    assert "张三" in html and "張四" in html and "李梅" in html
    assert reg.residents["zhang_san"].masked_phone in html and "13800000001" not in html


def test_generate_rooms_and_refuse_too_many(staff, reg):
    building = reg.buildings["a"]
    response = staff.post(url("building_rooms", building.pk), {"units": 2, "floors": 6, "rooms_per_floor": 4})
    assert response.status_code == 302
    assert Room.objects.filter(building=building, unit="2").count() == 24
    response = staff.post(url("building_rooms", building.pk), {"units": 2, "floors": 500, "rooms_per_floor": 4})
    assert response.status_code == 200 and response.context["form"].errors["floors"]


def test_create_and_edit_a_building(staff, tree, reg):
    micro = first_micro(tree, tree.grid_a1)
    response = staff.post(
        url("building_create"), {"area": micro.pk, "name": "2栋", "address": "和美路2号", "lon": "104.01"}
    )
    building = Building.objects.get(name="2栋")
    assert response.status_code == 302 and building.lon == 104.01
    response = staff.post(url("building_create"), {"area": micro.pk, "name": "2栋"})
    assert "already has a building" in response.context["form"].errors["name"][0]
    response = staff.post(url("building_create"), {"area": micro.pk, "name": "3栋", "lat": "95"})
    assert response.context["form"].errors["lat"]
    loaded = staff.get(url("building_edit", building.pk)).context["form"].initial
    data = {k: v for k, v in loaded.items() if v is not None}
    response = staff.post(url("building_edit", building.pk), {**data, "name": "2号楼"})
    assert response.status_code == 302
    building.refresh_from_db()
    assert building.name == "2号楼"
    response = staff.post(url("building_edit", building.pk), {**data, "name": "二号楼"})  # loaded before the rename
    assert "Someone else changed this record" in response.content.decode()


# ---- places and organisations -------------------------------------------------------------------------


def test_place_list_filters_and_detail(staff, reg, tree):
    services.create_place(None, tree.grid_a1, kind="school", name="和美小学", is_crowded=True)
    html = get(staff, url("places"), {"kind": "shop"})
    assert "和美便利店" in html and "和美小学" not in html
    html = get(staff, url("places"), {"flag": "is_crowded"})
    assert "和美小学" in html and "和美便利店" not in html
    html = get(staff, url("places"), {"flag": "is_haunted"})
    assert "Choose one of" in html
    html = get(staff, url("place_detail", reg.places["shop"].pk))
    assert "13600000004" not in html and reg.places["shop"].masked_phone in html


def test_create_and_move_a_place(staff, reg, tree):
    micro = first_micro(tree, tree.grid_a1)
    response = staff.post(
        url("place_create") + f"?building={reg.buildings['a'].pk}",
        {"area": micro.pk, "kind": "rental_housing", "name": "幸福公寓", "credit_code": credit_code("91510108MA7")},
    )
    place = Place.objects.get(name="幸福公寓")
    assert response.status_code == 302 and place.building == reg.buildings["a"]
    response = staff.post(
        url("place_create"), {"area": micro.pk, "kind": "shop", "name": "错码店", "credit_code": "123"}
    )
    assert response.context["form"].errors["credit_code"]
    loaded = staff.get(url("place_edit", place.pk)).context["form"].initial
    data = {k: v for k, v in loaded.items() if v not in (None, False)}
    response = staff.post(url("place_edit", place.pk), {**data, "area": tree.grid_a2.pk, "is_crowded": "on"})
    assert response.status_code == 302
    place.refresh_from_db()
    assert place.area == tree.grid_a2 and place.is_crowded and place.grid_pk == tree.grid_a2.pk
    response = staff.post(url("place_edit", place.pk), {**data, "area": tree.grid_b1.pk})
    assert response.context["form"].errors["area"]


def test_organisations_list_create_members(staff, reg, tree):
    html = get(staff, url("organisations"), {"kind": "party_branch"})
    assert "和美社区第一党支部" in html
    assert "和美社区第一党支部" not in get(staff, url("organisations"), {"kind": "owners_committee"})
    response = staff.post(
        url("organisation_create"), {"area": tree.community_a.pk, "kind": "owners_committee", "name": "和美业委会"}
    )
    organisation = Organisation.objects.get(name="和美业委会")
    assert response.status_code == 302
    response = staff.post(
        url("organisation_create"), {"area": tree.community_a.pk, "kind": "owners_committee", "name": "和美业委会"}
    )
    assert "already has an organisation" in response.context["form"].errors["name"][0]

    html = get(staff, url("member_add", organisation.pk), {"q": "zs"}, HTTP_HX_REQUEST="true")
    assert "张三" in html and 'name="resident"' in html
    zhang = reg.residents["zhang_san"]
    response = staff.post(
        url("member_add", organisation.pk), {"resident": zhang.pk, "position": "主任", "is_contact": "on"}
    )
    assert response.status_code == 302
    member = OrganisationMember.objects.get(organisation=organisation)
    assert member.name == "张三" and member.resident == zhang and member.is_contact
    response = staff.post(url("member_add", organisation.pk), {"position": "委员"})
    assert response.context["form"].errors["name"]
    response = staff.post(url("member_add", organisation.pk), {"resident": reg.residents["wang_wu"].pk})
    assert response.context["form"].errors["resident"]  # someone outside the scope cannot be picked

    response = staff.post(url("member_end", organisation.pk, member.pk), {"left_on": "2026-02-01"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.left_on == datetime.date(2026, 2, 1)
    html = get(staff, url("organisation_detail", organisation.pk))
    assert "Former members" in html


# ---- care tags and the access log ---------------------------------------------------------------------


def test_care_tags_page_for_managers_only(client, tree):
    client.force_login(tree.users["microgrid_member"])
    assert client.get(url("care_tags")).status_code == 404
    assert client.post(url("care_tag_create"), {"code": "x", "name": "X"}).status_code == 404
    client.force_login(tree.users["community_staff"])  # the set is the deployment's: district only
    assert client.get(url("care_tags")).status_code == 404
    client.force_login(tree.users["district_admin"])
    assert "独居老人" in get(client, url("care_tags"))
    response = client.post(
        url("care_tag_create"), {"code": "veteran", "name": "退役军人", "position": 20, "is_active": "on"}
    )
    assert response.status_code == 302
    tag = CareTag.objects.get(code="veteran")
    assert tag.is_active and tag.position == 20
    response = client.post(url("care_tag_create"), {"code": "veteran", "name": "又一个", "position": 1})
    assert response.context["form"].errors["code"]
    response = client.post(url("care_tag_create"), {"code": "new-one", "name": "独居老人", "position": 1})
    assert "exists" in response.context["form"].errors["name"][0]
    response = client.post(url("care_tag_edit", tag.pk), {"code": "changed", "name": "退役军人", "position": 3})
    tag.refresh_from_db()
    assert response.status_code == 302 and tag.code == "veteran" and not tag.is_active


@pytest.fixture
def auditor(tree):
    user = accounts.create_user(username="auditor_a", display_name="审计员", phone="13911110000")
    accounts.assign_role(user, "auditor", tree.street_a)
    return user


def test_access_log_lists_reveals_and_exports_for_auditors(client, staff, reg, tree, auditor):
    from fengchao.registry import access

    zhang, li = reg.residents["zhang_san"], reg.residents["li_mei"]
    staff.post(url("reveal", "resident", zhang.pk), {"reason": "核实身份"})
    staff.post(url("reveal", "resident", li.pk), {"reason": "联系家属"})
    access.log_export(
        tree.users["street_staff"],
        subject_type="resident",
        subject_ids=[zhang.pk, reg.residents["zhang_si"].pk],
        area=tree.street_a,
        reason="年度核查",
        fields=["phone"],
        channel="excel",
    )
    client.force_login(auditor)
    html = get(client, url("access_log"))
    assert "核实身份" in html and "联系家属" in html and "年度核查" in html and "2 records" in html
    html = get(client, url("access_log"), {"resident": li.pk})
    assert "联系家属" in html and "核实身份" not in html and "年度核查" not in html
    html = get(client, url("access_log"), {"resident": zhang.pk})
    assert "核实身份" in html and "年度核查" in html  # the export held 张三
    html = get(client, url("access_log"), {"who": "street_staff"})
    assert "年度核查" in html and "核实身份" not in html
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert "核实身份" not in get(client, url("access_log"), {"since": tomorrow.isoformat()})
    html = get(client, url("access_log"), {"since": "2026-02-02", "until": "2026-02-01"})
    assert "before the start date" in html


def test_access_log_is_for_auditors_only_and_queries_stay_constant(client, staff, reg, auditor, tree):
    for who in ("community_staff", "microgrid_member", "street_staff"):
        client.force_login(tree.users[who])
        assert client.get(url("access_log")).status_code == 404
    client.force_login(auditor)
    staff.post(url("reveal", "resident", reg.residents["zhang_san"].pk), {"reason": "一次"})
    few = count_queries(client, url("access_log"))
    for i in range(PAGE_SIZE + 3):
        staff.post(url("reveal", "resident", reg.residents["zhang_san"].pk), {"reason": f"第{i}次"})
    assert count_queries(client, url("access_log")) == few


# ---- the area page and the menu ------------------------------------------------------------------------


def test_area_page_shows_registry_counts_per_child(staff, reg, tree):
    html = get(staff, reverse("areas:detail", args=[tree.community_a.pk]))
    response = staff.get(reverse("areas:detail", args=[tree.community_a.pk]))
    section = response.context["registry"]
    assert section["totals"]["households"] == 2 and section["totals"]["residents"] == 3
    by_area = {row["area"].pk: row for row in section["child_rows"]}
    assert by_area[tree.grid_a1.pk]["residents"] == 3 and by_area[tree.grid_a2.pk]["residents"] == 0
    alone = dict((t.code, n) for t, n in by_area[tree.grid_a1.pk]["care_tags"])
    assert alone["elderly_alone"] == 1
    assert 'id="registry-section"' in html and "独居老人" in html


def test_area_page_hides_the_registry_from_department_handlers(client, reg, tree):
    client.force_login(tree.users["department_handler"])
    response = client.get(reverse("areas:detail", args=[tree.community_a.pk]))
    assert response.status_code == 200 and response.context["registry"] is None
    assert 'id="registry-section"' not in response.content.decode()


def test_area_page_queries_do_not_grow_with_care_subjects(staff, tree, reg):
    target = reverse("areas:detail", args=[tree.community_a.pk])
    few = count_queries(staff, target)
    make_residents(tree, 10)
    assert count_queries(staff, target) == few


@pytest.mark.parametrize(
    ("who", "present", "absent"),
    [
        ("community_staff", {"Residents", "Buildings", "Places", "Organisations"}, {"Care tags", "Access log"}),
        ("microgrid_member", {"Residents", "Buildings"}, {"Care tags", "Access log"}),
        ("district_admin", {"Residents", "Care tags", "Access log"}, set()),
        ("department_handler", {"Areas"}, {"Residents", "Buildings", "Care tags"}),
    ],
)
def test_menu_by_role(client, tree, who, present, absent):
    client.force_login(tree.users[who])
    labels = {str(item["label"]) for item in client.get(reverse("home")).context["nav_items"]}
    assert present <= labels and not absent & labels


def test_auditor_menu_has_the_access_log_only(client, tree, auditor):
    client.force_login(auditor)
    labels = {str(item["label"]) for item in client.get(reverse("home")).context["nav_items"]}
    assert "Access log" in labels and "Residents" not in labels


@pytest.mark.zh_hans
def test_pages_speak_chinese_by_default(staff, reg):
    html = get(staff, url("resident_detail", reg.residents["zhang_san"].pk))
    assert "编辑" in html and "Edit" not in html  # the interface, not only the data, is in Chinese
