"""Running work in threads at the same moment, each with its own database connection (PostgreSQL tests)."""

import threading

from django.db import connections


def in_threads(count: int, work) -> None:
    """Run `work(n)` in `count` threads, each with its own database connection, closed when it ends."""
    errors = []

    def run(n):
        try:
            work(n)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
