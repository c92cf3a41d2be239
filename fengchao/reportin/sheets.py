"""The report-in status of a community and month as .xlsx (xlsxwriter, in memory: one community is small)."""

import io

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from .queries import Status

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def status_xlsx(report: Status) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(_("Report-in"))
    sheet.write_row(0, 0, [f"{report.community.name} {report.month:%Y-%m}"], bold)
    sheet.write_row(1, 0, [_("Kind"), _("Name"), _("Reported"), _("Reported at"), _("Service taken on")], bold)
    row = 2
    for kind, rows in ((_("Party member"), report.people), (_("Stationed unit"), report.units)):
        for item in rows:
            at = timezone.localtime(item.reported_at).strftime("%Y-%m-%d %H:%M") if item.report else ""
            sheet.write_row(
                row,
                0,
                [
                    kind,
                    str(item.subject),
                    _("Yes") if item.report else _("No"),
                    at,
                    item.report.note if item.report else "",
                ],
            )
            row += 1
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 28)
    sheet.set_column(3, 4, 20)
    book.close()
    return buffer.getvalue()
