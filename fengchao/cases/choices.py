"""The vocabularies of the closed loop: states, channels, tiers, stages and ratings."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseState(models.TextChoices):
    REPORTED = "reported", pgettext_lazy("case state", "Reported")
    ACCEPTED = "accepted", pgettext_lazy("case state", "Accepted")
    REJECTED = "rejected", pgettext_lazy("case state", "Rejected")
    REGISTERED = "registered", pgettext_lazy("case state", "Registered")
    DISPATCHED = "dispatched", pgettext_lazy("case state", "Dispatched")
    TAKEN = "taken", pgettext_lazy("case state", "Being handled")
    HOLD_REQUESTED = "hold_requested", pgettext_lazy("case state", "On-hold requested")
    ON_HOLD = "on_hold", pgettext_lazy("case state", "On hold")
    RESOLVED = "resolved", pgettext_lazy("case state", "Resolved")
    VERIFIED = "verified", pgettext_lazy("case state", "Verified")
    CLOSED = "closed", pgettext_lazy("case state", "Closed")
    RATED = "rated", pgettext_lazy("case state", "Rated")
    MERGED = "merged", pgettext_lazy("case state", "Merged")
    CANCELLED = "cancelled", pgettext_lazy("case state", "Cancelled")


# States in which a case no longer waits on anyone.
FINAL_STATES = frozenset({CaseState.REJECTED, CaseState.CLOSED, CaseState.RATED, CaseState.MERGED, CaseState.CANCELLED})
# States in which nobody has been sent to handle it yet: the dispatcher's queue.
TO_DISPATCH_STATES = frozenset({CaseState.REPORTED, CaseState.ACCEPTED, CaseState.REGISTERED})


class Channel(models.TextChoices):
    RESIDENT_QR = "resident_qr", _("Resident, by QR code")
    RESIDENT_MAP = "resident_map", _("Resident, from the map")
    MEMBER = "member", _("Grid member on patrol")
    HOTLINE = "hotline", _("Hotline call")
    WALK_IN = "walk_in", _("Walk-in")
    HOTLINE_12345 = "hotline_12345", _("12345 work order")
    API = "api", _("API")


RESIDENT_CHANNELS = frozenset({Channel.RESIDENT_QR, Channel.RESIDENT_MAP})
STAFF_CHANNELS = frozenset({Channel.HOTLINE, Channel.WALK_IN, Channel.HOTLINE_12345})


class Tier(models.TextChoices):
    """Who owns a case: the lowest tier that can handle it (小事不出小区，大事不出社区，难事街道联调)."""

    GRID = "grid", _("Grid")
    COMMUNITY = "community", _("Community")
    STREET = "street", _("Street")
    DEPARTMENT = "department", _("Department")


TIER_ORDER = [Tier.GRID, Tier.COMMUNITY, Tier.STREET, Tier.DEPARTMENT]


class HandlingMode(models.TextChoices):
    """三办."""

    IMMEDIATE = "immediate", _("Immediate (马上办)")
    COORDINATED = "coordinated", _("Coordinated (协调办)")
    TRACKED = "tracked", _("Tracked (跟踪办)")


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("Component (部件)")
    EVENT = "event", _("Event (事件)")
    SOCIAL = "social", _("Social governance")


class Stage(models.TextChoices):
    """A stretch of the loop with its own time limit; each ends at the transition named in STAGE_ENDS."""

    ACCEPT = "accept", _("Accept")
    DISPATCH = "dispatch", _("Dispatch")
    TAKE = "take", _("Respond")
    HANDLE = "handle", _("Handle")
    VERIFY = "verify", _("Verify")


class LimitUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")
    NATURAL_DAYS = "natural_days", _("natural days")


class WhistleLevel(models.TextChoices):
    DAILY = "daily", _("Daily")
    TOUGH = "tough", _("Tough")
    EMERGENCY = "emergency", _("Emergency")


class SupervisionLevel(models.IntegerChoices):
    NONE = 0, _("None")
    NORMAL = 1, _("Supervised")
    YELLOW = 2, _("Yellow card")
    RED = 3, _("Red card")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class AttachmentKind(models.TextChoices):
    BEFORE = "before", _("Before")
    AFTER = "after", _("After")
    VERIFY = "verify", _("Verification")
    OTHER = "other", _("Other")
