"""Forms of the area pages. They only shape input; the service functions decide and write."""

import json
from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fengchao.accounts.roles import Role

from . import coords
from .levels import CHILD_KINDS, AreaKind, DedicatedKind
from .models import Area

MEGABYTE = 1024 * 1024
MAX_IMPORT_UPLOAD_BYTES = 10 * MEGABYTE
MAX_BOUNDARY_UPLOAD_BYTES = 2 * MEGABYTE
GEOJSON_EXTENSIONS = (".geojson", ".json")
CRS_CHOICES = [
    (coords.WGS84, _("WGS84 (GPS, OpenStreetMap)")),
    (coords.GCJ02, _("GCJ-02 (Amap, Tencent)")),
    (coords.BD09, _("BD-09 (Baidu)")),
]


def checked_geojson_upload(upload, max_bytes: int):
    """The upload if it is a .geojson/.json file within the size limit, else a ValidationError saying which."""
    if Path(upload.name).suffix.lower() not in GEOJSON_EXTENSIONS:
        raise ValidationError(_("Upload a .geojson or .json file."))
    if upload.size > max_bytes:
        raise ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": max_bytes // MEGABYTE})
    return upload


class AreaEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    service_phone = forms.CharField(
        label=_("Service phone"), max_length=32, required=False, help_text=_("A public office or hotline number.")
    )
    households = forms.IntegerField(label=_("Households (estimate)"), min_value=0, required=False)
    dedicated_kind = forms.ChoiceField(label=_("Dedicated grid type"), choices=DedicatedKind.choices)

    def __init__(self, *args, area: Area, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name": area.name,
                "address": area.address,
                "service_phone": area.service_phone,
                "households": area.households,
                "dedicated_kind": area.dedicated_kind,
            },
        )
        super().__init__(*args, **kwargs)
        if area.kind != AreaKind.DEDICATED:
            del self.fields["dedicated_kind"]


class ChildAreaForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"))
    local_code = forms.CharField(
        label=_("Number within parent"), max_length=6, help_text=_("e.g. 3 for the third grid; 900-999 for dedicated")
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    dedicated_kind = forms.ChoiceField(
        label=_("Dedicated grid type"), choices=[("", "—"), *DedicatedKind.choices], required=False
    )

    def __init__(self, *args, parent: Area, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = CHILD_KINDS[AreaKind(parent.kind)]
        self.fields["kind"].choices = [(k.value, k.label) for k in kinds]
        if AreaKind.DEDICATED not in kinds:
            del self.fields["dedicated_kind"]


class MoveAreaForm(forms.Form):
    new_parent = forms.ModelChoiceField(label=_("New parent"), queryset=Area.objects.none())
    local_code = forms.CharField(
        label=_("New number within parent"),
        max_length=6,
        required=False,
        help_text=_("Leave empty to keep the current number."),
    )

    def __init__(self, *args, parent_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = parent_choices
        self.fields["new_parent"].label_from_instance = lambda a: f"{a.name} ({a.code})"


class BoundaryForm(forms.Form):
    """A boundary from an uploaded GeoJSON file or a polygon drawn on the map (exactly one)."""

    file = forms.FileField(label=_("GeoJSON file"), required=False, help_text=_(".geojson or .json, at most 2 MB"))
    drawn = forms.CharField(label=_("Drawn polygon"), widget=forms.Textarea, required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if not upload:
            return None
        return _parse_json(checked_geojson_upload(upload, MAX_BOUNDARY_UPLOAD_BYTES).read())

    def clean_drawn(self):
        text = (self.cleaned_data.get("drawn") or "").strip()
        return _parse_json(text) if text else None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        given = [v for v in (data.get("file"), data.get("drawn")) if v is not None]
        if not given:
            raise ValidationError(_("Upload a GeoJSON file or draw a polygon on the map."))
        if len(given) > 1:
            raise ValidationError(_("Give either a file or a drawn polygon, not both."))
        data["geojson"] = given[0]
        return data


def _parse_json(raw):
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(_("This is not valid GeoJSON: %(error)s") % {"error": exc}) from exc
    if not isinstance(value, dict):
        raise ValidationError(_("A boundary must be a GeoJSON Polygon or MultiPolygon."))
    return value


class DutyListForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    text = forms.CharField(
        label=_("Duties"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=_("One duty per line; a detail may follow a colon. Empty: use the parent area's list."),
    )


class LocateForm(forms.Form):
    lon = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=CRS_CHOICES, initial="wgs84", required=False)


class AreaSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or code"), max_length=50, required=False)


class AreaImportForm(forms.Form):
    file = forms.FileField(label=_("GeoJSON file"), help_text=_(".geojson or .json, at most 10 MB"))
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=CRS_CHOICES, initial=coords.WGS84)

    def clean_file(self):
        return checked_geojson_upload(self.cleaned_data["file"], MAX_IMPORT_UPLOAD_BYTES).read()
