"""`manage.py seed_demo --scale small|district [--seed N] [--reset]`: the synthetic demo district."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from fengchao.demo.accounts import demo_account_rows, format_account_table
from fengchao.demo.layout import DEFAULT_SEED, SCALES
from fengchao.demo.services import seed_demo


class Command(BaseCommand):
    help = (
        "Seed the synthetic demo district modelled on Chenghua District (成华区). A second run reuses it; "
        "--reset rebuilds it, and only on a database that holds nothing but the demo."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="same seed, same district (default %(default)s)"
        )
        parser.add_argument("--reset", action="store_true", help="delete the demo and seed it again")

    def handle(self, *args, scale, seed, reset, verbosity=1, **options):
        try:
            result = seed_demo(scale=scale, seed=seed, reset=reset)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if verbosity == 0:
            return
        district = result.district
        if result.created:
            counts = result.counts
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded the {scale} demo district {district.name} ({district.code}) in {result.seconds:.1f} s: "
                    f"streets {counts['street']}, community grids {counts['community']}, grids {counts['grid']}, "
                    f"micro-grids {counts['microgrid']}, dedicated grids {counts['dedicated']}, "
                    f"micro-grid members {counts['role.microgrid_member']}, accounts {counts['people']}; "
                    f"buildings {counts['building']}, households {counts['household']}, "
                    f"residents {counts['resident']}, places {counts['place']}, "
                    f"organisations {counts['organisation']}; "
                    f"cases {counts.get('case', 0)} with {counts.get('case_event', 0)} timeline events."
                )
            )
        else:
            self.stdout.write(
                f"The demo district {district.name} ({district.code}) is already here; reusing it "
                "(--reset rebuilds it)."
            )
        self.stdout.write("\nDemo accounts:\n" + format_account_table(demo_account_rows()))
