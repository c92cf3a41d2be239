"""The worker's activities sweep: the day-before reminders (compare-and-set, so two workers send each once)."""

import threading

from django.conf import settings

from fengchao.core import loops


def interval_seconds() -> float:
    return float(getattr(settings, "ACTIVITIES_SWEEP_SECONDS", 300))


def run_forever(stop: threading.Event, seconds: float | None = None) -> None:
    from .services import remind_upcoming

    loops.run_every(stop, interval_seconds() if seconds is None else seconds, remind_upcoming, "activities sweep")


def start_activities_thread(stop: threading.Event) -> threading.Thread | None:
    """The sweep inside the worker process; `ACTIVITIES_SWEEP_SECONDS = 0` turns it off."""
    return loops.start_thread(run_forever, stop, interval_seconds(), "activities-sweep")
