"""Place pages (shops, enterprises, schools, rental housing …): list with kind and safety filters, detail, forms."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import filters, queries, services
from ..choices import PlaceKind
from ..forms import PlaceForm, apply_errors
from ..models import PLACE_SAFETY_FLAGS, Place
from ..validation import PLACE_AREA_KINDS
from .common import (
    area_field,
    area_from_param,
    check_editable_area,
    control,
    crumbs,
    current_filter_area,
    editable_or_404,
    filter_area_options,
    filter_errors,
    keyset,
    list_context,
    list_template,
    posted,
    registry_view,
)
from .reveal import masked_values


def flag_options():
    return [("", _("Any")), *((f, str(Place._meta.get_field(f).verbose_name)) for f in PLACE_SAFETY_FLAGS)]


@registry_view
def place_list(request):
    user = request.user
    current_area = current_filter_area(user, request)
    errors, rows, cursor = [], [], None
    try:
        qs = filters.filter_places(user, request.GET).select_related("area", "building")
        rows, cursor = keyset(qs, ["name_key", "pk"], lambda p: (p.name_key, p.pk), request.GET.get("cursor"))
    except ValidationError as error:
        errors = filter_errors(error)
    controls = [
        control("q", _("Name"), request, placeholder=_("Name starts with")),
        control("area", _("Area"), request, options=filter_area_options(user, current_area)),
        control("kind", _("Kind"), request, options=[("", _("Any kind")), *PlaceKind.choices]),
        control("flag", _("Safety flag"), request, options=flag_options()),
        control(
            "status",
            _("Status"),
            request,
            options=[("active", _("Open")), ("inactive", _("Closed")), (filters.ALL, _("Any status"))],
        ),
    ]
    context = list_context(
        request,
        entity="places",
        rows=[{"place": p, "masked_phone": p.masked_phone} for p in rows],
        cursor=cursor,
        controls=controls,
        errors=errors,
        title=_("Places"),
        current_area=current_area,
    )
    return render(request, list_template(request, context), context)


def place_or_404(user, pk):
    return queries.object_or_404(queries.places_visible_to(user).select_related("area", "building"), pk)


@registry_view
def place_detail(request, pk):
    user = request.user
    place = place_or_404(user, pk)
    context = {
        "place": place,
        "crumbs": crumbs(user, place.area),
        "can_edit": queries.can_edit_in(user, place.area),
        "can_unmask": queries.can_unmask(user, place.area),
        "masked": masked_values("place", place),
    }
    return render(request, "registry/place_detail.html", context)


@registry_view
def place_create(request):
    user = request.user
    building = None
    raw = request.GET.get("building", "").strip()
    if raw:
        if not raw.isdigit():
            raise Http404
        building = queries.object_or_404(queries.buildings_visible_to(user).select_related("area"), int(raw))
    within = area_from_param(user, request) or (building.area if building else None)
    field = area_field(
        user,
        PLACE_AREA_KINDS,
        within=within,
        initial=within if within is not None and within.kind in PLACE_AREA_KINDS else None,
    )
    form = PlaceForm(posted(request), area_field=field)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        check_editable_area(user, area)
        try:
            place = services.create_place(user, area, building=building, **form.service_data(editing=False))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": place.name})
            return redirect("registry:place_detail", place.pk)
    context = {
        "form": form,
        "title": _("Add a place"),
        "subtitle": _("In building %(name)s") % {"name": building.name} if building else "",
        "submit": _("Add"),
        "back_url": reverse("registry:places"),
    }
    return render(request, "registry/form.html", context)


@registry_view
def place_edit(request, pk):
    user = request.user
    place = editable_or_404(user, place_or_404(user, pk))
    field = area_field(user, PLACE_AREA_KINDS, label=_("Area (move the place by changing it)"), initial=place.area)
    form = PlaceForm(posted(request), place=place, area_field=field)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        check_editable_area(user, area)
        try:
            services.update_place(
                user,
                place,
                expected_updated_at=form.expected_updated_at_value(),
                area=area,
                **form.service_data(editing=True),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:place_detail", place.pk)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": place.name},
        "submit": _("Save"),
        "back_url": reverse("registry:place_detail", args=[place.pk]),
    }
    return render(request, "registry/form.html", context)
