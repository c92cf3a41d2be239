"""Every role (and its outsider twin) against registry records in and out of its scope: 200, 403 or 404.

Masked values everywhere; only full-view roles can reveal, and each reveal writes one access-log row.
"""

import pytest
from django.urls import reverse

from fengchao.accounts.roles import Role
from fengchao.registry import services
from fengchao.registry.models import AccessLog, Organisation, Place, Resident
from tests.factories import first_micro
from tests.registry_factories import build_registry

A_ALL = {"A.resident", "A.household", "A.building", "A.place", "A.org", "A.dedicated_place"}
B_ALL = {"B.resident", "B.household", "B.building", "B.place", "B.org"}
A_MICRO = {"A.resident", "A.household", "A.building"}
B_MICRO = {"B.resident", "B.household", "B.building"}
# What each user may open, written out by hand rather than derived from the code under test.
SEES = {
    "district_admin": A_ALL | B_ALL,
    "street_staff": A_ALL,
    "community_staff": A_ALL,
    "grid_leader": A_MICRO | {"A.place"},  # the shop sits in grid A1; the branch in the community above
    "microgrid_leader": A_MICRO,
    "microgrid_member": A_MICRO,
    "dedicated_leader": {"A.dedicated_place"},
    "department_handler": set(),
    "merchant": set(),
    "resident": set(),
    "auditor": set(),
    "outsider_street_staff": B_ALL,
    "outsider_community_staff": B_ALL,
    "outsider_grid_leader": B_MICRO | {"B.place"},
    "outsider_microgrid_leader": B_MICRO,
    "outsider_microgrid_member": B_MICRO,
    "outsider_department_handler": set(),
    "outsider_merchant": set(),
    "outsider_resident": set(),
    "outsider_auditor": set(),
}
UNMASKS = {
    "district_admin",
    "street_staff",
    "community_staff",
    "grid_leader",
    "outsider_street_staff",
    "outsider_community_staff",
    "outsider_grid_leader",
}
USES_REGISTRY = {
    who
    for who in SEES
    if who.removeprefix("outsider_") not in {"department_handler", "merchant", "resident", "auditor"}
}
REVEAL_KIND = {"resident": "resident", "place": "place", "org": "organisation"}
PAGES = {
    "resident": ["resident_detail", "resident_edit", "resident_care_tags", "resident_move", "resident_leave"],
    "household": ["household_detail", "household_edit", "household_move", "household_moved_out"],
    "building": ["building_detail", "building_edit", "building_rooms"],
    "place": ["place_detail", "place_edit"],
    "org": ["organisation_detail", "organisation_edit", "member_add"],
}
LISTS = ["residents", "households", "buildings", "places", "organisations"]
CREATES = ["resident_create", "household_create", "building_create", "place_create", "organisation_create"]


@pytest.fixture
def world(tree):
    reg = build_registry(tree)
    objects = {
        "A.resident": reg.residents["zhang_san"],
        "B.resident": reg.residents["wang_wu"],
        "A.household": reg.households["zhang"],
        "B.household": reg.households["wang"],
        "A.building": reg.buildings["a"],
        "B.building": reg.buildings["b"],
        "A.place": reg.places["shop"],
        "A.org": reg.organisations["branch"],
        "A.dedicated_place": services.create_place(
            None, tree.dedicated_a, kind="hospital", name="和美医院", phone="02884000009"
        ),
        "B.place": services.create_place(None, tree.grid_b1, kind="shop", name="致强超市", phone="13600000008"),
        "B.org": services.create_organisation(
            None, tree.community_b, kind="party_branch", name="致强社区党支部", phone="02884000002"
        ),
    }
    return tree, objects


def test_every_user_is_in_the_matrix(world):
    tree, _objects = world
    assert set(tree.users) == set(SEES)
    assert {r.value for r in Role} <= set(SEES)


def secrets() -> list[str]:
    """Every ID number and phone in the registry, in full."""
    values = []
    for resident in Resident.objects.all():
        values += [resident.id_number, resident.phone]
    for model in (Place, Organisation):
        values += [obj.phone for obj in model.objects.all()]
    return [v for v in values if v]


@pytest.mark.parametrize("who", sorted(SEES))
def test_registry_pages_by_scope(client, world, who):
    tree, objects = world
    client.force_login(tree.users[who])
    hidden = secrets()
    results, expected, leaks, reveal_offers = {}, {}, [], []
    for label, obj in objects.items():
        kind = label.split(".")[1].replace("dedicated_", "")
        for name in PAGES[kind]:
            response = client.get(reverse(f"registry:{name}", args=[obj.pk]))
            results[f"{name} {label}"] = response.status_code
            expected[f"{name} {label}"] = 200 if label in SEES[who] else 404
            html = response.content.decode()
            leaks += [f"{name} {label}" for value in hidden if value in html]
            if name.endswith("_detail") and "Show in full" in html:
                reveal_offers.append(label)
    for name in LISTS + CREATES:
        results[name] = client.get(reverse(f"registry:{name}")).status_code
        expected[name] = 200 if who in USES_REGISTRY else 404
        if who in USES_REGISTRY:
            html = client.get(reverse(f"registry:{name}")).content.decode()
            leaks += [name for value in hidden if value in html]
    results["access log"] = client.get(reverse("registry:access_log")).status_code
    expected["access log"] = 200 if who in {"auditor", "outsider_auditor", "district_admin"} else 404
    assert results == expected
    assert leaks == []  # masked output for everyone
    reveal_seen = {
        label for label in SEES[who] if label.split(".")[1] in ("resident", "place", "org", "dedicated_place")
    }
    assert set(reveal_offers) == (reveal_seen if who in UNMASKS else set())


@pytest.mark.parametrize("who", sorted(SEES))
def test_only_full_view_roles_reveal_and_every_reveal_is_logged(client, world, who):
    tree, objects = world
    client.force_login(tree.users[who])
    results, expected = {}, {}
    for label in ("A.resident", "B.resident", "A.place", "B.place", "A.org", "B.org"):
        obj = objects[label]
        kind = REVEAL_KIND[label.split(".")[1]]
        before = AccessLog.objects.count()
        response = client.post(reverse("registry:reveal", args=[kind, obj.pk]), {"reason": "核实"})
        results[label] = response.status_code
        if label not in SEES[who]:
            expected[label] = 404
        else:
            expected[label] = 200 if who in UNMASKS else 403
        logged = AccessLog.objects.count() - before
        assert logged == (1 if results[label] == 200 else 0), label
        if results[label] == 200:
            assert obj.phone in response.content.decode()
            log = AccessLog.objects.latest("pk")
            assert log.actor == tree.users[who] and log.reason == "核实" and log.subject_id == obj.pk
    assert results == expected


def test_reveal_never_offered_to_micro_grid_members_even_on_their_own_building(client, world):
    tree, objects = world
    micro = first_micro(tree, tree.grid_a1)
    assert objects["A.building"].area == micro
    for who in ("microgrid_member", "microgrid_leader", "dedicated_leader"):
        client.force_login(tree.users[who])
        for label in SEES[who]:
            obj = objects[label]
            kind = label.split(".")[1]
            if kind in ("resident", "place", "org", "dedicated_place"):
                name = {"resident": "resident", "org": "organisation"}.get(kind, "place")
                html = client.get(reverse(f"registry:{name}_detail", args=[obj.pk])).content.decode()
                assert "Show in full" not in html and "registry/reveal" not in html


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    _tree, objects = world
    urls = [reverse(f"registry:{name}") for name in LISTS + CREATES]
    urls += [reverse("registry:resident_detail", args=[objects["A.resident"].pk])]
    urls += [reverse("registry:care_tags"), reverse("registry:access_log")]
    for target in urls:
        response = client.get(target)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), target
    response = client.post(reverse("registry:reveal", args=["resident", objects["A.resident"].pk]), {"reason": "x"})
    assert response.status_code == 302 and not AccessLog.objects.exists()
