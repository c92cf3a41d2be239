"""The one place that scopes inspection reads.

- A member inspects the buildings and places of the grid they serve: a role held in a micro-grid opens the
  parent grid (as for patrols), a grid or dedicated-grid leader's role the area below it. They read the
  inspections of those targets (to re-inspect them) and their own.
- Staff (district, street, community staff, grid leaders) read every inspection, the coverage and the
  rectification tracker of the areas in their subtrees. Anything else answers 404, like what does not exist.
"""

from django.db.models import Max, OuterRef, Q, Subquery
from django.http import Http404
from django.utils import timezone

from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import scope_q, scope_roots
from fengchao.cases.queries import held_roles
from fengchao.patrols.queries import patrol_paths
from fengchao.registry.models import Building, Place

from .choices import INSPECT_ROLES, READ_ROLES, Outcome
from .models import ChecklistTemplate, Inspection, InspectionItem

TARGET_LIMIT = 200


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_inspector(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in INSPECT_ROLES for h in held_roles(user)))


def is_staff(user) -> bool:
    return _active(user) and (user.is_superuser or any(h.role in READ_ROLES for h in held_roles(user)))


def may_use(user) -> bool:
    return is_inspector(user) or is_staff(user)


def _paths_q(paths, prefix: str) -> Q:
    if "/" in paths:
        return Q()
    condition = Q(pk__in=[])
    for path in paths:
        condition |= subtree_q(path, prefix)
    return condition


def may_inspect_in(user, area: Area) -> bool:
    """Is the area in (or below) the grid the user serves?"""
    return any(p == "/" or area.path.startswith(p) for p in patrol_paths(user))


def may_inspect(user, target) -> bool:
    """Is the target (Building or Place) in the grid the user serves?"""
    return may_inspect_in(user, target.area)


def templates_for(kind: str | None = None):
    qs = ChecklistTemplate.objects.filter(is_active=True)
    if kind == "building":
        qs = qs.filter(applies_to_buildings=True)
    elif kind == "place":
        qs = qs.filter(applies_to_places=True)
    return qs.order_by("name", "pk")


def template_or_404(code_or_pk, kind: str | None = None) -> ChecklistTemplate:
    raw = str(code_or_pk or "").strip()
    qs = templates_for(kind)
    found = (qs.filter(pk=raw) if raw.isdigit() else qs.filter(code=raw)).first() if raw else None
    if found is None:
        raise Http404("No such checklist.")
    return found


def _last_inspected(model_field: str):
    return Subquery(
        Inspection.objects.filter(**{model_field: OuterRef("pk")})
        .order_by()
        .values(model_field)
        .annotate(last=Max("at"))
        .values("last")[:1]
    )


def my_buildings(user, search: str = ""):
    paths = patrol_paths(user) if is_inspector(user) else []
    if not paths:
        return Building.objects.none()
    qs = Building.objects.filter(_paths_q(paths, "area__"), is_active=True, area__is_active=True)
    if search:
        qs = qs.filter(name__icontains=search)
    return (
        qs.select_related("area")
        .annotate(last_inspected=_last_inspected("building"))
        .order_by("area__path", "name", "pk")[:TARGET_LIMIT]
    )


def my_places(user, search: str = ""):
    paths = patrol_paths(user) if is_inspector(user) else []
    if not paths:
        return Place.objects.none()
    qs = Place.objects.filter(_paths_q(paths, "area__"), is_active=True, area__is_active=True)
    if search:
        qs = qs.filter(name__icontains=search)
    return (
        qs.select_related("area")
        .annotate(last_inspected=_last_inspected("place"))
        .order_by("area__path", "name", "pk")[:TARGET_LIMIT]
    )


def target_or_404(user, *, building=None, place=None):
    """A building or place the user inspects (active), by pk; anything else 404."""
    paths = patrol_paths(user) if is_inspector(user) else []
    given = building if building not in (None, "") else place
    if not paths or not str(given or "").isdigit() or (building not in (None, "") and place not in (None, "")):
        raise Http404("No such place for you.")
    model = Building if building not in (None, "") else Place
    found = model.objects.filter(_paths_q(paths, "area__"), pk=given, is_active=True).select_related("area").first()
    if found is None:
        raise Http404("No such place for you.")
    return found


def visible_q(user) -> Q:
    if not _active(user):
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    condition = Q(inspector=user) | scope_q(user, "area__", READ_ROLES)
    paths = patrol_paths(user)
    if paths:
        condition |= _paths_q(paths, "area__")
    return condition


def inspections_visible(user):
    return Inspection.objects.filter(visible_q(user))


def with_target(qs):
    return qs.select_related("template", "building", "place", "area", "inspector")


def inspection_or_404(user, pk) -> Inspection:
    found = with_target(inspections_visible(user)).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404("No such inspection.")
    return found


def items_of(inspection: Inspection):
    return inspection.items.select_related("case", "rectified_by").order_by("position", "pk")


def item_or_404(user, pk) -> InspectionItem:
    """An answered item whose inspection the user reads (for its photos)."""
    if not str(pk).isdigit():
        raise Http404("No such item.")
    found = InspectionItem.objects.filter(pk=pk, inspection__in=inspections_visible(user)).first()
    if found is None:
        raise Http404("No such item.")
    return found


def staff_areas(user):
    if not is_staff(user):
        return Area.objects.none()
    return Area.objects.filter(scope_q(user, "", READ_ROLES), is_active=True)


def staff_roots(user):
    return scope_roots(user, READ_ROLES).filter(is_active=True).order_by("path")


def staff_area_or_404(user, pk) -> Area:
    found = staff_areas(user).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404("No such area for you.")
    return found


def hazard_area_or_404(user, raw) -> Area:
    """The area of the tracker: given (staff, in scope), else the top of the user's scope."""
    if raw not in (None, ""):
        return staff_area_or_404(user, raw)
    found = staff_roots(user).first()
    if found is None:
        raise Http404("No area for you.")
    return found


def open_failures(area: Area | None = None, user=None):
    """Failed items of first inspections, neither fixed on the spot nor rectified since, oldest first: under an
    area (staff), or in the grids a member inspects."""
    qs = InspectionItem.objects.filter(
        outcome=Outcome.FAIL, rectified_at__isnull=True, inspection__follows__isnull=True
    )
    if area is not None:
        qs = qs.filter(subtree_q(area.path, "inspection__area__"))
    if user is not None:
        qs = qs.filter(_paths_q(patrol_paths(user), "inspection__area__"))
    return qs.select_related(
        "case", "inspection", "inspection__building", "inspection__place", "inspection__area"
    ).order_by("inspection__at", "inspection_id", "position")


def days_open(item: InspectionItem, now=None) -> int:
    return max(0, ((now or timezone.now()) - item.inspection.at).days)
