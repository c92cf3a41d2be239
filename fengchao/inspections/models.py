"""Safety inspections (安全隐患排查) of buildings and places against checklist templates, item by item, and the
rectification (整改) of what failed, tracked by re-inspections."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fengchao.registry.models import InArea

from .choices import NOTE_MAX, Outcome, State


class ChecklistTemplate(models.Model):
    """A checklist: items of {"code", "text", "category"} (the case category a failure raises, or "")."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    applies_to_buildings = models.BooleanField(_("for buildings"), default=True)
    applies_to_places = models.BooleanField(_("for places"), default=True)
    items = models.JSONField(_("items"), default=list)
    is_active = models.BooleanField(_("in use"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


def photo_path(instance, filename):
    return f"inspections/{filename[:2]}/{filename}"


class Inspection(InArea):
    """One inspection of one building or place (exactly one), by a person serving its grid."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="inspections")
    template_version = models.PositiveIntegerField(default=1)
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    place = models.ForeignKey(
        "registry.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspections")
    at = models.DateTimeField(_("inspected at"))
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reinspections",
        verbose_name=_("re-inspection of"),
    )  # fmt: skip
    key = models.CharField(max_length=64, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(building__isnull=False, place__isnull=True) | Q(building__isnull=True, place__isnull=False),
                name="inspection_of_one_target",
            ),
            models.UniqueConstraint(fields=["inspector", "key"], condition=~Q(key=""), name="one_inspection_per_key"),
        ]
        indexes = [
            models.Index(fields=["grid_pk", "at"]),
            models.Index(fields=["community_pk", "at"]),
            models.Index(fields=["building", "at"]),
            models.Index(fields=["place", "at"]),
            models.Index(fields=["state", "area"]),
            models.Index(fields=["inspector", "at"]),
        ]

    def __str__(self):
        return f"{self.target} {self.at:%Y-%m-%d}"

    @property
    def target(self):
        return self.building if self.building_id else self.place

    @property
    def kind(self) -> str:
        return "building" if self.building_id else "place"


class InspectionItem(models.Model):
    """One checklist item answered; a failure carries a photo, and either a hazard case or a fix on the spot."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    code = models.CharField(max_length=40)
    text = models.CharField(max_length=200)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)
    # Served only through the item's own view, which checks scope (never by its media path).
    photo = models.FileField(_("photo"), upload_to=photo_path, blank=True)
    photo_type = models.CharField(max_length=32, blank=True, editable=False)
    # Fixed on the spot: an optional photo of the result.
    after_photo = models.FileField(_("photo after"), upload_to=photo_path, blank=True)
    after_photo_type = models.CharField(max_length=32, blank=True, editable=False)
    fixed_on_spot = models.BooleanField(_("fixed on the spot"), default=False)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("hazard case")
    )
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("inspection item")
        verbose_name_plural = _("inspection items")
        ordering = ["inspection", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["inspection", "code"], name="one_answer_per_item")]
        indexes = [models.Index(fields=["outcome", "rectified_at"])]

    def __str__(self):
        return f"{self.inspection_id}:{self.code}={self.outcome}"

    @property
    def is_open(self) -> bool:
        return self.outcome == Outcome.FAIL and self.rectified_at is None
