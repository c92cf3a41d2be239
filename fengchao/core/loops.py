"""Loops the worker runs in threads beside its task queue: one pass, a wait, again, until told to stop."""

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


def run_every(stop: threading.Event, seconds: float, one_pass: Callable[[], None], what: str) -> None:
    """Call `one_pass` every `seconds` until `stop` is set; an error is logged and the next pass tries again."""
    try:
        while not stop.is_set():
            try:
                close_old_connections()
                one_pass()
            except Exception:
                logger.exception("%s failed", what)
            stop.wait(seconds)
    finally:
        connection.close()


def start_thread(loop: Callable[[threading.Event], None], stop: threading.Event, seconds: float, name: str):
    """Run `loop(stop)` in a daemon thread, or nothing when its interval is 0 (run by a separate command)."""
    if seconds <= 0:
        return None
    thread = threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread
