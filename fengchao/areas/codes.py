"""Area codes (see docs/area-codes.md).

district   6 digits  GB/T 2260 county-level code            510108
street     +3        street / town sequence                 510108 003
community  +3        community / village sequence           510108 003 012
grid       +3        001-899 general grids, 900-999 dedicated grids   ... 012 007
micro-grid +3        sequence inside the grid               ... 012 007 004

A grid code is therefore the 15-digit unit-grid code of the digital city-management
standards; the older 14-digit form (2-digit grid sequence) is accepted on import and
normalised by a leading zero on the sequence.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .levels import AreaKind

SEGMENT_WIDTH = {
    AreaKind.DISTRICT: 6,
    AreaKind.STREET: 3,
    AreaKind.COMMUNITY: 3,
    AreaKind.GRID: 3,
    AreaKind.DEDICATED: 3,
    AreaKind.MICROGRID: 3,
}
DEDICATED_SEQUENCE_START = 900
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def clean_digits(value: str) -> str:
    return re.sub(r"[\s\-]", "", str(value).translate(FULL_WIDTH_DIGITS))


def validate_local_code(kind: str, local_code: str) -> str:
    """Return the zero-padded segment for this level, or raise ValidationError naming the problem."""
    value = clean_digits(local_code)
    width = SEGMENT_WIDTH[AreaKind(kind)]
    if not value.isdigit():
        raise ValidationError(_("The code “%(code)s” must contain digits only.") % {"code": local_code})
    if kind == AreaKind.DISTRICT:
        if len(value) != 6:
            raise ValidationError(
                _("A district code is the 6-digit GB/T 2260 code, not “%(code)s”.") % {"code": local_code}
            )
        return value
    if len(value) > width or int(value) == 0:
        raise ValidationError(
            _("The code “%(code)s” must be a number from 1 to %(max)s.") % {"code": local_code, "max": "9" * width}
        )
    number = int(value)
    if kind == AreaKind.GRID and number >= DEDICATED_SEQUENCE_START:
        raise ValidationError(_("General grid numbers run from 001 to 899; 900-999 are for dedicated grids."))
    if kind == AreaKind.DEDICATED and number < DEDICATED_SEQUENCE_START:
        raise ValidationError(_("Dedicated grid numbers run from 900 to 999."))
    return value.zfill(width)


def compose(parent_code: str | None, kind: str, local_code: str) -> str:
    segment = validate_local_code(kind, local_code)
    return segment if kind == AreaKind.DISTRICT else f"{parent_code}{segment}"


def split_unit_grid_code(code: str) -> tuple[str, str, str, str]:
    """Split a 14- or 15-digit unit-grid code into district, street, community and grid segments."""
    value = clean_digits(code)
    if not value.isdigit() or len(value) not in (14, 15):
        raise ValidationError(_("“%(code)s” is not a unit-grid code: it needs 14 or 15 digits.") % {"code": code})
    grid = value[12:].zfill(3)
    return value[:6], value[6:9], value[9:12], grid


def normalise_imported_code(code: str) -> str:
    """Accept 6/9/12/15/18-digit area codes and 14-digit legacy unit-grid codes; return the canonical form."""
    value = clean_digits(code)
    if not value.isdigit():
        raise ValidationError(_("The code “%(code)s” must contain digits only.") % {"code": code})
    if len(value) == 14:
        return "".join(split_unit_grid_code(value))
    if len(value) == 17:  # a micro-grid under a legacy 14-digit grid code
        return "".join(split_unit_grid_code(value[:14])) + value[14:]
    if len(value) not in (6, 9, 12, 15, 18):
        raise ValidationError(
            _("The code “%(code)s” has %(n)s digits; area codes have 6, 9, 12, 14, 15 or 18.")
            % {"code": code, "n": len(value)}
        )
    return value
