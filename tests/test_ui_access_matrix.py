"""Every role (and its outsider twin) against areas and people in and out of its scope: 200 or 404."""

import pytest
from django.urls import reverse

from fengchao.accounts.roles import Role
from tests.factories import first_micro

A_SIDE = {"A.community", "A.grid", "A.micro", "A.dedicated"}
B_SIDE = {"B.community", "B.grid", "B.micro"}
# What each user may see, written out by hand rather than derived from the code under test.
SEES = {
    "district_admin": A_SIDE | B_SIDE,
    "street_staff": A_SIDE,
    "community_staff": A_SIDE,
    "grid_leader": {"A.grid", "A.micro"},
    "microgrid_leader": {"A.micro"},
    "microgrid_member": {"A.micro"},
    "dedicated_leader": {"A.dedicated"},
    "department_handler": A_SIDE,
    "merchant": set(),
    "resident": set(),
    "auditor": set(),
    "outsider_street_staff": B_SIDE,
    "outsider_community_staff": B_SIDE,
    "outsider_grid_leader": {"B.grid", "B.micro"},
    "outsider_microgrid_leader": {"B.micro"},
    "outsider_microgrid_member": {"B.micro"},
    "outsider_department_handler": B_SIDE,
    "outsider_merchant": set(),
    "outsider_resident": set(),
    "outsider_auditor": set(),
}
# Where the management forms open (area page's own edit/move/boundary vs. adding below / duties).
EDITS = {
    "district_admin": A_SIDE | B_SIDE,
    "street_staff": A_SIDE,
    "community_staff": {"A.grid", "A.micro", "A.dedicated"},
    "outsider_street_staff": B_SIDE,
    "outsider_community_staff": {"B.grid", "B.micro"},
}
MANAGES_BELOW = {
    "district_admin": A_SIDE | B_SIDE,
    "street_staff": A_SIDE,
    "community_staff": A_SIDE,
    "outsider_street_staff": B_SIDE,
    "outsider_community_staff": B_SIDE,
}
# People whose pages are checked, and the area where they serve.
PEOPLE = {
    "grid_leader": "A.grid",
    "microgrid_member": "A.micro",
    "outsider_grid_leader": "B.grid",
    "outsider_microgrid_member": "B.micro",
}
QR_KINDS = {"community", "grid", "dedicated"}


def test_every_factory_user_is_in_the_matrix(tree):
    assert set(tree.users) == set(SEES)
    assert {r.value for r in Role} <= set(SEES)


def targets(tree):
    return {
        "A.community": tree.community_a,
        "A.grid": tree.grid_a1,
        "A.micro": first_micro(tree, tree.grid_a1),
        "A.dedicated": tree.dedicated_a,
        "B.community": tree.community_b,
        "B.grid": tree.grid_b1,
        "B.micro": first_micro(tree, tree.grid_b1),
    }


def status(client, url):
    return client.get(url).status_code


@pytest.mark.parametrize("who", sorted(SEES))
def test_pages_by_scope(client, tree, who):
    client.force_login(tree.users[who])
    results, expected = {}, {}
    for label, area in targets(tree).items():
        results[f"page {label}"] = status(client, reverse("areas:detail", args=[area.pk]))
        expected[f"page {label}"] = 200 if label in SEES[who] else 404
        results[f"qr {label}"] = status(client, reverse("areas:qr_sheet", args=[area.pk]))
        expected[f"qr {label}"] = 200 if label in SEES[who] and area.kind in QR_KINDS else 404
        for name in ("edit", "move", "boundary"):
            results[f"{name} {label}"] = status(client, reverse(f"areas:{name}", args=[area.pk]))
            expected[f"{name} {label}"] = 200 if label in EDITS.get(who, set()) else 404
        for name in ("add_child", "duties", "import"):
            code = status(client, reverse(f"areas:{name}", args=[area.pk]))
            results[f"{name} {label}"] = 200 if code == 302 else code  # a micro-grid's add redirects back
            expected[f"{name} {label}"] = 200 if label in MANAGES_BELOW.get(who, set()) else 404
    for person, label in PEOPLE.items():
        results[f"person {person}"] = status(client, reverse("people:detail", args=[tree.users[person].pk]))
        expected[f"person {person}"] = 200 if label in SEES[who] else 404
    serving = bool(SEES[who])
    results["browse"] = status(client, reverse("areas:browse"))
    results["locate"] = status(client, reverse("areas:locate"))
    results["boundary check"] = status(client, reverse("areas:boundary_check"))
    expected.update(
        browse=200 if serving else 404,
        locate=200 if serving else 404,
        **{"boundary check": 200 if who in MANAGES_BELOW else 404},
    )
    assert results == expected


def test_people_page_shows_only_roles_in_the_viewers_scope(client, tree):
    from fengchao.accounts import services as accounts

    person = tree.users["grid_leader"]
    accounts.assign_role(person, "microgrid_member", first_micro(tree, tree.grid_b1))
    client.force_login(tree.users["community_staff"])
    html = client.get(reverse("people:detail", args=[person.pk])).content.decode()
    assert "和美一网格" in html and "致强一网格" not in html
    assert person.phone not in html and person.masked_phone in html


def test_anonymous_visitors_are_sent_to_log_in(client, tree):
    urls = [
        reverse("areas:browse"),
        reverse("areas:locate"),
        reverse("areas:boundary_check"),
        reverse("areas:detail", args=[tree.community_a.pk]),
        reverse("areas:qr_sheet", args=[tree.community_a.pk]),
        reverse("areas:edit", args=[tree.grid_a1.pk]),
        reverse("areas:add_child", args=[tree.grid_a1.pk]),
        reverse("areas:duties", args=[tree.grid_a1.pk]),
        reverse("areas:import", args=[tree.grid_a1.pk]),
        reverse("people:detail", args=[tree.users["grid_leader"].pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


# ---- the staff case pages ---------------------------------------------------------------------------------------

# Which of three cases each user sees: one in grid A1's first micro-grid, one in grid B1's, and one in grid A2
# sent to the district's urban-management department (whose handlers see its cases in the area of their role).
CASE_SEES = {
    "district_admin": {"A", "B", "dept"},
    "street_staff": {"A", "dept"},
    "community_staff": {"A", "dept"},
    "grid_leader": {"A"},
    "microgrid_leader": {"A"},
    "microgrid_member": {"A"},
    "dedicated_leader": set(),
    "department_handler": {"dept"},
    "merchant": set(),
    "resident": set(),
    "auditor": set(),
    "outsider_street_staff": {"B"},
    "outsider_community_staff": {"B"},
    "outsider_grid_leader": {"B"},
    "outsider_microgrid_leader": {"B"},
    "outsider_microgrid_member": {"B"},
    "outsider_department_handler": set(),  # the department's handler in street B works only there
    "outsider_merchant": set(),
    "outsider_resident": set(),
    "outsider_auditor": set(),
}
WORKS_CASES = set(CASE_SEES) - {
    "merchant",
    "resident",
    "auditor",
    "outsider_merchant",
    "outsider_resident",
    "outsider_auditor",
}
ENTERS_CASES = {
    "district_admin",
    "street_staff",
    "community_staff",
    "grid_leader",
    "outsider_street_staff",
    "outsider_community_staff",
    "outsider_grid_leader",
}


@pytest.fixture
def cases(tree):
    from fengchao.cases import services
    from tests.case_factories import build_categories, report

    litter = build_categories().litter
    sent = report(tree, litter, area=first_micro(tree, tree.grid_a2))
    services.transition(sent, "accept", by=tree.users["community_staff"])
    services.transition(sent, "register", by=tree.users["community_staff"])
    services.dispatch(sent, by=tree.users["street_staff"], tier="department", department=tree.department)
    return {
        "A": report(tree, litter, area=first_micro(tree, tree.grid_a1)),
        "B": report(tree, litter, area=first_micro(tree, tree.grid_b1)),
        "dept": sent,
    }


def test_every_factory_user_is_in_the_case_matrix(tree):
    assert set(tree.users) == set(CASE_SEES)


@pytest.mark.parametrize("who", sorted(CASE_SEES))
def test_case_pages_by_scope(client, tree, cases, who):
    client.force_login(tree.users[who])
    results, expected = {}, {}
    for label, case in cases.items():
        results[f"case {label}"] = status(client, reverse("cases:detail", args=[case.pk]))
        expected[f"case {label}"] = 200 if label in CASE_SEES[who] else 404
        response = client.post(reverse("cases:act", args=[case.pk, "note"]), {"note": "看看", "expected_version": 0})
        # out of sight the step does not exist; in sight the old version is refused and the page reloads
        results[f"note {label}"] = 404 if response.status_code == 404 else 200
        expected[f"note {label}"] = 200 if label in CASE_SEES[who] and who in WORKS_CASES else 404
    results["list"] = status(client, reverse("cases:list"))
    results["new"] = status(client, reverse("cases:new"))
    results["notifications"] = status(client, reverse("notices:list"))
    expected.update(
        list=200 if who in WORKS_CASES else 404,
        new=200 if who in ENTERS_CASES else 404,
        notifications=200,
    )
    assert results == expected
    if who in WORKS_CASES:
        listed = {row.pk for row in client.get(reverse("cases:list")).context["rows"]}
        assert listed == {cases[label].pk for label in CASE_SEES[who]}
