"""Forms of the registry pages. They collect what a person typed; the service functions clean and write it.

Text fields stay plain strings here on purpose: `validation` and `services` do the cleaning (full-width
digits, ID checksums, phone shapes) once for forms, the API and Excel alike, and their ValidationError
dicts come back onto these fields by name (`apply_errors`).
"""

import datetime

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from fengchao.areas.levels import AreaKind

from .choices import Gender, IdType, OrganisationKind, PlaceKind, Relation, ResidenceType, ResidentStatus
from .models import PLACE_SAFETY_FLAGS, CareTag, Resident

# A select never offers more than this many records; the list pages narrow it (?area=…, ?building=…).
OPTIONS_LIMIT = 300
BLANK = [("", "—")]
ISO_DATE = "%Y-%m-%d"


class Form(forms.Form):
    """Bootstrap classes on every widget, and is-invalid on those with errors, set as each field is rendered."""

    def __getitem__(self, name):
        bound = super().__getitem__(name)
        widget = self.fields[name].widget
        if isinstance(widget, forms.Select) and not isinstance(widget, forms.RadioSelect):
            css = "form-select"
        elif isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
            css = "form-check-input"
        else:
            css = "form-control"
        if self._errors and name in self._errors:
            css += " is-invalid"
        widget.attrs["class"] = css
        return bound


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form: by field where the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def attempt_on(form: forms.Form, call):
    """Run a service call for a form: (True, result), or (False, None) with its refusal put on the form."""
    try:
        return True, call()
    except ValidationError as error:
        apply_errors(form, error)
    except PermissionDenied as error:
        form.add_error(None, str(error))
    return False, None


def area_label(area) -> str:
    return f"{area.name} · {AreaKind(area.kind).label}"


class RecordField(forms.Field):
    """One record of a scoped queryset, picked by pk; offers at most OPTIONS_LIMIT of them as options.

    Validation looks the pk up in the whole queryset, so a record missing from the options (because
    the list was cut short) is still accepted, and one outside the user's scope never is.
    """

    widget = forms.Select

    def __init__(self, queryset, *, label_of=str, options=None, limit=OPTIONS_LIMIT, **kwargs):
        super().__init__(**kwargs)
        self.queryset = queryset
        rows = list((options if options is not None else queryset)[: limit + 1])
        self.truncated = len(rows) > limit
        self.choices = BLANK + [(row.pk, label_of(row)) for row in rows[:limit]]
        self.widget.choices = self.choices

    def add_option(self, obj, label) -> None:
        if obj is not None and all(str(pk) != str(obj.pk) for pk, _label in self.choices):
            self.choices.insert(1, (obj.pk, label))
            self.widget.choices = self.choices

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            pk = int(str(value).strip())
        except ValueError:
            raise ValidationError(_("Choose one of the options."), code="invalid_choice") from None
        obj = self.queryset.filter(pk=pk).first()
        if obj is None:
            raise ValidationError(_("Choose one of the options."), code="invalid_choice")
        return obj

    def prepare_value(self, value):
        return getattr(value, "pk", value)


def phone_field(label, help_text=""):
    return forms.CharField(
        label=label,
        required=False,
        max_length=30,
        help_text=help_text,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )


def text(label, *, required=False, max_length=200, help_text="", widget=None):
    return forms.CharField(
        label=label, required=required, max_length=max_length, help_text=help_text, widget=widget, strip=True
    )


def choice(label, choices, *, required=False, blank=True):
    return forms.ChoiceField(label=label, required=required, choices=(BLANK if blank else []) + list(choices))


def date_field(label, help_text=""):
    # Typed dates are cleaned by validation.clean_date (2024-03-01, 2024/3/1, 2024年3月1日 …).
    return forms.CharField(
        label=label, required=False, max_length=20, help_text=help_text, widget=forms.DateInput(attrs={"type": "date"})
    )


def notes_field():
    return forms.CharField(label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


def date_text(value) -> str:
    return value.isoformat() if isinstance(value, datetime.date) else ""


class CompareAndSet(Form):
    """The record's updated_at as loaded, posted back so a save over someone else's change is refused."""

    expected_updated_at = forms.CharField(widget=forms.HiddenInput, required=False)

    def expected_updated_at_value(self):
        """The updated_at the editor loaded, or a value no row has (so a tampered field reads as stale)."""
        raw = self.cleaned_data.get("expected_updated_at") or ""
        try:
            value = datetime.datetime.fromisoformat(raw)
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            return datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        return value


# ---- residents -----------------------------------------------------------------------------------------


class ResidentForm(Form):
    """A new resident, in a household or a micro-grid."""

    name = text(_("Name"), required=True, max_length=50)
    id_type = choice(_("ID type"), IdType.choices, required=True, blank=False)
    id_number = text(
        _("ID number"),
        max_length=40,
        help_text=_("Birth date and gender are read from a resident ID."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    gender = choice(_("Gender"), Gender.choices)
    birth_date = date_field(_("Birth date"))
    phone = phone_field(_("Phone"))
    relation = choice(_("Relation to head"), Relation.choices)
    residence_type = choice(_("Residence type"), ResidenceType.choices, required=True, blank=False)
    is_party_member = forms.BooleanField(label=_("Party member"), required=False)
    contact_name = text(_("Contact person"), max_length=50)
    contact_phone = phone_field(_("Contact phone"))
    moved_in_on = date_field(_("Moved in"))
    notes = notes_field()
    care_tags = forms.ModelMultipleChoiceField(
        label=_("Care tags"), queryset=CareTag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, area_field: RecordField | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["care_tags"].queryset = CareTag.objects.filter(is_active=True)
        if area_field is not None:
            self.fields = {"area": area_field, **self.fields}

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("area", None)
        data.pop("care_tags", None)
        data["is_party_member"] = "是" if data.get("is_party_member") else "否"
        return data


class ResidentEditForm(CompareAndSet):
    """Editing a resident: ID number and phones stay masked; left empty they are kept."""

    name = text(_("Name"), required=True, max_length=50)
    id_type = choice(_("ID type"), IdType.choices, required=True, blank=False)
    id_number = text(_("New ID number"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    gender = choice(_("Gender"), Gender.choices)
    birth_date = date_field(_("Birth date"))
    phone = phone_field(_("New phone"))
    clear_phone = forms.BooleanField(label=_("Remove the phone number"), required=False)
    relation = choice(_("Relation to head"), Relation.choices)
    residence_type = choice(_("Residence type"), ResidenceType.choices, required=True, blank=False)
    is_party_member = forms.BooleanField(label=_("Party member"), required=False)
    contact_name = text(_("Contact person"), max_length=50)
    contact_phone = phone_field(_("New contact phone"))
    clear_contact_phone = forms.BooleanField(label=_("Remove the contact phone"), required=False)
    moved_in_on = date_field(_("Moved in"))
    notes = notes_field()

    def __init__(self, *args, resident: Resident, **kwargs):
        self.resident = resident
        kwargs.setdefault(
            "initial",
            {
                "expected_updated_at": resident.updated_at.isoformat(),
                "name": resident.name,
                "id_type": resident.id_type,
                "gender": resident.gender,
                "birth_date": date_text(resident.birth_date),
                "relation": resident.relation,
                "residence_type": resident.residence_type,
                "is_party_member": resident.is_party_member,
                "contact_name": resident.contact_name,
                "moved_in_on": date_text(resident.moved_in_on),
                "notes": resident.notes,
            },
        )
        super().__init__(*args, **kwargs)
        keep = _("Now %(masked)s; leave empty to keep it.")
        if resident.id_cipher:
            self.fields["id_number"].help_text = keep % {"masked": resident.masked_id_number}
        if resident.phone_cipher:
            self.fields["phone"].help_text = keep % {"masked": resident.masked_phone}
        else:
            del self.fields["clear_phone"]
        if resident.contact_phone_cipher:
            self.fields["contact_phone"].help_text = keep % {"masked": resident.masked_contact_phone}
        else:
            del self.fields["clear_contact_phone"]
        if self.id_decides_birth:
            for name in ("gender", "birth_date"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Read from the ID number.")

    @property
    def id_decides_birth(self) -> bool:
        return bool(self.resident.id_cipher) and self.resident.id_type == IdType.RESIDENT_ID

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("expected_updated_at",)}
        data["is_party_member"] = "是" if data.get("is_party_member") else "否"
        if not data.get("id_number"):
            data.pop("id_number", None)
        if data.pop("clear_phone", False):
            data["phone"] = ""
        elif not data.get("phone"):
            data.pop("phone", None)
        if data.pop("clear_contact_phone", False):
            data["contact_phone"] = ""
        elif not data.get("contact_phone"):
            data.pop("contact_phone", None)
        if self.id_decides_birth and "id_number" not in data:
            data.pop("gender", None)
            data.pop("birth_date", None)
        return data


class CareTagsForm(Form):
    care_tags = forms.ModelMultipleChoiceField(
        label=_("Care tags"), queryset=CareTag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, resident: Resident, **kwargs):
        current = list(resident.care_tags.all())
        kwargs.setdefault("initial", {"care_tags": [t.pk for t in current]})
        super().__init__(*args, **kwargs)
        # Tags no longer in use stay offered to residents who carry them, so they can be taken off.
        from django.db.models import Q

        self.fields["care_tags"].queryset = CareTag.objects.filter(
            Q(is_active=True) | Q(pk__in=[t.pk for t in current])
        )


class MoveResidentForm(Form):
    relation = choice(_("Relation to the new head"), Relation.choices)
    reason = text(_("Reason"), max_length=200)

    def __init__(self, *args, households, **kwargs):
        super().__init__(*args, **kwargs)
        field = forms.ModelChoiceField(
            label=_("New household"),
            queryset=households,
            widget=forms.RadioSelect,
            error_messages={"required": _("Search for the household and pick it.")},
        )
        self.fields = {"household": field, **self.fields}


class EndResidenceForm(Form):
    status = forms.ChoiceField(
        label=_("What happened"),
        choices=[
            (ResidentStatus.MOVED_OUT, ResidentStatus.MOVED_OUT.label),
            (ResidentStatus.DECEASED, ResidentStatus.DECEASED.label),
        ],
        widget=forms.RadioSelect,
    )
    on = date_field(_("Date"), help_text=_("Empty: today."))
    reason = text(_("Reason or where to"), max_length=200)


# ---- households ------------------------------------------------------------------------------------


class AddressFields(Form):
    """A room of a building (building + unit + room), or a free address in a micro-grid."""

    def add_address_fields(self, *, building_field: RecordField, area_field: RecordField):
        self.fields["building"] = building_field
        self.fields["unit"] = text(_("Unit"), max_length=8, help_text=_("Empty if the building has no units."))
        self.fields["room"] = text(_("Room"), max_length=16, help_text=_("e.g. 301"))
        self.fields["area"] = area_field
        self.fields["address"] = text(
            _("Address"), max_length=200, help_text=_("Only without a building: the full address.")
        )

    def clean(self):
        data = super().clean()
        if data.get("building") is not None:
            if not data.get("room"):
                self.add_error("room", _("Which room of the building?"))
        elif data.get("area") is None:
            self.add_error("building", _("Choose a building and room, or a micro-grid and an address."))
        elif not data.get("address"):
            self.add_error("address", _("Without a building, write the full address."))
        return data


class HouseholdForm(AddressFields):
    number = text(_("Household number"), max_length=32)
    notes = notes_field()

    def __init__(self, *args, building_field, area_field, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_address_fields(building_field=building_field, area_field=area_field)
        self.order_fields(["building", "unit", "room", "area", "address", "number", "notes"])


class HouseholdEditForm(CompareAndSet):
    number = text(_("Household number"), max_length=32)
    head = forms.ModelChoiceField(label=_("Head of household"), queryset=Resident.objects.none(), required=False)
    notes = notes_field()

    def __init__(self, *args, household, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "expected_updated_at": household.updated_at.isoformat(),
                "number": household.number,
                "head": household.head_id,
                "notes": household.notes,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["head"].queryset = household.residents.filter(status=ResidentStatus.LIVING).order_by("pk")


class MoveHouseholdForm(AddressFields):
    reason = text(_("Reason"), max_length=200)

    def __init__(self, *args, building_field, area_field, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_address_fields(building_field=building_field, area_field=area_field)
        self.order_fields(["building", "unit", "room", "area", "address", "reason"])


class ReasonForm(Form):
    reason = text(_("Reason"), max_length=200)


# ---- buildings -------------------------------------------------------------------------------------


class BuildingForm(CompareAndSet):
    name = text(_("Building"), required=True, max_length=60, help_text=_("As people say it, e.g. 3栋 or 3号楼."))
    address = text(_("Address"), max_length=200)
    units = forms.IntegerField(label=_("Units (单元)"), required=False, min_value=1, max_value=99)
    floors = forms.IntegerField(label=_("Floors"), required=False, min_value=1, max_value=200)
    lon = text(_("Longitude"), max_length=30)
    lat = text(_("Latitude"), max_length=30)
    notes = notes_field()

    def __init__(self, *args, building=None, area_field=None, **kwargs):
        if building is not None:
            kwargs.setdefault(
                "initial",
                {
                    "expected_updated_at": building.updated_at.isoformat(),
                    **{f: getattr(building, f) for f in ("name", "address", "units", "floors", "lon", "lat", "notes")},
                },
            )
        super().__init__(*args, **kwargs)
        if building is None:
            del self.fields["expected_updated_at"]
        if area_field is not None:
            self.fields = {"area": area_field, **self.fields}

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("area", "expected_updated_at")}


class GenerateRoomsForm(Form):
    units = forms.IntegerField(label=_("Units"), min_value=1, max_value=20, initial=1)
    floors = forms.IntegerField(label=_("Floors"), min_value=1, max_value=120)
    rooms_per_floor = forms.IntegerField(label=_("Rooms per floor"), min_value=1, max_value=30, initial=2)


# ---- places and organisations -----------------------------------------------------------------------


class PlaceForm(CompareAndSet):
    kind = choice(_("Kind"), PlaceKind.choices, required=True)
    name = text(_("Name"), required=True, max_length=100)
    credit_code = text(_("Unified social credit code"), max_length=30)
    address = text(_("Address"), max_length=200)
    contact_name = text(_("Contact person"), max_length=50)
    phone = phone_field(_("Phone"))
    is_crowded = forms.BooleanField(label=_("Crowded place (人员密集场所)"), required=False)
    is_fire_key_unit = forms.BooleanField(label=_("Fire-safety key unit (消防安全重点单位)"), required=False)
    is_small_venue = forms.BooleanField(label=_("Small venue (九小场所)"), required=False)
    has_hazardous_materials = forms.BooleanField(label=_("Hazardous materials (危化品)"), required=False)
    lon = text(_("Longitude"), max_length=30)
    lat = text(_("Latitude"), max_length=30)
    notes = notes_field()

    def __init__(self, *args, place=None, area_field=None, **kwargs):
        if place is not None:
            fields = (
                "kind",
                "name",
                "credit_code",
                "address",
                "contact_name",
                "lon",
                "lat",
                "notes",
                *PLACE_SAFETY_FLAGS,
            )
            kwargs.setdefault(
                "initial",
                {"expected_updated_at": place.updated_at.isoformat(), "area": place.area_id}
                | {f: getattr(place, f) for f in fields},
            )
        super().__init__(*args, **kwargs)
        if place is None:
            del self.fields["expected_updated_at"]
        else:
            self.fields["phone"].label = _("New phone")
            if place.phone_cipher:
                self.fields["phone"].help_text = _("Now %(masked)s; leave empty to keep it.") % {
                    "masked": place.masked_phone
                }
        if area_field is not None:
            self.fields = {"area": area_field, **self.fields}

    def service_data(self, *, editing: bool) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("area", "expected_updated_at")}
        for flag in PLACE_SAFETY_FLAGS:
            data[flag] = "是" if data.get(flag) else "否"
        if editing and not data.get("phone"):
            data["phone"] = None  # keep
        return data


class OrganisationForm(CompareAndSet):
    kind = choice(_("Kind"), OrganisationKind.choices, required=True)
    name = text(_("Name"), required=True, max_length=100)
    credit_code = text(_("Unified social credit code"), max_length=30)
    address = text(_("Address"), max_length=200)
    contact_name = text(_("Contact person"), max_length=50)
    phone = phone_field(_("Phone"))
    notes = notes_field()

    def __init__(self, *args, organisation=None, area_field=None, **kwargs):
        if organisation is not None:
            fields = ("kind", "name", "credit_code", "address", "contact_name", "notes")
            kwargs.setdefault(
                "initial",
                {"expected_updated_at": organisation.updated_at.isoformat(), "area": organisation.area_id}
                | {f: getattr(organisation, f) for f in fields},
            )
        super().__init__(*args, **kwargs)
        if organisation is None:
            del self.fields["expected_updated_at"]
        else:
            self.fields["phone"].label = _("New phone")
            if organisation.phone_cipher:
                self.fields["phone"].help_text = _("Now %(masked)s; leave empty to keep it.") % {
                    "masked": organisation.masked_phone
                }
        if area_field is not None:
            self.fields = {"area": area_field, **self.fields}

    def service_data(self, *, editing: bool) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("area", "expected_updated_at")}
        if editing and not data.get("phone"):
            data["phone"] = None
        return data


class MemberForm(Form):
    name = text(_("Name"), max_length=50, help_text=_("Empty if you pick a resident below."))
    position = text(_("Position"), max_length=50)
    phone = phone_field(_("Phone"))
    is_contact = forms.BooleanField(label=_("Contact person of the organisation"), required=False)
    joined_on = date_field(_("Joined"))

    def __init__(self, *args, residents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"] = forms.ModelChoiceField(
            label=_("Resident in the registry"), queryset=residents, required=False, widget=forms.RadioSelect
        )

    def clean(self):
        data = super().clean()
        if not data.get("name") and data.get("resident") is None:
            self.add_error("name", _("Give the member's name, or pick a resident."))
        return data


class EndMembershipForm(Form):
    left_on = date_field(_("Left on"), help_text=_("Empty: today."))


# ---- care tags --------------------------------------------------------------------------------------


class CareTagForm(Form):
    code = forms.SlugField(
        label=_("Code"), max_length=32, help_text=_("Latin letters, digits, _ and -; used by imports and the API.")
    )
    name = text(_("Name"), required=True, max_length=40)
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=32767, initial=0)
    description = text(_("Description"), max_length=200)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def __init__(self, *args, tag: CareTag | None = None, **kwargs):
        self.tag = tag
        if tag is not None:
            kwargs.setdefault(
                "initial",
                {f: getattr(tag, f) for f in ("code", "name", "position", "description", "is_active")},
            )
        super().__init__(*args, **kwargs)
        if tag is not None:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = _("The code of a tag in use does not change.")

    def clean_code(self):
        code = self.cleaned_data["code"]
        if self.tag is None and CareTag.objects.filter(code=code).exists():
            raise ValidationError(_("A care tag with this code exists."))
        return code


# ---- the access log ---------------------------------------------------------------------------------


class AccessLogFilterForm(Form):
    who = text(_("Who viewed"), max_length=50)
    whom = text(_("Whose data"), max_length=50)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)
    )
    resident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end date is before the start date."))
        return data
