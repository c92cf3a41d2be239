"""Registry rows carry their area's lineage; when a subtree moves, they follow in the same transaction."""

from django.dispatch import receiver

from fengchao.areas.models import Area, subtree_q
from fengchao.areas.signals import subtree_moved

from .models import LINEAGE_FIELDS, Building, Household, Organisation, Place, Resident, ResidentCareTag


@receiver(subtree_moved)
def follow_moved_subtree(sender, area, old_path, new_path, **kwargs):
    moved = Area.objects.filter(subtree_q(new_path)).values_list("pk", *LINEAGE_FIELDS)
    for pk, *lineage in moved:
        values = dict(zip(LINEAGE_FIELDS, lineage, strict=True))
        for model in (Building, Household, Resident, ResidentCareTag, Place, Organisation):
            model.objects.filter(area_id=pk).update(**values)
