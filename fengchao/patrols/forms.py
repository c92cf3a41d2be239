"""Forms of the patrol pages. They collect what a person typed; the services clean, check and write it, and
their ValidationError dicts come back onto these fields by name (`apply_errors`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.registry.forms import Form, apply_errors, attempt_on  # noqa: F401 (re-exported)

from .choices import LOG_TEXT_MAX, NOTE_MAX


class CheckInForm(Form):
    lon = forms.CharField(label=_("Longitude"), required=False, widget=forms.TextInput(attrs={"readonly": True}))
    lat = forms.CharField(label=_("Latitude"), required=False, widget=forms.TextInput(attrs={"readonly": True}))
    crs = forms.CharField(required=False, initial="wgs84", widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=NOTE_MAX)
    photo = forms.FileField(
        label=_("Photo (optional)"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )
    key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    location = forms.CharField(required=False, widget=forms.HiddenInput)  # where location refusals land


class LogForm(Form):
    text = forms.CharField(label=_("What I did"), max_length=LOG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4}))
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    area = forms.ChoiceField(label=_("Area"), required=False)

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [(a.pk, a.name) for a in areas]


class EditLogForm(Form):
    text = forms.CharField(label=_("What I did"), max_length=LOG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4}))
