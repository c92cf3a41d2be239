"""The deadline clock: warn before a stage's deadline, mark it overdue, raise supervision, flag late whistles.

`sweep()` makes one pass. Each kind of due work is found with one indexed query (in batches, by
deadline) and each case is handled in its own short transaction that starts with a compare-and-set,
so two workers sweeping at once, or a worker killed halfway and restarted, never act twice on a case
and leave nothing behind: whatever did not commit is still due at the next pass.

The rules (docs/cases.md, "Deadlines and supervision"):

- warn when the time left in the stage is at most 20 % of the stage's limit, and never less than 10
  minutes (`CASES_WARN_FRACTION`, `CASES_WARN_MIN_MINUTES`); working-hour and working-day limits count
  working time left, natural-day limits count clock time;
- overdue once the deadline has passed: automatic supervision (督办) by the level above the tier;
- a yellow card `CASES_YELLOW_AFTER` after the deadline, a red card `CASES_RED_AFTER` after it
  (default one and three working days, counted like a working-day limit from the deadline);
- a department called by a whistle that has not reported in by its deadline is marked late.
"""

import datetime as dt
import logging
import threading
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.audit.services import record
from fengchao.core import loops
from fengchao.notices import services as notices

from . import calendar, services
from .choices import FINAL_STATES, LimitUnit, Stage, SupervisionLevel
from .models import Case, Category, CoHandler
from .queries import SUPERVISOR_ROLES, holders
from .workflow import STAGE_OF_STATE

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
KINDS = ("late_reports", "warned", "overdue", "yellow", "red")
STATES_OF_STAGE: dict[str, list[str]] = defaultdict(list)
for _state, _stage in STAGE_OF_STATE.items():
    STATES_OF_STAGE[_stage].append(_state)
CLOCK_STATES = list(STAGE_OF_STATE)
CARDS = {
    SupervisionLevel.YELLOW: ("CASES_YELLOW_AFTER", "1 working_days"),
    SupervisionLevel.RED: ("CASES_RED_AFTER", "3 working_days"),
}


# ---- the rules ------------------------------------------------------------------------------------------


def warning_lead(amount: int, unit: str, work: calendar.WorkCalendar) -> dt.timedelta:
    """How long before a stage's deadline its people are warned (working time, or clock time for natural days)."""
    if unit == LimitUnit.NATURAL_DAYS:
        span = dt.timedelta(days=amount)
    elif unit == LimitUnit.WORKING_DAYS:
        span = amount * working_day_length(work)
    else:
        span = dt.timedelta(hours=amount)
    fraction = float(getattr(settings, "CASES_WARN_FRACTION", 0.2))
    floor = dt.timedelta(minutes=int(getattr(settings, "CASES_WARN_MIN_MINUTES", 10)))
    return max(span * fraction, floor)


def working_day_length(work: calendar.WorkCalendar) -> dt.timedelta:
    day = dt.date(2000, 1, 3)
    return sum(
        (dt.datetime.combine(day, end) - dt.datetime.combine(day, begin) for begin, end in work.periods),
        dt.timedelta(0),
    )


def time_left(now, deadline, unit: str, work: calendar.WorkCalendar) -> dt.timedelta:
    if unit == LimitUnit.NATURAL_DAYS:
        return deadline - now
    return work.working_time_between(now, deadline)


def card_delay(level: int) -> tuple[int, str]:
    """(amount, unit) after the deadline for a yellow or red card, from settings like "1 working_days"."""
    name, default = CARDS[level]
    value = getattr(settings, name, default)
    if isinstance(value, (int, float)):
        return int(value), LimitUnit.WORKING_DAYS
    if isinstance(value, (tuple, list)):
        amount, unit = value
    else:
        amount, _sep, unit = str(value).strip().partition(" ")
    unit = unit.strip() or LimitUnit.WORKING_DAYS
    if unit not in LimitUnit.values:
        raise ValueError(f"{name}: unknown unit {unit!r}; use one of {', '.join(LimitUnit.values)}")
    return int(amount), unit


def card_due_at(deadline, level: int, work: calendar.WorkCalendar) -> dt.datetime:
    return work.add(deadline, *card_delay(level))


# ---- the sweep -----------------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None, *, stop: threading.Event | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """One pass over every clock that needs attention. Returns how many of each kind were handled."""
    now = now or timezone.now()
    work = calendar.current()
    counts = dict.fromkeys((*KINDS, "errors"), 0)
    passes = [
        ("late_reports", _late_reports_due(now), "report_deadline", _mark_report_late),
        ("warned", _warnings_due(now, work), "stage_deadline", _warn),
        ("overdue", _overdue_due(now), "stage_deadline", _mark_overdue),
        ("yellow", _cards_due(now, work, SupervisionLevel.YELLOW), "stage_deadline", _raise_card),
        ("red", _cards_due(now, work, SupervisionLevel.RED), "stage_deadline", _raise_card),
    ]
    for kind, candidates, order, handle in passes:
        for row in _in_batches(candidates, order, batch_size):
            if stop is not None and stop.is_set():
                return counts
            try:
                with transaction.atomic():
                    done = handle(row, now, work, kind)
            except Exception:  # one bad case must not hold up the others; it stays due for the next pass
                logger.exception("deadline clock: %s failed for %s %s", kind, type(row).__name__, row.pk)
                counts["errors"] += 1
                continue
            counts[kind] += int(bool(done))
    return counts


def _in_batches(queryset, order: str, size: int):
    """Keyset pages by (deadline, pk): rows handled (or skipped) on one page never come back on the next."""
    last = None
    while True:
        page = queryset.order_by(order, "pk")
        if last is not None:
            page = page.filter(Q(**{f"{order}__gt": last[0]}) | Q(**{order: last[0], "pk__gt": last[1]}))
        rows = list(page[:size])
        yield from rows
        if len(rows) < size:
            return
        last = (getattr(rows[-1], order), rows[-1].pk)


def _cases():
    return Case.objects.select_related("area", "category")


# ---- which rows are due (one indexed query each) ---------------------------------------------------------


def _late_reports_due(now):
    return (
        CoHandler.objects.filter(reported_at__isnull=True, report_deadline__lt=now, is_late=False)
        .exclude(case__state__in=FINAL_STATES)
        .select_related("case__area", "case__category", "whistle", "department")
    )


def _warnings_due(now, work):
    """Cases not yet warned whose deadline is within the warning lead of their stage and category.

    The lead differs by (stage, limit), so the query is one range per distinct lead, each on the
    (state, stage_deadline) index; `_warn` then checks the exact working time left.
    """
    categories_of_lead = defaultdict(list)
    limit_fields = [f"{stage}_{part}" for stage in Stage.values for part in ("limit", "unit")]
    for pk, *limits in Category.objects.values_list("pk", *limit_fields):
        for i, stage in enumerate(Stage.values):
            categories_of_lead[(stage, limits[2 * i], limits[2 * i + 1])].append(pk)
    within = Q(pk__in=[])
    for (stage, amount, unit), category_ids in categories_of_lead.items():
        lead = warning_lead(amount, unit, work) + dt.timedelta(seconds=1)
        horizon = now + lead if unit == LimitUnit.NATURAL_DAYS else work.add_working_time(timezone.localtime(now), lead)
        within |= Q(state__in=STATES_OF_STAGE[stage], category_id__in=category_ids, stage_deadline__lte=horizon)
    return _cases().filter(within, stage_warned=False, is_overdue=False, stage_deadline__gte=now)


def _overdue_due(now):
    return _cases().filter(state__in=CLOCK_STATES, is_overdue=False, stage_deadline__lt=now)


def _cards_due(now, work, level):
    return _cases().filter(
        state__in=CLOCK_STATES,
        is_overdue=True,
        supervision__lt=level,
        stage_deadline__lt=_latest_deadline_due(now, work, *card_delay(level)),
    )


def _latest_deadline_due(now, work, amount: int, unit: str) -> dt.datetime:
    """A bound B: every deadline d with `work.add(d, amount, unit) < now` is before B (exact for day units)."""
    if amount <= 0:
        return now
    if unit == LimitUnit.NATURAL_DAYS:
        return now - dt.timedelta(days=amount)
    if unit == LimitUnit.WORKING_HOURS:
        return now - dt.timedelta(hours=amount)  # working time never runs faster than the clock
    # A working-day limit ends at the close of the amount-th working day after the deadline's date.
    local = timezone.localtime(now)
    day = local.date()
    for _day in range(400):
        start_of_day = dt.datetime.combine(day, dt.time(0)).replace(tzinfo=local.tzinfo)
        if work.add(start_of_day, amount, unit) < now:
            return start_of_day + dt.timedelta(days=1)
        day -= dt.timedelta(days=1)
    return now - dt.timedelta(days=400)


# ---- what is done for each (inside the row's own transaction) --------------------------------------------


def _claim(case: Case, **flags) -> bool:
    """Compare-and-set on the case's version: the loser of a race, or a stale page, does nothing."""
    updated = Case.objects.filter(pk=case.pk, version=case.version).update(version=F("version") + 1, **flags)
    if updated != 1:
        return False
    case.version += 1
    for name, value in flags.items():
        setattr(case, name, value)
    return True


def _system_event(case, action, now, *, note="", data=None):
    return services.write_event(case, action, None, now, note=note, data=data, actor_label=_("System"))


def _deadline_text(case) -> str:
    return f"{timezone.localtime(case.stage_deadline):%Y-%m-%d %H:%M}"


def _warn(case: Case, now, work, kind) -> bool:
    amount, unit = case.category.limit(case.stage)
    if now > case.stage_deadline or time_left(now, case.stage_deadline, unit, work) > warning_lead(amount, unit, work):
        return False
    if not _claim(case, stage_warned=True):
        return False
    stage = Stage(case.stage).label
    note = _("The %(stage)s deadline is near: %(deadline)s.") % {"stage": stage, "deadline": _deadline_text(case)}
    _system_event(case, "deadline_near", now, note=note, data={"stage": case.stage})
    record("case.deadline_near", case, area=case.area, stage=case.stage, deadline=case.stage_deadline.isoformat())
    notices.notify(
        services.waiting_on(case),
        kind="case.deadline_near",
        title=_("Case %(number)s: %(stage)s due by %(deadline)s")
        % {"number": case.number, "stage": stage, "deadline": _deadline_text(case)},
        body=case.description[:140],
        url=services.case_url(case),
        case=case,
    )
    return True


def _mark_overdue(case: Case, now, work, kind) -> bool:
    if now <= case.stage_deadline or not _claim(case, is_overdue=True):
        return False
    stage = Stage(case.stage).label
    note = _("Overdue: the %(stage)s deadline was %(deadline)s.") % {"stage": stage, "deadline": _deadline_text(case)}
    _system_event(case, "overdue", now, note=note, data={"stage": case.stage})
    record("case.overdue", case, area=case.area, stage=case.stage, deadline=case.stage_deadline.isoformat())
    area = services.area_above(case)
    services.raise_supervision(
        case, level=SupervisionLevel.NORMAL, by=None, instruction=note, area=area, stage=case.stage, now=now
    )
    notices.notify(
        holders(case, SUPERVISOR_ROLES),
        kind="case.overdue",
        title=_("Case %(number)s is overdue (%(stage)s)") % {"number": case.number, "stage": stage},
        body=note,
        url=services.case_url(case),
        case=case,
    )
    return True


def _raise_card(case: Case, now, work, kind) -> bool:
    level = SupervisionLevel.YELLOW if kind == "yellow" else SupervisionLevel.RED
    if now <= card_due_at(case.stage_deadline, level, work):
        return False
    note = _("%(level)s: still overdue at the %(stage)s stage; the deadline was %(deadline)s.") % {
        "level": level.label,
        "stage": Stage(case.stage).label,
        "deadline": _deadline_text(case),
    }
    row = services.raise_supervision(
        case, level=level, by=None, instruction=note, area=services.area_above(case), stage=case.stage, now=now
    )
    if row is None:
        # This stage already had this card on an earlier pass through it (a case reopened or reworked):
        # raise the level again without a second card, so the case leaves this queue.
        Case.objects.filter(pk=case.pk, supervision__lt=level).update(supervision=level, version=F("version") + 1)
        return False
    return True


def _mark_report_late(row: CoHandler, now, work, kind) -> bool:
    if not CoHandler.objects.filter(pk=row.pk, reported_at__isnull=True, is_late=False).update(is_late=True):
        return False
    case = row.case
    deadline = f"{timezone.localtime(row.report_deadline):%H:%M}"
    note = _("%(department)s has not reported in; it was due by %(deadline)s.") % {
        "department": row.department.name,
        "deadline": deadline,
    }
    # No version bump: lateness changes nothing a form about the case acts on.
    _system_event(case, "report_late", now, note=note, data={"department": row.department_id})
    record("case.report_late", case, area=case.area, department=row.department_id)
    notices.notify(
        [
            row.whistle.blown_by_id,
            *holders(case, SUPERVISOR_ROLES),
            *holders(case, (), department_id=row.department_id),
        ],
        kind="case.report_late",
        title=_("Case %(number)s: %(department)s is late to report in")
        % {"number": case.number, "department": row.department.name},
        body=note,
        url=services.case_url(case),
        case=case,
    )
    return True


# ---- running it -------------------------------------------------------------------------------------------


def interval_seconds() -> float:
    return float(getattr(settings, "CASES_CLOCK_SECONDS", 60))


def run_forever(stop: threading.Event, seconds: float | None = None) -> None:
    """Sweep every `seconds` (CASES_CLOCK_SECONDS) until `stop` is set; a failed sweep is logged and retried."""
    loops.run_every(
        stop, interval_seconds() if seconds is None else seconds, lambda: _sweep_and_log(stop), "deadline clock sweep"
    )


def _sweep_and_log(stop: threading.Event) -> None:
    counts = sweep(stop=stop)
    if any(counts.values()):
        logger.info("deadline clock: %s", counts)


def start_clock_thread(stop: threading.Event) -> threading.Thread | None:
    """The clock inside the worker process; `CASES_CLOCK_SECONDS = 0` turns it off (a separate run_clock)."""
    return loops.start_thread(run_forever, stop, interval_seconds(), "deadline-clock")
