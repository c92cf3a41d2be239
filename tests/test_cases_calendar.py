"""The work calendar: deadlines in working hours, working days and natural days, the seeded 2025–2026
holidays and swapped working days (调休), and the grid centre's edits to days and working hours."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.cases import calendar, catalogue
from fengchao.cases.calendar import WorkCalendar
from fengchao.cases.choices import LimitUnit
from fengchao.cases.models import CalendarDay, WorkSchedule

HOURS, DAYS, NATURAL = LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS, LimitUnit.NATURAL_DAYS
PLAIN = WorkCalendar()  # 09:00–12:00 and 13:30–17:30, Monday to Friday, no holidays


def at(year, month, day, hour=0, minute=0):
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def local(value):
    return timezone.localtime(value).replace(tzinfo=None)


# ---- working hours -------------------------------------------------------------------------------------


def test_working_hours_skip_the_lunch_break():
    # Wednesday 11:00 + 2 h: one hour before lunch, the second after 13:30.
    assert local(PLAIN.add(at(2026, 11, 4, 11), 2, HOURS)) == dt.datetime(2026, 11, 4, 14, 30)


def test_working_hours_started_in_the_lunch_break_begin_at_13_30():
    assert local(PLAIN.add(at(2026, 11, 4, 12, 30), 1, HOURS)) == dt.datetime(2026, 11, 4, 14, 30)


def test_working_hours_skip_the_evening_and_night():
    # 17:00 + 2 h: half an hour today, the rest from 09:00 the next morning.
    assert local(PLAIN.add(at(2026, 11, 4, 17), 2, HOURS)) == dt.datetime(2026, 11, 5, 10, 30)
    # reported at 20:00: the clock starts the next morning
    assert local(PLAIN.add(at(2026, 11, 4, 20), 1, HOURS)) == dt.datetime(2026, 11, 5, 10, 0)


def test_friday_afternoon_runs_into_monday():
    # Friday 16:30 + 3 h: one hour on Friday, two on Monday morning.
    assert local(PLAIN.add(at(2026, 11, 6, 16, 30), 3, HOURS)) == dt.datetime(2026, 11, 9, 11, 0)


def test_working_days_end_at_close_of_business_and_skip_weekends():
    # Thursday + 2 working days = Monday evening.
    assert local(PLAIN.add(at(2026, 11, 5, 10), 2, DAYS)) == dt.datetime(2026, 11, 9, 17, 30)


def test_natural_days_count_every_day_at_the_same_time():
    assert local(PLAIN.add(at(2026, 11, 6, 16, 30), 2, NATURAL)) == dt.datetime(2026, 11, 8, 16, 30)


def test_working_time_between():
    assert PLAIN.working_time_between(at(2026, 11, 4, 11), at(2026, 11, 4, 14)) == dt.timedelta(hours=1, minutes=30)
    # Friday 16:00 to Monday 10:00: 1.5 h on Friday, 1 h on Monday
    assert PLAIN.working_time_between(at(2026, 11, 6, 16), at(2026, 11, 9, 10)) == dt.timedelta(hours=2, minutes=30)
    assert PLAIN.working_time_between(at(2026, 11, 9, 10), at(2026, 11, 6, 16)) == dt.timedelta(0)


# ---- the seeded official calendar ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_official_2025_and_2026_days_are_seeded():
    national_day = CalendarDay.objects.get(date=dt.date(2026, 10, 1))
    assert (national_day.is_working, national_day.name, national_day.seeded) == (False, "国庆节", True)
    swapped = CalendarDay.objects.get(date=dt.date(2026, 10, 10))  # a Saturday worked for the National Day week
    assert swapped.date.weekday() == 5
    assert (swapped.is_working, swapped.name, swapped.seeded) == (True, "国庆节调休上班", True)
    assert CalendarDay.objects.get(date=dt.date(2025, 1, 28)).name == "春节"
    # weekends that are holidays anyway are not stored: only days that break the weekday rule
    assert not CalendarDay.objects.filter(date=dt.date(2026, 10, 3)).exists()
    assert all((d.date.weekday() < 5) != d.is_working for d in CalendarDay.objects.filter(date__year__in=[2025, 2026]))
    schedule = WorkSchedule.objects.get()
    assert (str(schedule.morning_start)[:5], str(schedule.afternoon_end)[:5]) == ("09:00", "17:30")


@pytest.mark.django_db
def test_deadlines_skip_the_national_day_week():
    work = calendar.current()
    # Wednesday 30 September 16:30 + 2 working hours: one hour that day, the next after the holidays (8 October).
    assert local(work.add(at(2026, 9, 30, 16, 30), 2, HOURS)) == dt.datetime(2026, 10, 8, 10, 0)
    assert local(work.add(at(2026, 9, 30, 10), 1, DAYS)) == dt.datetime(2026, 10, 8, 17, 30)
    # natural days do not care about holidays
    assert local(work.add(at(2026, 9, 30, 10), 1, NATURAL)) == dt.datetime(2026, 10, 1, 10, 0)
    assert work.working_time_between(at(2026, 9, 30, 17), at(2026, 10, 8, 9, 30)) == dt.timedelta(hours=1)


@pytest.mark.django_db
def test_a_swapped_saturday_counts_as_a_working_day():
    work = calendar.current()
    assert work.is_working_day(dt.date(2026, 10, 10))
    # Friday 9 October 17:00 + 1 working hour: half an hour on Friday, half on the 调休 Saturday
    assert local(work.add(at(2026, 10, 9, 17), 1, HOURS)) == dt.datetime(2026, 10, 10, 9, 30)
    # Thursday 8 October + 2 working days: Friday, then Saturday the 10th
    assert local(work.add(at(2026, 10, 8, 10), 2, DAYS)) == dt.datetime(2026, 10, 10, 17, 30)


# ---- the grid centre's edits -----------------------------------------------------------------------------


@pytest.fixture
def admin(tree):
    return tree.users["district_admin"]


def test_a_day_entered_by_hand_changes_deadlines_at_once(admin, django_capture_on_commit_callbacks):
    assert calendar.current().is_working_day(dt.date(2026, 11, 11))  # cached before the change
    with django_capture_on_commit_callbacks(execute=True):
        entry = catalogue.set_calendar_day(admin, dt.date(2026, 11, 11), False, "  区运动会  ")
    assert (entry.is_working, entry.name, entry.seeded) == (False, "区运动会", False)
    assert not calendar.current().is_working_day(dt.date(2026, 11, 11))
    assert local(calendar.current().add(at(2026, 11, 10, 17), 1, HOURS)) == dt.datetime(2026, 11, 12, 9, 30)
    event = AuditEvent.objects.get(action="cases.calendar_day_set")
    assert event.actor == admin and event.data["date"] == "2026-11-11" and event.data["before"] is None


def test_changing_an_official_day_keeps_what_it_was_in_the_audit(admin):
    entry = catalogue.set_calendar_day(admin, "2026-10-10", False, "国庆节调休取消")
    assert (entry.is_working, entry.seeded) == (False, False)
    event = AuditEvent.objects.get(action="cases.calendar_day_set")
    assert event.data["before"] == {"is_working": True, "name": "国庆节调休上班", "seeded": True}


def test_clearing_a_day_returns_it_to_the_weekday_rule(admin, django_capture_on_commit_callbacks):
    assert not calendar.current().is_working_day(dt.date(2026, 10, 1))
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.clear_calendar_day(admin, dt.date(2026, 10, 1))
    assert not CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).exists()
    assert calendar.current().is_working_day(dt.date(2026, 10, 1))
    event = AuditEvent.objects.get(action="cases.calendar_day_cleared")
    assert event.data == {"date": "2026-10-01", "is_working": False, "name": "国庆节", "seeded": True}


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda by: catalogue.set_calendar_day(by, "2026-13-01", False), "date", "Give a date as YYYY-MM-DD."),
        (lambda by: catalogue.set_calendar_day(by, "1999-01-01", False), "date", "Give a date from 2000 to 2099."),
        (lambda by: catalogue.set_calendar_day(by, "2026-11-11", False, "节" * 51), "name", "At most 50 characters"),
        (lambda by: catalogue.clear_calendar_day(by, "2026-11-11"), "date", "Nothing is entered for 2026-11-11."),
    ],
)
def test_calendar_day_refusals_name_the_field(admin, call, field, message):
    before = list(CalendarDay.objects.values_list("date", "is_working", "name"))
    with pytest.raises(ValidationError) as refused:
        call(admin)
    assert message in refused.value.message_dict[field][0]
    assert list(CalendarDay.objects.values_list("date", "is_working", "name")) == before
    assert not AuditEvent.objects.filter(action__startswith="cases.calendar_day").exists()


def test_working_hours_change_the_clock(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.set_working_hours(
            admin, morning_start="08:30", morning_end="12:00", afternoon_start="14:00", afternoon_end="18:00"
        )
    schedule = WorkSchedule.objects.get()
    assert (schedule.morning_start, schedule.afternoon_start) == (dt.time(8, 30), dt.time(14))
    # Wednesday 11:30 + 1 h: half an hour before noon, the rest from 14:00
    assert local(calendar.current().add(at(2026, 11, 4, 11, 30), 1, HOURS)) == dt.datetime(2026, 11, 4, 14, 30)
    event = AuditEvent.objects.get(action="cases.working_hours_set")
    assert event.data["before"]["morning_start"] == "09:00" and event.data["after"]["morning_start"] == "08:30"


@pytest.mark.parametrize(
    ("hours", "field", "message"),
    [
        (("12:00", "09:00", "13:30", "17:30"), "morning_end", "The morning ends after it starts."),
        (("09:00", "14:00", "13:30", "17:30"), "afternoon_start", "The afternoon starts when the morning has ended"),
        (("09:00", "12:00", "13:30", "13:30"), "afternoon_end", "The afternoon ends after it starts."),
        (("9 点", "12:00", "13:30", "17:30"), "morning_start", "Give a time as HH:MM"),
    ],
)
def test_working_hours_must_be_in_order(admin, hours, field, message):
    names = ("morning_start", "morning_end", "afternoon_start", "afternoon_end")
    with pytest.raises(ValidationError) as refused:
        catalogue.set_working_hours(admin, **dict(zip(names, hours, strict=True)))
    assert message in refused.value.message_dict[field][0]
    assert WorkSchedule.objects.get().morning_start == dt.time(9)
    assert not AuditEvent.objects.filter(action="cases.working_hours_set").exists()


def test_a_year_without_holidays_is_reported(admin):
    assert catalogue.years_without_holidays(dt.date(2026, 12, 1)) == [2027]  # the package has no 2027 yet
    assert catalogue.years_without_holidays(dt.date(2025, 6, 1)) == []
    catalogue.set_calendar_day(admin, "2027-01-01", False, "元旦")
    assert catalogue.years_without_holidays(dt.date(2026, 12, 1)) == []
    # a swapped working day alone does not count as having the holidays entered
    catalogue.set_calendar_day(admin, "2028-01-08", True, "调休上班")
    assert catalogue.years_without_holidays(dt.date(2027, 3, 1)) == [2028]
