"""Chinese resident ID numbers (GB 11643-1999): validation, the legacy 15-digit upgrade, and what they encode.

Only structure and checksum are checked here: whether a number was ever issued is not knowable offline.
"""

import datetime
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from fengchao.core.privacy import FULL_WIDTH

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
FULL_WIDTH_X = str.maketrans({"ｘ": "X", "Ｘ": "X", "x": "X"})


class InvalidIdNumber(ValueError):
    """The message says, in the user's language, what is wrong with the number."""


@dataclass(frozen=True)
class IdNumber:
    number: str  # always the 18-character form
    birth_date: datetime.date
    is_male: bool
    upgraded_from_15: bool = False

    @property
    def last4(self) -> str:
        return self.number[-4:]


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise(raw) -> str:
    """Full-width digits and letters folded, spaces dropped, a lower-case x made upper-case."""
    return re.sub(r"\s", "", str(raw).translate(FULL_WIDTH).translate(FULL_WIDTH_X))


def _birth_date(digits: str) -> datetime.date:
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidIdNumber(_("The ID number holds an impossible birth date.")) from None


def parse(raw, *, today: datetime.date | None = None) -> IdNumber:
    value = normalise(raw)
    upgraded = False
    if re.fullmatch(r"\d{15}", value):
        # Legacy numbers (before 1999) carry a 2-digit year of the 1900s and no check character.
        first17 = value[:6] + "19" + value[6:]
        value = first17 + check_char(first17)
        upgraded = True
    elif not re.fullmatch(r"\d{17}[\dX]", value):
        raise InvalidIdNumber(_("An ID number has 18 characters (digits, the last may be X) or 15 digits."))
    birth = _birth_date(value[6:14])
    if not upgraded and value[17] != check_char(value[:17]):
        raise InvalidIdNumber(_("The ID number's check character is wrong: a digit is mistyped."))
    today = today or datetime.date.today()
    if birth > today or birth.year < 1880:
        raise InvalidIdNumber(_("The ID number holds an impossible birth date."))
    return IdNumber(number=value, birth_date=birth, is_male=int(value[16]) % 2 == 1, upgraded_from_15=upgraded)


def mask(number: str) -> str:
    """Region prefix and last four kept: 5101**********1234."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def age_on(birth_date: datetime.date | None, day: datetime.date) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
