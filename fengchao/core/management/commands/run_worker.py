"""The background worker: Django's database task worker, a heartbeat that /healthz reads, and the deadline clock."""

import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from fengchao.cases.clock import start_clock_thread
from fengchao.core.heartbeat import start_heartbeat_thread


class Command(DbWorkerCommand):
    help = "Run the background worker (tasks from the database queue) with a liveness heartbeat and the deadline clock."

    def handle(self, *args, **options):
        options.setdefault("worker_id", get_random_string(32))
        options["reload"] = False  # a reloading parent would beat for a child it does not run
        stop = threading.Event()
        heartbeat = start_heartbeat_thread(options["worker_id"], stop)
        # Every worker runs the clock; its compare-and-set steps make concurrent sweeps safe.
        deadline_clock = start_clock_thread(stop)
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
            heartbeat.join(timeout=5)
            if deadline_clock is not None:
                deadline_clock.join(timeout=30)
