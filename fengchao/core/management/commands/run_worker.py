"""The background worker: Django's database task worker, a heartbeat for /healthz, and its loops (the deadline
clock, the notice outbox, the points and activities sweeps)."""

import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from fengchao.activities.clock import start_activities_thread
from fengchao.cases.clock import start_clock_thread
from fengchao.core.heartbeat import start_heartbeat_thread
from fengchao.notices.outbox import start_outbox_thread
from fengchao.points.clock import start_points_thread
from fengchao.work.clock import start_work_thread


class Command(DbWorkerCommand):
    help = (
        "Run the background worker: database tasks, a liveness heartbeat, the deadline clock, the notice outbox, "
        "the points and activities sweeps."
    )

    def handle(self, *args, **options):
        options.setdefault("worker_id", get_random_string(32))
        options["reload"] = False  # a reloading parent would beat for a child it does not run
        stop = threading.Event()
        heartbeat = start_heartbeat_thread(options["worker_id"], stop)
        # Every worker runs the clock; its compare-and-set steps make concurrent sweeps safe.
        deadline_clock = start_clock_thread(stop)
        outbox = start_outbox_thread(stop)  # notifications to the SMS / e-mail backend
        points = start_points_thread(stop)  # listings, expiry and its warnings, unverified orders
        activities = start_activities_thread(stop)  # reminders before activities
        work = start_work_thread(stop)  # recurring platform tasks
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
            heartbeat.join(timeout=5)
            for thread in (deadline_clock, outbox, points, activities, work):
                if thread is not None:
                    thread.join(timeout=30)
