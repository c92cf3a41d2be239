"""Forms of the task pages. They collect what a person typed; the services clean, check and write it, and their
ValidationError dicts come back onto these fields by name (`apply_errors`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.registry.forms import Form, RecordField, apply_errors, area_label  # noqa: F401 (re-exported)

from .choices import AssigneeRole, Repeat

LOCAL_DATETIME = "%Y-%m-%dT%H:%M"


class TaskForm(Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    instructions = forms.CharField(
        label=_("Instructions"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    due_at = forms.DateTimeField(
        label=_("Due"),
        input_formats=[LOCAL_DATETIME, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME),
    )
    assignee_role = forms.ChoiceField(
        label=_("Done by"),
        choices=[c for c in AssigneeRole.choices if c[0] != AssigneeRole.NAMED],
        initial=AssigneeRole.MICROGRID_MEMBER,
    )
    checklist = forms.CharField(
        label=_("Checklist"),
        required=False,
        max_length=6000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One item a line; leave empty for none."),
    )
    need_photo = forms.BooleanField(label=_("A photo is required"), required=False)
    need_gps = forms.BooleanField(label=_("The location is required"), required=False)
    need_signature = forms.BooleanField(label=_("The visited resident's signature is required"), required=False)

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {
            "area": RecordField(areas, label=_("Area"), label_of=area_label, required=True),
            **self.fields,
        }

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["checklist"] = [line.strip() for line in data["checklist"].splitlines() if line.strip()]
        return data


class ReturnForm(Form):
    reason = forms.CharField(label=_("Why it goes back"), max_length=200)


class ScheduleForm(TaskForm):
    """A recurring task: the task's fields (without a due date) and how often it is published."""

    due_at = None
    repeat = forms.ChoiceField(label=_("Repeat"), choices=Repeat.choices, initial=Repeat.WEEKLY)
    every_days = forms.IntegerField(
        label=_("Every N days"), min_value=1, max_value=366, required=False, help_text=_("For “Every N days”.")
    )
    due_days = forms.IntegerField(label=_("Days to do it"), min_value=1, max_value=366, initial=7)
    first_run_at = forms.DateTimeField(
        label=_("First run"),
        input_formats=[LOCAL_DATETIME, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME),
        help_text=_("Weekly runs keep this weekday and time."),
    )
