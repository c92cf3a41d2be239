"""Reading an uploaded sheet safely: what is not a plain .xlsx table is refused with a reason, never a 500.

Checks, in order: the size limit; the zip signature; a zip that opens and is not a zip bomb; a
workbook python-calamine can read; no formulas (their values would be whatever Excel last
computed) and no merged cells (a merged cell holds one value for several rows) in the first sheet,
each named by cell; headers that are the template's (missing and unknown ones named); at least one
data row and no more than the row limit.
"""

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from python_calamine import CalamineWorkbook

from .columns import Sheet

ZIP_MAGIC = b"PK\x03\x04"
EXPANSION_LIMIT = 30  # the sheet XML may be at most this many times the upload limit, uncompressed
NAMED_AT_MOST = 20  # cells or ranges named in one message
SCAN_CHUNK = 4 * 1024 * 1024

FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
MERGE_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=\"([^\"]+)\"")
SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\b([^>]*)>")
RELATIONSHIP_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\b([^>]*)>")
ATTRIBUTE = re.compile(rb"([\w:.-]+)=\"([^\"]*)\"")
CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b([^>]*?)(?:/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?c>)", re.DOTALL)
HEADER_NOISE = re.compile(r"[\s*＊:：]|[(（]必填[)）]")


def file_error(message) -> ValidationError:
    return ValidationError({"file": message})


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _named(items: list[str], total: int) -> str:
    shown = "、".join(items[:NAMED_AT_MOST])
    if total > NAMED_AT_MOST:
        shown += _(" and %(n)d more") % {"n": total - NAMED_AT_MOST}
    return shown


def check_size(size: int) -> None:
    limit = settings.REGISTRY_EXCEL_MAX_BYTES
    if size > limit:
        raise file_error(
            _("The file is %(size).1f MB; at most %(limit).0f MB can be imported at once: split it into several files.")
            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024}
        )
    if size == 0:
        raise file_error(_("The file is empty."))


def _attributes(tag: bytes) -> dict[str, str]:
    return {k.decode(): v.decode("utf-8", "replace") for k, v in ATTRIBUTE.findall(tag)}


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    """The path in the zip of the workbook's first sheet (the one imported)."""
    workbook = archive.read("xl/workbook.xml")
    rels = archive.read("xl/_rels/workbook.xml.rels")
    if b"<!DOCTYPE" in workbook or b"<!DOCTYPE" in rels:
        raise ValueError("a document type declaration has no place in a workbook")
    sheet = SHEET_TAG.search(workbook)
    if sheet is None:
        raise KeyError("no sheet")
    rel_id = next((v for k, v in _attributes(sheet.group(1)).items() if k.rsplit(":", 1)[-1] == "id"), None)
    for rel in RELATIONSHIP_TAG.finditer(rels):
        attributes = _attributes(rel.group(1))
        if attributes.get("Id") == rel_id:
            target = attributes.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    raise KeyError(rel_id)


def _scan(archive: zipfile.ZipFile, path: str) -> tuple[bool, list[str]]:
    """(has a formula, merged ranges) of a sheet's XML, read in chunks that overlap by a tag's length."""
    has_formula, merged, tail = False, [], b""
    with archive.open(path) as stream:
        while chunk := stream.read(SCAN_CHUNK):
            data = tail + chunk
            has_formula = has_formula or FORMULA_TAG.search(data) is not None
            cut = max(0, len(data) - 512)
            merged.extend(m.group(1).decode("ascii", "replace") for m in MERGE_REF.finditer(data) if m.start() < cut)
            tail = data[cut:]
    merged.extend(m.group(1).decode("ascii", "replace") for m in MERGE_REF.finditer(tail))
    return has_formula, list(dict.fromkeys(merged))


def _formula_cells(archive: zipfile.ZipFile, path: str) -> list[str]:
    """The references of the cells holding formulas (the slow path, only for files that have some)."""
    cells, tail = [], b""
    with archive.open(path) as stream:
        while True:
            chunk = stream.read(SCAN_CHUNK)
            data = tail + chunk
            cut = max(0, len(data) - 64 * 1024) if chunk else len(data)
            for match in CELL.finditer(data):
                if match.start() >= cut:
                    break
                if FORMULA_TAG.search(match.group(2) or b""):
                    cells.append(_attributes(match.group(1)).get("r", "?"))
            tail = data[cut:]
            if not chunk:
                return cells


def check_file(data: bytes) -> None:
    """Everything that can be known about the file without reading its rows."""
    check_size(len(data))
    if not data.startswith(ZIP_MAGIC):
        raise file_error(_("This is not an .xlsx file: save it from Excel or WPS as “Excel workbook (*.xlsx)”."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
        if total > EXPANSION_LIMIT * settings.REGISTRY_EXCEL_MAX_BYTES:
            raise file_error(_("The workbook unpacks to far more data than a sheet holds: it cannot be imported."))
        path = _first_sheet_path(archive)
        has_formula, merged = _scan(archive, path)
        formulas = _formula_cells(archive, path) if has_formula else []
    except ValidationError:
        raise
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, ValueError, zlib.error):
        raise file_error(
            _("The file is damaged or not an .xlsx workbook: open it in Excel or WPS and save it again.")
        ) from None
    try:
        CalamineWorkbook.from_filelike(io.BytesIO(data)).close()
    except Exception:
        raise file_error(_("The workbook cannot be read: open it in Excel or WPS and save it again.")) from None
    problems = []
    if formulas:
        problems.append(
            ngettext(
                "Cell %(cells)s holds a formula: replace it by its value (copy, then paste values only).",
                "Cells %(cells)s hold formulas: replace them by their values (copy, then paste values only).",
                len(formulas),
            )
            % {"cells": _named(formulas, len(formulas))}
        )
    if merged:
        problems.append(
            ngettext(
                "Cells %(ranges)s are merged: unmerge them and fill the value into every row.",
                "Merged cells at %(ranges)s: unmerge them and fill the value into every row.",
                len(merged),
            )
            % {"ranges": _named(merged, len(merged))}
        )
    if problems:
        raise file_error(problems)


@dataclass
class SheetData:
    sheet: Sheet
    index: dict[str, int]  # column key → index in the row
    rows: list[tuple[int, list]]  # (Excel row number, cell values), blank rows left out

    def letter(self, key: str) -> str:
        return column_letter(self.index[key]) if key in self.index else ""

    def has(self, key: str) -> bool:
        return key in self.index


def normalise_header(value) -> str:
    return HEADER_NOISE.sub("", str(value if value is not None else ""))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_sheet(data: bytes, sheet: Sheet, *, checked: bool = False) -> SheetData:
    """The rows of the first sheet, with its headers matched to the sheet's columns.

    `checked`: check_file already passed (at upload), so the zip is not scanned again.
    """
    if not checked:
        check_file(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        table = workbook.get_sheet_by_index(0)
        limit = settings.REGISTRY_EXCEL_MAX_ROWS
        if table.height > limit + 1:
            raise file_error(
                _("The sheet has %(n)d rows; at most %(limit)d can be imported at once: split it into several files.")
                % {"n": table.height - 1, "limit": limit}
            )
        values = table.to_python(skip_empty_area=False)
        workbook.close()
    except ValidationError:
        raise
    except Exception:
        raise file_error(_("The workbook cannot be read: open it in Excel or WPS and save it again.")) from None
    if not values or all(all(_blank(v) for v in row) for row in values):
        raise file_error(_("The sheet is empty: fill in the template's first sheet."))
    header = values[0]
    index = _match_headers(header, sheet, values)
    rows = [(number, row) for number, row in enumerate(values[1:], start=2) if not all(_blank(v) for v in row)]
    if not rows:
        raise file_error(_("The sheet has only headers: there are no rows to import."))
    if len(rows) > settings.REGISTRY_EXCEL_MAX_ROWS:
        raise file_error(
            _("The sheet has %(n)d rows; at most %(limit)d can be imported at once: split it into several files.")
            % {"n": len(rows), "limit": settings.REGISTRY_EXCEL_MAX_ROWS}
        )
    return SheetData(sheet=sheet, index=index, rows=rows)


def _match_headers(header: list, sheet: Sheet, values: list) -> dict[str, int]:
    known = {}
    for column in sheet.columns:
        for name in (column.header, *column.aliases):
            known[normalise_header(name)] = column
    index, unknown, repeated, nameless = {}, [], [], []
    for position, cell in enumerate(header):
        name = normalise_header(cell)
        if not name:
            if any(position < len(row) and not _blank(row[position]) for row in values[1:]):
                nameless.append(column_letter(position))
            continue
        column = known.get(name)
        if column is None:
            unknown.append(f"{column_letter(position)}「{str(cell).strip()}」")
        elif column.key in index:
            repeated.append(column.header)
        elif column.imported:
            index[column.key] = position
    missing = [c.header for c in sheet.import_columns if c.required and c.key not in index]
    problems = []
    if missing:
        problems.append(_("Missing columns: %(names)s.") % {"names": "、".join(missing)})
    if unknown:
        problems.append(
            _("Unknown columns: %(names)s. Use the headers of the template.") % {"names": "、".join(unknown)}
        )
    if repeated:
        problems.append(_("Columns given twice: %(names)s.") % {"names": "、".join(repeated)})
    if nameless:
        problems.append(_("Columns %(letters)s hold values but have no header.") % {"letters": "、".join(nameless)})
    if problems:
        raise file_error(problems)
    return index
