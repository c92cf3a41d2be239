"""Keyset pagination of the API: a page is 'the next `limit` rows after the last one seen', in a total order.

Unlike OFFSET, the cost of a page does not grow with its position, and rows inserted
meanwhile do not shift later pages. The cursor is the sort key of the last row, signed
so that clients treat it as opaque and cannot inject values into the query. The pages themselves are cut by
`fengchao.core.keyset`, shared with the HTML lists; the API is strict about cursors (a bad one is a 422).
"""

from collections.abc import Callable, Sequence

from django.db.models import QuerySet

from fengchao.core.keyset import decode_cursor, encode_cursor
from fengchao.core.keyset import keyset_page as _keyset_page

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "decode_cursor", "encode_cursor", "keyset_page"]


def keyset_page(
    qs: QuerySet, fields: Sequence[str], cursor: str | None, limit: int, key: Callable[[object], Sequence]
) -> tuple[list, str | None]:
    """One page of `qs` ordered by `fields` (the last one unique; all ascending, or all descending with '-');
    `key(row)` gives a row's values of `fields`."""
    return _keyset_page(qs, fields, key, cursor, limit, strict=True)
