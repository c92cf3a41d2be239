"""Department layer pages (多网合一): the list with an upload form, and one layer with its grids on a map."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengchao.accounts.queries import is_manager
from fengchao.areas import coords
from fengchao.areas.forms import CRS_CHOICES, MAX_IMPORT_UPLOAD_BYTES, checked_geojson_upload

from . import services
from .models import DepartmentGridOverlap


class LayerImportForm(forms.Form):
    department = forms.ModelChoiceField(label=gettext_lazy("Department"), queryset=None)
    name = forms.CharField(label=gettext_lazy("Layer name"), max_length=100)
    grid_type = forms.CharField(
        label=gettext_lazy("Grid type"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("For example: urban management grid, police grid."),
    )
    crs = forms.ChoiceField(label=gettext_lazy("Coordinate system"), choices=CRS_CHOICES, initial=coords.WGS84)
    file = forms.FileField(
        label=gettext_lazy("GeoJSON file"),
        help_text=gettext_lazy("A FeatureCollection of polygons with properties code and name (or 编码 and 名称)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".geojson,.json,application/geo+json,application/json"}),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = services.departments_for_import(user)
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            )

    def clean_file(self):
        return checked_geojson_upload(self.cleaned_data["file"], MAX_IMPORT_UPLOAD_BYTES)


@login_required
def layers(request):
    can_import = is_manager(request.user)
    form = LayerImportForm(request.user) if can_import else None
    import_errors = []
    if request.method == "POST":
        if not can_import:
            raise Http404  # only managers import; others see no such form
        form = LayerImportForm(request.user, request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.import_layer(
                    data["department"],
                    data["name"],
                    data["grid_type"],
                    data["file"].read(),
                    by=request.user,
                    crs=data["crs"],
                )
            except ValidationError as exc:
                import_errors = exc.messages
            else:
                messages.success(
                    request,
                    _("Imported “%(name)s”: %(grids)s grids mapped onto %(overlaps)s micro-grid overlaps.")
                    % {"name": result.layer.name, "grids": result.grid_count, "overlaps": result.overlap_count},
                )
                if result.unmapped_codes:
                    messages.warning(
                        request,
                        _("These grids overlap no micro-grid: %(codes)s")
                        % {"codes": ", ".join(result.unmapped_codes[:20])},
                    )
                return redirect("departments:layer_detail", result.layer.pk)
    visible = (
        services.layers_visible_to(request.user)
        .select_related("department")
        .annotate(grid_count=Count("grids"))
        .order_by("department__code", "name")
    )
    return render(
        request,
        "departments/layers.html",
        {"layers": visible, "form": form, "import_errors": import_errors},
    )


@login_required
def layer_detail(request, layer_id: int):
    layer = get_object_or_404(services.layers_visible_to(request.user).select_related("department"), pk=layer_id)
    overlaps = Prefetch(
        "overlaps",
        queryset=DepartmentGridOverlap.objects.select_related("area").order_by("-share_of_area", "area__path"),
    )
    grids = list(layer.grids.order_by("code").prefetch_related(overlaps))
    map_data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": grid.code, "name": grid.name},
                "geometry": grid.boundary,
            }
            for grid in grids
        ],
    }
    return render(
        request,
        "departments/layer_detail.html",
        {
            "layer": layer,
            "grids": grids,
            "map_data": map_data,
            "map_tile_url": settings.MAP_TILE_URL,
            "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        },
    )
