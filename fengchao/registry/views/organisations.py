"""Organisation pages: list by kind, detail with members, forms, adding a member and ending a membership."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import filters, queries, search, services
from ..choices import OrganisationKind
from ..forms import EndMembershipForm, MemberForm, OrganisationForm, apply_errors
from ..models import OrganisationMember
from ..validation import ORGANISATION_AREA_KINDS
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
    is_htmx,
    keyset,
    list_context,
    list_template,
    posted,
    registry_view,
)
from .reveal import masked_values

RESIDENT_PICKS = 20


@registry_view
def organisation_list(request):
    user = request.user
    current_area = current_filter_area(user, request)
    errors, rows, cursor = [], [], None
    try:
        qs = filters.filter_organisations(user, request.GET).select_related("area")
        rows, cursor = keyset(qs, ["name_key", "pk"], lambda o: (o.name_key, o.pk), request.GET.get("cursor"))
    except ValidationError as error:
        errors = filter_errors(error)
    controls = [
        control("q", _("Name"), request, placeholder=_("Name starts with")),
        control("area", _("Area"), request, options=filter_area_options(user, current_area)),
        control("kind", _("Kind"), request, options=[("", _("Any kind")), *OrganisationKind.choices]),
        control(
            "status",
            _("Status"),
            request,
            options=[("active", _("Active")), ("inactive", _("Not active")), (filters.ALL, _("Any status"))],
        ),
    ]
    context = list_context(
        request,
        entity="organisations",
        rows=[{"organisation": o, "masked_phone": o.masked_phone} for o in rows],
        cursor=cursor,
        controls=controls,
        errors=errors,
        title=_("Organisations"),
        current_area=current_area,
    )
    return render(request, list_template(request, context), context)


def organisation_or_404(user, pk):
    return queries.object_or_404(queries.organisations_visible_to(user).select_related("area"), pk)


@registry_view
def organisation_detail(request, pk):
    user = request.user
    organisation = organisation_or_404(user, pk)
    members = list(organisation.members.select_related("resident"))
    can_unmask = queries.can_unmask(user, organisation.area)
    context = {
        "organisation": organisation,
        "crumbs": crumbs(user, organisation.area),
        "current": [
            {"member": m, "masked": masked_values("member", m), "masked_phone": m.masked_phone}
            for m in members
            if m.left_on is None
        ],
        "former": [m for m in members if m.left_on is not None],
        "can_edit": queries.can_edit_in(user, organisation.area),
        "can_unmask": can_unmask,
        "masked": masked_values("organisation", organisation),
    }
    return render(request, "registry/organisation_detail.html", context)


@registry_view
def organisation_create(request):
    user = request.user
    within = area_from_param(user, request)
    field = area_field(
        user,
        ORGANISATION_AREA_KINDS,
        within=within,
        initial=within if within is not None and within.kind in ORGANISATION_AREA_KINDS else None,
    )
    form = OrganisationForm(posted(request), area_field=field)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        check_editable_area(user, area)
        try:
            organisation = services.create_organisation(user, area, **form.service_data(editing=False))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": organisation.name})
            return redirect("registry:organisation_detail", organisation.pk)
    context = {
        "form": form,
        "title": _("Add an organisation"),
        "submit": _("Add"),
        "back_url": reverse("registry:organisations"),
    }
    return render(request, "registry/form.html", context)


@registry_view
def organisation_edit(request, pk):
    user = request.user
    organisation = editable_or_404(user, organisation_or_404(user, pk))
    field = area_field(
        user, ORGANISATION_AREA_KINDS, label=_("Area (move the organisation by changing it)"), initial=organisation.area
    )
    form = OrganisationForm(posted(request), organisation=organisation, area_field=field)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        check_editable_area(user, area)
        try:
            services.update_organisation(
                user,
                organisation,
                expected_updated_at=form.expected_updated_at_value(),
                area=area,
                **form.service_data(editing=True),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:organisation_detail", organisation.pk)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": organisation.name},
        "submit": _("Save"),
        "back_url": reverse("registry:organisation_detail", args=[organisation.pk]),
    }
    return render(request, "registry/form.html", context)


def resident_picks(user, query: str) -> list:
    if not query.strip():
        return []
    qs = search.search_residents(queries.residents_visible_to(user), query).select_related("household")
    return list(qs.order_by("pinyin_key", "pk")[:RESIDENT_PICKS])


@registry_view
def member_add(request, pk):
    user = request.user
    organisation = editable_or_404(user, organisation_or_404(user, pk))
    query = request.GET.get("q", "") if request.method == "GET" else request.POST.get("q", "")
    form = MemberForm(posted(request), residents=queries.residents_visible_to(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_organisation_member(
                user,
                organisation,
                name=data["name"],
                resident=data["resident"],
                position=data["position"],
                phone=data["phone"],
                is_contact=data["is_contact"],
                joined_on=data["joined_on"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Member added."))
            return redirect("registry:organisation_detail", organisation.pk)
    context = {
        "organisation": organisation,
        "form": form,
        "query": query,
        "picks": resident_picks(user, query),
        "chosen": str(form.data.get("resident", "")) if form.is_bound else "",
        "searched": bool(query.strip()),
    }
    template = "registry/_resident_picks.html" if is_htmx(request) else "registry/member_form.html"
    return render(request, template, context)


@require_POST
@registry_view
def member_end(request, pk, member_pk):
    user = request.user
    organisation = editable_or_404(user, organisation_or_404(user, pk))
    member = queries.object_or_404(OrganisationMember.objects.filter(organisation=organisation), member_pk)
    form = EndMembershipForm(request.POST)
    if form.is_valid():
        try:
            services.end_organisation_membership(user, member, left_on=form.cleaned_data["left_on"])
        except services.StaleRecord:
            messages.info(request, _("%(name)s had left already.") % {"name": member.name})
        except ValidationError as error:
            for message in filter_errors(error):
                messages.error(request, message)
        else:
            messages.success(request, _("%(name)s left the organisation.") % {"name": member.name})
    return redirect("registry:organisation_detail", organisation.pk)
