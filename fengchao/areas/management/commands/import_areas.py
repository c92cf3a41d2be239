from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from fengchao.areas.importing import import_areas
from fengchao.areas.models import Area


class Command(BaseCommand):
    help = "Import areas (codes, names, boundaries) from a GeoJSON FeatureCollection, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--within", help="code of the area every imported area must lie under")
        parser.add_argument("--crs", default="wgs84", choices=["wgs84", "gcj02", "bd09"])

    def handle(self, *args, file, within, crs, **options):
        within_area = None
        if within:
            within_area = Area.objects.filter(code=within).first()
            if within_area is None:
                raise CommandError(f"No area has the code {within}.")
        try:
            result = import_areas(file.read_bytes(), within=within_area, crs=crs)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except ValidationError as exc:
            raise CommandError("Nothing was imported:\n" + "\n".join(exc.messages)) from exc
        self.stdout.write(
            f"created {len(result.created)}, updated {len(result.updated)}, unchanged {len(result.unchanged)}"
        )
        for warning in result.warnings:
            self.stdout.write(f"warning: {warning}")
