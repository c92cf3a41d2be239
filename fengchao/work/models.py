"""Platform tasks (平台下达任务): a task published over an area is fanned out into one assignment per micro-grid;
members submit evidence (photos, location, a resident's signature, a checklist), leaders accept or return it, and
accepted work earns task points. Schedules publish recurring tasks."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fengchao.points.choices import Action

from .choices import AssigneeRole, AssignmentState, EvidenceKind, Repeat, TaskState


class TaskFields(models.Model):
    """What a task asks, shared by tasks and the schedules that publish them."""

    title = models.CharField(_("title"), max_length=120)
    instructions = models.TextField(_("instructions"), blank=True)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checklist = models.JSONField(_("checklist"), default=list, blank=True)  # item texts
    need_photo = models.BooleanField(_("photo required"), default=False)
    need_gps = models.BooleanField(_("location required"), default=False)
    need_signature = models.BooleanField(_("resident's signature required"), default=False)
    assignee_role = models.CharField(
        _("done by"), max_length=20, choices=AssigneeRole.choices, default=AssigneeRole.MICROGRID_MEMBER
    )
    named_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class TaskSchedule(TaskFields):
    repeat = models.CharField(_("repeat"), max_length=8, choices=Repeat.choices)
    every_days = models.PositiveSmallIntegerField(_("every N days"), null=True, blank=True)
    due_days = models.PositiveSmallIntegerField(_("days to do it"), default=7)
    next_run_at = models.DateTimeField(_("next run"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("task schedule")
        verbose_name_plural = _("task schedules")
        indexes = [models.Index(fields=["active", "next_run_at"])]

    def __str__(self):
        return self.title


class Task(TaskFields):
    due_at = models.DateTimeField(_("due"))
    action = models.CharField(max_length=40, default=Action.TASK_COMPLETED, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=TaskState.choices, default=TaskState.FANNING_OUT)
    total = models.PositiveIntegerField(_("micro-grids"), default=0)  # assignments the fan-out will make
    fanned_out = models.PositiveIntegerField(_("sent out"), default=0)  # assignments made so far
    done = models.PositiveIntegerField(_("accepted"), default=0)  # assignments accepted
    schedule = models.ForeignKey(TaskSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["area", "created_at"]), models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return self.title


class Assignment(models.Model):
    """One micro-grid's share of a task."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("micro-grid"))
    # None: any holder of the task's role in the micro-grid.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("due"))  # copied from the task, so "due first" needs no join
    state = models.CharField(_("state"), max_length=16, choices=AssignmentState.choices, default=AssignmentState.OPEN)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    lon = models.FloatField(null=True, blank=True)  # WGS84
    lat = models.FloatField(null=True, blank=True)
    # The micro-grid the submitted point falls in (None: in none, or no point), and whether that is not this one.
    # A warning for the reviewer, never a refusal: phone GPS is often off by tens of metres near a boundary.
    located_area = models.ForeignKey(
        "areas.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("located in")
    )
    location_outside = models.BooleanField(_("submitted outside the micro-grid"), default=False)
    answers = models.JSONField(_("checklist"), default=list, blank=True)  # [{"item": text, "done": bool}]
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    return_reason = models.CharField(_("returned because"), max_length=200, blank=True)
    found_cases = models.JSONField(default=list, blank=True)  # pks of cases reported from this assignment
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)  # the day-before reminder, sent once
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [models.UniqueConstraint(fields=["task", "area"], name="one_assignment_per_microgrid")]
        indexes = [models.Index(fields=["area", "state", "due_at"]), models.Index(fields=["task", "state"])]

    def __str__(self):
        return f"{self.task_id} @ {self.area_id} {self.state}"


def evidence_path(instance, filename):
    return f"work/{instance.assignment.task_id}/{instance.assignment_id}/{instance.token}.{instance.extension}"


class Evidence(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=10, choices=EvidenceKind.choices)
    token = models.CharField(max_length=32, unique=True, editable=False)
    extension = models.CharField(max_length=8)
    file = models.FileField(upload_to=evidence_path)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assignment", "uploaded_at", "pk"]

    def __str__(self):
        return f"{self.assignment_id} {self.kind} {self.token}"
