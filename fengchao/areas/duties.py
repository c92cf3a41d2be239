"""Duty lists (职责清单): an area shows its own list for a role, or else the nearest ancestor's."""

import re
from dataclasses import dataclass, field

from fengchao.accounts.roles import Role

from .models import Area, DutyItem


@dataclass
class DutyList:
    role: str
    source: Area  # the area whose list applies (self or the nearest ancestor with one)
    inherited: bool
    items: list[DutyItem] = field(default_factory=list)

    @property
    def role_label(self) -> str:
        return Role(self.role).label


def duty_lists(area: Area) -> list[DutyList]:
    """Every role's effective duty list for `area`, in role order; two queries whatever the depth."""
    lineage = [*area.ancestor_pks(), area.pk]
    depth_of = {pk: depth for depth, pk in enumerate(lineage)}
    rows = list(DutyItem.objects.filter(area_id__in=lineage).order_by("role", "position", "pk"))
    deepest: dict[str, int] = {}
    for item in rows:
        if depth_of[item.area_id] > depth_of.get(deepest.get(item.role), -1):
            deepest[item.role] = item.area_id
    sources = {a.pk: a for a in Area.objects.filter(pk__in=set(deepest.values()))} if deepest else {}
    sources[area.pk] = area
    result = []
    for role in Role.values:
        source_pk = deepest.get(role)
        if source_pk is None:
            continue
        items = [item for item in rows if item.role == role and item.area_id == source_pk]
        result.append(DutyList(role, sources[source_pk], source_pk != area.pk, items))
    return result


def duty_list_for(area: Area, role: str) -> DutyList | None:
    return next((d for d in duty_lists(area) if d.role == role), None)


def own_duty_text(area: Area, role: str) -> str:
    """The area's own list for a role as editable text, one duty per line ('title: detail')."""
    items = DutyItem.objects.filter(area=area, role=role).order_by("position", "pk")
    return "\n".join(f"{i.title}: {i.detail}" if i.detail else i.title for i in items)


def parse_duty_text(text: str) -> list[tuple[str, str]]:
    """One duty per line; an optional detail follows the first colon (ASCII or full-width)."""
    items = []
    for line in (text or "").splitlines():
        if line.strip():
            title, *detail = re.split(r"[:：]", line.strip(), maxsplit=1)
            items.append((title.strip(), detail[0].strip() if detail else ""))
    return items
