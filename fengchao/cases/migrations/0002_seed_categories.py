"""Seed the category tree (部件, 事件 and social-governance classes) from `cases.category_seed`."""

from django.db import migrations

from fengchao.cases.category_seed import CATEGORIES


def seed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    by_code = {}
    for row in CATEGORIES:  # parents come before their children
        fields = {
            "name": row["name"],
            "kind": row["kind"],
            "parent": by_code.get(row["parent"]),
        }
        if row["parent"] is not None:
            fields.update(
                default_tier=row["default_tier"],
                handling_mode=row["handling_mode"],
                registration_standard=row["registration_standard"],
                closing_standard=row["closing_standard"],
                photo_required=row["photo_required"],
                keywords=row["keywords"],
            )
            for stage, (amount, unit) in row["limits"].items():
                fields[f"{stage}_limit"] = amount
                fields[f"{stage}_unit"] = unit
        by_code[row["code"]], _created = Category.objects.get_or_create(code=row["code"], defaults=fields)


def unseed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    codes = [row["code"] for row in CATEGORIES]
    # Children first; categories that cases use are PROTECTed and stop the rollback, as they should.
    Category.objects.filter(code__in=codes, parent__isnull=False).delete()
    Category.objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
