"""Importing a registry sheet: check every row in memory, then write in bulk, never a half-written row.

The same two steps serve the worker, the API and the benchmark:

- `check(job)` reads the file, cleans every row with the shared cleaning (`validation`,
  `services.clean_resident`), resolves areas and existing records with a few queries per chunk of
  rows (never per row), and stores a report of every bad cell (ID numbers and phones masked).
- `run(job)` checks again (the registry may have changed meanwhile), then writes: in one
  transaction for "all or nothing", or one transaction per chunk for "the valid rows". Each
  transaction writes one audit event with its counts.

Re-importing a file updates instead of duplicating: residents by ID number (keyed hash; without
one, by name within the household), households by address, buildings by (micro-grid, name),
places and organisations by credit code, else by (area, name).
"""

import base64
import datetime
import gc
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fengchao.areas.models import Area
from fengchao.audit.services import record
from fengchao.core import privacy

from .. import search_keys, services, validation
from ..choices import Gender, IdType, Relation, ResidenceType, ResidentStatus
from ..models import (
    LINEAGE_FIELDS,
    Building,
    CareTag,
    Household,
    ImportJob,
    ImportMode,
    ImportState,
    MoveRecord,
    Organisation,
    Place,
    Resident,
    ResidentCareTag,
    Room,
)
from ..queries import can_edit_in
from . import bulk
from . import columns as cols
from .workbook import SheetData, read_sheet

CHUNK = 2000  # rows resolved and written together
PROGRESS_EVERY = 1000
REPORT_LIMIT = 1000  # bad cells kept in the report (all are counted)
QUERY_CHUNK = 900  # values per IN (...) list


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- the report --------------------------------------------------------------------------------------


class Report:
    """Every bad cell: row, column letter, header, masked value, message (in the uploader's language)."""

    def __init__(self, data: SheetData):
        self.data = data
        self.errors: list[dict] = []
        self.count = 0
        self.bad_rows: set[int] = set()

    def add(self, row: "Row", key: str, message: str) -> None:
        row.ok = False
        self.bad_rows.add(row.number)
        self.count += 1
        if len(self.errors) >= REPORT_LIMIT:
            return
        sheet = self.data.sheet
        column = next((c for c in sheet.columns if c.key == key), None)
        if column is None or not self.data.has(key):
            column = sheet.import_columns[0]
        self.errors.append(
            {
                "row": row.number,
                "column": self.data.letter(column.key),
                "header": column.header,
                "value": self.masked(row, column),
                "message": str(message),
            }
        )

    def masked(self, row: "Row", column: cols.Column) -> str:
        if row.cells is None:  # a row restored from the check: only some cells were kept, masked
            return row.extra.get("masked", {}).get(column.key, "")
        position = self.data.index.get(column.key)
        raw = row.cells[position] if position is not None and position < len(row.cells) else None
        return cols.mask_value(column, raw)

    def add_error(self, row: "Row", error: ValidationError, key_map: dict | None = None) -> None:
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                for message in messages:
                    self.add(row, (key_map or {}).get(key, key), message)
        else:
            for message in error.messages:
                self.add(row, "", message)

    def as_json(self) -> dict:
        ordered = sorted(self.errors, key=lambda e: (e["row"], e["column"]))
        return {"errors": ordered, "error_count": self.count, "shown": len(ordered)}


@dataclass
class Row:
    number: int
    cells: list | None
    ok: bool = True
    values: dict = field(default_factory=dict)
    area: Area | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Ref:
    """Where an existing record is, enough to check a row against it (no full record is loaded)."""

    pk: int
    area_id: int
    key: str = ""
    status: str = ""
    area: Area | None = None

    @property
    def address_key(self) -> str:
        return self.key

    @property
    def id_hash(self) -> str:
        return self.key


# ---- progress ------------------------------------------------------------------------------------------


class Progress:
    def __init__(self, job: ImportJob, phase: str, total: int):
        self.job, self.phase, self.total, self.last = job, phase, total, 0
        ImportJob.objects.filter(pk=job.pk).update(phase=phase, progress_done=0, progress_total=total)

    def __call__(self, done: int, *, force: bool = False) -> None:
        if force or done - self.last >= PROGRESS_EVERY:
            self.last = done
            ImportJob.objects.filter(pk=self.job.pk).update(progress_done=done, updated_at=timezone.now())


# ---- shared resolution of areas ------------------------------------------------------------------------


def _fast_choices(choices) -> dict[str, str]:
    """Code and every label (active language, English, Simplified Chinese) → code, computed once."""
    mapping = {}
    for code, label in choices.choices:
        mapping[code] = code
        mapping[str(label)] = code
        mapping[validation.label_chinese(label)] = code
        with translation.override("en"):
            mapping[str(label)] = code
    return mapping


class Importer:
    """What every entity's importer shares: reading cells, areas, scope."""

    sheet: cols.Sheet
    area_kinds: frozenset
    model = None

    def __init__(self, job: ImportJob, data: SheetData, report: Report):
        self.job, self.data, self.report = job, data, report
        self.user = job.created_by
        self.root = job.area
        self.index = data.index
        self.areas: dict[str, Area | None] = {}
        self.area_problems: dict[str, str] = {}

    def cell(self, row: Row, key: str):
        position = self.index.get(key)
        if position is None:
            return None
        cells = row.cells
        return cells[position] if position < len(cells) else None

    def has(self, key: str) -> bool:
        return key in self.index

    # areas: all codes of the file at once, each checked once
    def load_areas(self, rows: list[Row]) -> None:
        codes = sorted({row.values["area_code"] for row in rows if row.ok and row.values.get("area_code")})
        found = {}
        for part in chunks(codes, QUERY_CHUNK):
            found.update({a.code: a for a in Area.objects.filter(code__in=part)})
        for code in codes:
            area = found.get(code)
            problem = None
            if area is None or not area.path.startswith(self.root.path):
                problem = _("No area with the code %(code)s is inside %(area)s, where you are importing.") % {
                    "code": code,
                    "area": self.root.name,
                }
            else:
                try:
                    validation.check_area_kind(area, self.area_kinds, field="area_code")
                except ValidationError as error:
                    problem = error.message_dict["area_code"][0]
                if problem is None and not can_edit_in(self.user, area):
                    problem = _("You may not change the registry of %(area)s.") % {"area": area.name}
            self.areas[code] = None if problem else area
            if problem:
                self.area_problems[code] = problem

    def place(self, rows: list[Row]) -> None:
        for row in rows:
            if not row.ok:
                continue
            code = row.values["area_code"]
            if code in self.area_problems:
                self.report.add(row, "area_code", self.area_problems[code])
            else:
                row.area = self.areas[code]

    def editable(self, area: Area) -> bool:
        return can_edit_in(self.user, area)

    # the steps each entity fills in
    def clean(self, row: Row) -> None:
        raise NotImplementedError

    def check_file_rows(self, rows: list[Row]) -> None:
        """Checks across rows of the file (repeats), no queries."""

    def resolve(self, rows: list[Row], *, for_write: bool = True) -> None:
        """Find the existing records of a chunk of rows; report rows that cannot be written."""
        raise NotImplementedError

    def write(self, rows: list[Row]) -> dict[str, int]:
        raise NotImplementedError


# ---- simple entities: buildings, places, organisations ---------------------------------------------------


class SimpleImporter(Importer):
    """Rows cleaned column by column; existing records found by a natural key; created or updated in bulk."""

    fields: tuple[str, ...] = ()
    phone = False

    def clean(self, row: Row) -> None:
        for column in self.sheet.import_columns:
            if column.cleaner is None or (not self.has(column.key) and not column.required):
                continue
            try:
                row.values[column.key] = column.cleaner(self.cell(row, column.key), column.key)
            except ValidationError as error:
                self.report.add_error(row, error)

    def keys(self, row: Row) -> list[tuple]:
        """The natural keys a row may match an existing record by, strongest first."""
        return [("name", row.values["area_code"], row.values["name"])]

    def file_keys(self, row: Row) -> list[tuple]:
        """Keys no two rows of a file may share."""
        return self.keys(row)[:1]

    def accept(self, row: Row, key: tuple, obj) -> bool:
        return True

    def check_file_rows(self, rows: list[Row]) -> None:
        seen: dict[tuple, int] = {}
        for row in rows:
            if not row.ok:
                continue
            for key in self.file_keys(row):
                if key in seen:
                    self.report.add(
                        row,
                        "credit_code" if key[0] == "credit" else "name",
                        _("This repeats row %(row)d.") % {"row": seen[key]},
                    )
                    break
            else:
                for key in self.file_keys(row):
                    seen[key] = row.number

    def existing(self, rows: list[Row]) -> dict[tuple, object]:
        raise NotImplementedError

    def resolve(self, rows: list[Row], *, for_write: bool = True) -> None:
        self.place(rows)
        live = [row for row in rows if row.ok]
        found = self.existing(live)
        for row in live:
            matches = [found[key] for key in self.keys(row) if key in found and self.accept(row, key, found[key])]
            obj = matches[0] if matches else None
            if obj is not None and not self.editable(obj.area):
                self.report.add(row, self.match_column(row), _("This record belongs to an area outside yours."))
                continue
            clash = self.name_clash(row, obj, found)
            if clash:
                self.report.add(row, "name", clash)
                continue
            row.extra["obj"] = obj

    def match_column(self, row: Row) -> str:
        return "credit_code" if row.values.get("credit_code") else "name"

    def name_clash(self, row: Row, obj, found) -> str | None:
        return None

    def new(self, row: Row):
        obj = self.model()
        self.assign(obj, row)
        obj.place_in(row.area)
        return obj

    def assign(self, obj, row: Row) -> list[str]:
        """Set the row's values on obj; the stored fields that changed."""
        changed = []
        for name in self.fields:
            if name not in row.values:
                continue
            value = row.values[name]
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed.append(name)
        if "name" in changed and hasattr(obj, "name_key"):
            obj.name_key = search_keys.name_key(obj.name)
            changed.append("name_key")
        if self.phone and "phone" in row.values and row.values["phone"] != obj.phone:
            obj.set_phone(row.values["phone"])
            changed += ["phone_cipher", "phone_hash", "phone_last4"]
        if obj.pk is not None and obj.area_id != row.area.pk:
            obj.place_in(row.area)
            changed += ["area", *LINEAGE_FIELDS]
        return changed

    def write(self, rows: list[Row]) -> dict[str, int]:
        created, updated, unchanged, fields = [], [], 0, set()
        for row in rows:
            obj = row.extra.get("obj")
            if obj is None:
                created.append(self.new(row))
                continue
            changed = self.assign(obj, row)
            if changed:
                fields.update(changed)
                updated.append(obj)
            else:
                unchanged += 1
        bulk.insert(created, model=self.model)
        if updated:
            now = timezone.now()
            for obj in updated:
                obj.updated_at = now
            bulk.update(updated, [*sorted(fields), "updated_at"], model=self.model)
        return {"created": len(created), "updated": len(updated), "skipped": unchanged}


class BuildingImporter(SimpleImporter):
    sheet = cols.BUILDINGS
    area_kinds = validation.BUILDING_AREA_KINDS
    model = Building
    fields = ("name", "address", "floors", "units", "lon", "lat", "notes")

    def existing(self, rows):
        found = {}
        for part in chunks(rows, QUERY_CHUNK):
            qs = Building.objects.filter(
                area_id__in={r.area.pk for r in part}, name__in={r.values["name"] for r in part}
            ).select_related("area")
            found.update({("name", b.area.code, b.name): b for b in qs})
        return found


class PlaceImporter(SimpleImporter):
    sheet = cols.PLACES
    area_kinds = validation.PLACE_AREA_KINDS
    model = Place
    phone = True
    fields = (
        "kind",
        "name",
        "credit_code",
        "address",
        "contact_name",
        *(key for key, _header in cols.PLACE_FLAG_COLUMNS),
        "lon",
        "lat",
        "notes",
    )

    def keys(self, row):
        keys = [("name", row.values["area_code"], row.values["name"])]
        if row.values.get("credit_code"):
            keys.insert(0, ("credit", row.values["credit_code"]))
        return keys

    def accept(self, row, key, obj):
        """By name only a record without another credit code: two firms may share a name."""
        return key[0] == "credit" or not obj.credit_code or obj.credit_code == row.values.get("credit_code")

    def existing(self, rows):
        found = {}
        for part in chunks(rows, QUERY_CHUNK):
            codes = {r.values["credit_code"] for r in part if r.values.get("credit_code")}
            for obj in self.model.objects.filter(credit_code__in=codes).select_related("area").order_by("pk"):
                found.setdefault(("credit", obj.credit_code), obj)
            qs = self.model.objects.filter(
                area_id__in={r.area.pk for r in part}, name__in={r.values["name"] for r in part}
            ).select_related("area")
            for obj in qs.order_by("pk"):
                found.setdefault(("name", obj.area.code, obj.name), obj)
        return found


class OrganisationImporter(PlaceImporter):
    sheet = cols.ORGANISATIONS
    area_kinds = validation.ORGANISATION_AREA_KINDS
    model = Organisation
    fields = ("kind", "name", "credit_code", "address", "contact_name", "notes")

    def file_keys(self, row):
        return self.keys(row)

    def name_clash(self, row, obj, found):
        """Names are unique within an area: a record found by credit code may not take another's name."""
        other = found.get(("name", row.values["area_code"], row.values["name"]))
        if other is not None and (obj is None or other.pk != obj.pk):
            return _("%(area)s already has an organisation called %(name)s.") % {
                "area": row.area.name,
                "name": row.values["name"],
            }
        return None


# ---- residents (with buildings, rooms and households made on the way) -----------------------------------

RESIDENT_KEYS = (
    "name",
    "gender",
    "id_type",
    "id_number",
    "phone",
    "residence_type",
    "relation",
    "is_party_member",
    "contact_name",
    "contact_phone",
    "moved_in_on",
    "notes",
)
RESIDENT_CHOICES = {"gender": Gender, "id_type": IdType, "residence_type": ResidenceType, "relation": Relation}
MEMO_CLEANERS = {
    "moved_in_on": cols.date,
    "is_party_member": cols.flag,
}
EMPTY = {
    "id_number": "",
    "phone": "",
    "is_party_member": False,
    "contact_name": "",
    "contact_phone": "",
    "moved_in_on": None,
    "notes": "",
}
SKIPPABLE = tuple(EMPTY)
LOCATION_KEYS = ("area_code", "building", "unit", "room", "address", "household_number")
CHOICE_DEFAULTS = {
    "gender": "",
    "id_type": IdType.RESIDENT_ID,
    "residence_type": ResidenceType.REGISTERED,
    "relation": "",
}
BLANK_RESIDENT = Resident()  # clean_resident(partial_of=…) cleans only the keys it is given
ROW_KEY_MAP = {"birth_date": "id_number", "household": "area_code", "area": "area_code"}


class ResidentImporter(Importer):
    sheet = cols.RESIDENTS
    area_kinds = validation.HOUSEHOLD_AREA_KINDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = {key: _fast_choices(choices) for key, choices in RESIDENT_CHOICES.items()}
        tags = list(CareTag.objects.filter(is_active=True))
        self.tags_by_pk = {t.pk: t for t in tags}
        self.tags = {t.name: t for t in tags} | {search_keys.name_key(t.name): t for t in tags}
        self.tags |= {t.code: t for t in tags}
        self.present = {key for key in RESIDENT_KEYS if self.has(key)}
        self.address_keys: dict[str, str] = {}
        self.memos: dict[tuple, tuple] = {}
        self.area_cache: dict[int, Area] = {}
        self.location_cleaners = {c.key: c.cleaner for c in self.sheet.import_columns if c.cleaner is not None}

    # -- cleaning, no queries
    def clean(self, row: Row) -> None:
        values = row.values
        cells, width = row.cells, len(row.cells)
        raw_of = {key: cells[position] for key, position in self.index.items() if position < width}
        for key in LOCATION_KEYS:
            raw = raw_of.get(key)
            if key != "area_code" and (raw is None or raw == ""):
                values[key] = ""
                continue
            try:
                values[key] = self.memo(key, raw, self.location_cleaners[key])
            except ValidationError as error:
                self.report.add_error(row, error)
        values["unit"] = (values.get("unit") or "").removesuffix("单元")
        values["room"] = (values.get("room") or "").removesuffix("室")
        data, resolved = {}, {}
        for key in RESIDENT_KEYS:
            raw = raw_of.get(key)
            if key in MEMO_CLEANERS:  # values that repeat down a column: cleaned once each
                try:
                    resolved[key] = self.memo(key, raw, MEMO_CLEANERS[key])
                except ValidationError as error:
                    self.report.add_error(row, error)
            elif key == "id_number":
                try:
                    data[key] = cols.id_number_text(raw, key)
                except ValidationError as error:
                    self.report.add_error(row, error)
                    data[key] = ""
            elif key in self.choices:
                # Coded values are looked up once per file; only a value that matches nothing goes through
                # the shared cleaning, for its message.
                text = cols.cell_text(raw)
                code = self.choices[key].get(text) if text else CHOICE_DEFAULTS[key]
                if code is None:
                    data[key] = text
                else:
                    resolved[key] = code
            else:
                data[key] = cols.cell_text(raw)
        for key in SKIPPABLE:  # empty optional values need no cleaning: they are set to empty below
            if data.get(key) == "":
                del data[key]
        if "id_type" in resolved:
            data["id_type"] = resolved.pop("id_type")
        try:
            cleaned = services.clean_resident(data, partial_of=BLANK_RESIDENT)
        except ValidationError as error:
            self.report.add_error(row, error, ROW_KEY_MAP)
        else:
            for key, code in resolved.items():
                cleaned.setdefault(key, code)  # the gender read from an ID number wins
            for key in SKIPPABLE:
                cleaned.setdefault(key, EMPTY[key])
            values["resident"] = cleaned
        if not cols.blank(raw_of.get("care_tags")):
            values["care_tags"] = self._care_tags(row)
        if row.ok:
            number = values["resident"].get("id_number")
            values["id_hash"] = privacy.keyed_hash(number) if number else None
            if values["building"] and not values["room"]:
                self.report.add(row, "room", _("Give the room with the building."))
            elif values["room"] and not values["building"]:
                self.report.add(row, "building", _("Give the building with the room."))
            elif not values["building"] and not values["address"]:
                self.report.add(row, "address", _("Give the building and room, or the address."))

    def _care_tags(self, row: Row) -> list[CareTag]:
        text = cols.cell_text(self.cell(row, "care_tags"))
        tags, unknown = [], []
        for name in cols.CARE_TAG_SEPARATORS.split(text):
            if not name:
                continue
            tag = self.tags.get(name) or self.tags.get(search_keys.name_key(name))
            if tag is None:
                unknown.append(name)
            elif tag not in tags:
                tags.append(tag)
        if unknown:
            self.report.add(
                row,
                "care_tags",
                _("Unknown care tags: %(names)s. Choose from: %(known)s.")
                % {"names": "、".join(unknown), "known": "、".join(cols.care_tag_names())},
            )
        return tags

    def memo(self, key: str, raw, clean):
        """clean(raw, key), remembered per distinct cell value (an error is remembered too)."""
        try:
            ok, result = self.memos[(key, raw)]
        except KeyError:
            try:
                ok, result = True, clean(raw, key)
            except ValidationError as error:
                ok, result = False, error
            self.memos[(key, raw)] = (ok, result)
        if ok:
            return result
        raise result

    # -- the address of a row, as households are keyed
    def address_key(self, address: str) -> str:
        key = self.address_keys.get(address)
        if key is None:
            key = self.address_keys[address] = services.address_key(address)
        return key

    def address(self, row: Row, building: Building | None) -> str:
        values = row.values
        if values["building"]:
            prefix = building.address if building is not None and building.address else row.area.name
            unit = f"{values['unit']}单元" if values["unit"] else ""
            return f"{prefix}{values['building']}{unit}{values['room']}"
        return values["address"]

    def check_file_rows(self, rows: list[Row]) -> None:
        ids: dict[str, int] = {}
        for row in rows:
            if not row.ok:
                continue
            id_hash = row.values.get("id_hash")
            if id_hash:
                if id_hash in ids:
                    self.report.add(row, "id_number", _("This ID number repeats row %(row)d.") % {"row": ids[id_hash]})
                else:
                    ids[id_hash] = row.number

    def check_addresses(self, rows: list[Row]) -> None:
        """One address, one micro-grid; one person without an ID number once per household (no queries)."""
        seen: dict[str, tuple[int, int]] = {}
        people: dict[tuple, int] = {}
        for row in rows:
            if not row.ok or row.area is None:
                continue
            key = self.address_key(self.address(row, None))
            row.extra["key"] = key
            first = seen.setdefault(key, (row.number, row.area.pk))
            if first[1] != row.area.pk:
                column = "building" if row.values["building"] else "address"
                self.report.add(
                    row, column, _("Row %(row)d puts this address in another micro-grid.") % {"row": first[0]}
                )
                continue
            if not row.values.get("id_hash"):
                person = (key, search_keys.name_key(row.values["resident"]["name"]))
                if person in people:
                    self.report.add(row, "name", _("This person repeats row %(row)d.") % {"row": people[person]})
                else:
                    people[person] = row.number

    def _with_areas(self, items) -> list:
        """The records (or Refs), each given its Area from one cache instead of a join per row."""
        items = list(items)
        missing = {item.area_id for item in items} - self.area_cache.keys()
        for part in chunks(sorted(missing), QUERY_CHUNK):
            self.area_cache.update(Area.objects.in_bulk(part))
        for item in items:
            item.area = self.area_cache[item.area_id]
        return items

    # -- finding what exists, a few queries per chunk
    def resolve(self, rows: list[Row], *, for_write: bool = True) -> None:
        """Existing buildings, rooms, households and residents of the rows; rows that cannot be written reported.

        Checking only needs where existing records are (`Ref`s); writing needs the records themselves.
        """
        self.place(rows)
        live = [row for row in rows if row.ok]
        plan = self.plan = {"buildings": {}, "rooms": {}, "households": {}, "by_id": {}, "by_name": {}}
        if not live:
            return
        areas = {row.area.pk for row in live}
        names = {row.values["building"] for row in live if row.values["building"]}
        if names:
            for b in Building.objects.filter(area_id__in=areas, name__in=names):
                plan["buildings"][(b.area_id, b.name)] = b
        if plan["buildings"]:
            numbers = {row.values["room"] for row in live if row.values["room"]}
            rooms = Room.objects.filter(building_id__in=[b.pk for b in plan["buildings"].values()], number__in=numbers)
            plan["rooms"] = {(r.building_id, r.unit, r.number): r for r in rooms}
        for row in live:
            building = plan["buildings"].get((row.area.pk, row.values["building"]))
            row.extra["address"] = self.address(row, building)
            row.extra["key"] = self.address_key(row.extra["address"])
        keys = sorted({row.extra["key"] for row in live})
        hashes = [row.values["id_hash"] for row in live if row.values.get("id_hash")]
        if for_write:
            households = (
                h
                for part in chunks(keys, QUERY_CHUNK)
                for h in Household.objects.filter(address_key__in=part, is_active=True)
            )
            by_id = (r for part in chunks(hashes, QUERY_CHUNK) for r in Resident.objects.filter(id_hash__in=part))
        else:
            households = (
                Ref(*values)
                for part in chunks(keys, QUERY_CHUNK)
                for values in Household.objects.filter(address_key__in=part, is_active=True).values_list(
                    "pk", "area_id", "address_key"
                )
            )
            by_id = (
                Ref(*values)
                for part in chunks(hashes, QUERY_CHUNK)
                for values in Resident.objects.filter(id_hash__in=part).values_list(
                    "pk", "area_id", "id_hash", "status"
                )
            )
        for h in self._with_areas(households):
            plan["households"][h.address_key] = h
        for r in self._with_areas(by_id):
            plan["by_id"][r.id_hash] = r
        household_ids = [h.pk for h in plan["households"].values()]
        if household_ids:
            nameless = (
                r
                for part in chunks(household_ids, QUERY_CHUNK)
                for r in Resident.objects.filter(household_id__in=part, id_hash__isnull=True)
            )
            for r in self._with_areas(nameless):
                plan["by_name"].setdefault((r.household_id, r.name_key), r)
        for row in live:
            household = plan["households"].get(row.extra["key"])
            if household is not None and household.area_id != row.area.pk:
                column = "building" if row.values["building"] else "address"
                if self.editable(household.area):
                    message = _("A household at this address is registered in %(area)s.") % {
                        "area": household.area.name
                    }
                else:
                    message = _("A household at this address is registered in an area outside yours.")
                self.report.add(row, column, message)
                continue
            row.extra["household"] = household
            id_hash = row.values.get("id_hash")
            if id_hash:
                resident = plan["by_id"].get(id_hash)
            elif household is not None:
                resident = plan["by_name"].get((household.pk, search_keys.name_key(row.values["resident"]["name"])))
            else:
                resident = None
            if resident is not None:
                if not self.editable(resident.area):
                    self.report.add(row, "id_number", _("This ID number is registered in an area outside yours."))
                    continue
                if resident.status == ResidentStatus.DECEASED:
                    self.report.add(row, "id_number", _("This ID number belongs to a resident recorded as deceased."))
                    continue
            row.extra["resident"] = resident

    # -- writing one chunk (inside the caller's transaction)
    def write(self, rows: list[Row]) -> dict[str, int]:
        plan, now, today = self.plan, timezone.now(), timezone.localdate()
        # buildings and rooms named for the first time
        new_buildings = {}
        for row in rows:
            name = row.values["building"]
            if name and (row.area.pk, name) not in plan["buildings"]:
                key = (row.area.pk, name)
                if key not in new_buildings:
                    building = bulk.new(Building, name=name)
                    building.place_in(row.area)
                    new_buildings[key] = building
        bulk.insert(list(new_buildings.values()), model=Building)
        plan["buildings"].update(new_buildings)
        new_rooms = {}
        for row in rows:
            if not row.values["building"]:
                continue
            building = plan["buildings"][(row.area.pk, row.values["building"])]
            key = (building.pk, row.values["unit"], row.values["room"])
            if key not in plan["rooms"] and key not in new_rooms:
                number = row.values["room"]
                floor = int(number[:-2]) if number.isdigit() and len(number) >= 3 else None
                new_rooms[key] = bulk.new(Room, building=building, unit=key[1], number=number, floor=floor)
        bulk.insert(list(new_rooms.values()), model=Room)
        plan["rooms"].update(new_rooms)
        # households
        new_households, renumbered = {}, {}
        for row in rows:
            household = row.extra.get("household")
            key = row.extra["key"]
            number = row.values["household_number"]
            if household is None:
                household = plan["households"].get(key) or new_households.get(key)
            if household is None:
                room = None
                if row.values["building"]:
                    building = plan["buildings"][(row.area.pk, row.values["building"])]
                    room = plan["rooms"][(building.pk, row.values["unit"], row.values["room"])]
                household = bulk.new(
                    Household, room=room, address=row.extra["address"][:200], address_key=key, number=number
                )
                household.place_in(row.area)
                new_households[key] = household
            elif number and household.number != number and household.pk is not None:
                household.number = number
                renumbered[household.pk] = household
            row.extra["household"] = household
        bulk.insert(list(new_households.values()), model=Household)
        plan["households"].update(new_households)
        # residents
        created, updated, moved, unchanged = [], [], [], 0
        fields: set[str] = set()
        tag_rows = []
        for row in rows:
            household = row.extra["household"]
            resident = row.extra.get("resident")
            values = row.values["resident"]
            if resident is None:
                resident = bulk.new(Resident, household=household)
                resident.place_in(household.area)
                services._apply_resident_values(resident, values)
                created.append(resident)
                row.extra["resident"] = resident
                if "care_tags" in row.values:
                    tag_rows.append((resident, row.values["care_tags"], True))
                continue
            kept = {k: v for k, v in values.items() if k in self.present or k in ("gender", "birth_date")}
            if "id_number" not in self.present and "gender" not in self.present:
                kept.pop("gender", None)
            if "id_number" not in self.present:
                kept.pop("birth_date", None)
            self._drop_unchanged_secrets(resident, kept)
            changed = services._apply_resident_values(resident, kept)
            stored = [c for name in changed for c in services.STORED_RESIDENT_FIELDS.get(name, [name])]
            if resident.household_id != household.pk or resident.status != ResidentStatus.LIVING:
                moved.append((resident, resident.household_id, resident.area, household))
                resident.household = household
                resident.place_in(household.area)
                resident.status = ResidentStatus.LIVING
                resident.moved_out_at = None
                stored += ["household", "area", *LINEAGE_FIELDS, "status", "moved_out_at"]
            tags_changed = False
            if "care_tags" in row.values:
                tag_rows.append((resident, row.values["care_tags"], False))
                tags_changed = True
            if stored:
                resident.updated_at = now
                fields.update(stored)
                updated.append(resident)
            elif not tags_changed:
                unchanged += 1
            else:
                row.extra["maybe_unchanged"] = True
        bulk.insert(created, model=Resident)
        if updated:
            bulk.update(updated, [*sorted(fields), "updated_at"], model=Resident)
        tag_changes = self._write_care_tags(tag_rows, today)
        for row in rows:
            if row.extra.pop("maybe_unchanged", False):
                if row.extra["resident"].pk in tag_changes:
                    updated.append(row.extra["resident"])
                else:
                    unchanged += 1
        self._write_moves(moved)
        # heads of households, and household numbers
        heads = {}
        for row in rows:
            household, resident = row.extra["household"], row.extra["resident"]
            if resident.relation == Relation.HEAD and household.head_id is None and household.pk not in heads:
                household.head = resident
                heads[household.pk] = household
        changed_households = {**renumbered, **heads}
        if changed_households:
            for household in changed_households.values():
                household.updated_at = now
            bulk.update(list(changed_households.values()), ["head", "number", "updated_at"], model=Household)
        return {"created": len(created), "updated": len(updated), "skipped": unchanged}

    @staticmethod
    def _drop_unchanged_secrets(resident: Resident, kept: dict) -> None:
        """Compare encrypted values by keyed hash or emptiness, so unchanged rows need no decryption."""
        number = kept.get("id_number")
        if number is not None and (resident.id_hash or "") == (privacy.keyed_hash(number) if number else ""):
            del kept["id_number"]
        phone = kept.get("phone")
        if phone is not None and resident.phone_hash == (privacy.keyed_hash(phone) if phone else ""):
            del kept["phone"]
        if kept.get("contact_phone") == "" and not resident.contact_phone_cipher:
            del kept["contact_phone"]

    def _write_care_tags(self, tag_rows, today) -> set[int]:
        """Set each listed resident's care tags to exactly those in the row; the residents whose tags changed."""
        existing = defaultdict(set)
        old_ids = [resident.pk for resident, _tags, is_new in tag_rows if not is_new]
        for part in chunks(old_ids, QUERY_CHUNK):
            for resident_id, tag_id in ResidentCareTag.objects.filter(resident_id__in=part).values_list(
                "resident_id", "tag_id"
            ):
                existing[resident_id].add(tag_id)
        add, remove, changed = [], [], set()
        for resident, tags, _is_new in tag_rows:
            wanted = {t.pk for t in tags}
            have = existing.get(resident.pk, set())
            for tag_id in sorted(wanted - have):
                add.append(
                    ResidentCareTag(
                        resident=resident,
                        tag_id=tag_id,
                        area_id=resident.area_id,
                        is_living=True,
                        since=today,
                        **{f: getattr(resident, f) for f in LINEAGE_FIELDS},
                    )
                )
            for tag_id in have - wanted:
                remove.append((resident.pk, tag_id))
            if wanted != have:
                changed.add(resident.pk)
        bulk.insert(add, model=ResidentCareTag)
        by_tag = defaultdict(list)
        for resident_id, tag_id in remove:
            by_tag[tag_id].append(resident_id)
        for tag_id, resident_ids in by_tag.items():
            for part in chunks(resident_ids, QUERY_CHUNK):
                ResidentCareTag.objects.filter(tag_id=tag_id, resident_id__in=part).delete()
        return changed

    def _write_moves(self, moved) -> None:
        if not moved:
            return
        old_ids = {old for _r, old, _a, _h in moved if old}
        old_households = Household.objects.in_bulk(old_ids) if old_ids else {}
        records, by_area, heads = [], defaultdict(list), []
        reason = _("Excel import")
        for resident, old_id, old_area, household in moved:
            old = old_households.get(old_id)
            records.append(
                MoveRecord(
                    resident=resident,
                    actor=self.user,
                    from_area=old_area,
                    to_area=household.area,
                    from_address=old.address if old else "",
                    to_address=household.address,
                    reason=reason,
                )
            )
            by_area[household.area].append(resident.pk)
            if old is not None and old.head_id == resident.pk:
                heads.append(old.pk)
        bulk.insert(records, model=MoveRecord)
        for area, resident_ids in by_area.items():
            lineage = {f: getattr(area, f) for f in LINEAGE_FIELDS}
            for part in chunks(resident_ids, QUERY_CHUNK):
                ResidentCareTag.objects.filter(resident_id__in=part).update(area=area, is_living=True, **lineage)
        for part in chunks(heads, QUERY_CHUNK):
            Household.objects.filter(pk__in=part).update(head=None)


IMPORTERS: dict[str, type[Importer]] = {
    "buildings": BuildingImporter,
    "residents": ResidentImporter,
    "places": PlaceImporter,
    "organisations": OrganisationImporter,
}


# ---- the two steps -------------------------------------------------------------------------------------


@dataclass
class Checked:
    importer: Importer
    rows: list[Row]  # the rows still to write (after a check restored from the job: the good ones)
    report: Report
    total: int  # data rows in the sheet


def _check(job: ImportJob, data: bytes) -> Checked:
    """Read and clean every row, and check what needs no query per row: repeats, areas."""
    sheet_data = read_sheet(data, cols.SHEETS[job.entity], checked=True)  # check_file ran at upload
    report = Report(sheet_data)
    importer = IMPORTERS[job.entity](job, sheet_data, report)
    rows = [Row(number, cells) for number, cells in sheet_data.rows]
    progress = Progress(job, "checking", len(rows))
    for done, row in enumerate(rows, start=1):
        importer.clean(row)
        progress(done)
    importer.check_file_rows(rows)
    importer.load_areas(rows)
    importer.place(rows)
    if isinstance(importer, ResidentImporter):
        importer.check_addresses(rows)
    return Checked(importer, rows, report, len(rows))


# The cells a report may still need after a check, kept masked with the checked rows.
KEPT_CELLS = ("area_code", "building", "address", "id_number", "name", "credit_code")
DATE_KEYS = ("birth_date", "moved_in_on")


def _pack(checked: Checked) -> str | None:
    """The good rows as checked, compressed and encrypted (they hold ID numbers and phones)."""
    data, report = checked.importer.data, checked.report
    kept = [c for c in data.sheet.columns if c.key in KEPT_CELLS and data.has(c.key)]
    rows = []
    for row in checked.rows:
        if not row.ok:
            continue
        values = dict(row.values)
        if "care_tags" in values:
            values["care_tags"] = [tag.pk for tag in values["care_tags"]]
        rows.append([row.number, values, {c.key: report.masked(row, c) for c in kept}])
    if not rows:
        return None
    payload = {"index": data.index, "rows": rows, "bad": sorted(report.bad_rows), "total": checked.total}
    blob = zlib.compress(orjson.dumps(payload), 1)
    return privacy.encrypt(base64.b64encode(blob).decode("ascii"))


def _unpack(job: ImportJob) -> Checked:
    payload = orjson.loads(zlib.decompress(base64.b64decode(privacy.decrypt(job.checked_data))))
    sheet_data = SheetData(sheet=cols.SHEETS[job.entity], index=payload["index"], rows=[])
    report = Report(sheet_data)
    saved = job.report or {}
    report.errors = list(saved.get("errors", []))
    report.count = saved.get("error_count", 0)
    report.bad_rows = set(payload["bad"])
    importer = IMPORTERS[job.entity](job, sheet_data, report)
    rows = []
    for number, values, masked in payload["rows"]:
        resident = values.get("resident")
        if resident is not None:
            for key in DATE_KEYS:
                if resident.get(key):
                    resident[key] = datetime.date.fromisoformat(resident[key])
        if "care_tags" in values:
            values["care_tags"] = [importer.tags_by_pk[pk] for pk in values["care_tags"] if pk in importer.tags_by_pk]
        rows.append(Row(number, None, values=values, extra={"masked": masked}))
    importer.load_areas(rows)
    importer.place(rows)
    return Checked(importer, rows, report, payload["total"])


def _finish_report(checked: Checked) -> dict:
    return {
        "rows": checked.total,
        "bad_rows": len(checked.report.bad_rows),
        "report": checked.report.as_json(),
    }


def _set_state(job: ImportJob, old: str, new: str, **values) -> bool:
    updated = ImportJob.objects.filter(pk=job.pk, state=old).update(state=new, updated_at=timezone.now(), **values)
    if updated:
        job.state = new
        for name, value in values.items():
            setattr(job, name, value)
    return bool(updated)


FORGET = {"file_data": None, "checked_data": None}  # what a finished job no longer keeps


def _fail(job: ImportJob, old: str, error: ValidationError | str) -> None:
    if isinstance(error, ValidationError):
        messages = error.message_dict.get("file", error.messages) if hasattr(error, "error_dict") else error.messages
        message = "\n".join(str(m) for m in messages)
    else:
        message = str(error)
    _set_state(job, old, ImportState.FAILED, message=message, finished_at=timezone.now(), phase="", **FORGET)


@contextmanager
def _gc_paused():
    """Hundreds of thousands of small objects and no cycles: the cyclic collector would only rescan them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check(job: ImportJob) -> ImportJob:
    """Uploaded → validating → validated (with a report) or failed (the file itself is wrong)."""
    if not _set_state(job, ImportState.UPLOADED, ImportState.VALIDATING):
        return job
    job.refresh_from_db()
    with translation.override(job.language or None), _gc_paused():
        try:
            checked = _check(job, bytes(job.file_data))
            for part in chunks(checked.rows, CHUNK):
                checked.importer.resolve(part, for_write=False)
        except ValidationError as error:
            _fail(job, ImportState.VALIDATING, error)
            return job
        info = _finish_report(checked)
        _set_state(
            job,
            ImportState.VALIDATING,
            ImportState.VALIDATED,
            rows=info["rows"],
            bad_rows=info["bad_rows"],
            report=info["report"],
            checked_data=_pack(checked),
            progress_done=info["rows"],
            progress_total=info["rows"],
            phase="",
        )
    return job


def run(job: ImportJob) -> ImportJob:
    """Importing → done (with counts) or failed. All or nothing writes nothing if any row is bad."""
    # Claim the job (compare-and-set), so a task delivered twice imports once.
    claimed = ImportJob.objects.filter(pk=job.pk, state=ImportState.IMPORTING, phase="").update(phase="starting")
    if claimed != 1:
        return job
    job.refresh_from_db()
    with translation.override(job.language or None), _gc_paused():
        try:
            return _run(job)
        except ValidationError as error:
            _fail(job, ImportState.IMPORTING, error)
        except IntegrityError:
            _fail(job, ImportState.IMPORTING, _("Someone changed the registry while the file was imported: try again."))
        return job


def _run(job: ImportJob) -> ImportJob:
    checked = _unpack(job) if job.checked_data else _check(job, bytes(job.file_data))
    importer, rows = checked.importer, checked.rows
    # rows found bad by the check are not among `rows` any more: they count as skipped
    totals = {"created": 0, "updated": 0, "skipped": checked.total - len(rows)}
    all_or_nothing = job.mode == ImportMode.ALL_OR_NOTHING

    def write_chunk(part: list[Row]) -> dict[str, int]:
        importer.resolve(part)
        good = [row for row in part if row.ok]
        if all_or_nothing and len(good) != len(part):
            raise _RowsWentBad
        counts = importer.write(good) if good else {"created": 0, "updated": 0, "skipped": 0}
        counts["skipped"] += len(part) - len(good)
        return counts

    if all_or_nothing:
        if checked.report.bad_rows:
            return _refuse(job, checked)
        Progress(job, "writing", len(rows))
        try:
            with transaction.atomic():
                for part in chunks(rows, CHUNK):
                    for name, n in write_chunk(part).items():
                        totals[name] += n
                _audit(job, totals, rows=checked.total)
                _set_state(job, ImportState.IMPORTING, ImportState.DONE, **_done(checked, totals))
        except _RowsWentBad:
            for part in chunks(rows, CHUNK):  # rolled back: complete the report, reading only
                importer.resolve(part, for_write=False)
            return _refuse(job, checked)
        return job
    progress = Progress(job, "writing", len(rows))
    done = 0
    for part in chunks(rows, CHUNK):
        with transaction.atomic():
            counts = write_chunk(part)
            _audit(job, counts, rows=len(part))
            for name, n in counts.items():
                totals[name] += n
            ImportJob.objects.filter(pk=job.pk).update(**totals)
        done += len(part)
        progress(done, force=True)
    _set_state(job, ImportState.IMPORTING, ImportState.DONE, **_done(checked, totals))
    return job


class _RowsWentBad(Exception):
    """A row found bad while writing all or nothing: the transaction is rolled back."""


def _done(checked: Checked, totals: dict) -> dict:
    info = _finish_report(checked)
    return {
        **totals,
        **FORGET,
        "rows": info["rows"],
        "bad_rows": info["bad_rows"],
        "report": info["report"],
        "finished_at": timezone.now(),
        "phase": "",
        "progress_done": info["rows"],
        "progress_total": info["rows"],
    }


def _refuse(job: ImportJob, checked: Checked) -> ImportJob:
    info = _finish_report(checked)
    _set_state(
        job,
        ImportState.IMPORTING,
        ImportState.FAILED,
        rows=info["rows"],
        bad_rows=info["bad_rows"],
        report=info["report"],
        message=_("Some rows have errors, so nothing was imported (all or nothing)."),
        finished_at=timezone.now(),
        phase="",
        **FORGET,
    )
    return job


def _audit(job: ImportJob, counts: dict, *, rows: int) -> None:
    record(
        "registry.excel_imported",
        job,
        actor=job.created_by,
        area=job.area,
        entity=job.entity,
        mode=job.mode,
        rows=rows,
        **counts,
    )
