"""Writing sheets with xlsxwriter: the import templates (notes and dropdowns) and exports (constant memory)."""

import io
import os
import tempfile
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone

from .columns import SHEETS, Column, Sheet

TEMPLATE_ROWS = 5000  # rows the dropdowns and text formats cover in a template
OPTIONS_SHEET = "选项"
HEADER = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
REQUIRED = {**HEADER, "bg_color": "#FCE4D6", "font_color": "#C00000"}


def xlsx_response(content: bytes, name: str) -> HttpResponse:
    """A download; the name may be Chinese (RFC 6266 filename*)."""
    response = HttpResponse(content, content_type=content_type())
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


def content_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_name(prefix: str, entity: str) -> str:
    return f"{prefix}{SHEETS[entity].title}_{timezone.localtime():%Y%m%d-%H%M}.xlsx"


def _formats(book):
    return {
        "header": book.add_format(HEADER),
        "required": book.add_format(REQUIRED),
        "text": book.add_format({"num_format": "@"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
    }


def _column_format(column: Column, formats):
    if column.text:
        return formats["text"]
    if column.date:
        return formats["date"]
    return None


def build_template(entity: str) -> bytes:
    """The import template: Chinese headers (required ones marked *), notes as comments, dropdowns."""
    sheet: Sheet = SHEETS[entity]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    formats = _formats(book)
    ws = book.add_worksheet(sheet.title)
    options = book.add_worksheet(OPTIONS_SHEET)
    ws.activate()
    option_column = 0
    for position, column in enumerate(sheet.import_columns):
        ws.set_column(position, position, column.width, _column_format(column, formats))
        ws.write_string(0, position, column.title, formats["required" if column.required else "header"])
        note = str(column.note) if column.note else ""
        if note:
            ws.write_comment(0, position, note, {"x_scale": 2, "y_scale": 1.5, "author": "蜂巢"})
        if column.choices is not None:
            choices = column.choices()
            if not choices:
                continue
            for row, label in enumerate(choices):
                options.write_string(row, option_column, label)
            letter = xlsxwriter.utility.xl_col_to_name(option_column)
            validation = {
                "validate": "list",
                "source": f"='{OPTIONS_SHEET}'!${letter}$1:${letter}${len(choices)}",
                "input_title": column.header[:32],
            }
            if note:
                validation["input_message"] = note[:255]
            if not column.strict_dropdown:
                validation["show_error"] = False
            ws.data_validation(1, position, TEMPLATE_ROWS, position, validation)
            option_column += 1
    options.hide()
    ws.freeze_panes(1, 0)
    ws.set_row(0, 30)
    book.close()
    return buffer.getvalue()


class ExportWriter:
    """A sheet written row by row in constant memory, to a temporary file read back at the end."""

    def __init__(self, entity: str):
        self.sheet = SHEETS[entity]
        handle, self.path = tempfile.mkstemp(suffix=".xlsx", prefix="fengchao-export-")
        os.close(handle)
        self.book = xlsxwriter.Workbook(
            self.path, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
        )
        formats = _formats(self.book)
        self.ws = self.book.add_worksheet(self.sheet.title)
        for position, column in enumerate(self.sheet.columns):
            self.ws.set_column(position, position, column.width, _column_format(column, formats))
            self.ws.write_string(0, position, column.title, formats["required" if column.required else "header"])
        self.ws.freeze_panes(1, 0)
        self.row = 0
        self.date_format = formats["date"]

    def write(self, values: list) -> None:
        self.row += 1
        for position, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                self.ws.write_string(self.row, position, value)
            elif hasattr(value, "isoformat"):
                self.ws.write_datetime(self.row, position, value, self.date_format)
            else:
                self.ws.write_number(self.row, position, value)

    def close(self) -> bytes:
        try:
            self.book.close()
            with open(self.path, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(self.path)
