"""The volunteer service record (志愿服务记录证明) of one person: their activities, hours and points.

An activity is a granted claim counted in hours or earning participation points (`views.reads.RECORD_Q`).
The record is printed from its page or downloaded as .xlsx; it holds personal data, so each download
(and each look at another person's record) is written to the audit log.
"""

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.audit.services import record

from .choices import Action, PointsKind
from .views import reads

MAX_ROWS = 2000
EXPORT_ACTION = "points.record_exported"
VIEW_ACTION = "points.record_viewed"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Record:
    person: object
    date_from: dt.date | None
    date_to: dt.date | None
    rows: list = field(default_factory=list)
    truncated: bool = False
    roles: list = field(default_factory=list)
    issuer: object = None
    hours: Decimal = Decimal(0)
    points: dict = field(default_factory=dict)  # kind -> points
    issued_on: dt.date | None = None

    @property
    def activities(self) -> int:
        return len(self.rows)

    @property
    def hours_text(self) -> str:
        return hours_text(self.hours)

    @property
    def points_total(self) -> int:
        return sum(self.points.values())

    def points_rows(self) -> list[tuple[str, int]]:
        return [(label, self.points.get(kind, 0)) for kind, label in PointsKind.choices]

    def period_label(self) -> str:
        if self.date_from and self.date_to:
            return _("%(start)s to %(end)s") % {"start": self.date_from.isoformat(), "end": self.date_to.isoformat()}
        if self.date_from:
            return _("since %(start)s") % {"start": self.date_from.isoformat()}
        if self.date_to:
            return _("until %(end)s") % {"end": self.date_to.isoformat()}
        return _("all time")


def build(person, date_from=None, date_to=None) -> Record:
    """The person's record for the period (days included), in two queries."""
    claims, truncated = reads.record_claims(person.pk, date_from, date_to, MAX_ROWS)
    roles = reads.serving_roles(person)
    result = Record(person=person, date_from=date_from, date_to=date_to, truncated=truncated, roles=roles)
    result.issuer = reads.issuing_area(roles)
    result.issued_on = timezone.localdate()
    result.points = {kind: 0 for kind in PointsKind.values}
    for claim in claims:
        result.rows.append(
            {
                "claim": claim,
                "date": timezone.localtime(claim.earned_at).date(),
                "activity": activity_label(claim.action),
                "source": claim.source_label,
                "area": claim.area.name,
                "hours": claim.hours,
                "hours_text": hours_text(claim.hours),
                "points": claim.points,
                "kind": PointsKind(claim.kind).label if claim.kind in PointsKind.values else claim.kind,
            }
        )
        result.hours += claim.hours or 0
        result.points[claim.kind] = result.points.get(claim.kind, 0) + claim.points
    return result


def activity_label(action: str) -> str:
    return str(Action(action).label) if action in Action.values else action


def roles_line(result: Record) -> str:
    return "; ".join(f"{r.area.name} · {reads.role_label(r.role)}" for r in result.roles)


def hours_text(value) -> str:
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}" if value else "0"


def note_view(result: Record, *, by) -> None:
    """Someone other than the person looked at their record: logged like any look at personal data."""
    if by.pk == result.person.pk:
        return
    _log(VIEW_ACTION, result, by=by)


def export(result: Record, *, by) -> tuple[bytes, str]:
    """The record as .xlsx, and its file name; the download is written to the audit log."""
    data = workbook(result)
    _log(EXPORT_ACTION, result, by=by, format="xlsx")
    name = result.person.display_name or result.person.username
    filename = _("volunteer-record-%(name)s-%(date)s.xlsx") % {"name": name, "date": result.issued_on.isoformat()}
    return data, filename


def _log(action: str, result: Record, *, by, **extra) -> None:
    """An audit event about the person's record: whose, for which period, how many activities."""
    with transaction.atomic():
        record(
            action,
            result.person,
            actor=by,
            area=result.issuer,
            user=result.person.pk,
            rows=result.activities,
            date_from=result.date_from and result.date_from.isoformat(),
            date_to=result.date_to and result.date_to.isoformat(),
            **extra,
        )


def workbook(result: Record) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet(_("Volunteer service record")[:31])
    title = book.add_format({"bold": True, "font_size": 16})
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    date = book.add_format({"num_format": "yyyy-mm-dd", "border": 1})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    number = book.add_format({"border": 1, "num_format": "0.##"})
    whole = book.add_format({"border": 1, "num_format": "0"})
    total = book.add_format({"bold": True, "border": 1, "num_format": "0.##"})
    columns = [
        (_("No."), 6),
        (_("Date"), 12),
        (_("Activity"), 28),
        (_("Source"), 36),
        (_("Area"), 18),
        (_("Hours"), 8),
        (_("Points"), 8),
        (_("Kind of points"), 16),
    ]
    for position, (_label, width) in enumerate(columns):
        sheet.set_column(position, position, width)
    person = result.person
    sheet.write_string(0, 0, _("Volunteer service record"), title)
    facts = [
        (_("Full name"), person.display_name or person.username),
        (_("Serves as"), roles_line(result)),
        (_("Period"), result.period_label()),
        (_("Issued by"), result.issuer.name if result.issuer else ""),
        (_("Issued on"), result.issued_on.isoformat()),
    ]
    row = 2
    for label, value in facts:
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 2, str(value))
        row += 1
    row += 1
    for position, (label, _width) in enumerate(columns):
        sheet.write_string(row, position, label, header)
    sheet.freeze_panes(row + 1, 0)
    for n, line in enumerate(result.rows, start=1):
        row += 1
        sheet.write_number(row, 0, n, whole)
        sheet.write_datetime(row, 1, dt.datetime.combine(line["date"], dt.time.min), date)
        sheet.write_string(row, 2, str(line["activity"]), cell)
        sheet.write_string(row, 3, line["source"], cell)
        sheet.write_string(row, 4, line["area"], cell)
        if line["hours"] is not None:
            sheet.write_number(row, 5, float(line["hours"]), number)
        else:
            sheet.write_blank(row, 5, None, cell)
        sheet.write_number(row, 6, line["points"], whole)
        sheet.write_string(row, 7, str(line["kind"]), cell)
    row += 1
    sheet.write_string(row, 2, _("Total"), total)
    sheet.write_number(row, 5, float(result.hours), total)
    sheet.write_number(row, 6, result.points_total, total)
    for label, points in result.points_rows():
        row += 1
        sheet.write_string(row, 2, str(label), bold)
        sheet.write_number(row, 6, points, whole)
    if result.truncated:
        row += 2
        sheet.write_string(row, 0, _("Only the first %(n)d activities are listed.") % {"n": MAX_ROWS}, bold)
    book.close()
    return out.getvalue()
