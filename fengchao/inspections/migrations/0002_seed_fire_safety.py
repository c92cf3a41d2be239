"""Seed the fire-safety sweep (消防安全排查) of residential buildings and shops.

Item categories are case category codes of the seeded tree (fengchao/cases/category_seed.py): a code missing at
run time falls back to INSPECTIONS_FALLBACK_CATEGORY (see docs/inspections.md)."""

from django.db import migrations

ITEMS = [
    {"code": "fire_exits", "text": "消防通道、安全出口畅通", "category": "G0201"},
    {"code": "ebike_charging", "text": "无电动车飞线充电", "category": "G0202"},
    {"code": "stairwell_clutter", "text": "楼道无杂物堆放", "category": "G0206"},
    {"code": "fire_facilities", "text": "公共消防设施完好", "category": "B0117"},
    {"code": "extinguishers", "text": "灭火器在有效期内", "category": "B0117"},
    {"code": "gas_safety", "text": "燃气使用安全", "category": "G0205"},
]


def seed(apps, schema_editor):
    Template = apps.get_model("inspections", "ChecklistTemplate")
    Template.objects.get_or_create(
        code="fire_safety",
        defaults={
            "name": "消防安全排查",
            "description": "居民楼栋和沿街商铺的消防安全隐患排查：逐项检查，不合格项拍照，当场整改或上报隐患事件。",
            "applies_to_buildings": True,
            "applies_to_places": True,
            "items": ITEMS,
            "is_active": True,
            "version": 1,
        },
    )


def unseed(apps, schema_editor):
    Template = apps.get_model("inspections", "ChecklistTemplate")
    Template.objects.filter(code="fire_safety", inspections__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("inspections", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
