"""A few registry records in the test tree, made through the real services.

和美一网格1号微网格 (street A): building 1栋 with rooms 1-101 and 1-102;
    household 张家 in 1-101: 张三 (head, phone 13800000001, elderly living alone),
    張四 (traditional characters, spouse); household in 1-102: 李梅
致强一网格1号微网格 (street B): building 9栋, household with 王五 (outside street A's scope)
A shop in grid A1, a party branch in community A.
"""

from dataclasses import dataclass, field

from fengchao.registry import services
from fengchao.registry.models import CareTag
from fengchao.registry.validation import credit_code_check_char

from .factories import Tree, first_micro


def id_number(birth: str, serial: str) -> str:
    """A valid 18-digit ID for a birth date YYYYMMDD and a 3-digit serial, in district 510108."""
    from fengchao.registry.idcard import check_char

    first17 = f"510108{birth}{serial}"
    return first17 + check_char(first17)


def credit_code(body: str = "91510108MA6") -> str:
    first17 = (body + "0" * 17)[:17]
    return first17 + credit_code_check_char(first17)


@dataclass
class Registry:
    buildings: dict = field(default_factory=dict)
    households: dict = field(default_factory=dict)
    residents: dict = field(default_factory=dict)
    places: dict = field(default_factory=dict)
    organisations: dict = field(default_factory=dict)


def build_registry(t: Tree, actor=None) -> Registry:
    r = Registry()
    micro_a = first_micro(t, t.grid_a1)
    micro_b = first_micro(t, t.grid_b1)
    r.buildings["a"] = services.create_building(actor, micro_a, name="1栋", address="和美路1号")
    r.buildings["b"] = services.create_building(actor, micro_b, name="9栋", address="致强路9号")
    services.generate_rooms(actor, r.buildings["a"], units=1, floors=1, rooms_per_floor=2)
    room_101 = r.buildings["a"].rooms.get(number="101")
    room_102 = r.buildings["a"].rooms.get(number="102")
    r.households["zhang"] = services.create_household(actor, room=room_101, number="H-0001")
    r.households["li"] = services.create_household(actor, room=room_102)
    r.households["wang"] = services.create_household(actor, room=services.room_for(r.buildings["b"], "", "301"))
    alone = CareTag.objects.get(code="elderly_alone")
    r.residents["zhang_san"] = services.create_resident(
        actor,
        household=r.households["zhang"],
        name="张三",
        id_number=id_number("19450302", "001"),
        phone="13800000001",
        relation="head",
        care_tags=[alone],
    )
    r.residents["zhang_si"] = services.create_resident(
        actor, household=r.households["zhang"], name="張四", id_number=id_number("19480711", "002"), relation="spouse"
    )
    r.residents["li_mei"] = services.create_resident(
        actor, household=r.households["li"], name="李梅", id_number=id_number("19900101", "022"), phone="13900000002"
    )
    r.residents["wang_wu"] = services.create_resident(
        actor, household=r.households["wang"], name="王五", id_number=id_number("19800505", "011"), phone="13700000003"
    )
    r.places["shop"] = services.create_place(
        actor,
        t.grid_a1,
        kind="shop",
        name="和美便利店",
        address="和美路3号",
        phone="13600000004",
        credit_code=credit_code(),
        is_small_venue=True,
    )
    r.organisations["branch"] = services.create_organisation(
        actor, t.community_a, kind="party_branch", name="和美社区第一党支部", phone="02884000001"
    )
    return r
