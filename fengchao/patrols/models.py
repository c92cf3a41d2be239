"""Patrol check-ins (巡查打卡) and the work log (工作日志) of the people serving the grids."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import LOG_TEXT_MAX, NOTE_MAX


def photo_path(instance, filename):
    return f"patrols/{instance.at:%Y/%m}/{filename}"


class PatrolCheckIn(models.Model):
    """One check-in on patrol: where the phone's GPS put the member (WGS84), in the micro-grid it falls in."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrol_check_ins")
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("micro-grid"))
    at = models.DateTimeField(_("checked in at"))
    lon = models.FloatField(_("longitude (WGS84)"))
    lat = models.FloatField(_("latitude (WGS84)"))
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)
    # An optional photo, served only through the check-in's own view (never by its media path).
    photo = models.FileField(_("photo"), upload_to=photo_path, blank=True)
    photo_type = models.CharField(max_length=32, blank=True, editable=False)
    # One per form shown: a double tap or a resent request records one check-in.
    key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("patrol check-in")
        verbose_name_plural = _("patrol check-ins")
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], condition=~Q(key=""), name="one_check_in_per_key"),
        ]
        indexes = [models.Index(fields=["area", "at"]), models.Index(fields=["user", "at"])]

    def __str__(self):
        return f"{self.user_id} in {self.area_id} at {self.at:%Y-%m-%d %H:%M}"


class WorkLogEntry(models.Model):
    """A line of a member's work log (工作日志): what they did on a day, in one of the areas where they serve."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="work_log")
    day = models.DateField(_("day"))
    text = models.TextField(_("what I did"), max_length=LOG_TEXT_MAX)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("work log entry")
        verbose_name_plural = _("work log")
        ordering = ["-day", "-pk"]
        indexes = [models.Index(fields=["user", "day"]), models.Index(fields=["area", "day"])]

    def __str__(self):
        return f"{self.user_id} {self.day}"
