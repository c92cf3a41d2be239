"""The background worker: Django's database task worker plus a heartbeat that /healthz reads."""

import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from fengchao.core.heartbeat import start_heartbeat_thread


class Command(DbWorkerCommand):
    help = "Run the background worker (tasks from the database queue) with a liveness heartbeat."

    def handle(self, *args, **options):
        options.setdefault("worker_id", get_random_string(32))
        options["reload"] = False  # a reloading parent would beat for a child it does not run
        stop = threading.Event()
        heartbeat = start_heartbeat_thread(options["worker_id"], stop)
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
            heartbeat.join(timeout=5)
