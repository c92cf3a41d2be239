"""A member's day (今日): the tasks due, the care visits due, and the events ahead, gathered from the apps that own
them through their own scoped queries, so nothing here widens what a person sees.

A fixed number of queries whatever the member's load: each section is one or two queries with a limit.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from fengchao.activities.choices import ActivityState, SignupState
from fengchao.activities.queries import activities_visible_to, my_signups
from fengchao.patrols.models import PatrolCheckIn
from fengchao.patrols.queries import is_patroller
from fengchao.visits import queries as visits
from fengchao.work.choices import AssignmentState, TaskState
from fengchao.work.queries import my_assignments

SHOWN = 20  # rows per section; the section links to its full list
EVENT_DAYS = 7  # events ahead that the day shows


@dataclass
class Section:
    rows: list = field(default_factory=list)
    total: int = 0  # all rows, of which `rows` are the first SHOWN
    urgent: int = 0  # overdue tasks and visits


@dataclass
class Day:
    on: dt.date
    tasks: Section
    visits: Section
    events: list
    open_events: list
    check_ins_today: int
    patrols: bool

    @property
    def empty(self) -> bool:
        return not (self.tasks.total or self.visits.total or self.events or self.open_events)


def _day_bounds(on: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(on, dt.time.min, tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def tasks_due(user, now) -> Section:
    """Open assignments of tasks still open, due first; overdue ones counted as urgent."""
    open_work = my_assignments(user).filter(state=AssignmentState.OPEN, task__state=TaskState.OPEN)
    rows = list(open_work.select_related("task", "area").order_by("due_at", "pk")[:SHOWN])
    counts = open_work.aggregate(total=Count("pk"), urgent=Count("pk", filter=Q(due_at__lt=now)))
    total, urgent = counts["total"], counts["urgent"]
    return Section(rows=rows, total=total, urgent=urgent)


def visits_due(user, on: dt.date) -> Section:
    """Care subjects due for a visit by today (overdue first), from the visit plans."""
    due = [row for row in visits.due_for(user, on=on) if row["due_on"] <= on]
    return Section(rows=due[:SHOWN], total=len(due), urgent=sum(1 for row in due if row["overdue"]))


def events_ahead(user, now) -> tuple[list, list]:
    """(my sign-ups for events not yet ended in the coming days, events I could still join)."""
    horizon = now + dt.timedelta(days=EVENT_DAYS)
    mine = list(
        my_signups(user)
        .filter(
            state__in=[SignupState.CONFIRMED, SignupState.WAITLISTED],
            activity__state=ActivityState.PUBLISHED,
            activity__ends_at__gte=now,
            activity__starts_at__lt=horizon,
        )
        .order_by("activity__starts_at", "pk")[:SHOWN]
    )
    joined = {s.activity_id for s in mine}
    joinable = (
        activities_visible_to(user)
        .filter(state=ActivityState.PUBLISHED, starts_at__gte=now, starts_at__lt=horizon)
        .exclude(pk__in=joined)
        .select_related("area")
        .order_by("starts_at", "pk")[:5]
    )
    return mine, list(joinable)


def day_of(user, now=None) -> Day:
    now = now or timezone.now()
    on = timezone.localdate(now)
    start, end = _day_bounds(on)
    mine, joinable = events_ahead(user, now)
    patrols = is_patroller(user)
    return Day(
        on=on,
        tasks=tasks_due(user, now),
        visits=visits_due(user, on),
        events=mine,
        open_events=joinable,
        check_ins_today=PatrolCheckIn.objects.filter(user=user, at__gte=start, at__lt=end).count() if patrols else 0,
        patrols=patrols,
    )
