from django.conf import settings
from django.core.management.base import BaseCommand

from fengchao.registry import retention


class Command(BaseCommand):
    help = "Erase the personal data of residents who moved out or died more than FENGCHAO_RETENTION_DAYS ago."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count who is due")

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            n = retention.due_for_erasure().count()
            self.stdout.write(f"{n} residents are due (retention {settings.FENGCHAO_RETENTION_DAYS} days)")
            return
        n = retention.erase_departed()
        self.stdout.write(f"{n} residents erased (retention {settings.FENGCHAO_RETENTION_DAYS} days)")
