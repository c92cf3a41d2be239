"""Forms of the mall's staff pages. They collect what a person typed; the services clean, check and write it,
and their ValidationError dicts come back onto these fields by name (`apply_errors`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fengchao.areas.levels import AreaKind
from fengchao.registry.forms import BLANK, Form, RecordField, apply_errors  # noqa: F401 (apply_errors re-exported)

from .models import ItemCategory, MerchantKind
from .services import MAX_LIMIT, MAX_PRICE, MAX_STOCK


def area_label(area) -> str:
    return f"{area.name} · {AreaKind(area.kind).label}"


class Versioned(Form):
    """The record's version as the page showed it, posted back so a save over someone else's change is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class MerchantForm(Versioned):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=BLANK + list(MerchantKind.choices))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=20,
        required=False,
        help_text=_("The shop's public number."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        if areas is not None:  # only when creating: a merchant does not move
            field = RecordField(
                areas,
                label=_("Street or community whose mall it serves"),
                label_of=area_label,
            )
            self.fields = {"area": field, **self.fields}

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "kind", "address", "phone")}


class ItemForm(Versioned):
    name = forms.CharField(label=_("Name"), max_length=100)
    category = forms.ChoiceField(label=_("Category"), choices=BLANK + list(ItemCategory.choices))
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    price = forms.IntegerField(label=_("Price in points"), min_value=1, max_value=MAX_PRICE)
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=MAX_STOCK, initial=0)
    per_person_limit = forms.IntegerField(
        label=_("Limit per person"),
        min_value=1,
        max_value=MAX_LIMIT,
        required=False,
        help_text=_("Leave empty for no limit. Orders waiting for verification and verified ones count."),
    )
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)
    picture = forms.FileField(
        label=_("Picture"),
        required=False,
        help_text=_("A JPEG, PNG or WebP photo."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_picture = forms.BooleanField(label=_("Remove the picture"), required=False)

    def __init__(self, *args, areas, editing: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {
            "area": RecordField(areas, label=_("Offered in"), label_of=area_label, required=True),
            **self.fields,
        }
        if editing:
            del self.fields["stock"]  # stock moves by restocking, never by overwriting
        else:
            del self.fields["remove_picture"]

    def service_data(self) -> dict:
        names = ("area", "name", "category", "description", "price", "per_person_limit", "is_active")
        return {name: self.cleaned_data[name] for name in names}


class RestockForm(Form):
    delta = forms.IntegerField(
        label=_("Add to stock"),
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        help_text=_("A negative number takes stock away (never below zero)."),
    )
    reason = forms.CharField(label=_("Note"), max_length=200, required=False)


class RefundForm(Form):
    reason = forms.CharField(label=_("Reason for the refund"), max_length=200)
