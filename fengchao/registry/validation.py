"""Cleaning of registry values, shared by forms, the API and Excel imports.

Each function takes what a person typed (full-width digits, stray spaces and all) and returns the
stored form, or raises ValidationError with a message in the user's language naming the problem.
"""

import datetime
import re
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fengchao.areas.levels import AreaKind
from fengchao.core import privacy

from . import idcard
from .choices import Gender, IdType

# Where each kind of record may sit in the tree.
BUILDING_AREA_KINDS = frozenset({AreaKind.MICROGRID, AreaKind.DEDICATED})
HOUSEHOLD_AREA_KINDS = BUILDING_AREA_KINDS
PLACE_AREA_KINDS = frozenset({AreaKind.GRID, AreaKind.MICROGRID, AreaKind.DEDICATED})
ORGANISATION_AREA_KINDS = frozenset({AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.DEDICATED})

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_area_kind(area, allowed: frozenset, field: str = "area") -> None:
    if area.kind not in allowed:
        labels = "、".join(str(AreaKind(k).label) for k in AreaKind if k in allowed)
        raise ValidationError(
            {
                field: _("This record belongs in a %(kinds)s, not in a %(kind)s.")
                % {"kinds": labels, "kind": AreaKind(area.kind).label}
            }
        )
    if not area.is_active:
        raise ValidationError({field: _("The area %(name)s is no longer in use.") % {"name": area.name}})


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(raw, *, field: str, max_length: int, required: bool = False) -> str:
    """One line of text: control characters (which PostgreSQL refuses, e.g. NUL) dropped, spaces collapsed."""
    value = re.sub(r"\s+", " ", CONTROL_CHARACTERS.sub("", str(raw or ""))).strip()
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    if len(value) > max_length:
        raise ValidationError(
            {field: _("At most %(max)d characters (this has %(n)d).") % {"max": max_length, "n": len(value)}}
        )
    return value


def clean_name(raw, field: str = "name") -> str:
    value = clean_text(raw, field=field, max_length=50, required=True)
    if re.search(r"\d", value):
        raise ValidationError({field: _("A person's name holds no digits.")})
    return value


def clean_phone(raw, field: str = "phone") -> str:
    """A mobile (11 digits from 1) or a landline with area code; empty stays empty."""
    if raw in (None, ""):
        return ""
    value = privacy.normalise_phone(raw)
    if privacy.is_mobile_phone(value) or re.fullmatch(r"0\d{2,3}\d{7,8}", value):
        return value
    raise ValidationError({field: _("Not a phone number: give 11 mobile digits, or a landline with its area code.")})


def clean_id_number(id_type: str, raw, field: str = "id_number") -> tuple[str, idcard.IdNumber | None]:
    """The stored number and, for a resident ID card, what it encodes (birth date, gender)."""
    if raw in (None, ""):
        return "", None
    if id_type == IdType.RESIDENT_ID:
        try:
            parsed = idcard.parse(raw, today=timezone.localdate())
        except idcard.InvalidIdNumber as error:
            raise ValidationError({field: str(error)}) from None
        return parsed.number, parsed
    value = re.sub(r"\s", "", str(raw).translate(privacy.FULL_WIDTH)).upper()
    if not re.fullmatch(r"[A-Z0-9\-]{5,30}", value):
        raise ValidationError({field: _("A document number has 5 to 30 letters and digits.")})
    return value, None


def clean_credit_code(raw, field: str = "credit_code") -> str:
    """A unified social credit code (GB 32100): 18 characters with a check character, or empty."""
    if raw in (None, ""):
        return ""
    value = re.sub(r"\s", "", str(raw).translate(privacy.FULL_WIDTH)).upper()
    if len(value) != 18 or any(c not in CREDIT_CODE_CHARS for c in value):
        raise ValidationError({field: _("A unified social credit code has 18 digits and capital letters.")})
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValidationError({field: _("The credit code's check character is wrong: a character is mistyped.")})
    return value


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def clean_choice(raw, choices, field: str, *, required: bool = True) -> str:
    """A coded value given as its code or any of its labels (Chinese or English)."""
    value = str(raw or "").strip()
    if not value:
        if required:
            raise ValidationError({field: _("This field is required.")})
        return ""
    known = _choice_lookup(choices, translation.get_language())
    if value in known:
        return known[value]
    options = "、".join(label_chinese(label) for _code, label in choices.choices)
    raise ValidationError({field: _("“%(value)s” is not one of: %(options)s.") % {"value": value, "options": options}})


@lru_cache(maxsize=256)
def _choice_lookup(choices, language) -> dict[str, str]:
    """Code, active-language label and Chinese label → code; translated once per language, not per call."""
    known = {}
    for code, label in choices.choices:
        known[code] = known[str(label)] = known[label_chinese(label)] = code
    return known


def label_chinese(label) -> str:
    """The Simplified Chinese label of a choice, whatever language is active."""
    with translation.override("zh-hans"):
        return str(label)


def gender_from(parsed: idcard.IdNumber | None, given: str) -> str:
    if parsed is not None:
        return Gender.MALE if parsed.is_male else Gender.FEMALE
    return given


def clean_date(raw, field: str, *, allow_future: bool = False) -> datetime.date | None:
    """A date from a date cell, or typed as 2024-03-01, 2024/3/1, 2024.3.1 or 2024年3月1日."""
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime.datetime):
        value = raw.date()
    elif isinstance(raw, datetime.date):
        value = raw
    else:
        text = str(raw).translate(privacy.FULL_WIDTH).strip()
        match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
        if not match:
            raise ValidationError({field: _("“%(value)s” is not a date: write it as 2024-03-01.") % {"value": text}})
        try:
            value = datetime.date(*(int(g) for g in match.groups()))
        except ValueError:
            raise ValidationError({field: _("“%(value)s” is not a date that exists.") % {"value": text}}) from None
    if not allow_future and value > timezone.localdate():
        raise ValidationError({field: _("The date %(date)s is in the future.") % {"date": value.isoformat()}})
    return value


def clean_flag(raw, field: str) -> bool:
    value = str(raw if raw is not None else "").strip().lower()
    if value in ("", "否", "0", "false", "no", "n", "×"):
        return False
    if value in ("是", "1", "true", "yes", "y", "√", "✓"):
        return True
    raise ValidationError({field: _("Answer 是 or 否.")})


def clean_count(raw, field: str, high: int) -> int | None:
    """A whole number from 1 to high (floors, units), or None when not given."""
    if raw in (None, ""):
        return None
    text = str(raw).translate(privacy.FULL_WIDTH).strip()
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise ValidationError({field: _("A whole number from 1 to %(high)d.") % {"high": high}})
    return int(text)


def clean_coordinate(raw, field: str, low: float, high: float) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw).translate(privacy.FULL_WIDTH))
    except ValueError:
        raise ValidationError({field: _("Not a number.")}) from None
    if not low <= value <= high:
        raise ValidationError({field: _("Must lie between %(low)s and %(high)s.") % {"low": low, "high": high}})
    return value
