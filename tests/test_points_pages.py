"""The points pages: my points, the staff's approvals, public listing board, rules, people and report, the nav.

The district sets the rules (tests.points_factories.district_rules); claims are earned in the first micro-grid
of grid A1 (street A) unless a test says otherwise. The factory users hold one role each there or above, and
the `outsider_*` users hold the same roles in street B.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from fengchao.accounts import services as accounts
from fengchao.accounts.roles import Role
from fengchao.api.pagination import encode_cursor
from fengchao.audit.models import AuditEvent
from fengchao.points import ledger, services
from fengchao.points.choices import Action, Approval, ClaimState, PointsKind, TransferKind
from fengchao.points.models import Claim, Rule, RuleRevision, Transfer
from fengchao.points.views import approvals as approval_views
from fengchao.points.views import people as people_views
from tests.browser import browser, log_in, open_page, screenshot  # noqa: F401  (browser is a fixture)
from tests.case_factories import build_categories, report
from tests.factories import PASSWORD, first_micro
from tests.page_client import count_queries, html
from tests.points_factories import claim, district_rules, grant

pytestmark = pytest.mark.django_db

TASK, PARTICIPATION = PointsKind.TASK, PointsKind.PARTICIPATION


@pytest.fixture
def w(tree):
    return SimpleNamespace(
        t=tree,
        u=tree.users,
        rules=district_rules(tree),
        micro=first_micro(tree, tree.grid_a1),
        micro_b=first_micro(tree, tree.grid_b1),
    )


def as_user(client, w, who):
    client.force_login(w.u[who])
    return client


page = html  # as this module has always called it


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def fresh(claim_row) -> Claim:
    return Claim.objects.get(pk=claim_row.pk)


def available(user, kind=TASK) -> int:
    return ledger.balance(user.pk, kind)


# ---- my points -------------------------------------------------------------------------------------------------


def test_my_points_needs_a_login(client, w):
    response = client.get(reverse("points:mine"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_my_points_shows_both_kinds_side_by_side_with_frozen_points(client, w):
    member = w.u["microgrid_member"]
    grant(member, 30, TASK, area=w.micro)
    grant(member, 12, PARTICIPATION, area=w.micro)
    with transaction.atomic():
        ledger.post(TransferKind.FREEZE, TASK, 8, user_id=member.pk, reason="兑换大米")
    response = as_user(client, w, "microgrid_member").get(reverse("points:mine"))
    assert response.status_code == 200
    rows = {b["kind"]: b for b in response.context["balances"]}
    assert (rows[TASK]["available"], rows[TASK]["frozen"]) == (22, 8)
    assert (rows[PARTICIPATION]["available"], rows[PARTICIPATION]["frozen"]) == (12, 0)
    html = response.content.decode()
    assert "Task points" in html and "Participation points" in html and "8 frozen for orders" in html


def test_my_points_warns_of_points_about_to_expire_with_the_date(client, w, settings):
    settings.POINTS_EXPIRY = "months:1"
    settings.POINTS_EXPIRY_WARNING_DAYS = 45
    member = w.u["microgrid_member"]
    at = timezone.now() - dt.timedelta(days=3)
    claim(member, Action.CASE_HANDLED, w.micro, at=at)  # auto-granted, expires a month after it was earned
    response = as_user(client, w, "microgrid_member").get(reverse("points:mine"))
    task = next(b for b in response.context["balances"] if b["kind"] == TASK)
    assert task["expiring"] == 10 and task["expires_at"] is not None
    day = timezone.localtime(task["expires_at"]).date().isoformat()
    assert f"10 expire on {day}" in response.content.decode()


def test_history_shows_sources_signs_and_approvers_newest_first(client, w):
    member = w.u["microgrid_member"]
    case = report(w.t, build_categories().litter, area=w.micro)
    with_case = services.earn(member, Action.CASE_HANDLED, source=case, area=w.micro, label=f"{case.number} 暴露垃圾")
    training = claim(member, Action.TRAINING_ATTENDED, w.micro, label="消防安全培训")
    services.approve_claim(training, by=w.u["community_staff"])
    services.adjust(member, kind=TASK, points=-4, reason="重复上报扣减", by=w.u["community_staff"], area=w.micro)
    response = as_user(client, w, "microgrid_member").get(reverse("points:mine"))
    rows = response.context["history"]
    assert [r["change"] for r in rows] == [-4, 5, 10]
    html = response.content.decode()
    assert f'href="{reverse("cases:detail", args=[case.pk])}"' in html  # the case opens on its page
    assert "消防安全培训" in html and "重复上报扣减" in html and "approved by community_staff" in html
    assert with_case.state == ClaimState.GRANTED


def test_history_pages_by_cursor_and_filters_by_kind(client, w):
    member = w.u["microgrid_member"]
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(25):
        grant(member, 1 + i, TASK, area=w.micro, at=base + dt.timedelta(minutes=i))
    grant(member, 7, PARTICIPATION, area=w.micro)
    as_user(client, w, "microgrid_member")
    first = client.get(reverse("points:mine"))
    assert len(first.context["history"]) == 20 and first.context["next_url"]
    second = client.get(reverse("points:mine") + first.context["next_url"])
    seen = [r["transfer"].pk for r in first.context["history"] + second.context["history"]]
    assert len(seen) == len(set(seen)) == 26 and second.context["next_url"] is None
    # A cursor of another list (names, not times) starts the history again from its first page.
    people_cursor = encode_cursor(["张三", 5])
    restarted = client.get(reverse("points:mine") + f"?cursor={people_cursor}")
    assert restarted.status_code == 200 and len(restarted.context["history"]) == 20
    only = client.get(reverse("points:mine") + "?kind=participation").context["history"]
    assert [r["change"] for r in only] == [7]


def test_my_waiting_claims_list_pending_and_listed_ones(client, w):
    member = w.u["microgrid_member"]
    pending = claim(member, Action.TRAINING_ATTENDED, w.micro, label="网格员培训")
    listed = claim(member, Action.VOLUNTEER_HOURS, w.micro, label="敬老院志愿服务", hours=2)
    services.approve_claim(listed, by=w.u["community_staff"])
    response = as_user(client, w, "microgrid_member").get(reverse("points:mine"))
    assert [c.pk for c in response.context["waiting"]] == [pending.pk, listed.pk]
    html = response.content.decode()
    until = timezone.localtime(fresh(listed).listed_until).strftime("%Y-%m-%d %H:%M")
    assert "Waiting for review" in html and f"listed until {until}" in html


def test_my_points_costs_the_same_queries_for_few_or_many_rows(client, w, django_assert_max_num_queries):
    member = w.u["microgrid_member"]
    grant(member, 3, area=w.micro)
    claim(member, Action.TRAINING_ATTENDED, w.micro)
    as_user(client, w, "microgrid_member")
    few = count_queries(client, reverse("points:mine"))
    for i in range(30):
        grant(member, 2, PARTICIPATION, area=w.micro, approved_by=w.u["community_staff"])
        claim(member, Action.MEETING_ATTENDED, w.micro, label=f"议事会 {i}")
    with django_assert_max_num_queries(few):
        client.get(reverse("points:mine"))


# ---- approvals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("district_admin", 200),
        ("street_staff", 200),
        ("community_staff", 200),
        ("grid_leader", 200),
        ("microgrid_leader", 404),
        ("microgrid_member", 404),
        ("resident", 404),
        ("merchant", 404),
        ("department_handler", 404),
        ("auditor", 404),
    ],
)
def test_the_staff_pages_open_for_staff_only(client, w, who, status):
    as_user(client, w, who)
    for name in ("points:approvals", "points:rules", "points:people", "points:report"):
        assert client.get(reverse(name)).status_code == status, name


def test_staff_see_the_claims_of_their_areas_only(client, w):
    mine = claim(w.u["microgrid_member"], Action.TRAINING_ATTENDED, w.micro)
    theirs = claim(w.u["outsider_microgrid_member"], Action.TRAINING_ATTENDED, w.micro_b)
    rows = as_user(client, w, "community_staff").get(reverse("points:approvals")).context["rows"]
    assert [r["claim"].pk for r in rows] == [mine.pk]
    rows = as_user(client, w, "outsider_community_staff").get(reverse("points:approvals")).context["rows"]
    assert [r["claim"].pk for r in rows] == [theirs.pk]
    # An area out of scope in the filter, and deciding a claim out of scope, answer 404.
    assert client.get(reverse("points:approvals") + f"?area={w.t.community_a.pk}").status_code == 404
    response = client.post(reverse("points:approve", args=[mine.pk]), {"version": 1})
    assert response.status_code == 404 and fresh(mine).state == ClaimState.PENDING


def test_approving_on_the_page_grants_the_points(client, w):
    member = w.u["microgrid_member"]
    pending = claim(member, Action.TRAINING_ATTENDED, w.micro, label="消防培训")
    as_user(client, w, "community_staff")
    response = client.post(reverse("points:approve", args=[pending.pk]), {"version": 1}, follow=True)
    assert fresh(pending).state == ClaimState.GRANTED and available(member, PARTICIPATION) == 5
    assert "Approved: 5 points granted to microgrid_member." in messages_of(response)
    assert AuditEvent.objects.filter(action="points.claim_approved", object_id=str(pending.pk)).exists()


def test_approving_a_listing_claim_lists_it_until_the_date_and_the_board_shows_it(client, w):
    member = w.u["microgrid_member"]
    hours = claim(member, Action.VOLUNTEER_HOURS, w.micro, label="敬老院志愿服务", hours="2.5")
    as_user(client, w, "grid_leader")
    response = client.post(reverse("points:approve", args=[hours.pk]), {"version": 1}, follow=True)
    listed = fresh(hours)
    assert listed.state == ClaimState.LISTED and listed.points == 25 and available(member, PARTICIPATION) == 0
    assert "publicly listed until" in messages_of(response)[0]
    # Everyone serving in the area sees the board: members too, the person included.
    for who in ("microgrid_member", "microgrid_leader", "community_staff", "street_staff"):
        html = page(as_user(client, w, who), reverse("points:listing"))
        assert "敬老院志愿服务" in html and "microgrid_member" in html, who
        assert timezone.localtime(listed.listed_until).strftime("%Y-%m-%d %H:%M") in html
    # Those serving elsewhere see their own areas' board, and 404 on this area.
    assert "敬老院志愿服务" not in page(as_user(client, w, "dedicated_leader"), reverse("points:listing"))
    as_user(client, w, "outsider_microgrid_member")
    assert "敬老院志愿服务" not in page(client, reverse("points:listing"))
    assert client.get(reverse("points:listing") + f"?area={w.micro.pk}").status_code == 404
    # Residents and merchants serve nowhere: no board.
    assert as_user(client, w, "resident").get(reverse("points:listing")).status_code == 404


def test_a_listed_claim_is_rejected_on_an_objection_with_the_reason(client, w):
    member = w.u["microgrid_member"]
    hours = claim(member, Action.VOLUNTEER_HOURS, w.micro, hours=3)
    services.approve_claim(hours, by=w.u["grid_leader"])
    as_user(client, w, "community_staff")
    rows = client.get(reverse("points:approvals") + "?state=listed").context["rows"]
    assert [r["claim"].pk for r in rows] == [hours.pk] and rows[0]["can_reject"] and not rows[0]["can_approve"]
    response = client.post(
        reverse("points:reject", args=[hours.pk]),
        {"version": fresh(hours).version, "reason": "当天未到场"},
        follow=True,
    )
    rejected = fresh(hours)
    assert rejected.state == ClaimState.REJECTED and rejected.reason == "当天未到场"
    assert "Rejected: the claim of microgrid_member." in messages_of(response)
    assert services.grant_listed(timezone.now() + dt.timedelta(days=10)) == 0
    assert available(member, PARTICIPATION) == 0


def test_rejecting_needs_a_reason_and_says_so(client, w):
    pending = claim(w.u["microgrid_member"], Action.TRAINING_ATTENDED, w.micro)
    as_user(client, w, "community_staff")
    response = client.post(reverse("points:reject", args=[pending.pk]), {"version": 1, "reason": "  "}, follow=True)
    assert "Give a reason." in messages_of(response) and fresh(pending).state == ClaimState.PENDING


def test_a_claim_decided_meanwhile_is_reported_not_decided_twice(client, w):
    member = w.u["microgrid_member"]
    pending = claim(member, Action.TRAINING_ATTENDED, w.micro)
    services.approve_claim(pending, by=w.u["grid_leader"])
    as_user(client, w, "community_staff")
    response = client.post(reverse("points:reject", args=[pending.pk]), {"version": 1, "reason": "x"}, follow=True)
    assert any("This claim is" in m for m in messages_of(response))
    assert fresh(pending).state == ClaimState.GRANTED and available(member, PARTICIPATION) == 5
    other = claim(member, Action.MEETING_ATTENDED, w.micro)
    Claim.objects.filter(pk=other.pk).update(version=2)  # changed by someone else after the page was drawn
    response = client.post(reverse("points:approve", args=[other.pk]), {"version": 1}, follow=True)
    assert str(approval_views.STALE) in messages_of(response) and fresh(other).state == ClaimState.PENDING


def test_a_superuser_reviews_claims_anywhere(client, w):
    root = accounts.create_user(username="root", display_name="平台管理员", password_hash="x")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    a = claim(w.u["microgrid_member"], Action.TRAINING_ATTENDED, w.micro)
    b = claim(w.u["outsider_microgrid_member"], Action.TRAINING_ATTENDED, w.micro_b)
    client.force_login(root)
    rows = client.get(reverse("points:approvals")).context["rows"]
    assert {r["claim"].pk for r in rows} == {a.pk, b.pk}
    client.post(reverse("points:approve", args=[b.pk]), {"version": 1})
    assert fresh(b).state == ClaimState.GRANTED


def test_nobody_reviews_their_own_claim(client, w):
    leader = w.u["grid_leader"]
    own = claim(leader, Action.TRAINING_ATTENDED, w.t.grid_a1, label="网格长培训")
    as_user(client, w, "grid_leader")
    row = next(r for r in client.get(reverse("points:approvals")).context["rows"] if r["claim"].pk == own.pk)
    assert row["own"] and not row["can_approve"] and not row["can_reject"]
    response = client.post(reverse("points:approve", args=[own.pk]), {"version": 1}, follow=True)
    assert "Your own claims are reviewed by someone else." in messages_of(response)
    assert fresh(own).state == ClaimState.PENDING
    as_user(client, w, "community_staff").post(reverse("points:approve", args=[own.pk]), {"version": 1})
    assert fresh(own).state == ClaimState.GRANTED


def test_ticked_claims_are_approved_together(client, w):
    member = w.u["microgrid_member"]
    one = claim(member, Action.TRAINING_ATTENDED, w.micro)
    two = claim(member, Action.MEETING_ATTENDED, w.micro)
    own = claim(w.u["grid_leader"], Action.MEETING_ATTENDED, w.t.grid_a1)
    as_user(client, w, "grid_leader")
    picked = [f"{one.pk}:1", f"{two.pk}:1", f"{own.pk}:1", "junk"]
    response = client.post(reverse("points:approve_selected"), {"claim": picked}, follow=True)
    assert fresh(one).state == fresh(two).state == ClaimState.GRANTED and fresh(own).state == ClaimState.PENDING
    said = messages_of(response)
    assert "2 claims approved." in said and "Your own claims are reviewed by someone else." in said


def test_the_approvals_filter_by_area_action_and_state(client, w):
    member, other = w.u["microgrid_member"], w.u["microgrid_leader"]
    training = claim(member, Action.TRAINING_ATTENDED, w.micro)
    meeting = claim(other, Action.MEETING_ATTENDED, w.micro)
    in_grid_2 = claim(member, Action.TRAINING_ATTENDED, first_micro(w.t, w.t.grid_a2))
    done = claim(other, Action.TRAINING_ATTENDED, w.micro)
    services.reject_claim(done, by=w.u["community_staff"], reason="重复")
    as_user(client, w, "community_staff")

    def shown(query=""):
        return {r["claim"].pk for r in client.get(reverse("points:approvals") + query).context["rows"]}

    assert shown() == {training.pk, meeting.pk, in_grid_2.pk}
    assert shown(f"?area={w.t.grid_a1.pk}") == {training.pk, meeting.pk}
    assert shown("?action=meeting.attended") == {meeting.pk}
    assert shown("?state=rejected") == {done.pk}
    tabs = {t["name"]: t["count"] for t in client.get(reverse("points:approvals")).context["tabs"]}
    assert tabs["pending"] == 3


def test_the_approvals_list_costs_the_same_queries_for_few_or_many(client, w, django_assert_max_num_queries):
    member = w.u["microgrid_member"]
    for i in range(2):
        claim(member, Action.TRAINING_ATTENDED, w.micro, label=f"培训 {i}")
    as_user(client, w, "community_staff")
    few = count_queries(client, reverse("points:approvals"))
    for i in range(approval_views.PAGE_SIZE + 5):
        claim(w.u["microgrid_leader"], Action.MEETING_ATTENDED, w.micro, label=f"议事 {i}")
    with django_assert_max_num_queries(few):
        response = client.get(reverse("points:approvals"))
    assert len(response.context["rows"]) == approval_views.PAGE_SIZE and response.context["next_url"]


def test_the_listing_board_costs_the_same_queries_for_few_or_many(client, w, django_assert_max_num_queries):
    def listed_claim(i):
        c = claim(w.u["microgrid_member"], Action.VOLUNTEER_HOURS, w.micro, hours=1, label=f"志愿 {i}")
        services.approve_claim(c, by=w.u["community_staff"])

    listed_claim(0)
    as_user(client, w, "microgrid_member")
    few = count_queries(client, reverse("points:listing"))
    for i in range(1, approval_views.PAGE_SIZE + 5):
        listed_claim(i)
    with django_assert_max_num_queries(few):
        response = client.get(reverse("points:listing"))
    assert len(response.context["rows"]) == approval_views.PAGE_SIZE


# ---- rules ---------------------------------------------------------------------------------------------------------


def test_the_rules_page_shows_own_and_inherited_rules(client, w):
    admin = w.u["district_admin"]
    services.save_rule(by=admin, area=w.t.community_a, action=Action.TRAINING_ATTENDED, kind=PARTICIPATION, points=8)
    response = as_user(client, w, "community_staff").get(reverse("points:rules"))
    assert response.context["area"] == w.t.community_a and response.context["editable"]
    rows = {r["action"]: r for r in response.context["rows"]}
    assert rows[Action.TRAINING_ATTENDED]["in_force"].points == 8 and not rows[Action.TRAINING_ATTENDED]["inherited"]
    assert rows[Action.CASE_HANDLED]["inherited"] and rows[Action.CASE_HANDLED]["in_force"].area == w.t.district
    assert rows[Action.CASE_HANDLED]["create_url"] and rows[Action.TASK_COMPLETED]["in_force"] is None
    html = response.content.decode()
    assert "from 成华区" in html and "10 points" in html and "10 per hour" in html
    # A grid leader reads the rules in force in the grid, and may set none.
    response = as_user(client, w, "grid_leader").get(reverse("points:rules"))
    assert response.context["area"] == w.t.grid_a1 and not response.context["editable"]
    assert all(r["create_url"] is None for r in response.context["rows"])
    # The district's page lists the rules set below it.
    response = as_user(client, w, "district_admin").get(reverse("points:rules"))
    assert [r.area for r in response.context["below"]] == [w.t.community_a]


def test_setting_a_rule_for_a_community_overrides_the_districts(client, w):
    as_user(client, w, "community_staff")
    url = reverse("points:rule_create") + f"?area={w.t.community_a.pk}&action={Action.CASE_HANDLED}"
    form = client.get(url).context["form"]
    assert form.initial["points"] == 10  # starts from the district's rule in force
    data = {
        "area": w.t.community_a.pk,
        "action": Action.CASE_HANDLED,
        "kind": TASK,
        "points": "15",
        "points_per_hour": "0",
        "approval": Approval.AUTO,
        "listing_days": "0",
        "is_active": "on",
    }
    response = client.post(reverse("points:rule_create"), data)
    assert response.status_code == 302
    rule = Rule.objects.get(area=w.t.community_a, action=Action.CASE_HANDLED)
    assert rule.points == 15 and RuleRevision.objects.filter(rule=rule, changed_by=w.u["community_staff"]).exists()
    earned = claim(w.u["microgrid_member"], Action.CASE_HANDLED, w.micro)
    assert earned.points == 15 and earned.rule == rule
    # Once the area has its own rule, the create form leads to it, and posting another is refused.
    assert client.get(url)["Location"] == reverse("points:rule_edit", args=[rule.pk])
    response = client.post(reverse("points:rule_create"), {**data, "points": "99"})
    assert response.status_code == 200 and "action" in response.context["form"].errors
    assert Rule.objects.get(pk=rule.pk).points == 15


def test_the_rule_form_names_the_field_at_fault(client, w):
    as_user(client, w, "community_staff")
    data = {
        "area": w.t.community_a.pk,
        "action": Action.PARTY_ACTIVITY,
        "kind": PARTICIPATION,
        "points": "5",
        "approval": Approval.LISTING,
        "listing_days": "0",
        "max_hours": "30",
        "is_active": "on",
    }
    response = client.post(reverse("points:rule_create"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "max_hours" in errors and not Rule.objects.filter(action=Action.PARTY_ACTIVITY).exists()
    data["max_hours"] = ""
    errors = client.post(reverse("points:rule_create"), data).context["form"].errors
    assert errors["listing_days"] == ["A public listing lasts at least one day."]


def test_editing_a_rule_keeps_its_versions_with_who_changed_what(client, w):
    rule = w.rules.training
    as_user(client, w, "district_admin")
    form = client.get(reverse("points:rule_edit", args=[rule.pk])).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(points="6", daily_cap="12", is_active="on")
    assert client.post(reverse("points:rule_edit", args=[rule.pk]), data).status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.points, rule.daily_cap) == (2, 6, 12)
    response = client.get(reverse("points:rule_edit", args=[rule.pk]))
    newest = response.context["history"][0]
    assert newest["version"] == 2 and newest["by"] == w.u["district_admin"]
    changes = {(c["label"], c["before"], c["after"]) for c in newest["changes"]}
    assert changes == {("Points", "5", "6"), ("Daily cap", "—", "12")}
    assert response.context["history"][-1]["created"]
    # The same form posted again with the old version is told someone else changed the rule.
    response = client.post(reverse("points:rule_edit", args=[rule.pk]), {**data, "version": "1"}, follow=True)
    assert "Someone else changed this rule meanwhile" in messages_of(response)[0]
    assert Rule.objects.get(pk=rule.pk).version == 2


def test_rules_above_are_read_only_below_and_rules_out_of_scope_are_404(client, w):
    district_rule = w.rules.training
    as_user(client, w, "community_staff")
    response = client.get(reverse("points:rule_edit", args=[district_rule.pk]))
    assert response.status_code == 200 and not response.context["editable"]
    assert "changed there" in response.content.decode()
    form = response.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    assert client.post(reverse("points:rule_edit", args=[district_rule.pk]), data).status_code == 404
    other = services.save_rule(
        by=w.u["district_admin"], area=w.t.community_b, action=Action.TASK_COMPLETED, kind=TASK, points=2
    )
    assert client.get(reverse("points:rule_edit", args=[other.pk])).status_code == 404
    assert client.get(reverse("points:rules") + f"?area={w.t.community_b.pk}").status_code == 404
    url = reverse("points:rule_create") + f"?area={w.t.community_b.pk}&action={Action.TASK_COMPLETED}"
    assert client.get(url).status_code == 404
    # A grid leader may not set rules even in their own grid.
    as_user(client, w, "grid_leader")
    url = reverse("points:rule_create") + f"?area={w.t.grid_a1.pk}&action={Action.TASK_COMPLETED}"
    assert client.get(url).status_code == 404


def test_the_rules_page_costs_the_same_queries_for_few_or_many_rules(client, w, django_assert_max_num_queries):
    as_user(client, w, "district_admin")
    few = count_queries(client, reverse("points:rules"))
    admin = w.u["district_admin"]
    for area in (w.t.street_a, w.t.street_b, w.t.community_a, w.t.community_b):
        for action in (Action.TASK_COMPLETED, Action.VISIT_DONE, Action.PARTY_ACTIVITY):
            services.save_rule(by=admin, area=area, action=action, kind=TASK, points=1)
    with django_assert_max_num_queries(few):
        client.get(reverse("points:rules"))


# ---- people and adjustments ----------------------------------------------------------------------------------------


def test_staff_see_the_people_of_their_areas_with_balances(client, w):
    grant(w.u["microgrid_member"], 40, TASK, area=w.micro)
    response = as_user(client, w, "community_staff").get(reverse("points:people"))
    rows = {r["person"].username: r["by_kind"] for r in response.context["rows"]}
    assert rows["microgrid_member"] == [40, 0]
    assert "outsider_microgrid_member" not in rows and "street_staff" not in rows
    found = client.get(reverse("points:people") + "?q=member").context["rows"]
    assert [r["person"].username for r in found] == ["microgrid_member"]
    assert client.get(reverse("points:person", args=[w.u["outsider_microgrid_member"].pk])).status_code == 404
    assert client.get(reverse("points:person", args=[w.u["street_staff"].pk])).status_code == 404


def test_the_people_list_costs_the_same_queries_for_few_or_many(client, w, django_assert_max_num_queries):
    as_user(client, w, "community_staff")
    few = count_queries(client, reverse("points:people"))
    for i in range(people_views.PAGE_SIZE + 5):
        user = accounts.create_user(username=f"volunteer{i}", display_name=f"志愿者{i:02d}", password_hash="x")
        accounts.assign_role(user, Role.MICROGRID_MEMBER, w.micro)
        grant(user, i + 1, area=w.micro)
    with django_assert_max_num_queries(few):
        response = client.get(reverse("points:people"))
    assert len(response.context["rows"]) == people_views.PAGE_SIZE


def test_a_persons_page_shows_balances_history_and_the_adjustment_form(client, w):
    member = w.u["microgrid_member"]
    claim(member, Action.CASE_HANDLED, w.micro, label="A0001 暴露垃圾")
    claim(member, Action.TRAINING_ATTENDED, w.micro, label="消防培训")
    response = as_user(client, w, "grid_leader").get(reverse("points:person", args=[member.pk]))
    assert response.status_code == 200
    assert [b["available"] for b in response.context["balances"]] == [10, 0]
    assert len(response.context["waiting"]) == 1 and len(response.context["history"]) == 1
    assert response.context["form"] is not None and list(response.context["form"].areas) == [str(w.micro.pk)]
    html = response.content.decode()
    assert "A0001 暴露垃圾" in html and "Adjust points" in html


def test_adjusting_points_on_a_persons_page(client, w):
    member = w.u["microgrid_member"]
    url = reverse("points:adjust", args=[member.pk])
    as_user(client, w, "community_staff")
    data = {"kind": TASK, "points": "20", "reason": "补录三月巡查", "area": w.micro.pk}
    response = client.post(url, data, follow=True)
    assert available(member) == 20
    assert "+20 Task points for microgrid_member: 补录三月巡查" in messages_of(response)
    transfer = Transfer.objects.get(user=member)
    assert transfer.actor == w.u["community_staff"] and transfer.area == w.micro
    assert AuditEvent.objects.filter(action="points.adjust", object_id=str(transfer.pk)).exists()
    response = client.post(url, {**data, "points": "-5", "reason": "重复计分"}, follow=True)
    assert available(member) == 15 and "−5 Task points for microgrid_member: 重复计分" in messages_of(response)


def test_adjustment_refusals_come_back_on_the_form(client, w):
    member = w.u["microgrid_member"]
    grant(member, 3, area=w.micro)
    url = reverse("points:adjust", args=[member.pk])
    as_user(client, w, "community_staff")
    data = {"kind": TASK, "points": "-10", "reason": "扣减", "area": w.micro.pk}
    response = client.post(url, data)
    assert (
        response.status_code == 200 and "Not enough points: 10 needed." in response.context["form"].non_field_errors()
    )
    response = client.post(url, {**data, "points": "0"})
    assert "points" in response.context["form"].errors
    response = client.post(url, {**data, "points": "abc"})
    assert response.context["form"].errors["points"] == ["Points must be a whole number."]
    response = client.post(url, {**data, "points": "5", "reason": ""})
    assert "reason" in response.context["form"].errors
    assert available(member) == 3 and Transfer.objects.filter(user=member).count() == 1


def test_nobody_adjusts_their_own_points_and_outsiders_get_404(client, w):
    staff = w.u["community_staff"]
    as_user(client, w, "community_staff")
    response = client.get(reverse("points:person", args=[staff.pk]))
    assert response.context["form"] is None and "adjusted by someone else" in response.content.decode()
    data = {"kind": TASK, "points": "100", "reason": "自己加", "area": w.t.community_a.pk}
    response = client.post(reverse("points:adjust", args=[staff.pk]), data, follow=True)
    assert "Your own points are adjusted by someone else." in messages_of(response) and available(staff) == 0
    as_user(client, w, "outsider_community_staff")
    data = {"kind": TASK, "points": "5", "reason": "x", "area": w.micro.pk}
    assert client.post(reverse("points:adjust", args=[w.u["microgrid_member"].pk]), data).status_code == 404
    as_user(client, w, "microgrid_leader")
    assert client.post(reverse("points:adjust", args=[w.u["microgrid_member"].pk]), data).status_code == 404


def test_a_persons_page_costs_the_same_queries_for_a_short_or_long_history(client, w, django_assert_max_num_queries):
    member = w.u["microgrid_member"]
    grant(member, 1, area=w.micro)
    as_user(client, w, "community_staff")
    url = reverse("points:person", args=[member.pk])
    few = count_queries(client, url)
    for i in range(30):
        claim(member, Action.MEETING_ATTENDED, w.micro, label=f"会议 {i}")
        grant(member, 2, PARTICIPATION, area=w.micro, approved_by=w.u["grid_leader"], rule=w.rules.meeting)
    with django_assert_max_num_queries(few):
        client.get(url)


# ---- report --------------------------------------------------------------------------------------------------------


def test_the_report_counts_grants_per_month_top_earners_and_claims(client, w):
    year = timezone.localdate().year
    zone = timezone.get_current_timezone()
    member, leader = w.u["microgrid_member"], w.u["microgrid_leader"]
    claim(member, Action.CASE_HANDLED, w.micro, at=dt.datetime(year, 2, 10, 9, tzinfo=zone))
    claim(leader, Action.CASE_HANDLED, w.micro, at=dt.datetime(year, 2, 11, 9, tzinfo=zone))
    claim(leader, Action.CASE_HANDLED, w.micro, at=dt.datetime(year, 3, 1, 9, tzinfo=zone))
    claim(member, Action.TRAINING_ATTENDED, w.micro, at=dt.datetime(year, 3, 5, 9, tzinfo=zone))
    claim(w.u["outsider_microgrid_member"], Action.CASE_HANDLED, w.micro_b, at=dt.datetime(year, 2, 1, tzinfo=zone))
    # Adjustments by hand count as earned too, in their month, a negative one against.
    march = dt.datetime(year, 3, 20, 9, tzinfo=zone)
    for points in (8, -3):
        services.adjust(
            member,
            kind="participation",
            points=points,
            reason="补录",
            by=w.u["community_staff"],
            area=w.micro,
            now=march,
        )
    response = as_user(client, w, "street_staff").get(reverse("points:report") + f"?year={year}")
    figures = response.context["figures"]
    assert response.context["area"] == w.t.street_a
    assert figures["months"][1]["by_kind"] == [20, 0] and figures["months"][2]["by_kind"] == [10, 5]
    assert figures["total"] == 35
    assert [(e["user__username"], e["total"]) for e in figures["earners"]] == [
        ("microgrid_leader", 20),
        ("microgrid_member", 15),
    ]
    states = {s["state"]: s["n"] for s in figures["states"]}
    assert states[ClaimState.GRANTED] == 3 and states[ClaimState.PENDING] == 1
    assert [(row["area"], row["total"]) for row in figures["within"]] == [(w.t.community_a, 35)]
    assert (
        as_user(client, w, "community_staff").get(reverse("points:report") + f"?area={w.t.street_a.pk}").status_code
        == 404
    )


def test_the_report_costs_the_same_queries_for_few_or_many_grants(client, w, django_assert_max_num_queries):
    as_user(client, w, "district_admin")
    claim(w.u["microgrid_member"], Action.CASE_HANDLED, w.micro)
    few = count_queries(client, reverse("points:report"))
    for i in range(20):
        claim(w.u["microgrid_leader"], Action.CASE_HANDLED, w.micro, label=f"案件 {i}")
        claim(w.u["outsider_microgrid_member"], Action.CASE_HANDLED, w.micro_b, label=f"案件 {i}")
    with django_assert_max_num_queries(few):
        client.get(reverse("points:report"))


# ---- navigation and languages --------------------------------------------------------------------------------------


def test_the_nav_has_my_points_for_role_holders_and_points_for_staff_with_the_pending_count(client, w):
    claim(w.u["microgrid_member"], Action.TRAINING_ATTENDED, w.micro)
    claim(w.u["microgrid_member"], Action.MEETING_ATTENDED, w.micro)
    html = page(as_user(client, w, "community_staff"), reverse("points:mine"))
    assert 'id="nav-pointsmine"' in html and 'id="nav-pointsapprovals"' in html
    assert (
        'href="/points/approvals/">Points <span class="badge rounded-pill text-bg-warning nav-count">2</span>' in html
    )
    html = page(as_user(client, w, "resident"), reverse("points:mine"))
    assert 'id="nav-pointsmine"' in html and 'id="nav-pointsapprovals"' not in html
    html = page(as_user(client, w, "outsider_community_staff"), reverse("points:mine"))
    assert 'href="/points/approvals/">Points</a>' in html  # nothing pending in street B


@pytest.mark.zh_hans
def test_the_pages_render_in_chinese(client, w):
    member = w.u["microgrid_member"]
    listed = claim(member, Action.VOLUNTEER_HOURS, w.micro, hours=2, label="敬老院志愿服务")
    services.approve_claim(listed, by=w.u["community_staff"])
    claim(member, Action.TRAINING_ATTENDED, w.micro, label="消防培训")
    html = page(as_user(client, w, "microgrid_member"), reverse("points:mine"))
    assert '<html lang="zh-hans">' in html and "敬老院志愿服务" in html and "退出" in html
    as_user(client, w, "community_staff")
    for url in (
        reverse("points:approvals"),
        reverse("points:listing"),
        reverse("points:rules"),
        reverse("points:rule_edit", args=[w.rules.hours.pk]),
        reverse("points:people"),
        reverse("points:person", args=[member.pk]),
        reverse("points:report"),
        reverse("points:person_record", args=[member.pk]),
    ):
        html = page(client, url)
        assert '<html lang="zh-hans">' in html and ("和美" in html or "成华区" in html), url
        assert "退出登录" in html, url


# ---- in a phone's browser ----------------------------------------------------------------------------------------


PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_a_member_sees_their_points_and_a_leader_approves_a_claim(live_server, browser, tree):  # noqa: F811
    district_rules(tree)
    micro = first_micro(tree, tree.grid_a1)
    member = tree.users["microgrid_member"]
    claim(member, Action.CASE_HANDLED, micro, label="A0001 暴露垃圾")
    pending = claim(member, Action.TRAINING_ATTENDED, micro, label="消防安全培训")
    done = claim(member, Action.VOLUNTEER_HOURS, micro, hours=3, label="社区义诊志愿服务")
    services.approve_claim(done, by=tree.users["community_staff"])
    services.grant_listed(timezone.now() + dt.timedelta(days=5))  # its listing ended without objection
    listed = claim(member, Action.VOLUNTEER_HOURS, micro, hours=2, label="敬老院志愿服务")
    services.approve_claim(listed, by=tree.users["community_staff"])

    with open_page(browser, **PHONE) as (phone, problems):
        log_in(phone, live_server.url, "microgrid_member", PASSWORD)
        phone.goto(f"{live_server.url}/points/")
        expect(phone.locator(".balance[data-kind=task] .balance-available")).to_have_text("10")
        expect(phone.locator("#history")).to_contain_text("A0001 暴露垃圾")
        expect(phone.locator("#waiting")).to_contain_text("消防安全培训")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "points-mine-375")
        phone.goto(f"{live_server.url}/points/listing/")
        expect(phone.locator("#listing-table")).to_contain_text("敬老院志愿服务")
        phone.goto(f"{live_server.url}/points/record/")
        expect(phone.locator("#record")).to_contain_text("社区义诊志愿服务")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "points-record-375")
        problems.collect_csp(phone)
        assert problems.errors == []

    with open_page(browser, **PHONE) as (phone, problems):
        log_in(phone, live_server.url, "grid_leader", PASSWORD)
        phone.goto(f"{live_server.url}/points/approvals/")
        row = phone.locator(f".claim-row[data-claim='{pending.pk}']")
        expect(row).to_contain_text("消防安全培训")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "points-approvals-375")
        with phone.expect_navigation():
            row.locator("form[action$='/approve'] button").click()
        expect(phone.locator(".alert-success")).to_be_visible()
        problems.collect_csp(phone)
        assert problems.errors == []
    assert fresh(pending).state == ClaimState.GRANTED and ledger.balance(member.pk, PARTICIPATION) == 30 + 5
