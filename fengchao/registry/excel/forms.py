"""Forms of the Excel pages: they shape input; `jobs` decides and writes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.areas.models import Area

from ..models import ExcelEntity, ImportMode
from ..queries import areas_visible_to, can_edit_in
from .columns import IMPORTABLE

TARGET_LEVEL_MAX = 3  # district, street, community; deeper areas only as the user's own scope roots


def target_areas(user):
    """Areas a user may import into: visible ones down to communities, plus their own deeper areas."""
    from fengchao.accounts.roles import REGISTRY_ROLES
    from fengchao.areas.scope import scope_paths

    roots = [p for p in scope_paths(user, REGISTRY_ROLES) if p != "/"]
    visible = areas_visible_to(user)
    shallow = visible.filter(level__lte=TARGET_LEVEL_MAX, is_active=True)
    own = visible.filter(path__in=roots, is_active=True)
    areas = (shallow | own).order_by("path").only("pk", "name", "code", "path", "level", "kind")
    return [a for a in areas if can_edit_in(user, a)]


class UploadForm(forms.Form):
    entity = forms.ChoiceField(label=_("What the sheet holds"))
    area = forms.ModelChoiceField(label=_("Into area"), queryset=Area.objects.none(), empty_label=None)
    file = forms.FileField(label=_("Excel file (.xlsx)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(e, ExcelEntity(e).label) for e in IMPORTABLE]
        areas = target_areas(user)
        self.fields["area"].queryset = Area.objects.filter(pk__in=[a.pk for a in areas]).order_by("path")
        self.fields["area"].label_from_instance = lambda a: f"{'　' * max(0, a.level - 1)}{a.name}"


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportMode.choices, widget=forms.RadioSelect)


class ExportForm(forms.Form):
    unmasked = forms.BooleanField(label=_("Export ID numbers and phones unmasked"), required=False)
    reason = forms.CharField(label=_("Why you need them in full (logged)"), max_length=200, required=False)
