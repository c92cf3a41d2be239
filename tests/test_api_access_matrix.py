"""Every role in tests.factories against in-scope and out-of-scope areas, through the API.

The expectation is written out by hand from the tree's shape (not computed by the scoping
helper under test): a role sees its own area and everything below it; merchants and
residents see no area at all.
"""

import pytest
from django.test import Client

from fengchao.accounts import services as accounts
from tests.factories import build_tree, first_micro

pytestmark = pytest.mark.django_db

# Probe areas and the probe directly above each one.
PARENT = {
    "district": None,
    "street_a": "district",
    "community_a": "street_a",
    "grid_a1": "community_a",
    "micro_a1": "grid_a1",
    "dedicated_a": "community_a",
    "street_b": "district",
    "community_b": "street_b",
    "grid_b1": "community_b",
    "micro_b1": "grid_b1",
}

# Where each user's scope starts (None: sees no area).
HOME = {
    "district_admin": "district",
    "street_staff": "street_a",
    "community_staff": "community_a",
    "grid_leader": "grid_a1",
    "microgrid_leader": "micro_a1",
    "microgrid_member": "micro_a1",
    "dedicated_leader": "dedicated_a",
    "department_handler": "street_a",
    "merchant": None,
    "resident": None,
    "outsider_street_staff": "street_b",
    "outsider_community_staff": "community_b",
    "outsider_grid_leader": "grid_b1",
    "outsider_microgrid_leader": "micro_b1",
    "outsider_microgrid_member": "micro_b1",
    "outsider_department_handler": "street_b",
    "outsider_merchant": None,
    "outsider_resident": None,
    "auditor": None,  # reads the access log only
    "outsider_auditor": None,
}


def sees(home, probe):
    while probe is not None:
        if probe == home:
            return True
        probe = PARENT[probe]
    return False


def probes(tree):
    return {
        "district": tree.district,
        "street_a": tree.street_a,
        "community_a": tree.community_a,
        "grid_a1": tree.grid_a1,
        "micro_a1": first_micro(tree, tree.grid_a1),
        "dedicated_a": tree.dedicated_a,
        "street_b": tree.street_b,
        "community_b": tree.community_b,
        "grid_b1": tree.grid_b1,
        "micro_b1": first_micro(tree, tree.grid_b1),
    }


def test_the_matrix_covers_every_user_of_the_factory(db):
    assert set(build_tree().users) == set(HOME)


@pytest.mark.parametrize("username", sorted(HOME))
def test_role_sees_exactly_its_subtree(username):
    tree = build_tree()
    user = tree.users[username]
    home = HOME[username]
    _, raw = accounts.issue_api_token(user, "matrix")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    phones = {u.phone for u in tree.users.values()}
    bodies = []

    for name, area in probes(tree).items():
        expected = 200 if sees(home, name) else 404
        for suffix in ("", "/children", "/members?subtree=1", "/duties"):
            response = client.get(f"/api/areas/{area.pk}{suffix}")
            assert response.status_code == expected, (username, name, suffix, response.status_code)
            if expected == 404:
                assert set(response.json()) == {"detail"}
            bodies.append(response.content.decode())
        listed = client.get("/api/areas", {"q": area.code})
        assert (area.pk in {a["id"] for a in listed.json()["items"]}) == sees(home, name), (username, name)
        bodies.append(listed.content.decode())

    roots = client.get("/api/areas").json()["items"]
    assert [a["id"] for a in roots] == ([probes(tree)[home].pk] if home else [])
    me = client.get("/api/me")
    bodies += [me.content.decode(), str(roots)]

    # The full phone number of anyone never leaves the server through the API.
    for body in bodies:
        for phone in phones:
            assert phone not in body, (username, phone)


def test_session_and_token_see_the_same(tree):
    user = tree.users["grid_leader"]
    session = Client()
    session.force_login(user)
    _, raw = accounts.issue_api_token(user, "t")
    token = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for area in (tree.grid_a1, tree.community_a, tree.grid_b1):
        assert session.get(f"/api/areas/{area.pk}").status_code == token.get(f"/api/areas/{area.pk}").status_code


def test_ended_role_closes_the_scope(tree):
    user = tree.users["community_staff"]
    _, raw = accounts.issue_api_token(user, "t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(f"/api/areas/{tree.grid_a1.pk}").status_code == 200
    accounts.end_role(user.roles.get(), by=tree.users["district_admin"])
    assert client.get(f"/api/areas/{tree.grid_a1.pk}").status_code == 404
    assert client.get("/api/areas").json()["items"] == []
