"""Forms of the visit pages. They collect what a person typed; the services clean, check and write it, and their
ValidationError dicts come back onto these fields by name (`apply_errors`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.cases.catalogue import usable_categories
from fengchao.registry.forms import Form, apply_errors, attempt_on  # noqa: F401 (re-exported)

from .choices import FINDINGS_MAX, MAX_EVERY_DAYS, MIN_EVERY_DAYS, NEEDS_MAX, SERVICE_PREFIX, How


def need_choices() -> list:
    """No category, then the service requests (民生服务) and the other case categories, in two groups."""
    service, other = [], []
    for code, name in usable_categories().order_by("code").values_list("code", "name"):
        (service if code.startswith(SERVICE_PREFIX) else other).append((code, f"{name}"))
    return [
        ("", _("Nothing to raise")),
        (_("Service request"), service),
        (_("Case"), other),
    ]


class VisitForm(Form):
    how = forms.ChoiceField(label=_("How"), choices=How.choices, initial=How.IN_PERSON, widget=forms.RadioSelect)
    findings = forms.CharField(
        label=_("What I found"), required=False, max_length=FINDINGS_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    needs = forms.CharField(
        label=_("Needs (optional)"), required=False, max_length=NEEDS_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    need_category = forms.ChoiceField(label=_("Raise the need as"), required=False)
    at = forms.DateTimeField(
        label=_("Visited at (empty: now)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    resident = forms.CharField(required=False, widget=forms.HiddenInput)  # where resident refusals land

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["need_category"].choices = need_choices()


class PlanForm(Form):
    every_days = forms.IntegerField(label=_("Visit every (days)"), min_value=MIN_EVERY_DAYS, max_value=MAX_EVERY_DAYS)
    is_active = forms.BooleanField(label=_("In use"), required=False)
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
