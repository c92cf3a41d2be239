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


# ---- cases ---------------------------------------------------------------------------------------------------

# Where each user's case scope starts. Like HOME, except that department handlers see no area's cases,
# only those sent or whistled to their department, and merchants, residents and auditors see none
# (residents see the cases they reported themselves).
CASE_HOME = HOME | {"department_handler": None, "outsider_department_handler": None}
# Who may accept (dispatch) a grid-tier case: community staff and the levels above.
CASE_DISPATCHERS = {"district_admin", "street_staff", "community_staff"}


def test_the_case_matrix_covers_every_user_of_the_factory(db):
    assert set(build_tree().users) == set(CASE_HOME)


@pytest.mark.parametrize("username", sorted(CASE_HOME))
def test_role_sees_and_acts_on_cases_exactly_in_its_subtree(username):
    from fengchao.cases import services as cases
    from fengchao.cases.choices import Tier
    from tests.case_factories import build_categories, report

    tree = build_tree()
    categories = build_categories()
    member = tree.users["microgrid_member"]
    in_a = report(tree, categories.litter, by=member, phone="13800001111")
    in_b = report(tree, categories.litter, by=tree.users["outsider_microgrid_member"], area=probes(tree)["micro_b1"])
    user = tree.users[username]
    _, raw = accounts.issue_api_token(user, "matrix")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    listed = {c["id"] for c in client.get("/api/cases", {"limit": 200}).json()["items"]}
    for case, probe in ((in_a, "micro_a1"), (in_b, "micro_b1")):
        visible = sees(CASE_HOME[username], probe)
        expected = 200 if visible else 404
        for suffix in ("", "/duplicates"):
            response = client.get(f"/api/cases/{case.pk}{suffix}")
            assert response.status_code == expected, (username, probe, suffix, response.status_code)
        assert (case.pk in listed) == visible, (username, probe)
        # Rejecting needs a reason: a dispatcher is told so (422), anyone else who sees it 403, the rest 404.
        refused = client.post(f"/api/cases/{case.pk}/actions/reject", {}, content_type="application/json")
        dispatcher = username.removeprefix("outsider_") in CASE_DISPATCHERS
        assert refused.status_code == (422 if dispatcher else 403) if visible else 404, (username, probe)
        if not visible:
            # Every step on a case out of scope is 404 too, whatever the body.
            steps = {
                "notes": {"note": "x"},
                "whistle": {"level": "daily", "departments": [tree.department.pk], "reason": "x"},
                "report-in": {},
                "part": {"note": "x"},
                "supervise": {"level": 1, "instruction": "x"},
                "follow-up": {"note": "x"},
                "actions/accept": {},
            }
            for step, body in steps.items():
                response = client.post(f"/api/cases/{case.pk}/{step}", body, content_type="application/json")
                assert response.status_code == 404, (username, probe, step, response.status_code)
        assert "13800001111" not in client.get(f"/api/cases/{case.pk}").content.decode()

    # Sent to the district's urban-management bureau: its handler serving street A now sees that case;
    # the bureau's handler serving street B does not (a department role is held in an area, too).
    dispatcher = tree.users["community_staff"]
    for name in ("accept", "register"):
        cases.transition(in_a, name, by=dispatcher)
    cases.dispatch(in_a, by=dispatcher, tier=Tier.DEPARTMENT, department=tree.department)
    department_sees = sees(CASE_HOME[username], "micro_a1") or username == "department_handler"
    assert client.get(f"/api/cases/{in_a.pk}").status_code == (200 if department_sees else 404), username
