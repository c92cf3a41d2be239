"""Household, resident and care-tag counts per area, rolled up the tree with one GROUP BY per measure."""

from collections import defaultdict

from django.db.models import Count

from fengchao.areas.levels import LINEAGE_FIELD_OF_LEVEL
from fengchao.areas.models import Area

from .choices import ResidentStatus
from .models import CareTag, Household, Resident, ResidentCareTag


def _lineage_filter(area: Area) -> dict:
    """Rows in the area's subtree, by the lineage column of its level (micro-grids: the area itself)."""
    field = LINEAGE_FIELD_OF_LEVEL.get(area.level)
    return {field: area.pk} if field else {"area_id": area.pk}


def registry_totals(area: Area) -> dict:
    where = _lineage_filter(area)
    tags = dict(
        ResidentCareTag.objects.filter(is_living=True, **where).values_list("tag_id").annotate(n=Count("pk")).order_by()
    )
    return {
        "households": Household.objects.filter(is_active=True, **where).count(),
        "residents": Resident.objects.filter(status=ResidentStatus.LIVING, **where).count(),
        "care_tags": [{"tag": tag, "count": tags.get(tag.pk, 0)} for tag in CareTag.objects.filter(is_active=True)],
    }


def registry_child_rollups(area: Area) -> dict[int, dict]:
    """For each child of the area: households, residents and residents per care tag (tag pk → n)."""
    child_field = LINEAGE_FIELD_OF_LEVEL.get(area.level + 1, "area_id")
    where = _lineage_filter(area)
    result: dict[int, dict] = defaultdict(lambda: {"households": 0, "residents": 0, "care_tags": defaultdict(int)})
    for row in Household.objects.filter(is_active=True, **where).values(child_field).annotate(n=Count("pk")).order_by():
        result[row[child_field]]["households"] = row["n"]
    for row in (
        Resident.objects.filter(status=ResidentStatus.LIVING, **where)
        .values(child_field)
        .annotate(n=Count("pk"))
        .order_by()
    ):
        result[row[child_field]]["residents"] = row["n"]
    for row in (
        ResidentCareTag.objects.filter(is_living=True, **where)
        .values(child_field, "tag_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        result[row[child_field]]["care_tags"][row["tag_id"]] = row["n"]
    return result
