"""Trainings, meetings and activities (培训, 例会, 联席会议, 主题党日, 邻里活动).

Publishing, sign-up with a waiting list, and attendance by the event's rotating QR code or the organiser's
mark. Attendance earns participation points."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import ActivityKind, ActivityState, Audience, CheckMethod, SignupState


class Activity(models.Model):
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    kind = models.CharField(_("kind"), max_length=16, choices=ActivityKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    place = models.CharField(_("place"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(pgettext_lazy("activity", "places"), null=True, blank=True)  # None: no limit
    audience = models.CharField(_("who may join"), max_length=16, choices=Audience.choices, default=Audience.SERVING)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organised_activities"
    )
    state = models.CharField(_("state"), max_length=16, choices=ActivityState.choices, default=ActivityState.PUBLISHED)
    # Signs the rotating check-in codes; never shown.
    qr_secret = models.CharField(max_length=64, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["area", "starts_at"]), models.Index(fields=["starts_at"])]

    def __str__(self):
        return self.title


class Signup(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity_signups")
    state = models.CharField(_("state"), max_length=16, choices=SignupState.choices)
    # Waiting-list order: the earliest waiting moves up first.
    queued_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)  # the day-before reminder went out
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "user"], name="one_signup_per_person")]
        indexes = [models.Index(fields=["activity", "state", "queued_at"]), models.Index(fields=["user", "state"])]

    def __str__(self):
        return f"{self.user_id} {self.activity_id} {self.state}"


class Attendance(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendances")
    checked_in_at = models.DateTimeField(_("checked in"))
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    method = models.CharField(_("how"), max_length=16, choices=CheckMethod.choices)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "user"], name="one_attendance_per_person")]

    def __str__(self):
        return f"{self.user_id} at {self.activity_id}"


class Minutes(models.Model):
    """会议纪要: the agenda and decisions of one activity; the attendees are its Attendance rows."""

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="minutes")
    agenda = models.TextField(_("agenda"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published"), null=True, blank=True)  # posted to the area's board
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self):
        return f"minutes of {self.activity_id}"


class FollowUp(models.Model):
    """A follow-up action of the minutes, carried out as a platform task or a case."""

    class Kind(models.TextChoices):
        TASK = "task", _("Task")
        CASE = "case", _("Case")

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="follow_ups")
    text = models.CharField(_("action"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField(_("due"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    task = models.ForeignKey("work.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.text
