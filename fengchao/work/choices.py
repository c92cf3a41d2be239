"""The vocabularies of platform tasks (平台下达任务): task and assignment states, who does a task, recurrence."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fengchao.accounts.roles import Role


class TaskState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FANNING_OUT = "fanning_out", _("Being sent out")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class AssigneeRole(models.TextChoices):
    """Who does each micro-grid's share: any holder of a role there, or named people."""

    MICROGRID_MEMBER = "microgrid_member", _("Micro-grid members")
    MICROGRID_LEADER = "microgrid_leader", _("Micro-grid leaders")
    GRID_LEADER = "grid_leader", _("Grid leaders")
    NAMED = "named", _("Named people")


# Which held roles may do a micro-grid's share of a task for each assignee role (a micro-grid leader may do
# what the members are asked to do).
DOER_ROLES = {
    AssigneeRole.MICROGRID_MEMBER: frozenset({Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER}),
    AssigneeRole.MICROGRID_LEADER: frozenset({Role.MICROGRID_LEADER}),
    AssigneeRole.GRID_LEADER: frozenset({Role.GRID_LEADER}),
    AssigneeRole.NAMED: frozenset(),
}


class AssignmentState(models.TextChoices):
    OPEN = "open", _("To do")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")


class EvidenceKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    SIGNATURE = "signature", _("Resident's signature")


class Repeat(models.TextChoices):
    EVERY_N_DAYS = "days", _("Every N days")
    WEEKLY = "weekly", _("Weekly")
