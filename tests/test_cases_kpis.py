"""Area and department figures (fengchao.cases.kpis): counts, the rates and stage times, from tallies and from cases."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fengchao.cases import kpis, services
from fengchao.cases.choices import CaseState, Rating, Tier
from fengchao.cases.models import Case
from tests.case_factories import build_categories, report

pytestmark = pytest.mark.django_db

ZONE = timezone.get_fixed_timezone(8 * 60)


def at(day: str, clock: str = "10:00") -> dt.datetime:
    """A moment in Chengdu's time (the deployment's zone)."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZONE)


HANDLER_OF_TIER = {
    Tier.GRID: "grid_leader",
    Tier.COMMUNITY: "community_staff",
    Tier.STREET: "street_staff",
    Tier.DEPARTMENT: "department_handler",
}


class Walk:
    """Moves cases through the loop at chosen times, by the people of the test tree who may make each step."""

    def __init__(self, tree):
        self.t, self.u = tree, tree.users

    def report(self, category, when, *, area=None, by="microgrid_member", **kw):
        return report(self.t, category, by=self.u[by] if by else None, area=area, now=when, **kw)

    def step(self, case, name, when, by, **changes):
        case = Case.objects.select_related("area", "category").get(pk=case.pk)
        return services.transition(case, name, by=self.u[by], now=when, **changes)

    def to(self, case, last: str, start: dt.datetime, *, tier=Tier.GRID, department=None, late_take=False, rating=None):
        """Walk along the main path up to `last`, an hour apart in working time (or a week late to take)."""
        when = start
        handler = HANDLER_OF_TIER[tier]
        closer = "street_staff" if tier in (Tier.STREET, Tier.DEPARTMENT) else "community_staff"
        plan = [
            ("accept", "community_staff", {}),
            ("register", "community_staff", {}),
            ("dispatch", "community_staff", {"tier": tier, "department": department, "assignee": None}),
            ("take", handler, {}),
            ("resolve", handler, {}),
            ("verify", "microgrid_member", {}),
            ("close", closer, {}),
            ("rate", "community_staff", {"rating": rating or Rating.SATISFIED, "rating_comment": ""}),
        ]
        for name, by, changes in plan:
            when = when + (dt.timedelta(days=7) if name == "take" and late_take else dt.timedelta(hours=1))
            case = self.step(case, name, when, by, **changes)
            if name == last:
                break
        return case


@pytest.fixture
def w(tree):
    walk = Walk(tree)
    walk.c = build_categories(department=tree.department)
    return walk


def brute_force(cases) -> dict:
    """The figures computed the slow, obvious way from the case rows, to hold both paths to."""
    cases = list(cases)
    count = {
        "accepted": sum(c.accepted_at is not None for c in cases),
        "dispatched": sum(c.dispatched_at is not None for c in cases),
        "resolved": sum(c.resolved_at is not None for c in cases),
        "closed": sum(c.closed_at is not None for c in cases),
        "rated": sum(bool(c.rating) for c in cases),
    }
    good = sum(c.rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED) for c in cases)
    return {
        "cases": len(cases),
        "rates": {
            "response": kpis.ratio(sum(bool(c.responded_on_time) for c in cases), count["dispatched"]),
            "resolution": kpis.ratio(count["resolved"], count["accepted"]),
            "satisfaction": kpis.ratio(good, count["rated"]),
            "on_time_closing": kpis.ratio(sum(bool(c.closed_on_time) for c in cases), count["closed"]),
            "rework": kpis.ratio(sum(c.rework_count > 0 for c in cases), count["resolved"]),
        },
    }


def test_an_area_counts_its_cases_by_state_and_computes_the_rates(w):
    start = at("2026-03-02")  # a Monday
    happy = w.to(w.report(w.c.litter, start), "rate", start)
    late = w.to(w.report(w.c.litter, start), "rate", start, late_take=True, rating=Rating.DISSATISFIED)
    rejected = w.step(
        w.report(w.c.litter, start), "reject", start + dt.timedelta(hours=1), "community_staff", note="非本辖区事项"
    )
    waiting = w.report(w.c.litter, start)
    assert {happy.state, late.state, rejected.state, waiting.state} == {"rated", "rejected", "reported"}

    figures = kpis.area_kpis(w.t.street_a)
    assert figures["cases"] == 4
    assert {s: n for s, n in figures["by_state"].items() if n} == {"rated": 2, "rejected": 1, "reported": 1}
    assert figures["rates"] == {
        "response": 0.5,  # one of the two dispatched was taken a week late
        "resolution": 1.0,  # both accepted cases were resolved (the rejected one was never accepted)
        "satisfaction": 0.5,
        "on_time_closing": 0.5,
        "rework": 0.0,
    }
    assert figures["rates"] == brute_force(Case.objects.filter(street_pk=w.t.street_a.pk))["rates"]
    # Accepting took an hour for both; taking an hour for one and a week (of clock time) for the other.
    assert figures["stage_hours"]["accept"] == pytest.approx(1.0)
    assert figures["stage_hours"]["take"] == pytest.approx((1 + 7 * 24) / 2)
    assert figures["by_category"]["leaf"] == [
        {"pk": w.c.litter.pk, "parent_id": w.c.parent.pk, "code": "T0101", "name": "暴露垃圾", "count": 4}
    ]
    assert [row["code"] for row in figures["by_category"]["top"]] == ["T01"]


def test_every_level_agrees_with_the_cases_below_it(w):
    """Street, community and grid sum tallies; the micro-grid aggregates case rows: the same numbers come out."""
    start = at("2026-03-02")
    micro = next(iter(w.t.micro.values()))
    w.to(w.report(w.c.litter, start), "rate", start)
    w.to(w.report(w.c.dispute, start), "close", start, tier=Tier.COMMUNITY)
    w.to(w.report(w.c.litter, start), "take", start, late_take=True)
    w.to(w.report(w.c.litter, start), "dispatch", start, tier=Tier.DEPARTMENT, department=w.t.department)
    expected = kpis.area_kpis(micro)
    assert expected["cases"] == 4
    for area in (w.t.grid_a1, w.t.community_a, w.t.street_a, w.t.district):
        figures = kpis.area_kpis(area)
        assert figures["by_state"] == expected["by_state"], area.name
        assert figures["rates"] == expected["rates"], area.name
        assert figures["stage_hours"] == pytest.approx(expected["stage_hours"]), area.name
        assert figures["by_category"] == expected["by_category"], area.name
    assert expected["rates"] == brute_force(Case.objects.all())["rates"]


def test_with_nothing_to_count_the_rates_are_none(w):
    figures = kpis.area_kpis(w.t.street_b)
    assert figures["cases"] == 0
    assert set(figures["rates"].values()) == {None}
    assert set(figures["stage_hours"].values()) == {None}
    assert figures["by_category"] == {"leaf": [], "top": []}


def test_months_and_a_parent_category_narrow_the_figures(w):
    january, march = at("2026-01-12"), at("2026-03-02")
    w.to(w.report(w.c.litter, january), "rate", january)
    w.to(w.report(w.c.litter, march), "rate", march, rating=Rating.DISSATISFIED)
    w.to(w.report(w.c.dispute, march), "dispatch", march, tier=Tier.COMMUNITY)
    area = w.t.street_a
    assert kpis.area_kpis(area)["cases"] == 3
    spring = kpis.area_kpis(area, since=dt.date(2026, 2, 1), until=dt.date(2026, 3, 1))
    assert spring["cases"] == 2
    assert spring["rates"]["satisfaction"] == 0.0  # January's satisfied rating is outside
    assert kpis.area_kpis(area, until=dt.date(2026, 1, 1))["cases"] == 1
    assert kpis.area_kpis(area, category=w.c.parent)["cases"] == 3  # the parent takes in its leaves
    assert kpis.area_kpis(area, category=w.c.dispute)["cases"] == 1
    assert kpis.area_kpis(area, category=w.c.manhole)["cases"] == 0
    micro = next(iter(w.t.micro.values()))  # the case path filters alike
    assert (
        kpis.area_kpis(micro, since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 1), category=w.c.litter)["cases"] == 1
    )


def test_a_month_runs_by_the_local_calendar(w):
    """A case reported at 07:00 on 1 March in Chengdu (23:00 UTC on 28 February) belongs to March."""
    w.report(w.c.litter, at("2026-03-01", "07:00"))
    march = kpis.area_kpis(w.t.street_a, since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 1))
    assert march["cases"] == 1
    micro = next(iter(w.t.micro.values()))
    assert kpis.area_kpis(micro, since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 1))["cases"] == 1
    assert kpis.area_kpis(micro, until=dt.date(2026, 2, 1))["cases"] == 0


def test_children_get_one_row_each_from_one_group_by(w):
    start = at("2026-03-02")
    micros = list(w.t.micro.values())
    w.to(w.report(w.c.litter, start, area=micros[0]), "rate", start)
    w.to(w.report(w.c.litter, start, area=micros[1], by=None), "take", start, late_take=True)
    w.report(w.c.litter, start, area=w.t.micro["致强一网格1号微网格"], by="outsider_microgrid_member")
    by_street = kpis.children_kpis(w.t.district)
    assert {pk: f["cases"] for pk, f in by_street.items()} == {w.t.street_a.pk: 2, w.t.street_b.pk: 1}
    assert by_street[w.t.street_a.pk]["open"] == 1
    assert by_street[w.t.street_a.pk]["rates"]["response"] == 0.5
    by_micro = kpis.children_kpis(w.t.grid_a1)  # below the tallies: grouped from the cases
    assert by_micro[micros[0].pk]["rates"]["satisfaction"] == 1.0
    assert by_micro[micros[1].pk]["rates"]["response"] == 0.0
    assert by_micro[micros[1].pk]["open"] == 1
    empty = kpis.empty_child_figures()
    assert empty["cases"] == 0 and empty["rates"]["response"] is None


def test_department_figures_count_the_cases_sent_to_it(w):
    start = at("2026-03-02")
    w.to(w.report(w.c.litter, start), "dispatch", start, tier=Tier.DEPARTMENT, department=w.t.department)
    w.to(w.report(w.c.litter, start), "rate", start, tier=Tier.DEPARTMENT, department=w.t.department)
    w.to(w.report(w.c.litter, start), "rate", start)
    figures = kpis.department_kpis(w.t.department)
    assert figures["cases"] == 2
    assert figures["by_state"][CaseState.DISPATCHED] == 1 and figures["by_state"][CaseState.RATED] == 1
    assert figures["rates"]["satisfaction"] == 1.0
    assert figures["rates"]["response"] == 0.5  # the one still waiting has not responded


def test_figures_take_a_constant_handful_of_queries(w):
    start = at("2026-03-02")
    for micro in w.t.micro.values():
        if micro.community_pk == w.t.community_a.pk:
            w.to(w.report(w.c.litter, start, area=micro, by=None), "accept", start)
    for area in (w.t.district, w.t.street_a, w.t.grid_a1, next(iter(w.t.micro.values()))):
        with CaptureQueriesContext(connection) as queries:
            kpis.area_kpis(area)
        assert len(queries) == 2, area.name  # the sums, and the category names
        with CaptureQueriesContext(connection) as queries:
            kpis.children_kpis(area)
        assert len(queries) == 1, area.name
    with CaptureQueriesContext(connection) as queries:
        kpis.area_kpis(w.t.district, category=w.c.parent)
    assert len(queries) == 3  # and the category tree, for a category filter


def test_a_moved_community_takes_its_cases_figures_and_scope_along(w):
    """Tallies count a case in every area above it, and scopes read the case's lineage: both follow a move."""
    from django.http import Http404

    from fengchao.areas.services import move_area
    from fengchao.cases.queries import case_or_404
    from tests.case_factories import assert_tallies_match_a_rebuild

    start = at("2026-03-02")
    closed = w.to(w.report(w.c.litter, start), "rate", start)
    waiting = w.report(w.c.litter, start)
    assert kpis.area_kpis(w.t.street_a)["cases"] == 2 and kpis.area_kpis(w.t.street_b)["cases"] == 0

    move_area(w.t.community_a, w.t.street_b, local_code="2")

    assert kpis.area_kpis(w.t.street_a)["cases"] == 0
    moved = kpis.area_kpis(w.t.street_b)
    assert moved["cases"] == 2 and moved["rates"]["satisfaction"] == 1.0
    assert kpis.area_kpis(w.t.district)["cases"] == 2
    assert kpis.children_kpis(w.t.street_b)[w.t.community_a.pk]["cases"] == 2
    assert_tallies_match_a_rebuild()
    assert set(Case.objects.values_list("street_pk", flat=True)) == {w.t.street_b.pk}
    for case in (closed, waiting):
        assert case_or_404(w.u["outsider_street_staff"], case.pk).pk == case.pk  # street B's staff now
        with pytest.raises(Http404):
            case_or_404(w.u["street_staff"], case.pk)
