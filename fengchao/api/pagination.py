"""Keyset pagination: a page is 'the next `limit` rows after the last one seen', in a total order.

Unlike OFFSET, the cost of a page does not grow with its position, and rows inserted
meanwhile do not shift later pages. The cursor is the sort key of the last row, signed
so that clients treat it as opaque and cannot inject values into the query.
"""

from collections.abc import Callable, Sequence

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_SALT = "fengchao.api.cursor"


def encode_cursor(values: Sequence) -> str:
    return signing.dumps(list(values), salt=_SALT, compress=True)


def decode_cursor(cursor: str, width: int) -> list:
    try:
        values = signing.loads(cursor, salt=_SALT)
    except signing.BadSignature:
        values = None
    if not isinstance(values, list) or len(values) != width:
        raise ValidationError(_("The cursor is not valid: start again from the first page."))
    return values


def after_q(fields: Sequence[str], values: Sequence) -> Q:
    """Rows strictly after `values` in the order of `fields` (all ascending): a row-value comparison."""
    condition = Q(pk__in=[])
    for i, field in enumerate(fields):
        step = Q(**{f"{field}__gt": values[i]})
        for earlier, value in zip(fields[:i], values[:i], strict=True):
            step &= Q(**{earlier: value})
        condition |= step
    return condition


def keyset_page(
    qs: QuerySet, fields: Sequence[str], cursor: str | None, limit: int, key: Callable[[object], Sequence]
) -> tuple[list, str | None]:
    """One page of `qs` ordered by `fields` (the last one unique); `key(row)` gives a row's values of `fields`."""
    qs = qs.order_by(*fields)
    if cursor:
        qs = qs.filter(after_q(fields, decode_cursor(cursor, len(fields))))
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(key(rows[-1]))
