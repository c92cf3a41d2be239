"""The monthly report-in (双报到): party members and stationed units report to their community once a month."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import NOTE_MAX


class ReportIn(models.Model):
    """One report-in of a month: a party member's (user) or a stationed unit's (organisation), never both."""

    community = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("community"))
    month = models.DateField(_("month"), help_text=_("the first day of the month"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="report_ins"
    )
    organisation = models.ForeignKey(
        "registry.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="report_ins",
        verbose_name=_("unit"),
    )
    reported_at = models.DateTimeField(_("reported at"))
    note = models.CharField(_("service taken on"), max_length=NOTE_MAX, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("report-in")
        verbose_name_plural = _("report-ins")
        ordering = ["-month", "-reported_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "month", "user"], condition=Q(user__isnull=False), name="one_report_in_per_person"
            ),
            models.UniqueConstraint(
                fields=["community", "month", "organisation"],
                condition=Q(organisation__isnull=False),
                name="one_report_in_per_unit",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=True, organisation__isnull=False)
                | Q(user__isnull=False, organisation__isnull=True),
                name="report_in_person_or_unit",
            ),
        ]
        indexes = [models.Index(fields=["community", "month"])]

    def __str__(self):
        return f"{self.user_id or self.organisation_id} → {self.community_id} {self.month:%Y-%m}"
