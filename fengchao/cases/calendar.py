"""The work calendar: which days are working days, the working hours, and deadlines computed on them.

A day is a working day if it is Monday to Friday, unless a `CalendarDay` says otherwise (a public
holiday, or a weekend worked in exchange, 调休). Time limits come in three units:

- natural days: the same clock time that many days later;
- working days: the end of the working day that many working days after the start's date;
- working hours: that much working time, counted through the working hours only.
"""

import datetime as dt
import time
from dataclasses import dataclass, field

from django.utils import timezone

from .choices import LimitUnit

CACHE_SECONDS = 60
_cache: dict = {}


@dataclass(frozen=True)
class WorkCalendar:
    periods: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9), dt.time(12)), (dt.time(13, 30), dt.time(17, 30)))
    overrides: dict = field(default_factory=dict)  # date -> is_working

    def is_working_day(self, day: dt.date) -> bool:
        return self.overrides.get(day, day.weekday() < 5)

    def next_working_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        for _ in range(400):
            if self.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError("no working day within a year")

    def add(self, start: dt.datetime, amount: int, unit: str) -> dt.datetime:
        """The deadline `amount` `unit`s after `start` (aware, in the current time zone)."""
        start = timezone.localtime(start)
        if unit == LimitUnit.NATURAL_DAYS:
            return start + dt.timedelta(days=amount)
        if unit == LimitUnit.WORKING_DAYS:
            day = start.date()
            for _ in range(amount):
                day = self.next_working_day(day)
            if amount == 0:
                return start
            return self._at(day, self.periods[-1][1], start.tzinfo)
        if unit == LimitUnit.WORKING_HOURS:
            return self.add_working_time(start, dt.timedelta(hours=amount))
        raise ValueError(f"unknown time-limit unit {unit!r}")

    def add_working_time(self, start: dt.datetime, remaining: dt.timedelta) -> dt.datetime:
        tz = start.tzinfo
        day = start.date()
        if remaining <= dt.timedelta(0):
            return start
        for _ in range(800):
            if self.is_working_day(day):
                for begin, end in self.periods:
                    period_start = max(self._at(day, begin, tz), start)
                    period_end = self._at(day, end, tz)
                    if period_start >= period_end:
                        continue
                    available = period_end - period_start
                    if remaining <= available:
                        return period_start + remaining
                    remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError("time limit too long for the calendar")

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time from start to end (zero if end is not after start)."""
        start, end = timezone.localtime(start), timezone.localtime(end)
        total = dt.timedelta(0)
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for begin, finish in self.periods:
                    a = max(self._at(day, begin, start.tzinfo), start)
                    b = min(self._at(day, finish, start.tzinfo), end)
                    if b > a:
                        total += b - a
            day += dt.timedelta(days=1)
        return total

    @staticmethod
    def _at(day: dt.date, clock: dt.time, tz) -> dt.datetime:
        return dt.datetime.combine(day, clock).replace(tzinfo=tz)


def current() -> WorkCalendar:
    """The deployment's calendar, cached for a minute (edits through `services` clear the cache)."""
    now = time.monotonic()
    if _cache and now - _cache["at"] < CACHE_SECONDS:
        return _cache["calendar"]
    from .models import CalendarDay, WorkSchedule

    schedule = WorkSchedule.objects.first() or WorkSchedule()
    calendar = WorkCalendar(
        periods=(
            (_as_time(schedule.morning_start), _as_time(schedule.morning_end)),
            (_as_time(schedule.afternoon_start), _as_time(schedule.afternoon_end)),
        ),
        overrides=dict(CalendarDay.objects.values_list("date", "is_working")),
    )
    _cache.update(at=now, calendar=calendar)
    return calendar


def clear_cache() -> None:
    _cache.clear()


def _as_time(value) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)
