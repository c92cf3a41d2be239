"""The demo's year of cases (fengchao.demo.cases): seeded once for the module at small scale, then examined."""

import datetime as dt
import hashlib
import random
from collections import Counter, defaultdict

import numpy as np
import pytest
from django.db.models import F, Q
from django.utils import timezone

from fengchao.areas.models import Area
from fengchao.audit.models import AuditEvent
from fengchao.cases import calendar as work_calendar
from fengchao.cases import kpis, tallies
from fengchao.cases.calendar import WorkCalendar
from fengchao.cases.choices import FINAL_STATES, CaseState, Channel, LimitUnit, Rating, Tier
from fengchao.cases.models import MEASURES, Case, CaseEvent, CaseTally, CoHandler, Supervision, Whistle
from fengchao.cases.workflow import STAGE_OF_STATE, TRANSITIONS
from fengchao.demo import cases as demo_cases
from fengchao.demo.fieldwork import remove_fieldwork
from fengchao.demo.services import find_demo_district, remove_demo

pytestmark = pytest.mark.django_db
STAMPS = ("reported_at", "accepted_at", "dispatched_at", "taken_at", "resolved_at", "verified_at", "closed_at")


@pytest.fixture(scope="module")
def seeded(seeded_demo):
    return seeded_demo


def test_a_year_of_cases_in_every_state(seeded):
    cases = Case.objects.all()
    assert cases.count() == demo_cases.TOTAL["small"]
    states = Counter(cases.values_list("state", flat=True))
    assert set(states) == set(CaseState.values), states
    assert states[CaseState.RATED] > states[CaseState.CLOSED] > states[CaseState.REJECTED]
    now = timezone.now()
    assert not cases.filter(reported_at__gt=now).exists()
    assert not cases.filter(reported_at__lt=now - dt.timedelta(days=367)).exists()
    months = {timezone.localtime(t).strftime("%Y-%m") for t in cases.values_list("reported_at", flat=True)}
    assert len(months) >= 12
    assert set(cases.values_list("channel", flat=True)) == set(Channel.values)
    assert set(cases.values_list("tier", flat=True)) == set(Tier.values)
    assert (
        cases.filter(tier=Tier.DEPARTMENT).exclude(department=None).count() == cases.filter(tier="department").count()
    )
    assert cases.filter(rework_count__gt=0).exists() and cases.filter(handled_on_spot=True).exists()
    assert Whistle.objects.exists() and CoHandler.objects.exclude(reported_at=None).exists()
    assert set(Supervision.objects.values_list("level", flat=True)) == {1, 2, 3}
    assert Supervision.objects.filter(by__isnull=False).exists()  # some by hand, with an instruction
    open_cases = cases.exclude(state__in=FINAL_STATES)
    assert open_cases.filter(is_overdue=True, supervision__gt=0).exists()
    # Most are closed and rated, about nine in ten satisfied or basically satisfied.
    ratings = Counter(cases.exclude(rating="").values_list("rating", flat=True))
    good = (ratings[Rating.SATISFIED] + ratings[Rating.BASICALLY_SATISFIED]) / sum(ratings.values())
    assert 0.85 < good < 0.95
    assert states[CaseState.RATED] + states[CaseState.CLOSED] > 0.85 * cases.count()


def test_times_follow_the_loop_and_the_work_calendar(seeded):
    cases = Case.objects.all()
    for earlier, later in zip(STAMPS, STAMPS[1:], strict=False):
        assert not cases.filter(**{f"{later}__lt": F(earlier)}).exists(), (earlier, later)
    # A timestamp is there exactly when the case got that far.
    assert not cases.filter(state__in=[CaseState.CLOSED, CaseState.RATED], closed_at=None).exists()
    assert not cases.filter(closed_at__isnull=False, closed_on_time=None).exists()
    assert not cases.filter(taken_at__isnull=False, responded_on_time=None).exists()
    assert not cases.filter(state=CaseState.RATED, rating="").exists()
    assert not cases.exclude(state=CaseState.RATED).exclude(rating="").exists()
    assert (
        not cases.filter(state__in=[CaseState.REPORTED, CaseState.REJECTED, CaseState.MERGED])
        .exclude(accepted_at=None)
        .exists()
    )
    # Closed on time means closed by the due time; overdue means the stage's deadline has passed.
    assert not cases.filter(closed_on_time=True, closed_at__gt=F("due_at")).exists()
    assert not cases.filter(closed_on_time=False, closed_at__lte=F("due_at")).exists()
    now = timezone.now()
    assert not cases.filter(is_overdue=True, stage_deadline__gt=now).exists()
    assert not cases.filter(is_overdue=False, stage_deadline__lt=now - dt.timedelta(minutes=5)).exists()
    for state in CaseState.values:
        stage = STAGE_OF_STATE.get(state, "")
        assert set(cases.filter(state=state).values_list("stage", flat=True)) == {stage}, state
    assert not cases.filter(state__in=FINAL_STATES, is_overdue=True).exists()
    # Deadlines, due times and responses on time agree with the work calendar, checked on a sample.
    work = work_calendar.current()
    sample = list(cases.exclude(taken_at=None).select_related("category").order_by("?")[:150])
    for case in sample:
        due = case.accepted_at
        for stage in ("dispatch", "take", "handle", "verify"):
            due = work.add(due, *case.category.limit(stage))
        assert case.due_at == due, case.number
    late_take = [c for c in sample if c.rework_count == 0 and c.events.filter(action="escalate").count() == 0]
    for case in late_take:
        deadline = work.add(case.dispatched_at, *case.category.limit("take"))
        assert case.responded_on_time == (case.taken_at <= deadline), case.number
    for case in cases.exclude(stage="").select_related("category")[:150]:
        assert case.stage_deadline > case.reported_at


def test_every_timeline_leads_to_the_cases_state(seeded):
    events = defaultdict(list)
    for case_id, at, action, from_state, to_state, public in CaseEvent.objects.order_by("case", "at", "pk").values_list(
        "case_id", "at", "action", "from_state", "to_state", "is_public"
    ):
        events[case_id].append((at, action, from_state, to_state, public))
    cases = {c["pk"]: c for c in Case.objects.values("pk", "state", "reported_at", "version", "merged_into")}
    assert set(events) == set(cases)
    for pk, timeline in events.items():
        case = cases[pk]
        assert timeline[0][:2] == (case["reported_at"], "report"), pk
        moves = [e for e in timeline if e[3]]
        state = ""
        for _at, action, from_state, to_state, public in moves:
            if action == "report":
                assert to_state == CaseState.REPORTED
            else:
                transition = TRANSITIONS[action]
                assert from_state == state and from_state in transition.sources and to_state == transition.target
                assert public == transition.public, (pk, action)
            state = to_state
        assert state == case["state"], pk
        assert case["version"] >= len(moves), pk
    # Main path timelines (written by SQL) look like the others: the desk accepts, someone else verifies.
    rated = Case.objects.filter(state=CaseState.RATED, rework_count=0, handled_on_spot=False)[:200]
    for case in rated:
        by = {e.action: e for e in case.events.all()}
        assert by["verify"].actor_id != by["resolve"].actor_id, case.number
        assert by["take"].actor_id == case.assignee_id and by["resolve"].actor_id == case.resolved_by_id
        assert by["dispatch"].data["tier"] == case.tier
        assert by["rate"].data["rating"] == case.rating
        assert by["report"].data == {"channel": case.channel}
        assert all(e.actor_label for e in by.values())
    merged = Case.objects.filter(state=CaseState.MERGED)
    assert merged.exists() and not merged.filter(merged_into=None).exists()
    assert not merged.filter(merged_into__pk__gte=F("pk")).exists()  # an earlier case took it in


def test_reporters_places_and_contact_phones(seeded):
    cases = Case.objects.select_related("area")
    members = cases.filter(channel=Channel.MEMBER)
    assert not members.filter(reporter=None).exists()
    assert not members.exclude(reporter_name=F("reporter__display_name")).exists()
    staff_entered = cases.filter(channel__in=[Channel.HOTLINE, Channel.WALK_IN, Channel.HOTLINE_12345])
    assert not staff_entered.exclude(reporter=None).exists() and not staff_entered.filter(reporter_name="").exists()
    assert not cases.filter(channel=Channel.HOTLINE_12345, external_number="").exists()
    anonymous = cases.filter(is_anonymous=True)
    assert anonymous.exists() and not anonymous.exclude(reporter_name="", phone_cipher="").exists()
    with_phone = list(cases.exclude(phone_cipher="")[:50])
    assert with_phone
    for case in with_phone:
        assert case.phone.startswith("198") and case.masked_phone == f"198****{case.phone[-4:]}"
        assert case.phone_last4 == case.phone[-4:]
    for case in cases.order_by("?")[:300]:
        area = case.area
        assert area.kind in ("microgrid", "dedicated")
        assert area.min_lon <= case.lon <= area.max_lon and area.min_lat <= case.lat <= area.max_lat
        assert (case.street_pk, case.community_pk, case.grid_pk) == (area.street_pk, area.community_pk, area.grid_pk)
        assert len(case.tracking_code) == 10 and case.description and case.address
    assert Case.objects.values("tracking_code").distinct().count() == Case.objects.count()


def test_tallies_equal_a_recount(seeded):
    def cells():
        return {
            (t["area_id"], t["month"], t["category_id"]): tuple(t[m] for m in MEASURES)
            for t in CaseTally.objects.values()
        }

    seeded_cells = cells()
    assert seeded_cells
    tallies.rebuild()
    assert cells() == seeded_cells


def test_the_demo_streets_figures_are_sane(seeded):
    street = Area.objects.get(level=2)
    since, until = kpis.last_months(13)
    figures = kpis.area_kpis(street, since=since, until=until)
    assert figures["cases"] == demo_cases.TOTAL["small"]
    assert all(0 <= rate <= 1 for rate in figures["rates"].values())
    assert 0.85 < figures["rates"]["satisfaction"] < 0.95
    assert figures["rates"]["response"] > 0.85 and figures["rates"]["resolution"] > 0.9
    assert 0 < figures["rates"]["rework"] < 0.1
    assert all(hours is not None and hours > 0 for hours in figures["stage_hours"].values())
    by_category = {row["name"]: row["count"] for row in figures["by_category"]["leaf"]}
    assert by_category["暴露垃圾"] > by_category.get("古树名木", 0)  # garbage outnumbers rare matters
    micro = Area.objects.filter(kind="microgrid").order_by("pk").first()
    children = kpis.children_kpis(micro.parent, since=since, until=until)
    assert children[micro.pk]["cases"] == Case.objects.filter(area=micro).count()


def test_the_audit_event_keeps_the_counts_and_the_seeded_ranges(seeded):
    data = seeded.data
    assert data["counts"]["case"] == demo_cases.TOTAL["small"]
    assert data["counts"]["case_event"] == CaseEvent.objects.count()
    assert data["counts"]["supervision"] == Supervision.objects.count()
    low, high = data["cases"]["cases.case"]
    assert high - low + 1 == Case.objects.count() == Case.objects.filter(pk__range=(low, high)).count()
    assert data["cases_version"] == demo_cases.VERSION and data["cases_s"] > 0


def test_removing_the_demo_removes_its_cases(seeded):
    remove_demo()
    for model in (Case, CaseEvent, CaseTally, Whistle, CoHandler, Supervision):
        assert not model.objects.exists(), model.__name__
    assert not Area.objects.exists()


def test_the_same_seed_and_time_give_the_same_cases(seeded, monkeypatch):
    """Also when a forked helper plans the chunks and the indexes are built at the end, as at district scale."""
    district = find_demo_district()
    now = timezone.now().replace(microsecond=0)
    ranges = AuditEvent.objects.get(action="demo.seeded").data["cases"]
    monkeypatch.setattr(demo_cases, "CHUNK", 300)
    remove_fieldwork()  # the season's inspections point at seeded cases: they go first, as in remove_demo

    def reseed() -> str:
        nonlocal ranges
        demo_cases.remove_cases(district, ranges)
        ranges = demo_cases.seed_cases(district, "small", now=now, total=800).pk_ranges
        rows = Case.objects.order_by("pk").values_list(
            "pk", "state", "reported_at", "closed_at", "category_id", "area_id", "tracking_code", "rating"
        )
        events = CaseEvent.objects.order_by("case", "at", "pk").values_list("case_id", "action", "actor_id")
        cells = CaseTally.objects.order_by("area", "month", "category").values_list(*MEASURES)
        return hashlib.sha256(repr((list(rows), list(events), list(cells))).encode()).hexdigest()

    planned_here = reseed()
    assert reseed() == planned_here
    monkeypatch.setattr(demo_cases, "LARGE", 500)  # a helper process, indexes dropped and built again
    assert reseed() == planned_here
    assert Case.objects.filter(state=CaseState.RATED).count() > 500


# --- the work clock ----------------------------------------------------------------------------------------------


def test_the_work_clock_agrees_with_the_work_calendar(seeded):
    """WorkClock computes the seeder's million deadlines; it must give what WorkCalendar.add gives."""
    zone = timezone.get_current_timezone()
    work = WorkCalendar(
        overrides={
            dt.date(2026, 10, 1): False,
            dt.date(2026, 10, 2): False,
            dt.date(2026, 10, 5): False,
            dt.date(2026, 10, 6): False,
            dt.date(2026, 10, 7): False,
            dt.date(2026, 10, 10): True,  # a Saturday worked in exchange (调休)
        }
    )
    clock = demo_cases.WorkClock(work, dt.date(2026, 8, 1), dt.date(2027, 6, 1), zone)
    rnd = random.Random(5)
    base = int(dt.datetime(2026, 9, 1, tzinfo=zone).timestamp())
    starts, amounts, units = [], [], []
    for _ in range(600):
        start = base + rnd.randrange(0, 80 * 86400)
        start -= start % 60 if rnd.random() < 0.2 else 0
        amount = rnd.choice((1, 2, 3, 4, 10))
        unit = rnd.choice(list(LimitUnit.values))
        expected = work.add(dt.datetime.fromtimestamp(start, zone), amount, unit)
        assert clock.add(start, amount, unit) == int(expected.timestamp()), (start, amount, unit)
        starts.append(start)
        amounts.append(amount)
        units.append(demo_cases.UNITS.index(unit))
    vector = clock.add_v(np.array(starts), np.array(amounts), np.array(units))
    scalar = [clock.add(s, a, demo_cases.UNITS[u]) for s, a, u in zip(starts, amounts, units, strict=True)]
    assert vector.tolist() == scalar
    # Working time between two moments, both ways.
    for start in starts[:100]:
        end = start + rnd.randrange(0, 9 * 86400)
        span = work.working_time_between(dt.datetime.fromtimestamp(start, zone), dt.datetime.fromtimestamp(end, zone))
        assert clock.worked(end) - clock.worked(start) == span.total_seconds()
    assert clock.worked_v(np.array(starts)).tolist() == [clock.worked(s) for s in starts]


def test_limits_across_a_holiday_and_a_swapped_saturday(seeded):
    zone = timezone.get_current_timezone()
    work = WorkCalendar(
        overrides={dt.date(2026, 10, d): False for d in (1, 2, 5, 6, 7)} | {dt.date(2026, 10, 10): True}
    )
    clock = demo_cases.WorkClock(work, dt.date(2026, 9, 1), dt.date(2026, 11, 30), zone)
    start = int(dt.datetime(2026, 9, 30, 16, 0, tzinfo=zone).timestamp())
    due = dt.datetime.fromtimestamp(clock.add(start, 2, LimitUnit.WORKING_HOURS), zone)
    assert due == dt.datetime(2026, 10, 8, 9, 30, tzinfo=zone)  # 1.5 h on the 30th, half an hour after the holiday
    red = dt.datetime.fromtimestamp(clock.add(int(due.timestamp()), 3, LimitUnit.WORKING_DAYS), zone)
    assert red == dt.datetime(2026, 10, 12, 17, 30, tzinfo=zone)  # Saturday the 10th is worked


def test_no_case_is_supervised_twice_for_the_same_stage_and_level(seeded):
    automatic = Supervision.objects.filter(by=None)
    assert automatic.values("case", "stage", "level").distinct().count() == automatic.count()
    assert not Supervision.objects.filter(Q(case__state=CaseState.CLOSED) & ~Q(case__supervision=0)).exists()
