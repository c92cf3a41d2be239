import signal
import threading

from django.core.management.base import BaseCommand

from fengchao.cases import clock


class Command(BaseCommand):
    help = (
        "Run the deadline clock: warnings, overdue marks, supervision and late whistle reports. "
        "With --once, one pass (for cron); otherwise every CASES_CLOCK_SECONDS until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="make one pass and exit")

    def handle(self, *args, once=False, **options):
        if once:
            counts = clock.sweep()
            self.stdout.write(" ".join(f"{kind}={n}" for kind, n in counts.items()))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            clock.run_forever(stop, seconds=max(1.0, clock.interval_seconds()))
        except KeyboardInterrupt:
            stop.set()
