"""The columns of each registry sheet, in one place: they drive the template, the import and the export.

Headers are always Simplified Chinese: the sheets are the ledger format people share between
communities, whatever language the person downloading them reads. The notes on the headers (cell
comments) are in the reader's language. Dropdowns offer the Simplified Chinese labels of coded
values; imports accept a code or any label (`validation.clean_choice`).
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengchao.core.privacy import FULL_WIDTH, mask_phone

from .. import idcard, validation
from ..choices import Gender, IdType, OrganisationKind, PlaceKind, Relation, ResidenceType
from ..models import CareTag

ID = "id"
PHONE = "phone"
YES, NO = "是", "否"


@dataclass(frozen=True)
class Column:
    key: str  # the field name given to the shared cleaning (and named in its errors)
    header: str  # Simplified Chinese, always
    note: object = ""  # lazy translatable text shown as the header's comment
    required: bool = False
    choices: Callable[[], list[str]] | None = None  # dropdown labels, read when a template is built
    strict_dropdown: bool = True  # False: the dropdown suggests, other text is allowed (several care tags)
    width: int = 14
    text: bool = False  # formatted as text in the template (codes, ID numbers, phones keep their digits)
    date: bool = False
    sensitive: str = ""  # ID or PHONE: masked in reports and masked exports
    aliases: tuple[str, ...] = ()
    imported: bool = True  # False: export only (re-importing an exported sheet ignores it)
    cleaner: Callable | None = None  # raw cell → value, raising ValidationError({key: message})

    @property
    def title(self) -> str:
        return f"{self.header}*" if self.required else self.header


@dataclass(frozen=True)
class Sheet:
    entity: str
    title: str  # the sheet's name in the workbook
    columns: tuple[Column, ...]
    importable: bool = True

    @property
    def import_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.imported)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


# ---- turning cells into text, and masking ------------------------------------------------------------


class LostDigits(ValueError):
    pass


def cell_text(value, *, long_number: bool = False) -> str:
    """A cell as text: whole numbers without '.0', dates as ISO, booleans as 是/否.

    A number of 16 or more digits has lost its last digits in Excel (it keeps 15): refused for
    columns holding codes and ID numbers (`long_number`), where the digits matter.
    """
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float):
        if value.is_integer():
            if long_number and abs(value) >= 1e15:
                raise LostDigits
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def mask_value(column: Column, raw) -> str:
    """What a report may show of a bad cell: ID numbers and phones masked, long text cut."""
    try:
        text = cell_text(raw)
    except LostDigits:  # pragma: no cover - cell_text without long_number never raises
        text = ""
    if column.sensitive == ID:
        return idcard.mask(re.sub(r"\s", "", text))
    if column.sensitive == PHONE:
        return mask_phone(re.sub(r"\D", "", text.translate(FULL_WIDTH)))
    return text[:60]


# ---- cleaners of single cells ------------------------------------------------------------------------


def text(max_length: int, *, required: bool = False):
    def clean(raw, key):
        return validation.clean_text(cell_text(raw), field=key, max_length=max_length, required=required)

    return clean


def area_code(raw, key):
    try:
        value = cell_text(raw, long_number=True)
    except LostDigits:
        raise ValidationError(
            {key: _("The code was stored as a number and lost digits: format the column as text.")}
        ) from None
    value = re.sub(r"\s", "", value.translate(FULL_WIDTH))
    if not value:
        raise ValidationError({key: _("This field is required.")})
    if not value.isdigit():
        raise ValidationError({key: _("An area code holds digits only.")})
    return value


def whole_number(low: int, high: int):
    def clean(raw, key):
        if raw in (None, ""):
            return None
        value = cell_text(raw).translate(FULL_WIDTH)
        if not value.isdigit() or not low <= int(value) <= high:
            raise ValidationError(
                {key: _("Give a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}}
            )
        return int(value)

    return clean


def choice(choices, *, required: bool = False):
    def clean(raw, key):
        return validation.clean_choice(cell_text(raw), choices, key, required=required)

    return clean


def flag(raw, key):
    return validation.clean_flag(cell_text(raw), key)


def phone(raw, key):
    return validation.clean_phone(cell_text(raw), key)


def credit_code(raw, key):
    try:
        value = cell_text(raw, long_number=True)
    except LostDigits:
        raise ValidationError(
            {key: _("The code was stored as a number and lost digits: format the column as text.")}
        ) from None
    return validation.clean_credit_code(value, key)


def coordinate(low, high):
    def clean(raw, key):
        return validation.clean_coordinate(cell_text(raw), key, low, high)

    return clean


def id_number_text(raw, key) -> str:
    try:
        return cell_text(raw, long_number=True)
    except LostDigits:
        raise ValidationError(
            {key: _("The ID number was stored as a number and lost its last digits: format the column as text.")}
        ) from None


def date(raw, key):
    if isinstance(raw, datetime.date):
        return validation.clean_date(raw, key)
    return validation.clean_date(cell_text(raw), key)


# ---- dropdowns -------------------------------------------------------------------------------------


def labels(choices) -> Callable[[], list[str]]:
    return lambda: [validation.label_chinese(label) for _code, label in choices.choices]


def yes_no() -> list[str]:
    return [YES, NO]


def care_tag_names() -> list[str]:
    return list(CareTag.objects.filter(is_active=True).order_by("position", "code").values_list("name", flat=True))


CARE_TAG_SEPARATORS = re.compile(r"[,，、;；/\s]+")


# ---- the sheets --------------------------------------------------------------------------------------

AREA_NOTE_MICRO = gettext_lazy("Required. The code of the micro-grid (or dedicated grid), as shown on its area page.")
AREA_NAME_NOTE = gettext_lazy("Filled in by exports; ignored when importing.")

BUILDINGS = Sheet(
    entity="buildings",
    title="楼栋",
    columns=(
        Column("area_code", "微网格编码", AREA_NOTE_MICRO, required=True, text=True, width=22, cleaner=area_code),
        Column("area_name", "微网格名称", AREA_NAME_NOTE, imported=False, width=18),
        Column(
            "name",
            "楼栋名称",
            gettext_lazy("Required. As people say it, e.g. 3栋 or 3号楼; unique within the micro-grid."),
            required=True,
            aliases=("楼栋", "楼栋名"),
            cleaner=text(60, required=True),
        ),
        Column("address", "地址", gettext_lazy("Street and number, e.g. 和美路1号."), width=24, cleaner=text(200)),
        Column("floors", "层数", gettext_lazy("A whole number."), width=8, cleaner=whole_number(1, 200)),
        Column("units", "单元数", gettext_lazy("A whole number."), width=8, cleaner=whole_number(1, 50)),
        Column("lon", "经度", gettext_lazy("WGS84 longitude, e.g. 104.1012."), width=12, cleaner=coordinate(-180, 180)),
        Column("lat", "纬度", gettext_lazy("WGS84 latitude, e.g. 30.6601."), width=12, cleaner=coordinate(-90, 90)),
        Column("notes", "备注", width=30, cleaner=text(2000)),
    ),
)

RESIDENTS = Sheet(
    entity="residents",
    title="居民",
    columns=(
        Column("area_code", "微网格编码", AREA_NOTE_MICRO, required=True, text=True, width=22, cleaner=area_code),
        Column("area_name", "微网格名称", AREA_NAME_NOTE, imported=False, width=18),
        Column(
            "building",
            "楼栋",
            gettext_lazy("The building, e.g. 3栋; created if new. With the room, it makes the address."),
            cleaner=text(60),
        ),
        Column(
            "unit", "单元", gettext_lazy("The unit number, e.g. 2 (or empty)."), width=8, text=True, cleaner=text(8)
        ),
        Column(
            "room",
            "房号",
            gettext_lazy("The room, e.g. 401; rooms are created as they are named."),
            width=8,
            text=True,
            cleaner=text(16),
        ),
        Column(
            "address",
            "地址",
            gettext_lazy("The address of the household, used only when building and room are empty."),
            width=26,
            cleaner=text(200),
        ),
        Column("household_number", "户号", gettext_lazy("The household number, if any."), text=True, cleaner=text(32)),
        Column("relation", "与户主关系", gettext_lazy("Choose from the list."), choices=labels(Relation)),
        Column("name", "姓名", gettext_lazy("Required."), required=True, width=10),
        Column(
            "gender",
            "性别",
            gettext_lazy("Choose from the list; for a resident ID card it is read from the number."),
            width=8,
            choices=labels(Gender),
        ),
        Column(
            "id_type",
            "证件类型",
            gettext_lazy("Choose from the list; empty means a resident ID card."),
            width=16,
            choices=labels(IdType),
        ),
        Column(
            "id_number",
            "证件号码",
            gettext_lazy("18 characters for a resident ID card. Re-importing a file updates residents by this number."),
            width=22,
            text=True,
            sensitive=ID,
            aliases=("身份证号", "身份证号码"),
        ),
        Column(
            "phone",
            "联系电话",
            gettext_lazy("11 mobile digits, or a landline with its area code."),
            width=14,
            text=True,
            sensitive=PHONE,
            aliases=("手机号", "电话"),
        ),
        Column(
            "residence_type",
            "居住类型",
            gettext_lazy("Choose from the list; empty means registered."),
            choices=labels(ResidenceType),
        ),
        Column("is_party_member", "是否党员", gettext_lazy("是 or 否."), width=10, choices=yes_no),
        Column("contact_name", "紧急联系人", width=10),
        Column("contact_phone", "紧急联系人电话", width=14, text=True, sensitive=PHONE),
        Column(
            "moved_in_on",
            "入住日期",
            gettext_lazy("A date: 2024-03-01, 2024/3/1, 2024.3.1 or 2024年3月1日."),
            width=12,
            date=True,
        ),
        Column(
            "care_tags",
            "关爱标签",
            gettext_lazy(
                "Care tags by name; several separated by 、 or commas. Empty leaves a resident's tags as they are."
            ),
            width=18,
            choices=care_tag_names,
            strict_dropdown=False,
        ),
        Column("notes", "备注", width=30),
        Column("birth_date", "出生日期", AREA_NAME_NOTE, imported=False, width=12),
        Column("status", "状态", AREA_NAME_NOTE, imported=False, width=10),
    ),
)

HOUSEHOLDS = Sheet(
    entity="households",
    title="住户",
    importable=False,
    columns=(
        Column("area_code", "微网格编码", text=True, width=22),
        Column("area_name", "微网格名称", width=18),
        Column("address", "地址", width=30),
        Column("building", "楼栋"),
        Column("unit", "单元", width=8),
        Column("room", "房号", width=8),
        Column("household_number", "户号", text=True),
        Column("head", "户主", width=10),
        Column("residents", "在住人数", width=10),
        Column("status", "状态", width=10),
    ),
)

PLACE_FLAG_COLUMNS = (
    ("is_crowded", "人员密集场所"),
    ("is_fire_key_unit", "消防安全重点单位"),
    ("is_small_venue", "九小场所"),
    ("has_hazardous_materials", "危化品"),
)

PLACES = Sheet(
    entity="places",
    title="场所",
    columns=(
        Column(
            "area_code",
            "网格编码",
            gettext_lazy("Required. The code of the grid, micro-grid or dedicated grid the place is in."),
            required=True,
            text=True,
            width=22,
            cleaner=area_code,
        ),
        Column("area_name", "网格名称", AREA_NAME_NOTE, imported=False, width=18),
        Column(
            "kind",
            "场所类型",
            gettext_lazy("Required. Choose from the list."),
            required=True,
            choices=labels(PlaceKind),
            cleaner=choice(PlaceKind, required=True),
        ),
        Column("name", "名称", gettext_lazy("Required."), required=True, width=24, cleaner=text(100, required=True)),
        Column(
            "credit_code",
            "统一社会信用代码",
            gettext_lazy("18 characters. Re-importing a file updates places by this code (else by grid and name)."),
            width=22,
            text=True,
            cleaner=credit_code,
        ),
        Column("address", "地址", width=26, cleaner=text(200)),
        Column("contact_name", "联系人", width=10, cleaner=text(50)),
        Column("phone", "联系电话", width=14, text=True, sensitive=PHONE, cleaner=phone),
        *(
            Column(key, header, gettext_lazy("是 or 否."), width=10, choices=yes_no, cleaner=flag)
            for key, header in PLACE_FLAG_COLUMNS
        ),
        Column("lon", "经度", width=12, cleaner=coordinate(-180, 180)),
        Column("lat", "纬度", width=12, cleaner=coordinate(-90, 90)),
        Column("notes", "备注", width=30, cleaner=text(2000)),
    ),
)

ORGANISATIONS = Sheet(
    entity="organisations",
    title="组织",
    columns=(
        Column(
            "area_code",
            "区域编码",
            gettext_lazy("Required. The code of the street, community, grid or dedicated grid."),
            required=True,
            text=True,
            width=22,
            cleaner=area_code,
        ),
        Column("area_name", "区域名称", AREA_NAME_NOTE, imported=False, width=18),
        Column(
            "kind",
            "组织类型",
            gettext_lazy("Required. Choose from the list."),
            required=True,
            choices=labels(OrganisationKind),
            cleaner=choice(OrganisationKind, required=True),
        ),
        Column(
            "name",
            "名称",
            gettext_lazy("Required; unique within its area."),
            required=True,
            width=24,
            cleaner=text(100, required=True),
        ),
        Column(
            "credit_code",
            "统一社会信用代码",
            gettext_lazy(
                "18 characters. Re-importing a file updates organisations by this code (else by area and name)."
            ),
            width=22,
            text=True,
            cleaner=credit_code,
        ),
        Column("address", "地址", width=26, cleaner=text(200)),
        Column("contact_name", "联系人", width=10, cleaner=text(50)),
        Column("phone", "联系电话", width=14, text=True, sensitive=PHONE, cleaner=phone),
        Column("notes", "备注", width=30, cleaner=text(2000)),
    ),
)

SHEETS = {s.entity: s for s in (BUILDINGS, RESIDENTS, HOUSEHOLDS, PLACES, ORGANISATIONS)}
IMPORTABLE = tuple(entity for entity, s in SHEETS.items() if s.importable)
