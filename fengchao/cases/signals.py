"""Cases carry their area's lineage (scopes and tallies read it); when a subtree moves, they follow it."""

from django.dispatch import receiver

from fengchao.areas.models import Area, subtree_q
from fengchao.areas.signals import subtree_moved

from . import tallies
from .models import Case


@receiver(subtree_moved)
def follow_moved_subtree(sender, area: Area, old_path, new_path, **kwargs):
    above = area.lineage_above()
    if not above:
        return
    moved = Case.objects.filter(area_id__in=Area.objects.filter(subtree_q(new_path)).values("pk"))
    tallies.move(moved, above)
    moved.update(**above)
