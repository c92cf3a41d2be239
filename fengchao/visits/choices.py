"""How a visit was made, the limits of its texts, and the seeded visit intervals of the care plans."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class How(models.TextChoices):
    IN_PERSON = "in_person", _("In person (上门)")
    PHONE = "phone", _("By phone (电话)")


FINDINGS_MAX = 2000
NEEDS_MAX = 1000
MIN_EVERY_DAYS = 1
MAX_EVERY_DAYS = 366
DUE_SOON_DAYS = 3  # "due soon": due within this many days from today
BACKDATE_DAYS = 7  # a visit may be recorded up to this many days after it happened
SERVICE_PREFIX = "G03"  # 民生服务: a need filed under these categories is a service request, not a case

# The defaults a district starts from (care tag code → visit every n days); changed on the plans page.
DEFAULT_PLANS = {
    "elderly_alone": 7,
    "advanced_age": 14,
    "empty_nest": 14,
    "extreme_hardship": 14,
    "disabled": 30,
    "left_behind_child": 30,
    "subsistence": 30,
    "serious_illness": 30,
    "mental_disorder": 30,
    "special_care": 90,
}
