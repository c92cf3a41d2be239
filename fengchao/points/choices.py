"""The vocabularies of the points ledger: kinds of points, account purposes, transfers, rules and claims."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PointsKind(models.TextChoices):
    """双积分: two kinds of points, kept apart in every balance and weighted apart in evaluation."""

    TASK = "task", _("Task points")
    PARTICIPATION = "participation", _("Participation points")


class Purpose(models.TextChoices):
    """What an account holds. Every transfer moves points between two of them, so the ledger sums to zero."""

    AVAILABLE = "available", _("Available")  # a person's spendable points
    FROZEN = "frozen", _("Frozen")  # a person's points held by an order until it is verified or expires
    REDEEMED = "redeemed", _("Redeemed")  # a merchant's points taken for verified orders (settled monthly)
    ISSUED = "issued", _("Issued")  # the platform's source of every grant (its balance runs negative)
    EXPIRED = "expired", _("Expired")  # where expired points go


# Only the platform's issuing account may run below zero; every other balance is guarded at zero.
MAY_RUN_NEGATIVE = frozenset({Purpose.ISSUED})


class TransferKind(models.TextChoices):
    GRANT = "grant", _("Grant")
    ADJUST = "adjust", _("Adjustment")
    FREEZE = "freeze", _("Frozen for an order")
    SPEND = "spend", _("Spent")
    RELEASE = "release", _("Released")
    REFUND = "refund", _("Refund")
    EXPIRE = "expire", _("Expired")


class Approval(models.TextChoices):
    AUTO = "auto", _("Granted at once")
    REVIEW = "review", _("After review")
    LISTING = "listing", _("After review and public listing")


class ClaimState(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    LISTED = "listed", _("Publicly listed")
    GRANTED = "granted", _("Granted")
    REJECTED = "rejected", _("Rejected")
    CAPPED = "capped", _("Over the cap")


class Action(models.TextChoices):
    """What earns points. Each app that pays out names its action here, and a rule prices it."""

    CASE_REPORTED = "case.reported", _("Reported a case that was closed")
    CASE_HANDLED = "case.handled", _("Handled a case to its close")
    TASK_COMPLETED = "task.completed", _("Completed a task")
    INSPECTION_DONE = "inspection.done", _("Carried out an inspection")
    VISIT_DONE = "visit.done", _("Visited a resident")
    TRAINING_ATTENDED = "training.attended", _("Attended a training")
    MEETING_ATTENDED = "meeting.attended", _("Attended a meeting")
    PARTY_ACTIVITY = "party.activity", _("Took part in a party-group activity")
    VOLUNTEER_HOURS = "volunteer.hours", _("Volunteered (per hour)")
