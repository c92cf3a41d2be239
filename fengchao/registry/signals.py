"""Registry rows carry their area's lineage; when a subtree moves, they follow in the same transaction."""

from django.dispatch import receiver

from fengchao.areas.models import Area, subtree_q
from fengchao.areas.signals import subtree_moved

from .models import Building, Household, Organisation, Place, Resident, ResidentCareTag


@receiver(subtree_moved)
def follow_moved_subtree(sender, area: Area, old_path, new_path, **kwargs):
    # Only the ancestors above the moved area changed; the lineage from its own level down is the same pks.
    above = area.lineage_above()
    if not above:
        return
    moved_areas = Area.objects.filter(subtree_q(new_path)).values("pk")
    for model in (Building, Household, Resident, ResidentCareTag, Place, Organisation):
        model.objects.filter(area_id__in=moved_areas).update(**above)
