"""Forms of the activities pages. They collect what a person typed; the services clean, check and write it,
and their ValidationError dicts come back onto these fields by name (`apply_errors`)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fengchao.registry.forms import BLANK, Form, RecordField, apply_errors, area_label  # noqa: F401 (re-exported)

from .choices import ActivityKind, Audience

LOCAL_DATETIME = "%Y-%m-%dT%H:%M"


def _when(label):
    return forms.DateTimeField(
        label=label,
        input_formats=[LOCAL_DATETIME, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME),
    )


class PublishForm(Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=BLANK + list(ActivityKind.choices))
    title = forms.CharField(label=_("Title"), max_length=120)
    place = forms.CharField(label=_("Place"), max_length=200)
    starts_at = _when(_("Starts"))
    ends_at = _when(_("Ends"))
    capacity = forms.IntegerField(
        label=pgettext_lazy("activity", "Places"),
        min_value=1,
        max_value=100_000,
        required=False,
        help_text=_("Leave empty for no limit. When it is full, people go on a waiting list."),
    )
    audience = forms.ChoiceField(label=_("Who may join"), choices=Audience.choices, initial=Audience.SERVING)
    description = forms.CharField(
        label=_("Description"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {
            "area": RecordField(areas, label=_("Held for"), label_of=area_label, required=True),
            **self.fields,
        }

    def service_data(self) -> dict:
        names = ("area", "kind", "title", "place", "starts_at", "ends_at", "capacity", "audience", "description")
        return {name: self.cleaned_data[name] for name in names}


class CancelForm(Form):
    reason = forms.CharField(label=_("Why it is cancelled"), max_length=200)
