"""Care-visit plans (走访计划: how often each kind of care subject is visited) and the visits (入户走访) made."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import FINDINGS_MAX, MAX_EVERY_DAYS, MIN_EVERY_DAYS, NEEDS_MAX, SERVICE_PREFIX, How


class CarePlan(models.Model):
    """Visit the residents carrying this care tag every `every_days` days (the shortest plan of a resident wins)."""

    tag = models.OneToOneField(
        "registry.CareTag", on_delete=models.PROTECT, related_name="care_plan", verbose_name=_("care tag")
    )
    every_days = models.PositiveSmallIntegerField(
        _("visit every (days)"), validators=[MinValueValidator(MIN_EVERY_DAYS), MaxValueValidator(MAX_EVERY_DAYS)]
    )
    is_active = models.BooleanField(_("in use"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("care-visit plan")
        verbose_name_plural = _("care-visit plans")
        ordering = ["tag__position", "tag__code"]

    def __str__(self):
        return f"{self.tag_id}: {self.every_days}"


def photo_path(instance, filename):
    return f"visits/{instance.at:%Y/%m}/{filename}"


class Visit(models.Model):
    """One visit to a resident: who went, when, how, what they found and what the resident needs."""

    resident = models.ForeignKey(
        "registry.Resident", on_delete=models.PROTECT, related_name="care_visits", verbose_name=_("resident")
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_visits", verbose_name=_("visitor")
    )
    at = models.DateTimeField(_("visited at"))
    # The resident's area when visited, and its lineage (roll-ups by one GROUP BY, scoping without a join).
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    district_pk = models.BigIntegerField(null=True, editable=False)
    street_pk = models.BigIntegerField(null=True, editable=False)
    community_pk = models.BigIntegerField(null=True, editable=False)
    grid_pk = models.BigIntegerField(null=True, editable=False)
    how = models.CharField(_("how"), max_length=16, choices=How.choices, default=How.IN_PERSON)
    findings = models.TextField(_("findings"), max_length=FINDINGS_MAX)
    needs = models.TextField(_("needs"), max_length=NEEDS_MAX, blank=True)
    # The service request or case raised for the needs, if any.
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("case")
    )
    # An optional photo, served only through the visit's own view (never by its media path).
    photo = models.FileField(_("photo"), upload_to=photo_path, blank=True)
    photo_type = models.CharField(max_length=32, blank=True, editable=False)
    # One per form shown: a double tap or a resent request records one visit.
    key = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "key"], condition=~Q(key=""), name="one_visit_per_key"),
        ]
        indexes = [
            models.Index(fields=["resident", "at"]),
            models.Index(fields=["grid_pk", "at"]),
            models.Index(fields=["community_pk", "at"]),
            models.Index(fields=["area", "at"]),
            models.Index(fields=["visitor", "at"]),
        ]

    def __str__(self):
        return f"{self.resident_id} by {self.visitor_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def is_service_request(self) -> bool:
        """The need went to 民生服务 (a service request) rather than being a case."""
        return bool(self.case_id) and self.case.category.code.startswith(SERVICE_PREFIX)
