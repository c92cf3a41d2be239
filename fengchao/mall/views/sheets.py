"""The monthly statement and the reconciliation report as .xlsx (xlsxwriter, in memory: both are small).

Neither holds personal data: orders appear by code and item, never by member.
"""

import io

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}


class _Book:
    def __init__(self):
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(
            self.buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
        )
        self.header = self.book.add_format(HEADER)
        self.bold = self.book.add_format({"bold": True})
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})

    def sheet(self, title: str, columns: list[tuple[str, int]], *, top: list[list] = ()):
        ws = self.book.add_worksheet(title[:31])
        row = 0
        for line in top:
            for position, value in enumerate(line):
                self.put(ws, row, position, value, self.bold if position == 0 else None)
            row += 1
        if top:
            row += 1
        for position, (label, width) in enumerate(columns):
            ws.set_column(position, position, width)
            ws.write_string(row, position, label, self.header)
        ws.freeze_panes(row + 1, 0)
        return ws, row + 1

    def put(self, ws, row: int, col: int, value, cell_format=None):
        if value is None or value == "":
            return
        if isinstance(value, str):
            ws.write_string(row, col, value, cell_format)
        elif hasattr(value, "tzinfo"):
            ws.write_datetime(row, col, timezone.localtime(value).replace(tzinfo=None), self.when)
        else:
            ws.write_number(row, col, value, cell_format)

    def rows(self, ws, first: int, rows) -> int:
        row = first
        for values in rows:
            for col, value in enumerate(values):
                self.put(ws, row, col, value)
            row += 1
        return row

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def statement_workbook(s: dict) -> tuple[bytes, str]:
    """Sheet 1: points by kind (spent, refunded, net) and by item; sheet 2: every order verified in the month."""
    book = _Book()
    merchant = s["merchant"]
    month = f"{s['year']:04d}-{s['month']:02d}"
    top = [
        [_("Monthly statement"), merchant.name],
        [_("Month"), month],
        [_("Orders verified"), s["count"]],
        [_("Points spent"), s["spent"]],
        [_("Points refunded"), s["refunded"]],
        [_("Net points"), s["net"]],
    ]
    ws, row = book.sheet(
        _("Summary"),
        [(_("Kind of points"), 20), (_("Spent"), 12), (_("Refunded"), 12), (_("Net"), 12)],
        top=top,
    )
    row = book.rows(ws, row, ([str(k["label"]), k["spent"], k["refunded"], k["net"]] for k in s["by_kind"]))
    row += 1
    for position, label in enumerate([_("Item"), _("Orders"), _("Quantity"), _("Points")]):
        ws.write_string(row, position, label, book.header)
    book.rows(ws, row + 1, ([r["item__name"], r["orders"], r["quantity"], r["points"]] for r in s["by_item"]))
    ws, row = book.sheet(
        _("Orders"),
        [
            (_("Code"), 12),
            (_("Item"), 24),
            (_("Quantity"), 10),
            (_("Points"), 10),
            (_("Task points"), 12),
            (_("Participation points"), 14),
            (_("Ordered"), 17),
            (_("Verified"), 17),
            (_("State"), 12),
        ],
    )
    book.rows(
        ws,
        row,
        (
            [
                o.code,
                o.item.name,
                o.quantity,
                o.points,
                int(o.paid.get("task") or 0),
                int(o.paid.get("participation") or 0),
                o.created_at,
                o.verified_at,
                str(o.get_state_display()),
            ]
            for o in s["orders"].iterator(chunk_size=2000)
        ),
    )
    return book.close(), f"statement_{merchant.pk}_{month}.xlsx"


def reconciliation_workbook(report: dict) -> tuple[bytes, str]:
    book = _Book()
    area = report["area"]
    period = f"{report['year']:04d}-{report['month']:02d}" if report["month"] else _("All time")
    top = [[_("Reconciliation"), area.name], [_("Orders placed"), period]]
    columns = [
        (_("Merchant"), 20),
        (_("Item"), 22),
        (_("Offered in"), 14),
        (_("Price"), 8),
        (_("Stock"), 8),
        (_("Waiting"), 9),
        (_("Verified"), 9),
        (_("Expired"), 9),
        (_("Cancelled"), 10),
        (_("Refunded"), 10),
        (_("Points frozen"), 12),
        (_("Points spent"), 12),
        (_("Points refunded"), 12),
    ]
    ws, row = book.sheet(_("Reconciliation"), columns, top=top)
    row = book.rows(
        ws,
        row,
        (
            [
                r.merchant.name,
                r.name,
                r.area.name,
                r.price,
                r.stock,
                r.n_frozen,
                r.n_verified,
                r.n_expired,
                r.n_cancelled,
                r.n_refunded,
                r.points_frozen,
                r.points_spent,
                r.points_refunded,
            ]
            for r in report["rows"]
        ),
    )
    t = report["totals"]
    names = ("stock", "n_frozen", "n_verified", "n_expired", "n_cancelled", "n_refunded")
    totals = [_("Total"), "", "", "", *(t[n] for n in names), t["points_frozen"], t["points_spent"]]
    totals.append(t["points_refunded"])
    for col, value in enumerate(totals):
        book.put(ws, row, col, value, book.bold)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return book.close(), f"reconciliation_{area.code}_{stamp}.xlsx"
