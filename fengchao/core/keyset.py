"""Keyset pages of the HTML lists (and of the points API): the rows after the cursor's, in the list's order.

The cursor is the sort key of the last row shown, signed so that clients treat it as opaque. One that does not
decode, or whose values do not fit the list's fields (a cursor of another list), starts again from the first
page; with `strict` (the API) it is refused instead.
"""

from collections.abc import Sequence

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

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


def keyset_page(qs, fields, key, cursor, size, *, strict=False):
    """One page ordered by `fields` (all ascending, or all descending with '-'), and the next cursor;
    `key(row)` gives a row's values of `fields`."""
    descending = fields[0].startswith("-")
    names = [f.lstrip("-") for f in fields]
    qs = qs.order_by(*fields)
    if cursor:
        try:
            # A cursor signed for another list decodes, and its values then fail to fit these fields.
            qs = qs.filter(_after(names, decode_cursor(cursor, len(names)), "lt" if descending else "gt"))
        except (ValidationError, ValueError, TypeError):
            if strict:
                raise ValidationError(_("The cursor is not valid: start again from the first page.")) from None
    rows = list(qs[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode_cursor(key(rows[-1]))


def _after(names, values, op):
    """Rows after `values` in the order of `names` (`op` 'gt' ascending, 'lt' descending)."""
    condition = Q(pk__in=[])
    for i, name in enumerate(names):
        step = Q(**{f"{name}__{op}": values[i]})
        for earlier, value in zip(names[:i], values[:i], strict=True):
            step &= Q(**{earlier: value})
        condition |= step
    return condition
