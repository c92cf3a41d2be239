"""Seed the work calendar: the official public holidays and swapped working days (调休) for 2025 and
2026 from the `chinese_calendar` package, and the default working hours.

Only the days that break the Monday-to-Friday rule are stored: holidays falling on a weekday, and
weekend days worked in exchange. Later years are entered on the calendar page once the State
Council publishes them (the page warns while next year has none).
"""

import datetime

from django.db import migrations

SEEDED_YEARS = (2025, 2026)
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def official_days():
    """(date, is_working, name) for every day of SEEDED_YEARS that is not what its weekday says."""
    import chinese_calendar

    days = []
    for year in SEEDED_YEARS:
        day = datetime.date(year, 1, 1)
        while day.year == year:
            on_holiday, holiday = chinese_calendar.get_holiday_detail(day)
            weekend = day.weekday() >= 5
            name = HOLIDAY_NAMES.get(holiday, holiday or "")
            if on_holiday and holiday and not weekend:
                days.append((day, False, name))
            elif not on_holiday and weekend:
                days.append((day, True, f"{name}调休上班"))
            day += datetime.timedelta(days=1)
    return days


def seed(apps, schema_editor):
    CalendarDay = apps.get_model("cases", "CalendarDay")
    WorkSchedule = apps.get_model("cases", "WorkSchedule")
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create(
        CalendarDay(date=day, is_working=working, name=name, seeded=True)
        for day, working, name in official_days()
        if day not in existing
    )
    if not WorkSchedule.objects.exists():
        WorkSchedule.objects.create()


def unseed(apps, schema_editor):
    apps.get_model("cases", "CalendarDay").objects.filter(seeded=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_seed_categories")]

    operations = [migrations.RunPython(seed, unseed)]
