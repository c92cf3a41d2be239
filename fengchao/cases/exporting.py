"""Case lists and area figures as .xlsx, written row by row in constant memory.

`export_cases` takes a queryset already scoped and filtered (`filters.filter_cases`), so an export holds
exactly what the list shows; contact phones are always masked, and every export is recorded in the
audit log with its filter and row count. Sheet and column names follow the active language.
"""

import os
import tempfile
from collections.abc import Callable, Mapping

import xlsxwriter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from fengchao.areas.models import Area
from fengchao.audit.services import record_system
from fengchao.core import privacy

from .choices import CaseState, Channel, SupervisionLevel, Tier
from .choices import Rating as RatingChoice
from .kpis import STAGES

EXPORT_ACTION = "cases.export"
FIGURES_EXPORT_ACTION = "cases.export_figures"
CHUNK = 2000
HEADER = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}


def max_rows() -> int:
    return int(getattr(settings, "CASES_EXPORT_MAX_ROWS", 200_000))


class _Sheet:
    """One worksheet written row by row (xlsxwriter's constant-memory mode) to a temporary file."""

    def __init__(self, title: str, columns: list[tuple[str, int]]):
        handle, self.path = tempfile.mkstemp(suffix=".xlsx", prefix="fengchao-cases-")
        os.close(handle)
        self.book = xlsxwriter.Workbook(
            self.path, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
        )
        self.ws = self.book.add_worksheet(title[:31])
        header = self.book.add_format(HEADER)
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        self.hours = self.book.add_format({"num_format": "0.0"})
        for position, (label, width) in enumerate(columns):
            self.ws.set_column(position, position, width)
            self.ws.write_string(0, position, label, header)
        self.ws.freeze_panes(1, 0)
        self.row = 0

    def write(self, values: list, formats: dict[int, object] | None = None) -> None:
        self.row += 1
        for position, value in enumerate(values):
            if value is None or value == "":
                continue
            cell_format = (formats or {}).get(position)
            if isinstance(value, str):
                self.ws.write_string(self.row, position, value)
            elif hasattr(value, "tzinfo"):
                self.ws.write_datetime(self.row, position, timezone.localtime(value).replace(tzinfo=None), self.when)
            else:
                self.ws.write_number(self.row, position, value, cell_format)

    def close(self) -> bytes:
        try:
            self.book.close()
            with open(self.path, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(self.path)


def _file_name(what: str) -> str:
    return f"{what}_{timezone.localtime():%Y%m%d-%H%M}.xlsx"


# --- the case list --------------------------------------------------------------------------------------


CASE_FIELDS = (
    "pk", "reported_at", "channel", "category__code", "category__name", "street_pk", "community_pk", "grid_pk",
    "area__name", "address", "state", "tier", "department__name", "stage_deadline", "due_at", "is_overdue",
    "supervision", "rating", "phone_cipher", "phone_hash",
)  # fmt: skip


def export_cases(queryset, user, *, filters: Mapping | None = None) -> tuple[bytes, str]:
    """The cases of a scoped, filtered list as .xlsx bytes and a file name; refused beyond CASES_EXPORT_MAX_ROWS.

    Pass the list's filters (its GET parameters) to have them in the audit event; without them the
    event keeps the query's conditions.
    """
    limit = max_rows()
    total = queryset.count()
    if total > limit:
        raise ValidationError(
            {
                "export": _(
                    "This list holds %(count)s cases; an export holds at most %(limit)s. "
                    "Narrow it by dates, area or category and export again."
                )
                % {
                    "count": number_format(total, force_grouping=True),
                    "limit": number_format(limit, force_grouping=True),
                }
            }
        )
    sheet = _Sheet(
        _("Cases"),
        [
            (_("Case number"), 18),
            (_("Reported"), 17),
            (_("Channel"), 14),
            (_("Category code"), 10),
            (_("Category"), 16),
            (_("Street"), 12),
            (_("Community"), 12),
            (_("Grid"), 16),
            (_("Area"), 18),
            (_("Address"), 30),
            (_("State"), 10),
            (_("Tier"), 8),
            (_("Department"), 14),
            (_("Stage deadline"), 17),
            (_("Due"), 17),
            (_("Overdue"), 8),
            (_("Supervision"), 10),
            (_("Rating"), 10),
            (_("Contact phone (masked)"), 15),
        ],
    )
    labels = {
        "channel": dict(Channel.choices),
        "state": dict(CaseState.choices),
        "tier": dict(Tier.choices),
        "supervision": dict(SupervisionLevel.choices),
        "rating": dict(RatingChoice.choices),
    }
    names = _AreaNames()
    masked = _MaskedPhones()
    yes, no = _("yes"), _("no")
    rows = 0
    try:
        for chunk in _chunks(queryset.order_by("pk").values_list(*CASE_FIELDS)):
            names.load({pk for row in chunk for pk in row[5:8] if pk})
            for (
                pk, reported, channel, code, category, street, community, grid, area, address, state, tier,
                department, deadline, due, overdue, supervision, rating, cipher, phone_hash,
            ) in chunk:  # fmt: skip
                sheet.write(
                    [
                        f"{timezone.localtime(reported):%Y%m%d}{pk:08d}",
                        reported,
                        str(labels["channel"].get(channel, channel)),
                        code,
                        category,
                        names.get(street),
                        names.get(community),
                        names.get(grid),
                        area,
                        address,
                        str(labels["state"].get(state, state)),
                        str(labels["tier"].get(tier, tier)),
                        department or "",
                        deadline,
                        due,
                        yes if overdue else no,
                        str(labels["supervision"].get(supervision, "")) if supervision else "",
                        str(labels["rating"].get(rating, "")) if rating else "",
                        masked.get(cipher, phone_hash),
                    ]
                )
                rows += 1
    except BaseException:
        sheet.close()
        raise
    content = sheet.close()
    with transaction.atomic():
        record_system(
            EXPORT_ACTION,
            actor=user,
            rows=rows,
            filters=dict(filters) if filters is not None else None,
            query=None if filters is not None else _conditions(queryset),
        )
    return content, _file_name(_("cases"))


def _grouped(number: int) -> str:
    return number_format(number, force_grouping=True)


def _chunks(rows, size: int = CHUNK):
    chunk = []
    for row in rows.iterator(chunk_size=size):
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _conditions(queryset) -> str:
    """The WHERE clause of the exported query, for the audit log when the caller gave no filters."""
    sql, params = queryset.query.sql_with_params()
    where = sql.split(" WHERE ", 1)[1] if " WHERE " in sql else ""
    return f"{where} {list(params)}"[:2000]


class _AreaNames:
    """Names of the lineage areas of the exported cases, fetched a chunk at a time."""

    def __init__(self):
        self.names: dict[int, str] = {}

    def load(self, pks: set[int]) -> None:
        missing = [pk for pk in pks if pk not in self.names]
        if missing:
            self.names.update(Area.objects.filter(pk__in=missing).values_list("pk", "name"))

    def get(self, pk) -> str:
        return self.names.get(pk, "") if pk else ""


class _MaskedPhones:
    """Contact phones shown masked (139****1234), decrypted once per number (callers repeat)."""

    def __init__(self):
        self.seen: dict[str, str] = {}

    def get(self, cipher: str, phone_hash: str) -> str:
        if not cipher:
            return ""
        masked = self.seen.get(phone_hash)
        if masked is None:
            masked = self.seen[phone_hash] = privacy.mask_phone(privacy.decrypt(cipher))
        return masked


# --- the figures ------------------------------------------------------------------------------------------


def figure_columns() -> list[tuple[str, int, Callable[[dict], object], str]]:
    """(heading, width, value from a figures dict, format) of each column of the figures table."""

    def rate(name):
        return lambda f: f["rates"][name]

    def hours(stage):
        return lambda f: f["stage_hours"][stage]

    stage_names = {
        "accept": _("Accept"),
        "dispatch": _("Dispatch"),
        "take": _("Respond"),
        "handle": _("Handle"),
        "verify": _("Verify"),
    }
    return [
        (_("Cases"), 9, lambda f: f["cases"], ""),
        (_("Open"), 8, lambda f: f["open"], ""),
        (_("Response rate"), 10, rate("response"), "percent"),
        (_("Resolution rate"), 10, rate("resolution"), "percent"),
        (_("Satisfaction rate"), 10, rate("satisfaction"), "percent"),
        (_("On-time closing rate"), 10, rate("on_time_closing"), "percent"),
        (_("Rework rate"), 10, rate("rework"), "percent"),
        *(
            (_("%(stage)s, average hours") % {"stage": stage_names[stage]}, 10, hours(stage), "hours")
            for stage in STAGES
        ),
    ]


def export_kpis(
    area: Area, rows: list[tuple[Area, dict]], totals: dict, user, *, period: str = ""
) -> tuple[bytes, str]:
    """The figures table of an area's children (rows of (child, figures)) and the area's total, as .xlsx."""
    columns = figure_columns()
    sheet = _Sheet(_("Figures"), [(_("Area"), 20), (_("Code"), 14), *((c[0], c[1]) for c in columns)])
    formats = {k + 2: {"percent": sheet.percent, "hours": sheet.hours}.get(c[3]) for k, c in enumerate(columns)}
    try:
        for child, figures in rows:
            sheet.write([child.name, child.code, *(c[2](figures) for c in columns)], formats)
        sheet.write([_("%(area)s, total") % {"area": area.name}, area.code, *(c[2](totals) for c in columns)], formats)
    except BaseException:
        sheet.close()
        raise
    content = sheet.close()
    with transaction.atomic():
        record_system(FIGURES_EXPORT_ACTION, actor=user, area=area.pk, period=period, rows=len(rows))
    return content, _file_name(_("figures_%(area)s") % {"area": area.name})
