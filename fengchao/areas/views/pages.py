"""Area pages for people who serve: the browser, the area page, locate, boundary check and QR sheets."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from fengchao.accounts.queries import members_of
from fengchao.accounts.roles import REGISTRY_ROLES
from fengchao.registry.rollups import registry_child_rollups, registry_totals
from fengchao.registry.validation import BUILDING_AREA_KINDS, HOUSEHOLD_AREA_KINDS

from .. import qr
from ..codes import clean_digits
from ..duties import duty_lists
from ..forms import AreaSearchForm, LocateForm
from ..levels import LEVEL_OF_KIND, AreaKind
from ..locator import locate as locate_point
from ..models import Area
from ..rollups import area_totals, child_rollups
from ..scope import can_see_area, path_is_visible, scope_paths, scope_roots
from ..services import boundary_warnings
from .permissions import can_edit, can_manage_below, is_manager, visible_area_or_404

SEARCH_LIMIT = 50
PUBLIC_PAGE_KINDS = {AreaKind.MICROGRID, AreaKind.GRID, AreaKind.DEDICATED}
QR_SHEET_KINDS = {AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.DEDICATED}


def breadcrumbs_for(user, areas) -> dict[int, list[dict]]:
    """Ancestors of each area as crumbs, in one query; ancestors above the user's scope carry no link."""
    wanted = {pk for area in areas for pk in area.ancestor_pks()}
    by_pk = {a.pk: a for a in Area.objects.filter(pk__in=wanted).only("pk", "name", "path", "kind")}
    crumbs = {}
    for area in areas:
        trail = [by_pk[pk] for pk in area.ancestor_pks() if pk in by_pk]
        crumbs[area.pk] = [{"area": a, "linked": can_see_area(user, a)} for a in trail]
    return crumbs


def map_feature(area: Area, role: str) -> dict | None:
    if area.boundary is None:
        return None
    return {
        "id": area.pk,
        "name": area.name,
        "code": area.code,
        "role": role,
        "url": reverse("areas:detail", args=[area.pk]),
        "geometry": area.boundary,
    }


@login_required
def browse(request):
    paths = scope_paths(request.user)
    if not paths:
        raise Http404
    visible = Area.objects.visible_to(request.user)
    tops = list(scope_roots(request.user).order_by("path"))
    form = AreaSearchForm(request.GET or None)
    results, query = [], ""
    if form.is_valid() and form.cleaned_data["q"].strip():
        query = form.cleaned_data["q"].strip()
        digits = clean_digits(query)
        match = Q(name__icontains=query)
        if digits.isdigit():
            match |= Q(code__startswith=digits)
        results = list(visible.filter(match, is_active=True).order_by("level", "path")[:SEARCH_LIMIT])
    crumbs = breadcrumbs_for(request.user, [*tops, *results])
    context = {
        "form": form,
        "query": query,
        "tops": [{"area": a, "crumbs": crumbs[a.pk]} for a in tops],
        "results": [{"area": a, "crumbs": crumbs[a.pk]} for a in results],
        "limited": len(results) == SEARCH_LIMIT,
    }
    template = "areas/_search_results.html" if request.headers.get("HX-Request") else "areas/browse.html"
    return render(request, template, context)


@login_required
def detail(request, pk):
    user = request.user
    area = visible_area_or_404(user, pk)
    ancestors = list(Area.objects.filter(pk__in=area.ancestor_pks()).order_by("level"))
    children = list(area.children.filter(is_active=True).order_by("code"))
    rollups = child_rollups(area) if children else {}
    count_kinds = [k for k in AreaKind if LEVEL_OF_KIND[k] > area.level + 1]
    child_rows = []
    for child in children:
        rollup = rollups[child.pk]
        child_rows.append(
            {
                "area": child,
                "counts": [rollup["by_kind"].get(k, 0) for k in count_kinds],
                "members": rollup["members"],
            }
        )
    features = [map_feature(area, "self"), *(map_feature(c, "child") for c in children)]
    totals = area_totals(area)
    context = {
        "area": area,
        "crumbs": [{"area": a, "linked": can_see_area(user, a)} for a in ancestors],
        "totals": totals,
        "total_rows": [(AreaKind(k).label, n) for k, n in totals["by_kind"].items() if n],
        "count_kinds": [k.label for k in count_kinds],
        "child_rows": child_rows,
        "map_data": {"features": [f for f in features if f]},
        "members": [{"assignment": m, "url": reverse("people:detail", args=[m.user_id])} for m in members_of(area)],
        "duty_lists": duty_lists(area),
        "has_public_page": area.kind in PUBLIC_PAGE_KINDS and area.is_active,
        "has_qr_sheet": area.kind in QR_SHEET_KINDS,
        "can_edit": can_edit(user, area),
        "can_manage_below": can_manage_below(user, area),
        "registry": registry_section(user, area, children),
    }
    return render(request, "areas/detail.html", context)


def registry_section(user, area, children) -> dict | None:
    """Households, residents and care subjects of the area and of each child, for those who use the registry."""
    if not path_is_visible(user, area.path, REGISTRY_ROLES):
        return None
    totals = registry_totals(area)
    tags = [row["tag"] for row in totals["care_tags"]]
    rollups = registry_child_rollups(area) if children else {}
    rows = []
    for child in children:
        rollup = rollups.get(child.pk) or {"households": 0, "residents": 0, "care_tags": {}}
        rows.append(
            {
                "area": child,
                "households": rollup["households"],
                "residents": rollup["residents"],
                "care_tags": [(tag, rollup["care_tags"].get(tag.pk, 0)) for tag in tags],
            }
        )
    return {
        "totals": totals,
        "tags": tags,
        "child_rows": rows,
        "can_add_buildings": area.kind in BUILDING_AREA_KINDS and area.is_active,
        "can_add_households": area.kind in HOUSEHOLD_AREA_KINDS and area.is_active,
    }


@login_required
def locate(request):
    if not scope_paths(request.user):
        raise Http404
    form = LocateForm(request.GET or None, initial={"crs": "wgs84"})
    context = {"form": form, "searched": False}
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = locate_point(data["lon"], data["lat"], data["crs"] or "wgs84")
        except ValidationError as exc:
            form.add_error(None, exc)
            return render(request, "areas/locate.html", {**context, "map_data": {"features": []}})
        wanted = [pk for pk in (result.area_id, result.microgrid_id, *(result.dedicated_ids or [])) if pk]
        found = {a.pk: a for a in Area.objects.visible_to(request.user).filter(pk__in=wanted)}
        located = found.get(result.area_id)
        nearest = found.get(result.microgrid_id) if result.microgrid_id != result.area_id else None
        shown = [a for a in (located, nearest) if a]
        context.update(
            searched=True,
            result=result,
            located=located,
            nearest=nearest,
            dedicated=[found[pk] for pk in result.dedicated_ids or [] if pk in found],
            located_crumbs=breadcrumbs_for(request.user, [located])[located.pk] if located else [],
            map_data={
                "features": [f for f in (map_feature(a, "child") for a in shown) if f],
                "point": [result.lon, result.lat],
            },
        )
    else:
        context["map_data"] = {"features": []}
    return render(request, "areas/locate.html", context)


BOUNDARY_CHECK_PAGE_SIZE = 50


@login_required
def boundary_check(request):
    """Areas in scope whose boundary strays from their parent's or their children's, a page at a time.

    Only areas that have children are checked (each check covers the area against its parent and its
    children against it), so a district's leaves are never loaded one by one.
    """
    user = request.user
    if not is_manager(user):
        raise Http404
    with_children = (
        Area.objects.visible_to(user)
        .filter(is_active=True, boundary__isnull=False, level__lt=LEVEL_OF_KIND[AreaKind.MICROGRID])
        .select_related("parent")
        .prefetch_related("children")
        .order_by("path")
    )
    page = Paginator(with_children, BOUNDARY_CHECK_PAGE_SIZE).get_page(request.GET.get("page"))
    findings = []
    for area in page.object_list:
        warnings = boundary_warnings(area, area.parent)
        if warnings:
            findings.append({"area": area, "warnings": warnings})
    return render(request, "areas/boundary_check.html", {"page": page, "findings": findings})


@login_required
def qr_sheet(request, pk):
    area = visible_area_or_404(request.user, pk)
    if area.kind not in QR_SHEET_KINDS:
        raise Http404
    if area.kind == AreaKind.COMMUNITY:
        micro = Area.objects.subtree(area).filter(kind=AreaKind.MICROGRID, is_active=True)
    else:
        micro = area.children.filter(kind=AreaKind.MICROGRID, is_active=True)
    micro = list(micro.select_related("parent").order_by("path"))
    cards = [{"area": m, "url": qr.public_url(request, m), "svg": qr.qr_svg(qr.public_url(request, m))} for m in micro]
    return render(request, "areas/qr_sheet.html", {"area": area, "cards": cards})
