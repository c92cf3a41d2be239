"""Management forms for areas. Each view checks the manager's reach, then calls one service function."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .. import services
from ..duties import duty_list_for, own_duty_text, parse_duty_text
from ..forms import AreaEditForm, AreaImportForm, BoundaryForm, ChildAreaForm, DutyListForm, MoveAreaForm
from ..importing import import_areas
from ..levels import PARENT_KINDS, AreaKind
from ..models import Area
from .pages import map_feature
from .permissions import can_manage_below, managed_area_or_404


def _warn(request, warnings):
    for warning in warnings:
        messages.warning(request, warning)


def _form_page(request, area, form, title, *, submit, extra=None):
    context = {"area": area, "form": form, "title": title, "submit": submit, **(extra or {})}
    return render(request, "areas/manage_form.html", context)


@login_required
def edit(request, pk):
    area = managed_area_or_404(request.user, pk, edit=True)
    form = AreaEditForm(request.POST or None, area=area)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != getattr(area, k)}
        try:
            if changes:
                services.update_area(area, by=request.user, **changes)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("areas:detail", area.pk)
    return _form_page(request, area, form, _("Edit %(name)s") % {"name": area.name}, submit=_("Save"))


@login_required
def add_child(request, pk):
    parent = managed_area_or_404(request.user, pk, edit=False)
    if not ChildAreaForm(parent=parent).fields["kind"].choices:
        return redirect("areas:detail", parent.pk)
    form = ChildAreaForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            change = services.create_area(
                parent=parent,
                kind=data["kind"],
                name=data["name"],
                local_code=data["local_code"],
                dedicated_kind=data.get("dedicated_kind") or "",
                by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Created %(name)s (%(code)s).") % {"name": change.area, "code": change.area.code}
            )
            _warn(request, change.warnings)
            return redirect("areas:detail", change.area.pk)
    return _form_page(request, parent, form, _("Add an area under %(name)s") % {"name": parent.name}, submit=_("Add"))


@login_required
def move(request, pk):
    user = request.user
    area = managed_area_or_404(user, pk, edit=True)
    if area.kind == AreaKind.DISTRICT:
        return redirect("areas:detail", area.pk)
    candidates = Area.objects.visible_to(user).filter(kind__in=PARENT_KINDS[AreaKind(area.kind)], is_active=True)
    allowed = [a.pk for a in candidates.only("pk", "path") if can_manage_below(user, a)]
    form = MoveAreaForm(request.POST or None, parent_choices=Area.objects.filter(pk__in=allowed).order_by("path"))
    if request.method == "POST" and form.is_valid():
        try:
            change = services.move_area(
                area, form.cleaned_data["new_parent"], by=user, local_code=form.cleaned_data["local_code"] or None
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Moved %(name)s; its code is now %(code)s.") % {"name": area, "code": area.code}
            )
            _warn(request, change.warnings)
            return redirect("areas:detail", change.area.pk)
    return _form_page(request, area, form, _("Move %(name)s") % {"name": area.name}, submit=_("Move"))


@login_required
def boundary(request, pk):
    area = managed_area_or_404(request.user, pk, edit=True)
    form = BoundaryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.set_boundary(area, form.cleaned_data["geojson"], by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The boundary of %(name)s was saved.") % {"name": area.name})
            _warn(request, change.warnings)
            return redirect("areas:detail", area.pk)
    features = [map_feature(area, "self")]
    if area.parent_id:
        features.insert(0, map_feature(area.parent, "parent"))
    context = {"area": area, "form": form, "map_data": {"features": [f for f in features if f]}}
    return render(request, "areas/boundary_form.html", context)


@login_required
def duties(request, pk):
    area = managed_area_or_404(request.user, pk, edit=False)
    role = request.POST.get("role") or request.GET.get("role") or ""
    initial = {"role": role, "text": own_duty_text(area, role)} if role else None
    form = DutyListForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        items = parse_duty_text(form.cleaned_data["text"])
        try:
            services.replace_duties(area, form.cleaned_data["role"], items, by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The duty list was saved."))
            return redirect("areas:detail", area.pk)
    inherited = duty_list_for(area, role) if role else None
    extra = {"inherited": inherited if inherited and inherited.inherited else None}
    return _form_page(
        request, area, form, _("Duty list of %(name)s") % {"name": area.name}, submit=_("Save"), extra=extra
    )


@login_required
def import_view(request, pk):
    """Import areas under this one from a GeoJSON file (codes, names, boundaries), all or nothing."""
    area = managed_area_or_404(request.user, pk, edit=False)
    form = AreaImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = import_areas(form.cleaned_data["file"], by=request.user, within=area, crs=form.cleaned_data["crs"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
                % {"created": len(result.created), "updated": len(result.updated), "unchanged": len(result.unchanged)},
            )
            _warn(request, result.warnings)
            return redirect("areas:detail", area.pk)
    help_text = _(
        "A GeoJSON FeatureCollection; each feature has “code” (or 编码) and “name” (or 名称), and may have a "
        "boundary. Codes may be 14- or 15-digit unit-grid codes. Existing codes are updated; if any feature is "
        "wrong, nothing is imported and every problem is listed."
    )
    return _form_page(
        request,
        area,
        form,
        _("Import areas under %(name)s") % {"name": area.name},
        submit=_("Import"),
        extra={"help": help_text},
    )
