"""Seed the default care-visit plans for the seeded care tags (a district changes them on the plans page)."""

from django.db import migrations

DEFAULT_PLANS = {
    "elderly_alone": 7,
    "advanced_age": 14,
    "empty_nest": 14,
    "extreme_hardship": 14,
    "disabled": 30,
    "left_behind_child": 30,
    "subsistence": 30,
    "serious_illness": 30,
    "mental_disorder": 30,
    "special_care": 90,
}


def seed(apps, schema_editor):
    CareTag = apps.get_model("registry", "CareTag")
    CarePlan = apps.get_model("visits", "CarePlan")
    for tag in CareTag.objects.filter(code__in=DEFAULT_PLANS):
        CarePlan.objects.get_or_create(tag=tag, defaults={"every_days": DEFAULT_PLANS[tag.code]})


def unseed(apps, schema_editor):
    apps.get_model("visits", "CarePlan").objects.filter(updated_by__isnull=True, version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial"), ("registry", "0002_seed_care_tags")]

    operations = [migrations.RunPython(seed, unseed)]
