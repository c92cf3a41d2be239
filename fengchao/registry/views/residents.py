"""Resident pages: the searchable list, the detail with unmasking on request, and the forms around a life."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import filters, idcard, queries, services
from ..choices import ResidenceType, ResidentStatus
from ..forms import CareTagsForm, EndResidenceForm, MoveResidentForm, ResidentEditForm, ResidentForm, apply_errors
from ..models import CareTag, MoveRecord, ResidentCareTag
from ..validation import HOUSEHOLD_AREA_KINDS, clean_date
from .common import (
    PAGE_SIZE,
    area_field,
    area_from_param,
    check_editable_area,
    control,
    crumbs,
    current_filter_area,
    editable_or_404,
    filter_area_options,
    filter_errors,
    is_htmx,
    keyset,
    list_context,
    list_template,
    posted,
    registry_view,
)
from .reveal import masked_values

PICK_LIMIT = 20


def _care_tag_prefetch():
    return Prefetch(
        "care_tag_links", queryset=ResidentCareTag.objects.select_related("tag").order_by("tag__position", "tag__code")
    )


def resident_rows(qs, cursor, size=PAGE_SIZE):
    qs = qs.select_related("household", "area").prefetch_related(_care_tag_prefetch())
    rows, next_cursor = keyset(qs, ["pinyin_key", "pk"], lambda r: (r.pinyin_key, r.pk), cursor, size)
    today = timezone.localdate()
    return [
        {
            "resident": r,
            "age": idcard.age_on(r.birth_date, today),
            "masked_phone": r.masked_phone,
            "tags": [link.tag for link in r.care_tag_links.all()],
        }
        for r in rows
    ], next_cursor


@registry_view
def resident_list(request):
    user = request.user
    current_area = current_filter_area(user, request)
    errors = []
    try:
        qs = filters.filter_residents(user, request.GET)
        rows, cursor = resident_rows(qs, request.GET.get("cursor"))
    except ValidationError as error:
        errors, rows, cursor = filter_errors(error), [], None
    tags = [(t.code, t.name) for t in CareTag.objects.filter(is_active=True)]
    controls = [
        control("q", _("Search"), request, placeholder=_("Name, pinyin, initials, phone, ID or address")),
        control("area", _("Area"), request, options=filter_area_options(user, current_area)),
        control("care_tag", _("Care tag"), request, options=[("", _("Any care tag")), *tags]),
        control(
            "residence_type",
            _("Residence type"),
            request,
            options=[("", _("Any residence type")), *ResidenceType.choices],
        ),
        control(
            "status",
            _("Status"),
            request,
            options=[*ResidentStatus.choices, (filters.ALL, _("Any status"))],
        ),
        control("party_member", _("Party member"), request, options=[("", _("All")), ("1", _("Yes")), ("0", _("No"))]),
    ]
    context = list_context(
        request,
        entity="residents",
        rows=rows,
        cursor=cursor,
        controls=controls,
        errors=errors,
        title=_("Residents"),
        current_area=current_area,
    )
    return render(request, list_template(request, context), context)


def _resident_or_404(user, pk):
    qs = queries.residents_visible_to(user).select_related("household", "household__room__building", "area")
    return queries.object_or_404(qs, pk)


def detail_context(user, resident):
    moves = MoveRecord.objects.filter(resident=resident).select_related("actor", "from_area", "to_area")
    return {
        "resident": resident,
        "crumbs": crumbs(user, resident.area),
        "age": idcard.age_on(resident.birth_date, timezone.localdate()),
        "care_tags": [link.tag for link in resident.care_tag_links.select_related("tag").order_by("tag__position")],
        "moves": moves[:50],
        "can_unmask": queries.can_unmask(user, resident.area),
        "can_edit": queries.can_edit_in(user, resident.area),
        "can_audit": queries.can_audit(user),
        "masked": masked_values("resident", resident),
    }


@registry_view
def resident_detail(request, pk):
    resident = _resident_or_404(request.user, pk)
    return render(request, "registry/resident_detail.html", detail_context(request.user, resident))


@registry_view
def resident_create(request):
    user = request.user
    household = None
    raw_household = request.GET.get("household", "").strip()
    if raw_household:
        if not raw_household.isdigit():
            raise Http404
        household = queries.object_or_404(
            queries.households_visible_to(user).filter(is_active=True).select_related("area"), int(raw_household)
        )
        editable_or_404(user, household)
    within = area_from_param(user, request)
    field = None
    if household is None:
        field = area_field(
            user,
            HOUSEHOLD_AREA_KINDS,
            within=within,
            label=_("Micro-grid"),
            initial=within if within is not None and within.kind in HOUSEHOLD_AREA_KINDS else None,
        )
    form = ResidentForm(posted(request), area_field=field)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data.get("area")
        check_editable_area(user, area)
        try:
            resident = services.create_resident(
                user,
                household=household,
                area=area,
                care_tags=list(form.cleaned_data["care_tags"]),
                **form.service_data(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(name)s was added to the registry.") % {"name": resident.name})
            return redirect("registry:resident_detail", resident.pk)
    context = {
        "form": form,
        "title": _("Add a resident"),
        "subtitle": household.address if household else "",
        "submit": _("Add"),
        "back_url": reverse("registry:household_detail", args=[household.pk])
        if household
        else reverse("registry:residents"),
    }
    return render(request, "registry/form.html", context)


@registry_view
def resident_edit(request, pk):
    user = request.user
    resident = editable_or_404(user, _resident_or_404(user, pk))
    form = ResidentEditForm(posted(request), resident=resident)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_resident(
                user, resident, expected_updated_at=form.expected_updated_at_value(), **form.service_data()
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:resident_detail", resident.pk)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": resident.name},
        "submit": _("Save"),
        "back_url": reverse("registry:resident_detail", args=[resident.pk]),
    }
    return render(request, "registry/form.html", context)


@registry_view
def resident_care_tags(request, pk):
    user = request.user
    resident = editable_or_404(user, _resident_or_404(user, pk))
    form = CareTagsForm(posted(request), resident=resident)
    if request.method == "POST" and form.is_valid():
        services.set_care_tags(user, resident, list(form.cleaned_data["care_tags"]))
        messages.success(request, _("Care tags saved."))
        return redirect("registry:resident_detail", resident.pk)
    context = {
        "form": form,
        "title": _("Care tags of %(name)s") % {"name": resident.name},
        "submit": _("Save"),
        "back_url": reverse("registry:resident_detail", args=[resident.pk]),
    }
    return render(request, "registry/form.html", context)


def household_picks(user, query: str, *, exclude=None):
    """Households living here whose address contains the query, for picking one (moves, new members)."""
    if not query.strip():
        return []
    try:
        qs = filters.filter_households(user, {"q": query})
    except ValidationError:
        return []
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    qs = qs.select_related("head", "area").order_by("address_key", "pk")
    return list(qs[:PICK_LIMIT])


@registry_view
def resident_move(request, pk):
    user = request.user
    resident = editable_or_404(user, _resident_or_404(user, pk))
    if not resident.is_living:
        raise Http404
    query = request.GET.get("q", "") if request.method == "GET" else request.POST.get("q", "")
    households = queries.households_visible_to(user).filter(is_active=True).exclude(pk=resident.household_id)
    form = MoveResidentForm(posted(request), households=households)
    if request.method == "POST" and form.is_valid():
        household = form.cleaned_data["household"]
        check_editable_area(user, household.area)
        try:
            services.move_resident(
                user,
                resident,
                household=household,
                relation=form.cleaned_data["relation"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, _("%(name)s moved to %(address)s.") % {"name": resident.name, "address": household.address}
            )
            return redirect("registry:resident_detail", resident.pk)
    picks = household_picks(user, query, exclude=resident.household_id)
    chosen = form.data.get("household") if form.is_bound else None
    context = {
        "resident": resident,
        "form": form,
        "query": query,
        "picks": picks,
        "chosen": str(chosen or ""),
        "searched": bool(query.strip()),
    }
    template = "registry/_household_picks.html" if is_htmx(request) else "registry/resident_move.html"
    return render(request, template, context)


@registry_view
def resident_leave(request, pk):
    user = request.user
    resident = editable_or_404(user, _resident_or_404(user, pk))
    if not resident.is_living:
        raise Http404
    form = EndResidenceForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            on = clean_date(form.cleaned_data["on"], "on")
            at = None
            if on is not None and on != timezone.localdate():
                at = timezone.make_aware(datetime.datetime.combine(on, datetime.time(12)))
            services.end_residence(
                user, resident, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"], at=at
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:resident_detail", resident.pk)
    context = {
        "form": form,
        "title": _("%(name)s moved out or died") % {"name": resident.name},
        "subtitle": _("The record is kept (for the retention period) and leaves the lists of people living here."),
        "submit": _("Save"),
        "back_url": reverse("registry:resident_detail", args=[resident.pk]),
        "danger": True,
    }
    return render(request, "registry/form.html", context)
