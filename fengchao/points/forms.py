"""Forms of the points pages. They collect what a person typed; `services` cleans it and says what is wrong.

Numbers stay text here on purpose: `services.save_rule` and `services.adjust` check them once for the
pages and the API alike, and their ValidationError dicts come back onto these fields by name.
"""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.registry.forms import Form

from .choices import Action, Approval, PointsKind


def _number(label, help_text="", *, required=False, step="1"):
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": 0, "step": step, "inputmode": "decimal" if step != "1" else "numeric"}),
    )


class RuleForm(Form):
    """An earning rule of an area: what an action earns, its caps, and how claims are approved."""

    action = forms.ChoiceField(label=_("Action"), choices=Action.choices)
    kind = forms.ChoiceField(label=_("Kind of points"), choices=PointsKind.choices, widget=forms.RadioSelect)
    points = _number(_("Points"), _("Points for each action; leave 0 when the rule pays per hour."))
    points_per_hour = _number(_("Points per hour"), _("For volunteering counted in hours."))
    max_hours = _number(_("Most hours per activity"), _("Hours above this are not paid."), step="0.5")
    daily_cap = _number(_("Daily cap"), _("Most points a person earns by this action in one day; empty: no cap."))
    monthly_cap = _number(_("Monthly cap"), _("Most points a person earns by this action in one month."))
    approval = forms.ChoiceField(label=_("Approval"), choices=Approval.choices)
    listing_days = _number(_("Days of public listing"), _("How long a claim is publicly listed (公示) before it pays."))
    is_active = forms.BooleanField(
        label=_("In force"),
        required=False,
        initial=True,
        help_text=_("A rule taken out of force lets the rule above apply again."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, fixed_action=False, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_action:
            self.fields["action"].disabled = True

    def settings(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("action", "version"):
            data.pop(name, None)
        return data


def rule_initial(rule) -> dict:
    initial = {
        "action": rule.action,
        "kind": rule.kind,
        "points": rule.points,
        "points_per_hour": rule.points_per_hour,
        "max_hours": "" if rule.max_hours is None else f"{rule.max_hours.normalize():f}",
        "daily_cap": "" if rule.daily_cap is None else rule.daily_cap,
        "monthly_cap": "" if rule.monthly_cap is None else rule.monthly_cap,
        "approval": rule.approval,
        "listing_days": rule.listing_days,
        "is_active": rule.is_active,
        "version": rule.version,
    }
    return initial


class AdjustForm(Form):
    """Points added or taken away by hand, always with a reason (补录, 扣减)."""

    kind = forms.ChoiceField(label=_("Kind of points"), choices=PointsKind.choices, widget=forms.RadioSelect)
    points = forms.CharField(
        label=_("Points"),
        help_text=_("A positive number adds points, a negative one (e.g. -20) takes them away."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": r"-?[0-9]*", "autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Shown to the person in their history."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    area = forms.ChoiceField(label=_("Booked in"), help_text=_("The area whose staff answer for this adjustment."))

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.areas = {str(area.pk): area for area in areas}
        self.fields["area"].choices = [(pk, area.name) for pk, area in self.areas.items()]
        if len(self.areas) == 1:
            self.fields["area"].initial = next(iter(self.areas))

    def chosen_area(self):
        return self.areas.get(self.cleaned_data.get("area", ""))


class PeriodForm(Form):
    """From and to (days, both included) of a volunteer service record; both optional."""

    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end comes before the start."))
        return data

    def period(self) -> tuple[dt.date | None, dt.date | None]:
        if not self.is_valid():
            return None, None
        return self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
