"""The worker's task-schedule sweep: publishes each due recurring task once (compare-and-set on next_run_at)."""

import threading

from django.conf import settings

from fengchao.core import loops


def interval_seconds() -> float:
    return float(getattr(settings, "WORK_SCHEDULE_SECONDS", 60))


def run_forever(stop: threading.Event, seconds: float | None = None) -> None:
    from .services import run_due_schedules

    loops.run_every(stop, interval_seconds() if seconds is None else seconds, run_due_schedules, "task schedules")


def start_work_thread(stop: threading.Event) -> threading.Thread | None:
    """The sweep inside the worker process; `WORK_SCHEDULE_SECONDS = 0` turns it off."""
    return loops.start_thread(run_forever, stop, interval_seconds(), "work-schedules")
