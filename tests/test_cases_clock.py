"""The deadline clock with the clock moved: warnings, overdue, cards, holidays, whistles, crashes and races."""

import datetime as dt
import io
import threading
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fengchao.accounts import services as accounts
from fengchao.accounts.roles import Role
from fengchao.cases import calendar, clock, services
from fengchao.cases.choices import CaseState, Stage, SupervisionLevel, WhistleLevel
from fengchao.cases.models import CalendarDay, Case, CaseEvent, Supervision
from fengchao.core import loops
from fengchao.departments.models import Department
from fengchao.notices import services as notices
from fengchao.notices.backends import ConsoleBackend
from fengchao.notices.models import Notification
from tests.case_factories import build_categories, report

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def categories(tree):
    return build_categories(tree.department)


@pytest.fixture
def clock_at():
    """Move the clock (tick=False) and sweep: `clock_at(when)` returns the sweep's counts."""
    with time_machine.travel(at(2026, 1, 5, 8, 0), tick=False) as traveller:

        def sweep_at(when):
            traveller.move_to(when)
            return clock.sweep()

        sweep_at.move_to = traveller.move_to
        yield sweep_at


def handled(counts) -> dict:
    return {kind: n for kind, n in counts.items() if n}


def actions(case) -> Counter:
    return Counter(CaseEvent.objects.filter(case=case).values_list("action", flat=True))


def recipients(case, kind) -> Counter:
    return Counter(Notification.objects.filter(case=case, kind=kind).values_list("recipient__username", flat=True))


SUPERVISORS = {Role.DISTRICT_ADMIN.value: 1, Role.STREET_STAFF.value: 1}
QUEUE = {Role.COMMUNITY_STAFF.value: 1}


# ---- the calendar: warning, overdue, yellow, red ----------------------------------------------------------


def test_friday_afternoon_case_is_warned_and_overdue_on_monday_then_carded(tree, categories, clock_at):
    clock_at.move_to(at(2026, 3, 6, 16, 0))  # a Friday in an ordinary week
    case = report(tree, categories.litter)
    # 2 working hours: Friday 16:00–17:30 and Monday 09:00–09:30 (hours 9–12, 13:30–17:30).
    assert case.stage == Stage.ACCEPT
    assert case.stage_deadline == at(2026, 3, 9, 9, 30)

    # 20 % of two working hours is 24 working minutes: no warning before Monday 09:06.
    for when in (at(2026, 3, 6, 16, 30), at(2026, 3, 6, 17, 29), at(2026, 3, 7, 12, 0), at(2026, 3, 9, 9, 5)):
        assert handled(clock_at(when)) == {}, when
    case.refresh_from_db()
    assert not case.stage_warned

    assert handled(clock_at(at(2026, 3, 9, 9, 7))) == {"warned": 1}
    case.refresh_from_db()
    assert case.stage_warned and not case.is_overdue
    assert recipients(case, "case.deadline_near") == QUEUE
    assert CaseEvent.objects.get(case=case, action="deadline_near").is_public is False

    assert handled(clock_at(at(2026, 3, 9, 9, 30))) == {}  # at the deadline, not past it
    assert handled(clock_at(at(2026, 3, 9, 9, 31))) == {"overdue": 1}
    for _ in range(2):
        assert handled(clock.sweep()) == {}
    case.refresh_from_db()
    assert case.is_overdue and case.supervision == SupervisionLevel.NORMAL
    normal = Supervision.objects.get(case=case)
    assert (normal.level, normal.stage, normal.by, normal.area) == (1, Stage.ACCEPT, None, tree.community_a)
    assert recipients(case, "case.overdue") == SUPERVISORS
    assert recipients(case, "supervision") == QUEUE  # a normal supervision nags the people it waits on

    # Yellow at the close of the next working day after the deadline, red at the close of the third.
    assert handled(clock_at(at(2026, 3, 10, 17, 29))) == {}
    assert handled(clock_at(at(2026, 3, 10, 17, 31))) == {"yellow": 1}
    assert handled(clock_at(at(2026, 3, 12, 17, 29))) == {}
    assert handled(clock_at(at(2026, 3, 12, 17, 31))) == {"red": 1}
    for _ in range(2):
        assert handled(clock.sweep()) == {}

    case.refresh_from_db()
    assert case.supervision == SupervisionLevel.RED
    assert sorted(Supervision.objects.filter(case=case).values_list("level", flat=True)) == [1, 2, 3]
    events = actions(case)
    assert (events["deadline_near"], events["overdue"], events["supervise"]) == (1, 1, 3)
    # Cards reach the supervisors as well as the people the case waits on.
    assert recipients(case, "supervision") == {Role.COMMUNITY_STAFF.value: 3, **{r: 2 for r in SUPERVISORS}}


def national_day_2026():
    """The official 2026 National Day week (also seeded by migration 0003; written here so the test stands alone)."""
    for day in (1, 2, 5, 6, 7):
        CalendarDay.objects.update_or_create(date=dt.date(2026, 10, day), defaults={"is_working": False})
    CalendarDay.objects.update_or_create(date=dt.date(2026, 10, 10), defaults={"is_working": True})
    calendar.clear_cache()


def test_holidays_are_skipped_and_a_swapped_saturday_counts(tree, categories, clock_at):
    national_day_2026()
    clock_at.move_to(at(2026, 9, 30, 16, 0))
    case = report(tree, categories.litter)
    assert case.stage_deadline == at(2026, 10, 8, 9, 30)  # the holiday week and its weekend skipped

    for when in (at(2026, 10, 1, 10, 0), at(2026, 10, 5, 9, 30), at(2026, 10, 7, 17, 0), at(2026, 10, 8, 9, 5)):
        assert handled(clock_at(when)) == {}, when
    assert handled(clock_at(at(2026, 10, 8, 9, 7))) == {"warned": 1}
    assert handled(clock_at(at(2026, 10, 8, 9, 31))) == {"overdue": 1}
    assert handled(clock_at(at(2026, 10, 9, 17, 31))) == {"yellow": 1}
    # Three working days after Thursday the 8th: Friday 9th, Saturday 10th (调休) and Monday 12th.
    assert handled(clock_at(at(2026, 10, 12, 17, 29))) == {}
    assert handled(clock_at(at(2026, 10, 12, 17, 31))) == {"red": 1}


def test_a_case_reported_on_a_swapped_saturday_runs_its_clock_that_day(tree, categories, clock_at):
    national_day_2026()
    clock_at.move_to(at(2026, 10, 10, 10, 0))  # Saturday worked in exchange for the holiday
    case = report(tree, categories.litter)
    assert case.stage_deadline == at(2026, 10, 10, 12, 0)
    assert handled(clock_at(at(2026, 10, 10, 11, 35))) == {}
    assert handled(clock_at(at(2026, 10, 10, 11, 37))) == {"warned": 1}
    assert handled(clock_at(at(2026, 10, 10, 12, 1))) == {"overdue": 1}


def test_natural_day_limits_warn_on_clock_time(tree, categories, clock_at):
    categories.litter.accept_limit, categories.litter.accept_unit = 1, "natural_days"
    categories.litter.save()
    clock_at.move_to(at(2026, 3, 7, 20, 0))  # Saturday evening: natural days ignore the calendar
    case = report(tree, categories.litter)
    assert case.stage_deadline == at(2026, 3, 8, 20, 0)
    assert handled(clock_at(at(2026, 3, 8, 15, 10))) == {}  # 20 % of 24 h is 4 h 48 min
    assert handled(clock_at(at(2026, 3, 8, 15, 13))) == {"warned": 1}
    assert handled(clock_at(at(2026, 3, 8, 20, 1))) == {"overdue": 1}


# ---- moving on -----------------------------------------------------------------------------------------


def test_the_next_stage_clears_the_marks_and_runs_its_own_clock(tree, categories, clock_at):
    clock_at.move_to(at(2026, 3, 10, 9, 0))
    case = report(tree, categories.litter)
    assert handled(clock_at(at(2026, 3, 10, 11, 1))) == {"overdue": 1}

    clock_at.move_to(at(2026, 3, 10, 14, 0))
    case.refresh_from_db()
    case = services.transition(case, "accept", by=tree.users[Role.COMMUNITY_STAFF])
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.stage == Stage.DISPATCH
    assert not case.is_overdue and not case.stage_warned
    assert case.stage_deadline == at(2026, 3, 10, 16, 0)
    assert case.supervision == SupervisionLevel.NORMAL  # a supervision stays on the case until it closes

    assert handled(clock_at(at(2026, 3, 10, 15, 30))) == {}
    assert handled(clock_at(at(2026, 3, 10, 15, 40))) == {"warned": 1}
    assert handled(clock_at(at(2026, 3, 10, 16, 1))) == {"overdue": 1}
    stages = sorted(Supervision.objects.filter(case=case).values_list("stage", flat=True))
    assert stages == [Stage.ACCEPT, Stage.DISPATCH]
    assert actions(case)["overdue"] == 2


def test_closed_and_unclocked_cases_are_left_alone(tree, categories, clock_at):
    clock_at.move_to(at(2026, 3, 10, 9, 0))
    case = report(tree, categories.litter)
    services.transition(case, "reject", by=tree.users[Role.COMMUNITY_STAFF], note="不属于受理范围")
    case.refresh_from_db()
    assert case.stage_deadline is None
    assert handled(clock_at(at(2026, 3, 20, 9, 0))) == {}
    assert not Supervision.objects.exists()


# ---- whistles ------------------------------------------------------------------------------------------


def test_departments_not_reporting_in_time_are_marked_late_once(tree, categories, clock_at):
    housing = Department.objects.create(name="区住建局", code="ZJ", area=tree.district)
    housing_handler = accounts.create_user(username="zj_handler", display_name="住建局办事员", phone="13900000999")
    accounts.assign_role(housing_handler, Role.DEPARTMENT_HANDLER, tree.street_a, department=housing)
    staff = tree.users[Role.COMMUNITY_STAFF]

    clock_at.move_to(at(2026, 3, 10, 10, 0))
    case = report(tree, categories.litter)
    services.blow_whistle(
        case, by=staff, level=WhistleLevel.DAILY, departments=[tree.department, housing], reason="占道经营反复出现"
    )
    clock_at.move_to(at(2026, 3, 10, 10, 20))
    on_time = services.report_in(case, by=tree.users[Role.DEPARTMENT_HANDLER])
    assert not on_time.is_late

    assert handled(clock_at(at(2026, 3, 10, 10, 30))) == {}
    assert handled(clock_at(at(2026, 3, 10, 10, 31))) == {"late_reports": 1}
    assert handled(clock.sweep()) == {}
    late = case.co_handlers.get(department=housing)
    assert late.is_late and late.reported_at is None
    assert actions(case)["report_late"] == 1
    assert recipients(case, "case.report_late") == {staff.username: 1, "zj_handler": 1, **SUPERVISORS}

    clock_at.move_to(at(2026, 3, 10, 10, 45))
    row = services.report_in(case, by=housing_handler)
    assert row.is_late and row.reported_at == at(2026, 3, 10, 10, 45)
    assert CaseEvent.objects.get(case=case, action="report_in", data__department=housing.pk).data["late"] is True
    assert handled(clock.sweep()) == {}
    assert not case.co_handlers.get(department=tree.department).is_late


# ---- notices reach the outside backend -------------------------------------------------------------------


def test_overdue_notices_reach_the_sms_backend_through_the_outbox(tree, categories, clock_at):
    from fengchao.notices.outbox import deliver_pending

    clock_at.move_to(at(2026, 3, 10, 9, 0))
    report(tree, categories.litter)
    deliver_pending()
    ConsoleBackend.sent.clear()
    assert handled(clock_at(at(2026, 3, 10, 11, 1))) == {"overdue": 1}
    assert deliver_pending() == 3
    texts = {phone: text for phone, text in ConsoleBackend.sent}
    supervisors = [tree.users[Role.DISTRICT_ADMIN], tree.users[Role.STREET_STAFF]]
    assert all("is overdue" in texts[user.phone] for user in supervisors)
    assert "Supervised" in texts[tree.users[Role.COMMUNITY_STAFF].phone]
    assert tree.users[Role.GRID_LEADER].phone not in texts
    clock_notices = Notification.objects.filter(kind__in=["case.overdue", "supervision"])
    assert clock_notices.count() == 3 and not clock_notices.filter(delivered_at__isnull=True).exists()


# ---- failures: a killed worker, a bad case, a crashing loop ----------------------------------------------


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, and no `except Exception` catches it."""


def test_a_worker_killed_mid_sweep_loses_nothing_and_repeats_nothing(tree, categories, clock_at, monkeypatch):
    clock_at.move_to(at(2026, 3, 6, 10, 0))
    cases = [report(tree, categories.litter, description=f"第{i}处垃圾堆放未清理") for i in range(6)]
    real_notify = notices.notify
    calls = []

    def dies_on_the_fifth_notice(*args, **kwargs):
        calls.append(kwargs["kind"])
        if len(calls) == 5:
            raise Killed
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(notices, "notify", dies_on_the_fifth_notice)
    # Tuesday: every case is overdue (since Friday noon) and due a yellow card (since Monday's close).
    clock_at.move_to(at(2026, 3, 10, 10, 0))
    with pytest.raises(Killed):
        clock.sweep()
    assert 0 < Case.objects.filter(is_overdue=True).count() < len(cases)  # it died halfway through

    monkeypatch.setattr(notices, "notify", real_notify)
    counts = clock.sweep()
    assert counts["overdue"] + 2 == len(cases) and counts["yellow"] == len(cases)
    assert handled(clock.sweep()) == {}
    for case in cases:
        events = actions(case)
        assert (events["overdue"], events["supervise"]) == (1, 2), case
        levels = sorted(Supervision.objects.filter(case=case).values_list("level", flat=True))
        assert levels == [SupervisionLevel.NORMAL, SupervisionLevel.YELLOW]
        assert recipients(case, "case.overdue") == SUPERVISORS
        assert recipients(case, "supervision") == {Role.COMMUNITY_STAFF.value: 2, **SUPERVISORS}


def test_one_failing_case_does_not_hold_up_the_others(tree, categories, clock_at, monkeypatch):
    clock_at.move_to(at(2026, 3, 10, 9, 0))
    first = report(tree, categories.litter, description="第一处垃圾堆放")
    report(tree, categories.litter, description="第二处垃圾堆放")
    real_area_above = services.area_above

    def broken_for_first(case):
        if case.pk == first.pk:
            raise RuntimeError("bad data")
        return real_area_above(case)

    monkeypatch.setattr(services, "area_above", broken_for_first)
    assert handled(clock_at(at(2026, 3, 10, 11, 1))) == {"overdue": 1, "errors": 1}
    first.refresh_from_db()
    assert not first.is_overdue and actions(first)["overdue"] == 0  # rolled back whole, still due

    monkeypatch.setattr(services, "area_above", real_area_above)
    assert handled(clock.sweep()) == {"overdue": 1}


def test_the_clock_loop_survives_a_failed_sweep(monkeypatch):
    stop = threading.Event()
    passes = []

    def flaky_sweep(**kwargs):
        passes.append(kwargs)
        if len(passes) == 1:
            raise RuntimeError("database gone away")
        stop.set()
        return {}

    monkeypatch.setattr(clock, "sweep", flaky_sweep)
    monkeypatch.setattr(loops, "close_old_connections", lambda: None)
    clock.run_forever(stop, seconds=0)
    assert len(passes) == 2


# ---- two workers at once ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_supervise_each_case_once(categories, tree):
    with time_machine.travel(at(2026, 3, 6, 10, 0), tick=False) as traveller:
        cases = [report(tree, categories.litter, description=f"第{i}处垃圾堆放未清理") for i in range(12)]
        traveller.move_to(at(2026, 3, 10, 10, 0))
        calendar.current()
        start = threading.Barrier(2)
        results, failures = [], []

        def worker():
            try:
                start.wait(timeout=10)
                results.append(clock.sweep(batch_size=5))
            except BaseException as error:  # reported below; a thread's exception is otherwise lost
                failures.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert failures == []
    assert sum(r["overdue"] for r in results) == len(cases)
    assert sum(r["yellow"] for r in results) == len(cases)
    assert sum(r["errors"] for r in results) == 0
    for case in cases:
        assert Supervision.objects.filter(case=case).count() == 2
        assert actions(case)["overdue"] == 1
        assert recipients(case, "case.overdue") == SUPERVISORS


# ---- cheap when nothing is due, and the command ---------------------------------------------------------


def test_a_sweep_with_nothing_due_costs_the_same_few_queries_however_many_cases_wait(tree, categories, clock_at):
    clock_at.move_to(at(2026, 3, 10, 9, 0))
    report(tree, categories.litter)
    calendar.current()

    def queries_of_a_quiet_sweep():
        with CaptureQueriesContext(connection) as queries:
            assert handled(clock.sweep()) == {}
        return len(queries)

    few = queries_of_a_quiet_sweep()
    for i in range(5):
        report(tree, categories.litter, description=f"又一处垃圾堆放{i}")
    assert queries_of_a_quiet_sweep() == few
    assert few <= 6  # the category limits, then one query per kind


def test_run_clock_once_sweeps_and_says_what_it_did(tree, categories, clock_at):
    clock_at.move_to(at(2026, 3, 10, 9, 0))
    report(tree, categories.litter)
    clock_at.move_to(at(2026, 3, 10, 11, 1))
    out = io.StringIO()
    call_command("run_clock", "--once", stdout=out)
    assert "overdue=1" in out.getvalue() and "warned=0" in out.getvalue()
    assert Case.objects.get().is_overdue
