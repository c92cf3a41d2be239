"""Earning rules (积分规则) of an area: those in force there (own and inherited), the form to set or change
one, and each rule's versions with who changed what. Rules are set for a district, a street or a community
by its staff (`services.can_edit_rules`); grid leaders read them."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from fengchao.core.errors import StaleRecord
from fengchao.registry.forms import apply_errors

from .. import services
from ..choices import Action, Approval, PointsKind
from ..forms import RuleForm, rule_initial
from ..models import Rule
from . import reads
from .common import area_options, staff_view

STALE = _lazy("Someone else changed this rule meanwhile. Here it is as it is now: make your change again.")


def _area_of_request(request):
    raw = request.GET.get("area", "")
    if raw:
        return reads.staff_area_or_404(request.user, raw)
    area = reads.default_staff_area(request.user)
    if area is None:
        raise Http404
    return area


@staff_view
def rule_list(request):
    user = request.user
    area = _area_of_request(request)
    editable = reads.can_edit_rules(user, area)
    rows = reads.rules_in_force(area)
    for row in rows:
        shown = row["own"] or row["in_force"]
        row["edit_url"] = reverse("points:rule_edit", args=[shown.pk]) if shown else None
        row["create_url"] = (
            reverse("points:rule_create") + f"?area={area.pk}&action={row['action']}"
            if editable and row["own"] is None
            else None
        )
    context = {
        "area": area,
        "rows": rows,
        "below": reads.rules_below(area),
        "editable": editable,
        "area_choices": area_options(user, area),
        "tab": "rules",
    }
    return render(request, "points/rules.html", context)


def _save(request, form, *, area, action, expected=None):
    """The saved rule, or None with the refusal on the form; StaleRecord goes up to the caller."""
    try:
        return services.save_rule(
            by=request.user, area=area, action=action, expected_version=expected, **form.settings()
        )
    except StaleRecord:
        raise
    except PermissionDenied as error:
        form.add_error(None, str(error))
    except ValidationError as error:
        apply_errors(form, error)
    return None


@staff_view
def rule_create(request):
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    area = reads.staff_area_or_404(user, source.get("area", ""))
    if not reads.can_edit_rules(user, area):
        raise Http404
    action = source.get("action", "")
    existing = Rule.objects.filter(area=area, action=action).first()
    if existing is not None and request.method != "POST":  # the area has its own: that one is changed
        return redirect("points:rule_edit", pk=existing.pk)
    inherited = next((row["in_force"] for row in reads.rules_in_force(area) if row["action"] == action), None)
    if inherited is not None:
        initial = rule_initial(inherited)
        initial["version"] = None
    else:
        initial = {"action": action, "kind": PointsKind.TASK, "points": 0, "approval": Approval.AUTO, "is_active": True}
    initial["action"] = action if action in Action.values else Action.CASE_REPORTED
    form = RuleForm(request.POST if request.method == "POST" else None, initial=initial)
    chosen = form.cleaned_data.get("action") if request.method == "POST" and form.is_valid() else None
    if chosen and Rule.objects.filter(area=area, action=chosen).exists():
        form.add_error("action", _("This area has its own rule for this action already: change that one."))
    if request.method == "POST" and form.is_valid():
        try:
            rule = _save(request, form, area=area, action=form.cleaned_data["action"])
        except StaleRecord:  # set by someone else meanwhile: theirs is shown, to change
            messages.warning(request, STALE)
            existing = Rule.objects.get(area=area, action=form.cleaned_data["action"])
            return redirect("points:rule_edit", pk=existing.pk)
        if rule is not None:
            messages.success(
                request,
                _("Rule set for %(area)s: %(action)s.") % {"area": area.name, "action": rule.get_action_display()},
            )
            return redirect(reverse("points:rules") + f"?area={area.pk}")
    context = {
        "form": form,
        "area": area,
        "inherited": inherited,
        "title": _("Set a rule for %(area)s") % {"area": area.name},
        "submit": _("Set the rule"),
        "tab": "rules",
    }
    return render(request, "points/rule_form.html", context)


@staff_view
def rule_edit(request, pk):
    user = request.user
    rule = reads.rule_or_404(user, pk)
    editable = reads.can_edit_rules(user, rule.area)
    if request.method == "POST" and not editable:
        raise Http404
    form = RuleForm(request.POST if request.method == "POST" else None, initial=rule_initial(rule), fixed_action=True)
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save(request, form, area=rule.area, action=rule.action, expected=form.cleaned_data.get("version"))
        except StaleRecord:
            messages.warning(request, STALE)
            return redirect("points:rule_edit", pk=rule.pk)
        if saved is not None:
            messages.success(
                request,
                _("Rule saved: %(action)s, version %(version)d.")
                % {"action": saved.get_action_display(), "version": saved.version},
            )
            return redirect("points:rule_edit", pk=saved.pk)
    context = {
        "form": form,
        "rule": rule,
        "area": rule.area,
        "editable": editable,
        "history": reads.rule_history(rule),
        "title": _("%(action)s in %(area)s") % {"action": rule.get_action_display(), "area": rule.area.name},
        "submit": _("Save"),
        "tab": "rules",
    }
    return render(request, "points/rule_form.html", context)
