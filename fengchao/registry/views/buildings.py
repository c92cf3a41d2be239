"""Building pages: the list per area, the building by unit and floor with who lives where, and its forms."""

import re
from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import filters, queries, services
from ..choices import ResidentStatus
from ..forms import BuildingForm, GenerateRoomsForm, apply_errors
from ..models import Household, Resident
from ..validation import BUILDING_AREA_KINDS
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


@registry_view
def building_list(request):
    user = request.user
    current_area = current_filter_area(user, request)
    errors, rows, cursor = [], [], None
    try:
        qs = (
            filters.filter_buildings(user, request.GET)
            .select_related("area")
            .annotate(households=Count("rooms__households", filter=Q(rooms__households__is_active=True)))
        )
        rows, cursor = keyset(
            qs, ["area__path", "name", "pk"], lambda b: (b.area.path, b.name, b.pk), request.GET.get("cursor")
        )
    except ValidationError as error:
        errors = filter_errors(error)
    controls = [
        control("q", _("Name or address"), request, placeholder=_("e.g. 3栋")),
        control("area", _("Area"), request, options=filter_area_options(user, current_area)),
        control(
            "status",
            _("Status"),
            request,
            options=[("active", _("In use")), ("inactive", _("Not in use")), (filters.ALL, _("Any status"))],
        ),
    ]
    context = list_context(
        request,
        entity="buildings",
        rows=rows,
        cursor=cursor,
        controls=controls,
        errors=errors,
        title=_("Buildings"),
        current_area=current_area,
    )
    return render(request, list_template(request, context), context)


def building_or_404(user, pk):
    return queries.object_or_404(queries.buildings_visible_to(user).select_related("area"), pk)


def natural(text: str):
    """Sort 2 before 10 (unit and room labels are text)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text or "")]


def rooms_by_unit_and_floor(building) -> list[dict]:
    """Units in order, each with its floors from the top down, each floor with its rooms and who lives there."""
    living = Resident.objects.filter(status=ResidentStatus.LIVING).order_by("pk")
    households = Household.objects.filter(is_active=True).prefetch_related(Prefetch("residents", queryset=living))
    rooms = building.rooms.prefetch_related(Prefetch("households", queryset=households))
    units: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for room in rooms:
        people = [
            {"resident": r, "masked_phone": r.masked_phone, "household": h}
            for h in room.households.all()
            for r in h.residents.all()
        ]
        units[room.unit][room.floor].append({"room": room, "households": list(room.households.all()), "people": people})
    result = []
    for unit in sorted(units, key=natural):
        floors = units[unit]
        ordered = sorted((f for f in floors if f is not None), reverse=True)
        if None in floors:
            ordered.append(None)
        result.append(
            {
                "unit": unit,
                "floors": [
                    {"floor": f, "rooms": sorted(floors[f], key=lambda c: natural(c["room"].number))} for f in ordered
                ],
            }
        )
    return result


@registry_view
def building_detail(request, pk):
    user = request.user
    building = building_or_404(user, pk)
    units = rooms_by_unit_and_floor(building)
    context = {
        "building": building,
        "crumbs": crumbs(user, building.area),
        "units": units,
        "room_count": sum(len(f["rooms"]) for u in units for f in u["floors"]),
        "resident_count": sum(len(c["people"]) for u in units for f in u["floors"] for c in f["rooms"]),
        "places": building.places.filter(is_active=True).order_by("name")[:50],
        "can_edit": queries.can_edit_in(user, building.area),
    }
    return render(request, "registry/building_detail.html", context)


@registry_view
def building_create(request):
    user = request.user
    within = area_from_param(user, request)
    field = area_field(
        user,
        BUILDING_AREA_KINDS,
        within=within,
        initial=within if within is not None and within.kind in BUILDING_AREA_KINDS else None,
    )
    form = BuildingForm(posted(request), area_field=field)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        check_editable_area(user, area)
        try:
            building = services.create_building(user, area, **form.service_data())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Building %(name)s added.") % {"name": building.name})
            return redirect("registry:building_detail", building.pk)
    context = {
        "form": form,
        "title": _("Add a building"),
        "submit": _("Add"),
        "back_url": reverse("registry:buildings"),
    }
    return render(request, "registry/form.html", context)


@registry_view
def building_edit(request, pk):
    user = request.user
    building = editable_or_404(user, building_or_404(user, pk))
    form = BuildingForm(posted(request), building=building)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_building(
                user, building, expected_updated_at=form.expected_updated_at_value(), **form.service_data()
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:building_detail", building.pk)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": building.name},
        "submit": _("Save"),
        "back_url": reverse("registry:building_detail", args=[building.pk]),
    }
    return render(request, "registry/form.html", context)


@registry_view
def building_rooms(request, pk):
    user = request.user
    building = editable_or_404(user, building_or_404(user, pk))
    form = GenerateRoomsForm(
        posted(request), initial={"units": building.units or 1, "floors": building.floors, "rooms_per_floor": 2}
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = services.generate_rooms(user, building, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(n)d rooms created; rooms that existed were kept.") % {"n": created})
            return redirect("registry:building_detail", building.pk)
    context = {
        "form": form,
        "title": _("Generate the rooms of %(name)s") % {"name": building.name},
        "subtitle": _("Units × floors × rooms per floor, numbered 101, 102 … 201 …; existing rooms are kept."),
        "submit": _("Generate"),
        "back_url": reverse("registry:building_detail", args=[building.pk]),
    }
    return render(request, "registry/form.html", context)
