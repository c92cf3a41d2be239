"""Household pages: list, detail with members and history, and the forms that create, edit and move them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import filters, queries, services
from ..choices import ResidentStatus
from ..forms import HouseholdEditForm, HouseholdForm, MoveHouseholdForm, ReasonForm, apply_errors
from ..models import MoveRecord
from ..validation import HOUSEHOLD_AREA_KINDS
from .common import (
    area_field,
    area_from_param,
    building_field,
    control,
    crumbs,
    current_filter_area,
    editable_or_404,
    filter_area_options,
    filter_errors,
    grouped,
    keyset,
    list_context,
    list_template,
    posted,
    registry_view,
)


@registry_view
def household_list(request):
    user = request.user
    current_area = current_filter_area(user, request)
    errors, rows, cursor = [], [], None
    try:
        qs = (
            filters.filter_households(user, request.GET)
            .select_related("head", "area")
            .annotate(living=Count("residents", filter=Q(residents__status=ResidentStatus.LIVING)))
        )
        rows, cursor = keyset(qs, ["address_key", "pk"], lambda h: (h.address_key, h.pk), request.GET.get("cursor"))
    except ValidationError as error:
        errors = filter_errors(error)
    controls = [
        control("q", _("Address"), request, placeholder=_("Address contains, e.g. 3栋2单元")),
        control("area", _("Area"), request, options=filter_area_options(user, current_area)),
        control(
            "status",
            _("Status"),
            request,
            options=[("living", _("Living here")), ("moved_out", _("Moved out")), (filters.ALL, _("Any status"))],
        ),
    ]
    context = list_context(
        request,
        entity="households",
        rows=rows,
        cursor=cursor,
        controls=controls,
        errors=errors,
        title=_("Households"),
        current_area=current_area,
    )
    return render(request, list_template(request, context), context)


def household_or_404(user, pk):
    qs = queries.households_visible_to(user).select_related("area", "head", "room__building")
    return queries.object_or_404(qs, pk)


@registry_view
def household_detail(request, pk):
    user = request.user
    household = household_or_404(user, pk)
    members = list(household.residents.select_related("area").order_by("status", "pk"))
    context = {
        "household": household,
        "crumbs": crumbs(user, household.area),
        "living": [{"resident": r, "masked_phone": r.masked_phone} for r in members if r.is_living],
        "former": [r for r in members if not r.is_living],
        "moves": MoveRecord.objects.filter(household=household).select_related("actor")[:50],
        "can_edit": queries.can_edit_in(user, household.area),
    }
    return render(request, "registry/household_detail.html", context)


def _address_fields(user, request, *, initial_building=None):
    within = area_from_param(user, request)
    building = initial_building
    raw = request.GET.get("building", "").strip()
    if building is None and raw:
        if not raw.isdigit():
            raise Http404
        building = queries.object_or_404(queries.buildings_visible_to(user).select_related("area"), int(raw))
    return {
        "building_field": building_field(user, within=within, initial=building),
        "area_field": area_field(
            user,
            HOUSEHOLD_AREA_KINDS,
            within=within,
            label=_("Micro-grid"),
            required=False,
            initial=within if within is not None and within.kind in HOUSEHOLD_AREA_KINDS else None,
        ),
    }


def address_groups(form) -> dict:
    return grouped(
        form,
        [
            (_("In a room of a building"), ["building", "unit", "room"]),
            (_("Or at an address without a building"), ["area", "address"]),
        ],
    )


def _room_and_area(user, data):
    """The room named on the form (created on first mention) or the free address's area; checked for editing."""
    building, area = data.get("building"), data.get("area")
    if building is not None:
        if not queries.can_edit_in(user, building.area):
            raise Http404
        return services.room_for(building, data.get("unit", ""), data["room"]), None
    if not queries.can_edit_in(user, area):
        raise Http404
    return None, area


@registry_view
def household_create(request):
    user = request.user
    form = HouseholdForm(posted(request), **_address_fields(user, request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # The room is named as the household is made: both happen, or neither.
            with transaction.atomic():
                room, area = _room_and_area(user, data)
                household = services.create_household(
                    user,
                    room=room,
                    area=area,
                    address="" if room else data["address"],
                    number=data["number"],
                    notes=data["notes"],
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Household at %(address)s added.") % {"address": household.address})
            return redirect("registry:household_detail", household.pk)
    context = {
        **address_groups(form),
        "form": form,
        "title": _("Add a household"),
        "subtitle": _("In a room of a building, or at a free address in a micro-grid."),
        "submit": _("Add"),
        "back_url": reverse("registry:households"),
    }
    return render(request, "registry/form.html", context)


@registry_view
def household_edit(request, pk):
    user = request.user
    household = editable_or_404(user, household_or_404(user, pk))
    if not household.is_active:
        raise Http404
    form = HouseholdEditForm(posted(request), household=household)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_household(
                user,
                household,
                expected_updated_at=form.expected_updated_at_value(),
                number=data["number"],
                notes=data["notes"],
                head=data["head"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:household_detail", household.pk)
    context = {
        "form": form,
        "title": _("Edit household"),
        "subtitle": household.address,
        "submit": _("Save"),
        "back_url": reverse("registry:household_detail", args=[household.pk]),
    }
    return render(request, "registry/form.html", context)


@registry_view
def household_move(request, pk):
    user = request.user
    household = editable_or_404(user, household_or_404(user, pk))
    if not household.is_active:
        raise Http404
    form = MoveHouseholdForm(posted(request), **_address_fields(user, request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                room, area = _room_and_area(user, data)
                services.move_household(
                    user,
                    household,
                    room=room,
                    area=area,
                    address="" if room else data["address"],
                    reason=data["reason"],
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The household moved to %(address)s.") % {"address": household.address})
            return redirect("registry:household_detail", household.pk)
    context = {
        **address_groups(form),
        "form": form,
        "title": _("Move household"),
        "subtitle": _("From %(address)s; its residents come along.") % {"address": household.address},
        "submit": _("Move"),
        "back_url": reverse("registry:household_detail", args=[household.pk]),
    }
    return render(request, "registry/form.html", context)


@registry_view
def household_moved_out(request, pk):
    user = request.user
    household = editable_or_404(user, household_or_404(user, pk))
    if not household.is_active:
        raise Http404
    form = ReasonForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.household_moved_out(user, household, reason=form.cleaned_data["reason"])
        except ValidationError as error:  # StaleRecord included: it says to reload
            apply_errors(form, error)
        else:
            messages.success(request, _("The household is kept as moved out."))
            return redirect("registry:household_detail", household.pk)
    context = {
        "form": form,
        "title": _("Household moved out"),
        "subtitle": _("%(address)s: the household and everyone living in it leave the lists of people living here.")
        % {"address": household.address},
        "submit": _("Mark as moved out"),
        "back_url": reverse("registry:household_detail", args=[household.pk]),
        "danger": True,
    }
    return render(request, "registry/form.html", context)
