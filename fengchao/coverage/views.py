"""The coverage map (/coverage/): the micro-grids under an area coloured by one kind of field work (walked this
week, inspected this period, care visits, overdue tasks), with the same figures in a table below the map.

Staff only (the patrol coverage readers); an area outside their scope answers 404. Wider than MAP_LIMIT
micro-grids, the page lists the child areas to narrow down to instead of drawing thousands of polygons.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from fengchao.accounts.access import guarded_by
from fengchao.areas.models import Area
from fengchao.patrols import queries as patrols

from . import layers

staff_view = guarded_by(patrols.is_staff)


def area_of(user, raw) -> Area:
    """The chosen area in the caller's scope (404 otherwise), or the top of their scope."""
    if raw:
        return patrols.staff_area_or_404(user, raw)
    area = patrols.staff_roots(user).first()
    if area is None:
        raise Http404
    return area


def _feature(row: layers.MicroStatus) -> dict:
    area = row.area
    return {
        "id": area.pk,
        "name": area.name,
        "grid": area.parent.name if area.parent_id else "",
        "geometry": area.boundary,
        "figures": row.figures,
    }


@never_cache
@staff_view
def coverage_map(request):
    user = request.user
    area = area_of(user, request.GET.get("area", ""))
    layer = request.GET.get("layer", "walked")
    if layer not in layers.LAYERS:
        layer = "walked"
    errors = {}
    try:
        since, until = layers.parse_period(request.GET.get("since", ""), request.GET.get("until", ""))
    except ValidationError as error:
        errors = error.message_dict
        since, until = layers.parse_period("", "")
    context = {
        "area": area,
        "layer": layer,
        "layers": layers.LAYERS,
        "since": since,
        "until": until,
        "errors": errors,
        "roots": patrols.staff_roots(user),
        "too_wide": layers.microgrid_count(area) > layers.MAP_LIMIT,
    }
    if context["too_wide"]:
        context["children"] = Area.objects.filter(parent=area, is_active=True).order_by("local_code", "pk")
    else:
        rows = layers.statuses(area, since=since, until=until)
        for row in rows:
            row.current = row.status(layer)
        context.update(
            rows=rows,
            counts=layers.summary(rows)[layer],
            map_data={"layer": layer, "features": [_feature(r) for r in rows]},
        )
    return render(request, "coverage/map.html", context)
