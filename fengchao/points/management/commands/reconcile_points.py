from django.core.management.base import BaseCommand, CommandError

from fengchao.points.reconcile import reconcile


class Command(BaseCommand):
    help = "Prove the points ledger: transfers balance and cached balances equal the sums of their entries."

    def handle(self, *args, **options):
        report = reconcile()
        self.stdout.write(f"{report.accounts} accounts, {report.entries} entries checked in {report.seconds:.1f} s")
        for pk, cached, ledger in report.mismatched:
            self.stdout.write(f"account {pk}: cached {cached}, ledger {ledger}")
        for pk in report.unbalanced:
            self.stdout.write(f"transfer {pk}: entries do not sum to zero in two sides")
        for pk in report.negative:
            self.stdout.write(f"account {pk}: below zero")
        if not report.ok:
            raise CommandError("The points ledger does not reconcile.")
        self.stdout.write("The points ledger reconciles.")
