"""The staff case pages: inboxes by role, the case page and its actions, staff intake, notifications, the nav.

Cases live in the first micro-grid of grid A1 (street A) unless a test says otherwise; the factory users hold
one role each there or above, and the `outsider_*` users hold the same roles in street B.
"""

import io
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fengchao.audit.models import AuditEvent
from fengchao.cases import services
from fengchao.cases.choices import CaseState, Channel, SupervisionLevel, Tier
from fengchao.cases.models import Case, CaseAttachment, CaseEvent
from fengchao.cases.views import inbox as inbox_views
from fengchao.notices import services as notices
from fengchao.notices.models import Notification
from tests.case_factories import build_categories, centre, photo, report
from tests.factories import first_micro

pytestmark = pytest.mark.django_db

S = CaseState
STALE = "Someone else acted on this case first. Here it is as it is now."


@pytest.fixture
def w(tree):
    return SimpleNamespace(
        t=tree,
        u=tree.users,
        c=build_categories(),
        micro=first_micro(tree, tree.grid_a1),
        micro_b=first_micro(tree, tree.grid_b1),
    )


def as_user(client, w, who):
    client.force_login(w.u[who])
    return client


def registered(w, category=None, **kw):
    category = category or w.c.litter
    if category.photo_required:
        kw.setdefault("before_photos", [photo()])
    case = report(w.t, category, **kw)
    staff = w.u["community_staff"]
    services.transition(case, "accept", by=staff)
    services.transition(case, "register", by=staff)
    return case


def dispatched(w, category=None, **kw):
    case = registered(w, category)
    services.dispatch(case, by=w.u["community_staff"], tier=Tier.GRID, **kw)
    return case


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


def act(client, case, action, **data):
    """Post one action with the version the page would show now."""
    data.setdefault("expected_version", fresh(case).version)
    return client.post(reverse("cases:act", args=[case.pk, action]), data)


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def listed(client, **params) -> set[int]:
    response = client.get(reverse("cases:list"), params)
    assert response.status_code == 200
    return {row.pk for row in response.context["rows"]}


def action_names(client, case) -> set[str]:
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    return {a["name"] for a in response.context["actions"]}


def action_form(client, case, name) -> dict:
    actions = client.get(reverse("cases:detail", args=[case.pk])).context["actions"]
    return next(a for a in actions if a["name"] == name)


# ---- inboxes by role -------------------------------------------------------------------------------------------


def test_the_dispatcher_sees_new_reports_to_dispatch(client, w):
    new = report(w.t, w.c.litter)
    on_the_way = dispatched(w)
    as_user(client, w, "community_staff")
    assert listed(client, inbox="to_dispatch") == {new.pk}
    assert listed(client) == {new.pk, on_the_way.pk}
    html = page(client, reverse("cases:list") + "?inbox=to_dispatch")
    assert new.number in html and "暴露垃圾" in html and w.micro.name in html


def test_a_member_sees_what_was_dispatched_to_the_grid_in_mine(client, w):
    waiting = dispatched(w)
    still_new = report(w.t, w.c.litter)
    as_user(client, w, "microgrid_member")
    assert listed(client, inbox="mine") == {waiting.pk}
    assert listed(client, inbox="to_dispatch") == set()
    tabs = [tab["name"] for tab in client.get(reverse("cases:list")).context["tabs"]]
    assert "mine" in tabs and "to_dispatch" not in tabs and "whistles" not in tabs
    assert still_new.pk in listed(client)  # the whole grid's cases are in sight, only the inbox is narrower


def test_a_member_dispatched_to_by_name_has_it_and_the_others_do_not(client, w):
    case = dispatched(w, assignee=w.u["grid_leader"])
    assert listed(as_user(client, w, "grid_leader"), inbox="mine") == {case.pk}
    assert listed(as_user(client, w, "microgrid_member"), inbox="mine") == set()


def test_the_department_handler_sees_its_departments_and_whistled_cases_only(client, w):
    plain = dispatched(w)
    sent = registered(w)
    services.dispatch(sent, by=w.u["street_staff"], tier=Tier.DEPARTMENT, department=w.t.department)
    whistled = dispatched(w)
    services.blow_whistle(
        whistled, by=w.u["community_staff"], level="daily", departments=[w.t.department], reason="需要城管到场"
    )
    as_user(client, w, "department_handler")
    assert listed(client) == {sent.pk, whistled.pk}
    assert listed(client, inbox="mine") == {sent.pk}
    assert listed(client, inbox="whistles") == {whistled.pk}
    assert client.get(reverse("cases:detail", args=[plain.pk])).status_code == 404
    assert client.get(reverse("cases:detail", args=[sent.pk])).status_code == 200


def test_the_verifier_sees_resolved_cases_to_verify_but_not_the_resolver(client, w):
    case = dispatched(w)
    services.take(case, by=w.u["microgrid_member"])
    services.resolve(case, by=w.u["microgrid_member"], note="已清运")
    assert listed(as_user(client, w, "grid_leader"), inbox="to_verify") == {case.pk}
    assert listed(as_user(client, w, "microgrid_member"), inbox="to_verify") == set()


def test_overdue_and_supervised_inboxes(client, w):
    late = dispatched(w)
    Case.objects.filter(pk=late.pk).update(is_overdue=True)
    watched = dispatched(w)
    services.supervise(watched, by=w.u["street_staff"], level=SupervisionLevel.YELLOW, instruction="今天内处理")
    as_user(client, w, "community_staff")
    assert listed(client, inbox="overdue") == {late.pk}
    assert listed(client, inbox="supervised") == {watched.pk}
    html = page(client, reverse("cases:list") + "?inbox=overdue")
    assert "text-danger" in html and "overdue" in html


def test_outsiders_see_nothing_and_get_404(client, w):
    case = report(w.t, w.c.litter, before_photos=[photo()])
    token = CaseAttachment.objects.get(case=case).token
    as_user(client, w, "outsider_community_staff")
    assert listed(client) == set()
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("cases:photo", args=[case.pk, token])).status_code == 404
    assert act(client, case, "accept").status_code == 404
    assert fresh(case).state == S.REPORTED


@pytest.mark.parametrize("who", ["resident", "merchant", "auditor"])
def test_people_who_do_not_work_cases_find_no_case_pages(client, w, who):
    case = report(w.t, w.c.litter)
    as_user(client, w, who)
    for url in (reverse("cases:list"), reverse("cases:detail", args=[case.pk]), reverse("cases:new")):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(client, w):
    case = report(w.t, w.c.litter)
    for url in (reverse("cases:list"), reverse("cases:detail", args=[case.pk]), reverse("notices:list")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


# ---- filters, pages, export ---------------------------------------------------------------------------------


def test_list_filters(client, w):
    litter = report(w.t, w.c.litter, description="小区门口垃圾堆放")
    dispute = report(w.t, w.c.dispute, description="楼上噪音扰民吵架")
    hotline = services.submit_case(
        channel=Channel.HOTLINE,
        category=w.c.litter,
        description="来电反映路灯不亮",
        idempotency_key="pages-hotline-1",
        by=w.u["community_staff"],
        area=w.micro,
    )[0]
    as_user(client, w, "community_staff")
    assert listed(client, category=w.c.dispute.code) == {dispute.pk}
    assert listed(client, category=w.c.parent.code) == {litter.pk, dispute.pk, hotline.pk}
    assert listed(client, channel=Channel.HOTLINE) == {hotline.pk}
    assert listed(client, tier=Tier.COMMUNITY) == {dispute.pk}
    assert listed(client, q="噪音") == {dispute.pk}
    assert listed(client, q=litter.number) == {litter.pk}
    assert listed(client, state="open", area=w.t.grid_a1.pk) == {litter.pk, dispute.pk, hotline.pk}
    assert listed(client, area=w.t.grid_a2.pk) == set()


def test_bad_filters_are_told_and_other_areas_are_404(client, w):
    report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    response = client.get(reverse("cases:list"), {"from": "yesterday"})
    assert response.status_code == 200 and "Give a date as YYYY-MM-DD." in response.content.decode()
    assert client.get(reverse("cases:list"), {"area": w.t.grid_b1.pk}).status_code == 404


def test_live_filtering_answers_with_the_results_only(client, w):
    case = report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    html = client.get(reverse("cases:list"), {"q": case.number}, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<section id="results"') and case.number in html and "<nav" not in html[:200]


def test_the_list_pages_by_keyset_without_gaps_or_repeats(client, w, monkeypatch):
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    made = {report(w.t, w.c.litter).pk for _ in range(5)}
    as_user(client, w, "community_staff")
    seen, url, pages = [], reverse("cases:list") + "?inbox=to_dispatch", 0
    while url:
        response = client.get(url if url.startswith("/") else reverse("cases:list") + url)
        seen += [row.pk for row in response.context["rows"]]
        url, pages = response.context["next_url"], pages + 1
    assert pages == 3 and len(seen) == 5 and set(seen) == made and seen == sorted(seen, reverse=True)


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_queries_do_not_grow_with_the_rows(client, w, django_assert_max_num_queries):
    as_user(client, w, "community_staff")
    for _ in range(2):
        dispatched(w, assignee=w.u["grid_leader"])
    few = count_queries(client, reverse("cases:list"))
    for _ in range(8):
        dispatched(w, assignee=w.u["microgrid_member"])
        report(w.t, w.c.dispute)
    with django_assert_max_num_queries(few):
        client.get(reverse("cases:list"))


def test_the_export_link_keeps_the_filters(client, w):
    report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    html = page(client, reverse("cases:list") + "?inbox=to_dispatch&channel=resident_qr")
    assert f'href="{reverse("cases:export")}?inbox=to_dispatch&amp;channel=resident_qr"' in html


def test_the_export_holds_only_the_cases_in_scope(client, w):
    from python_calamine import CalamineWorkbook

    mine = report(w.t, w.c.litter)
    theirs = report(w.t, w.c.litter, area=w.micro_b)
    as_user(client, w, "community_staff")
    response = client.get(reverse("cases:export"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    cells = {str(v) for row in book.get_sheet_by_index(0).to_python() for v in row}
    assert mine.number in cells and theirs.number not in cells
    client.get(reverse("cases:export"), {"channel": "resident_qr"})
    assert AuditEvent.objects.filter(action="cases.export").latest("pk").data["filters"] == {"channel": "resident_qr"}
    response = client.get(reverse("cases:export"), {"area": w.t.grid_b1.pk})
    assert response.status_code == 404


# ---- the case page -------------------------------------------------------------------------------------------


def test_the_case_page_shows_facts_map_deadlines_and_the_timeline(client, w):
    case = report(w.t, w.c.manhole, phone="13912345678", reporter_name="王大爷", before_photos=[photo()])
    as_user(client, w, "community_staff")
    html = page(client, reverse("cases:detail", args=[case.pk]))
    assert case.number in html and "井盖缺失" in html and "王大爷" in html
    assert "139****5678" in html and "13912345678" not in html
    assert w.t.community_a.name in html and w.micro.name in html  # area breadcrumbs
    assert 'id="area-map"' in html and '"point": [' in html
    token = CaseAttachment.objects.get(case=case).token
    assert reverse("cases:photo", args=[case.pk, token]) in html
    assert case.stage_deadline is not None and "Accept by" in html


def test_photos_are_served_only_to_those_who_see_the_case(client, w):
    case = report(w.t, w.c.manhole, before_photos=[photo()])
    token = CaseAttachment.objects.get(case=case).token
    as_user(client, w, "grid_leader")
    response = client.get(reverse("cases:photo", args=[case.pk, token]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client.get(reverse("cases:photo", args=[case.pk, "0" * 32])).status_code == 404
    other = report(w.t, w.c.litter)
    assert client.get(reverse("cases:photo", args=[other.pk, token])).status_code == 404


def test_the_action_panel_offers_only_what_the_user_may_do_now(client, w):
    case = report(w.t, w.c.litter)
    staff_actions = action_names(as_user(client, w, "community_staff"), case)
    assert {"accept", "reject", "merge", "cancel", "whistle", "note"} <= staff_actions
    assert not {"take", "resolve", "supervise", "dispatch"} & staff_actions
    member_actions = action_names(as_user(client, w, "microgrid_member"), case)
    assert "accept" not in member_actions and "whistle" not in member_actions
    assert "supervise" in action_names(as_user(client, w, "street_staff"), case)


def test_accept_register_and_dispatch_to_the_grid_from_the_page(client, w):
    case = report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    assert act(client, case, "accept", note="已受理").status_code == 302
    assert act(client, case, "register").status_code == 302
    response = act(client, case, "dispatch", tier="grid", assignee=w.u["microgrid_member"].pk, note="请尽快处理")
    assert response.status_code == 302 and response.url == reverse("cases:detail", args=[case.pk])
    case = fresh(case)
    assert case.state == S.DISPATCHED and case.tier == Tier.GRID and case.assignee == w.u["microgrid_member"]
    html = page(client, reverse("cases:detail", args=[case.pk]))
    assert "Done: Dispatch." in html and "请尽快处理" in html and "已受理" in html
    assert [e.action for e in CaseEvent.objects.filter(case=case)] == ["report", "accept", "register", "dispatch"]
    assert "to the Grid tier" in html and "to microgrid_member" in html


def test_dispatch_offers_the_people_of_the_case_area_and_refuses_others(client, w):
    case = registered(w)
    as_user(client, w, "community_staff")
    form = next(
        a for a in client.get(reverse("cases:detail", args=[case.pk])).context["actions"] if a["name"] == "dispatch"
    )
    offered = {(c["tier"], c["user_id"]) for c in form["candidates"]}
    assert (Tier.GRID, w.u["microgrid_member"].pk) in offered and (Tier.COMMUNITY, w.u["community_staff"].pk) in offered
    assert (Tier.DEPARTMENT, w.u["department_handler"].pk) in offered
    assert all(c["user_id"] != w.u["outsider_microgrid_member"].pk for c in form["candidates"])
    for wrong in (w.u["outsider_microgrid_member"].pk, w.u["community_staff"].pk, "x"):
        response = act(client, case, "dispatch", tier="grid", assignee=wrong)
        assert "Choose a person who handles cases there." in response.content.decode()
    assert fresh(case).state == S.REGISTERED


def test_dispatch_to_a_department_needs_the_department(client, w):
    case = registered(w)
    as_user(client, w, "street_staff")
    response = act(client, case, "dispatch", tier="department")
    assert "Choose the department that takes the case." in response.content.decode()
    act(client, case, "dispatch", tier="department", department=w.t.department.pk)
    assert fresh(case).department == w.t.department and fresh(case).state == S.DISPATCHED


def test_a_refusal_keeps_what_was_typed_and_changes_nothing(client, w):
    case = report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    response = act(client, case, "reject", note="")
    html = response.content.decode()
    assert response.status_code == 200 and "Give a reason." in html
    assert response.context["failed"]["action"] == "reject" and 'id="action-reject" open' in html
    response = act(client, case, "merge", into="2026", note="同一件事")
    assert "No case with the number" in response.content.decode() and "同一件事" in response.content.decode()
    assert fresh(case).state == S.REPORTED


def test_an_action_the_user_may_not_take_is_refused_with_403(client, w):
    case = report(w.t, w.c.litter)
    as_user(client, w, "microgrid_member")
    response = act(client, case, "accept")
    assert response.status_code == 403 and "“Accept” is not yours to do on this case." in response.content.decode()
    assert fresh(case).state == S.REPORTED


def test_a_stale_version_shows_the_fresh_page_and_does_nothing(client, w):
    case = report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    seen = fresh(case).version
    services.transition(fresh(case), "accept", by=w.u["street_staff"])  # someone else acts first
    response = act(client, case, "reject", note="无效", expected_version=seen)
    assert response.status_code == 302 and response.url == reverse("cases:detail", args=[case.pk])
    html = client.get(response.url).content.decode()
    assert STALE in html and "Accepted" in html
    assert fresh(case).state == S.ACCEPTED
    # the same for a step beside the workflow table: a note on facts that changed meanwhile
    response = act(client, case, "note", note="补充", expected_version=seen)
    assert response.status_code == 302 and not CaseEvent.objects.filter(case=case, action="note").exists()


def test_two_dispatchers_on_the_same_page_one_wins(client, w):
    case = registered(w)
    seen = fresh(case).version
    first = act(as_user(client, w, "community_staff"), case, "dispatch", tier="grid", expected_version=seen)
    assert first.status_code == 302
    second = act(as_user(client, w, "street_staff"), case, "dispatch", tier="community", expected_version=seen)
    assert second.status_code == 302 and STALE in client.get(second.url).content.decode()
    assert fresh(case).tier == Tier.GRID and CaseEvent.objects.filter(case=case, action="dispatch").count() == 1


def test_a_post_without_the_version_is_refused(client, w):
    case = report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    response = client.post(reverse("cases:act", args=[case.pk, "accept"]), {"note": "x"})
    assert "This form is out of date" in response.content.decode() and fresh(case).state == S.REPORTED
    assert client.post(reverse("cases:act", args=[case.pk, "fly"]), {"expected_version": 1}).status_code == 404
    assert client.get(reverse("cases:act", args=[case.pk, "accept"])).status_code == 405


def test_take_resolve_with_a_photo_verify_close_and_rate_from_the_page(client, w):
    case = dispatched(w, category=w.c.manhole)
    as_user(client, w, "microgrid_member")
    act(client, case, "take")
    response = act(client, case, "resolve", note="已补齐井盖")
    assert "Add a photo of the result." in response.content.decode() and fresh(case).state == S.TAKEN
    act(client, case, "resolve", note="已补齐井盖", photos=[photo("after.png")])
    assert fresh(case).state == S.RESOLVED
    assert "verify" not in action_names(client, case)  # never the one who resolved it
    as_user(client, w, "grid_leader")
    response = act(client, case, "verify")
    assert "Add a photo taken on site when verifying." in response.content.decode()
    act(client, case, "verify", photos=[photo("check.png")])
    as_user(client, w, "community_staff")
    act(client, case, "close", note="办结")
    act(client, case, "rate", rating="satisfied", comment="电话回访满意")
    case = fresh(case)
    assert case.state == S.RATED and case.rating == "satisfied"
    html = page(client, reverse("cases:detail", args=[case.pk]))
    kinds = set(CaseAttachment.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == {"before", "after", "verify"} and html.count('class="img-thumbnail') == 3


def test_return_and_escalate_need_a_reason(client, w):
    case = dispatched(w)
    as_user(client, w, "microgrid_member")
    assert "Give a reason." in act(client, case, "escalate", note="").content.decode()
    act(client, case, "escalate", note="需要社区协调")
    case = fresh(case)
    assert case.tier == Tier.COMMUNITY and case.state == S.REGISTERED


def test_escalating_a_street_case_to_a_department_asks_which_department(client, w):
    case = registered(w)
    services.escalate(case, by=w.u["community_staff"], note="网格处理不了")
    services.escalate(fresh(case), by=w.u["community_staff"], note="需要街道联调")
    assert fresh(case).tier == Tier.STREET
    as_user(client, w, "street_staff")
    form = next(
        a for a in client.get(reverse("cases:detail", args=[case.pk])).context["actions"] if a["name"] == "escalate"
    )
    assert form["above"] == "Department" and w.t.department in form["departments"]
    act(client, case, "escalate", note="交城管", department=w.t.department.pk)
    case = fresh(case)
    assert case.tier == Tier.DEPARTMENT and case.department == w.t.department


def test_whistle_report_in_and_part_then_close(client, w):
    case = dispatched(w)
    as_user(client, w, "community_staff")
    response = act(client, case, "whistle", level="daily", reason="需要城管执法")
    assert "Name at least one department." in response.content.decode()
    act(client, case, "whistle", level="tough", departments=[w.t.department.pk], reason="需要城管执法")
    html = page(client, reverse("cases:detail", args=[case.pk]))
    assert 'id="co-handlers"' in html and "区城管局" in html
    as_user(client, w, "department_handler")
    assert {"report_in", "note"} <= action_names(client, case)
    act(client, case, "report_in")
    assert "report_part" in action_names(client, case)
    act(client, case, "report_part", note="已到场执法")
    as_user(client, w, "microgrid_member")
    act(client, case, "take")
    act(client, case, "resolve", note="已处理")
    services.verify(fresh(case), by=w.u["grid_leader"], photos_in=[photo()])
    as_user(client, w, "community_staff")
    act(client, case, "close")
    assert fresh(case).state == S.CLOSED
    html = page(client, reverse("cases:detail", args=[case.pk]))
    assert "已到场执法" in html


def test_a_case_cannot_close_while_a_called_department_has_not_done_its_part(client, w):
    case = dispatched(w)
    services.blow_whistle(case, by=w.u["community_staff"], level="daily", departments=[w.t.department], reason="协同")
    services.take(fresh(case), by=w.u["microgrid_member"])
    services.resolve(fresh(case), by=w.u["microgrid_member"])
    services.verify(fresh(case), by=w.u["grid_leader"], photos_in=[photo()])
    as_user(client, w, "community_staff")
    response = act(client, case, "close")
    assert "Still waiting for the part of: 区城管局." in response.content.decode()
    assert fresh(case).state == S.VERIFIED


def test_late_co_handlers_are_shown(client, w):
    case = dispatched(w)
    services.blow_whistle(case, by=w.u["community_staff"], level="daily", departments=[w.t.department], reason="协同")
    case.co_handlers.update(report_deadline=case.reported_at)
    html = page(as_user(client, w, "community_staff"), reverse("cases:detail", args=[case.pk]))
    assert "区城管局 was late to report in" in html


def test_the_grid_centre_supervises_with_an_instruction(client, w):
    case = dispatched(w)
    as_user(client, w, "street_staff")
    assert "Give an instruction." in act(client, case, "supervise", level=2, instruction="").content.decode()
    act(client, case, "supervise", level=2, instruction="今天下班前办结")
    case = fresh(case)
    assert case.supervision == SupervisionLevel.YELLOW
    html = page(client, reverse("cases:detail", args=[case.pk]))
    assert 'id="case-supervision"' in html and "今天下班前办结" in html
    assert "supervise" not in action_names(as_user(client, w, "community_staff"), case)


def test_overdue_case_page_says_who_is_late(client, w):
    case = dispatched(w, assignee=w.u["grid_leader"])
    Case.objects.filter(pk=case.pk).update(is_overdue=True)
    html = page(as_user(client, w, "community_staff"), reverse("cases:detail", args=[case.pk]))
    assert 'id="case-overdue"' in html
    assert 'id="case-waiting-on">grid_leader<' in html


def test_follow_up_after_closing_and_a_note_with_a_photo(client, w):
    case = dispatched(w)
    as_user(client, w, "community_staff")
    assert "follow_up" not in action_names(client, case)
    act(client, case, "note", note="已电话联系物业", photos=[photo()])
    note = CaseEvent.objects.get(case=case, action="note")
    assert note.note == "已电话联系物业" and note.attachments.count() == 1
    services.take(fresh(case), by=w.u["microgrid_member"])
    services.resolve(fresh(case), by=w.u["microgrid_member"])
    services.verify(fresh(case), by=w.u["grid_leader"], photos_in=[photo()])
    services.close(fresh(case), by=w.u["community_staff"])
    assert "follow_up" in action_names(client, case)
    assert "Say what the reporter said." in act(client, case, "follow_up", note="").content.decode()
    act(client, case, "follow_up", note="居民表示满意", rating="satisfied")
    assert CaseEvent.objects.get(case=case, action="follow_up").note == "居民表示满意"


def test_the_dispatcher_sees_possible_duplicates_in_scope_and_merges(client, w):
    first = report(w.t, w.c.litter, description="三号楼下垃圾堆放很多天")
    second = report(w.t, w.c.litter, description="三号楼楼下有垃圾没人清理")
    as_user(client, w, "community_staff")
    response = client.get(reverse("cases:detail", args=[second.pk]))
    assert [c.pk for c in response.context["duplicates"]] == [first.pk]
    assert 'id="case-duplicates"' in response.content.decode()
    act(client, second, "merge", into=first.number)
    second = fresh(second)
    assert second.state == S.MERGED and second.merged_into_id == first.pk
    assert CaseEvent.objects.filter(case=first, action="merged_in").exists()
    # a member cannot merge, and is not shown the duplicates
    third = report(w.t, w.c.litter)
    assert client.get(reverse("cases:detail", args=[third.pk])).context["duplicates"]
    as_user(client, w, "microgrid_member")
    assert client.get(reverse("cases:detail", args=[third.pk])).context["duplicates"] == []


def test_merging_into_a_case_out_of_sight_is_refused(client, w):
    theirs = report(w.t, w.c.litter, area=w.micro_b)
    mine = report(w.t, w.c.litter)
    as_user(client, w, "community_staff")
    response = act(client, mine, "merge", into=theirs.number)
    assert "No case with the number" in response.content.decode() and fresh(mine).state == S.REPORTED


def test_case_page_queries_do_not_grow_with_the_timeline(client, w, django_assert_max_num_queries):
    case = dispatched(w, assignee=w.u["microgrid_member"])
    as_user(client, w, "community_staff")
    url = reverse("cases:detail", args=[case.pk])
    few = count_queries(client, url)
    for i in range(6):
        services.add_note(fresh(case), by=w.u["community_staff"], note=f"进展{i}", photos_in=[photo()])
    services.blow_whistle(
        fresh(case), by=w.u["community_staff"], level="daily", departments=[w.t.department], reason="x"
    )
    with django_assert_max_num_queries(few + 2):  # the co-handler and whistle event bring their department names
        client.get(url)


# ---- staff intake -------------------------------------------------------------------------------------------


def intake(client, **data):
    values = {
        "channel": Channel.HOTLINE,
        "reporter_name": "王先生",
        "phone": "13912345678",
        "category": "T0101",
        "description": "小区门口垃圾三天没人清运",
        "address": "和美小区3栋",
        "idempotency_key": "staff-test-000001",
    }
    values.update(data)
    return client.post(reverse("cases:new"), values)


def test_staff_enter_a_hotline_call(client, w):
    as_user(client, w, "community_staff")
    form = page(client, reverse("cases:new"))
    assert 'name="idempotency_key"' in form and "暴露垃圾" in form
    response = intake(client, area=w.micro.pk)
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("cases:detail", args=[case.pk])
    assert case.channel == Channel.HOTLINE and case.area == w.micro and case.reporter is None
    assert case.reporter_name == "王先生" and case.phone == "13912345678"
    html = client.get(response.url).content.decode()
    assert "139****5678" in html and "13912345678" not in html and f"Case {case.number} recorded." in html


def test_a_second_post_of_the_same_form_returns_the_first_case(client, w):
    as_user(client, w, "community_staff")
    first = intake(client, area=w.micro.pk)
    again = intake(client, area=w.micro.pk)
    assert Case.objects.count() == 1 and first.url == again.url
    assert "had already been recorded" in client.get(again.url).content.decode()


def test_a_12345_order_needs_its_number_and_the_form_keeps_what_was_typed(client, w):
    as_user(client, w, "community_staff")
    response = intake(client, channel=Channel.HOTLINE_12345, area=w.micro.pk)
    html = response.content.decode()
    assert response.status_code == 200 and "Give the 12345 work-order number." in html
    assert "小区门口垃圾三天没人清运" in html and "和美小区3栋" in html and f'id="area-{w.micro.pk}"' in html
    assert not Case.objects.exists()
    intake(client, channel=Channel.HOTLINE_12345, external_number="GD2026113000123", area=w.micro.pk)
    assert Case.objects.get().external_number == "GD2026113000123"


def test_intake_refuses_a_missing_place_and_an_area_out_of_scope(client, w):
    as_user(client, w, "community_staff")
    html = intake(client).content.decode()
    assert "Give the place" in html
    html = intake(client, area=w.micro_b.pk).content.decode()
    assert "Choose an area in your areas." in html
    assert not Case.objects.exists()


def test_intake_by_a_point_on_the_map(client, w):
    as_user(client, w, "community_staff")
    lon, lat = centre(first_micro(w.t, w.t.grid_a2))
    intake(client, lon=f"{lon:.6f}", lat=f"{lat:.6f}")
    assert Case.objects.get().area == first_micro(w.t, w.t.grid_a2)


def test_intake_is_for_staff_only(client, w):
    for who in ("microgrid_member", "department_handler"):
        as_user(client, w, who)
        assert client.get(reverse("cases:new")).status_code == 404
        assert intake(client, area=w.micro.pk).status_code == 404
    assert not Case.objects.exists()


def test_area_search_offers_areas_in_scope_only(client, w):
    as_user(client, w, "community_staff")
    html = client.get(reverse("cases:intake_areas"), {"area_q": "网格"}).content.decode()
    assert w.micro.name in html and "致强" not in html
    html = client.get(reverse("cases:intake_areas"), {"area_q": "致强"}).content.decode()
    assert "No area of yours has that name." in html


def test_intake_shows_possible_duplicates_in_scope(client, w):
    existing = report(w.t, w.c.litter)
    lon, lat = centre(w.micro)
    as_user(client, w, "community_staff")
    url = reverse("cases:intake_duplicates")
    html = client.post(url, {"category": "T0101", "lon": lon, "lat": lat}).content.decode()
    assert existing.number in html
    html = client.post(url, {"category": "T0101", "area": w.micro.pk}).content.decode()
    assert existing.number in html
    as_user(client, w, "outsider_community_staff")
    html = client.post(url, {"category": "T0101", "lon": lon, "lat": lat}).content.decode()
    assert existing.number not in html


def test_intake_suggests_categories_from_the_description(client, w):
    as_user(client, w, "community_staff")
    html = client.post(reverse("cases:intake_suggest"), {"description": "楼道里有人飞线给电动车充电"}).content.decode()
    assert "电动车飞线充电" in html and "data-category=" in html


# ---- notifications and the navigation --------------------------------------------------------------------------


def test_notifications_list_read_one_and_all(client, w):
    case = report(w.t, w.c.litter)  # tells the community staff a case waits on them
    staff = w.u["community_staff"]
    notices.notify([staff.pk], kind="test", title="测试通知", url="/cases/")
    mine = list(Notification.objects.filter(recipient=staff).order_by("pk"))
    assert len(mine) == 2
    as_user(client, w, "community_staff")
    html = page(client, reverse("notices:list"))
    assert "测试通知" in html and case.number in html and 'id="unread-count">2<' in html
    response = client.post(reverse("notices:read", args=[mine[0].pk]), {"open": "1"})
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert Notification.objects.filter(recipient=staff, read_at__isnull=True).count() == 1
    assert [n.pk for n in client.get(reverse("notices:list"), {"unread": "1"}).context["rows"]] == [mine[1].pk]
    client.post(reverse("notices:read_all"))
    assert not Notification.objects.filter(recipient=staff, read_at__isnull=True).exists()


def test_others_notifications_are_404_and_untouched(client, w):
    report(w.t, w.c.litter)
    theirs = Notification.objects.filter(recipient=w.u["community_staff"]).first()
    as_user(client, w, "outsider_community_staff")
    assert client.post(reverse("notices:read", args=[theirs.pk]), {"open": "1"}).status_code == 404
    assert theirs.pk not in {n.pk for n in client.get(reverse("notices:list")).context["rows"]}
    client.post(reverse("notices:read_all"))
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_a_notification_never_sends_the_user_off_the_site(client, w):
    staff = w.u["community_staff"]
    notices.notify([staff.pk], kind="test", title="外链", url="https://evil.example/")
    note = Notification.objects.get(recipient=staff)
    as_user(client, w, "community_staff")
    response = client.post(reverse("notices:read", args=[note.pk]), {"open": "1"})
    assert response.status_code == 302 and response.url == reverse("notices:list")


def test_notification_list_queries_do_not_grow(client, w, django_assert_max_num_queries):
    staff = w.u["community_staff"]
    notices.notify([staff.pk], kind="test", title="一")
    as_user(client, w, "community_staff")
    few = count_queries(client, reverse("notices:list"))
    for i in range(12):
        notices.notify([staff.pk], kind="test", title=f"第{i}条")
    with django_assert_max_num_queries(few):
        client.get(reverse("notices:list"))


def nav(client) -> dict:
    items = client.get(reverse("home")).context["nav_items"]
    return {str(item["label"]): item for item in items}


def test_the_navigation_counts_actionable_cases_and_unread_notifications(client, w):
    report(w.t, w.c.litter)
    report(w.t, w.c.dispute)
    dispatched(w, assignee=w.u["microgrid_member"])
    as_user(client, w, "community_staff")
    items = nav(client)
    assert items["Cases"]["count"]() == 2  # the two new reports wait on the dispatcher; the third went on
    unread = Notification.objects.filter(recipient=w.u["community_staff"], read_at__isnull=True).count()
    assert unread and items["Notifications"]["count"]() == unread
    html = page(client, reverse("home"))
    assert 'id="nav-caseslist"' in html and 'nav-count">2<' in html and 'id="nav-bell"' in html
    as_user(client, w, "microgrid_member")
    assert nav(client)["Cases"]["count"]() == 1
    as_user(client, w, "resident")
    assert "Cases" not in nav(client) and "Notifications" in nav(client)


def test_the_navigation_costs_two_counts_at_most(client, w):
    as_user(client, w, "community_staff")
    report(w.t, w.c.litter)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("home"))
    counted = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    cases = [sql for sql in counted if "cases_case" in sql]
    notes = [sql for sql in counted if "notices_notification" in sql]
    assert len(cases) == 1 and len(notes) == 1
