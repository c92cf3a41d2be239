"""Kinds of trainings, meetings and activities, who may join them, and the states of a sign-up."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fengchao.points.choices import Action


class ActivityKind(models.TextChoices):
    TRAINING = "training", _("Training for micro-grid members")
    GRID_MEETING = "grid_meeting", _("Weekly grid work meeting")
    STANDUP = "standup", _("Weekly micro-grid members' stand-up")
    PARTY_JOINT = "party_joint", _("Grid party joint meeting")
    BIG_PARTY = "big_party", _("Big party committee joint meeting")
    PARTY_THEME = "party_theme", _("Party-group theme activity")
    NEIGHBOURHOOD = "neighbourhood", _("Neighbourhood event")
    COURTYARD = "courtyard", _("Courtyard meeting")
    VOLUNTEERING = "volunteering", _("Volunteering")


# What attending earns (points.rules price each action where the activity is held).
ACTION_OF_KIND = {
    ActivityKind.TRAINING: Action.TRAINING_ATTENDED,
    ActivityKind.GRID_MEETING: Action.MEETING_ATTENDED,
    ActivityKind.STANDUP: Action.MEETING_ATTENDED,
    ActivityKind.PARTY_JOINT: Action.MEETING_ATTENDED,
    ActivityKind.BIG_PARTY: Action.MEETING_ATTENDED,
    ActivityKind.COURTYARD: Action.MEETING_ATTENDED,
    ActivityKind.PARTY_THEME: Action.PARTY_ACTIVITY,
    ActivityKind.NEIGHBOURHOOD: Action.VOLUNTEER_HOURS,
    ActivityKind.VOLUNTEERING: Action.VOLUNTEER_HOURS,
}
# Kinds that count hours: points come at check-out, for the hours between check-in and check-out.
HOURS_KINDS = frozenset({ActivityKind.NEIGHBOURHOOD, ActivityKind.VOLUNTEERING})


class Audience(models.TextChoices):
    SERVING = "serving", _("People serving in the area (members, leaders, staff)")
    PARTY = "party", _("Party members serving in the area")
    EVERYONE = "everyone", _("Everyone with an account in the area (residents too)")


class ActivityState(models.TextChoices):
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


class SignupState(models.TextChoices):
    CONFIRMED = "confirmed", _("Signed up")
    WAITLISTED = "waitlisted", _("On the waiting list")
    CANCELLED = "cancelled", _("Cancelled")


class CheckMethod(models.TextChoices):
    QR = "qr", _("Scanned the QR code")
    ORGANISER = "organiser", _("Marked by the organiser")
