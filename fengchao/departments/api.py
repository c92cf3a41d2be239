"""Department layers in the JSON API (mounted at /api/layers): scoped like the pages, 404 out of scope."""

from django.db.models import Count, Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router

from . import services
from .models import DepartmentGridOverlap

router = Router(tags=["layers"])


def _user(request):
    return request.auth if getattr(request, "auth", None) is not None else request.user


@router.get("", summary="Department grid layers you can see")
def list_layers(request) -> list[dict]:
    rows = (
        services.layers_visible_to(_user(request))
        .annotate(grid_count=Count("grids"))
        .order_by("department__code", "name")
        .values("id", "name", "grid_type", "imported_at", "department_id", "department__name", "grid_count")
    )
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "grid_type": row["grid_type"],
            "imported_at": row["imported_at"].isoformat(),
            "department": {"id": row["department_id"], "name": row["department__name"]},
            "grid_count": row["grid_count"],
        }
        for row in rows
    ]


@router.get("/{layer_id}/grids", summary="A layer's grids and the unified micro-grids each overlaps")
def layer_grids(request, layer_id: int) -> list[dict]:
    layer = services.layers_visible_to(_user(request)).filter(pk=layer_id).first()
    if layer is None:
        raise Http404(_("No such layer."))
    overlaps = Prefetch(
        "overlaps",
        queryset=DepartmentGridOverlap.objects.select_related("area").order_by("-share_of_area", "area__path"),
    )
    return [
        {
            "id": grid.pk,
            "code": grid.code,
            "name": grid.name,
            "boundary": grid.boundary,
            "microgrids": [
                {"id": o.area_id, "name": o.area.name, "code": o.area.code, "share": o.share_of_area}
                for o in grid.overlaps.all()
            ],
        }
        for grid in layer.grids.order_by("code").prefetch_related(overlaps)
    ]
