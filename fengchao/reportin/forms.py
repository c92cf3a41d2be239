"""Forms of the report-in pages; the services check and write, their ValidationError dicts come back by name."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.registry.forms import Form, apply_errors  # noqa: F401 (re-exported)

from .choices import NOTE_MAX


class ReportForm(Form):
    community = forms.TypedChoiceField(label=_("Community"), coerce=int, required=False)
    note = forms.CharField(
        label=_("Service I take on"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.pk, c.name) for c in communities]


class UnitForm(Form):
    note = forms.CharField(label=_("Service taken on"), required=False, max_length=NOTE_MAX)
