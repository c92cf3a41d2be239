"""The worker's task sweep: publishes each due recurring task once (compare-and-set on next_run_at) and sends
the day-before reminders of assignments still to do (once each, compare-and-set on reminded_at)."""

import threading

from django.conf import settings

from fengchao.core import loops


def interval_seconds() -> float:
    return float(getattr(settings, "WORK_SCHEDULE_SECONDS", 60))


def one_pass() -> None:
    from .services import remind_due_assignments, run_due_schedules

    run_due_schedules()
    remind_due_assignments()


def run_forever(stop: threading.Event, seconds: float | None = None) -> None:
    loops.run_every(stop, interval_seconds() if seconds is None else seconds, one_pass, "task schedules")


def start_work_thread(stop: threading.Event) -> threading.Thread | None:
    """The sweep inside the worker process; `WORK_SCHEDULE_SECONDS = 0` turns it off."""
    return loops.start_thread(run_forever, stop, interval_seconds(), "work-schedules")
