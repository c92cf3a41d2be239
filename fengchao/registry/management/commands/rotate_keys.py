from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError

from fengchao.registry import keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every phone and ID number under the first key of FENGCHAO_DATA_KEY and recompute their "
        "keyed hashes with FENGCHAO_HASH_KEY. Safe to re-run. With --check, only count what the keys cannot open."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report unreadable values, change nothing")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, check=False, batch_size=2000, **options):
        if check:
            bad = keys.unreadable()
            for label, n in bad.items():
                self.stdout.write(f"{label}: {n} unreadable")
            if any(bad.values()):
                raise CommandError("Some values cannot be decrypted with the configured keys.")
            return
        try:
            counts = keys.rotate_all(batch_size=batch_size)
        except InvalidToken:
            raise CommandError(
                "A stored value cannot be decrypted: keep the previous key after the new one in FENGCHAO_DATA_KEY."
            ) from None
        for label, n in counts.items():
            self.stdout.write(f"{label}: {n} rows re-encrypted")
