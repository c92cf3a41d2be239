"""The points sweep the worker runs: listings that ended are granted, points past their date expire, people
are warned before they do, and mall orders left unverified expire. Every step is compare-and-set or
re-read behind a lock, so two workers sweeping at once do nothing twice."""

import threading

from django.conf import settings
from django.utils import timezone

from fengchao.core import loops


def sweep(now=None) -> dict:
    from fengchao.mall.services import expire_orders

    from . import services

    now = now or timezone.now()
    return {
        "granted": services.grant_listed(now),
        "orders_expired": expire_orders(now),
        "expired": services.expire_due(now),
        "warned": services.warn_expiring(now),
    }


def interval_seconds() -> float:
    return float(getattr(settings, "POINTS_SWEEP_SECONDS", 60))


def run_forever(stop: threading.Event, seconds: float | None = None) -> None:
    loops.run_every(stop, interval_seconds() if seconds is None else seconds, lambda: sweep(), "points sweep")


def start_points_thread(stop: threading.Event) -> threading.Thread | None:
    """The sweep inside the worker process; `POINTS_SWEEP_SECONDS = 0` turns it off."""
    return loops.start_thread(run_forever, stop, interval_seconds(), "points-sweep")
