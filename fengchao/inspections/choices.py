"""States, outcomes, who inspects, and the limits of an inspection."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fengchao.patrols.choices import MICROGRID_ROLES, PATROL_ROLES, STAFF_ROLES

# People who inspect: those serving the target's grid (patrol roles; micro-grid roles open their whole grid).
INSPECT_ROLES = PATROL_ROLES
MICRO_ROLES = MICROGRID_ROLES
# People who read every inspection, coverage and the rectification tracker under their areas.
READ_ROLES = STAFF_ROLES

NOTE_MAX = 500
SEED_TEMPLATE = "fire_safety"


class State(models.TextChoices):
    PASSED = "passed", _("Passed")
    OPEN = "open", _("Open: awaiting rectification")
    RECTIFIED = "rectified", _("Rectified")


class Outcome(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NA = "na", _("Not applicable")


class Kind(models.TextChoices):
    BUILDING = "building", _("Building")
    PLACE = "place", _("Place")
