from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import PathField
from .levels import LINEAGE_FIELD_OF_LEVEL, AreaKind, DedicatedKind


def subtree_upper_bound(path: str) -> str:
    """The smallest string greater than every path in the subtree of `path`.

    Paths hold only digits and '/', and '0' sorts right after '/', so '/1/12/' covers
    ['/1/12/', '/1/120') without any LIKE or unicode sentinel.
    """
    return path[:-1] + "0"


def subtree_q(path: str, prefix: str = "") -> models.Q:
    return models.Q(**{f"{prefix}path__gte": path, f"{prefix}path__lt": subtree_upper_bound(path)})


class AreaQuerySet(models.QuerySet):
    def subtree(self, area_or_path, include_self=True):
        path = area_or_path if isinstance(area_or_path, str) else area_or_path.path
        qs = self.filter(subtree_q(path))
        return qs if include_self else qs.exclude(path=path)

    def visible_to(self, user):
        from .scope import scope_q

        return self.filter(scope_q(user))

    def ancestors_of(self, area, include_self=False):
        pks = area.ancestor_pks() + ([area.pk] if include_self else [])
        return self.filter(pk__in=pks).order_by("level")


class Area(models.Model):
    """One node of the grid hierarchy: district, street, community grid, grid, dedicated grid or micro-grid."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AreaKind.choices)
    level = models.PositiveSmallIntegerField(_("level"))
    dedicated_kind = models.CharField(
        _("dedicated grid type"), max_length=16, choices=DedicatedKind.choices, blank=True
    )
    name = models.CharField(_("name"), max_length=100)
    local_code = models.CharField(_("number within parent"), max_length=6)
    code = models.CharField(_("area code"), max_length=24, unique=True)
    path = PathField(_("path"), max_length=255, unique=True, editable=False)
    # Lineage: the pk of the ancestor (or self) at each level, for roll-ups by a single GROUP BY.
    district_pk = models.BigIntegerField(null=True, editable=False)
    street_pk = models.BigIntegerField(null=True, editable=False, db_index=True)
    community_pk = models.BigIntegerField(null=True, editable=False, db_index=True)
    grid_pk = models.BigIntegerField(null=True, editable=False, db_index=True)

    boundary = models.JSONField(_("boundary (GeoJSON, WGS84)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, editable=False)
    min_lat = models.FloatField(null=True, editable=False)
    max_lon = models.FloatField(null=True, editable=False)
    max_lat = models.FloatField(null=True, editable=False)
    centre_lon = models.FloatField(null=True, editable=False)
    centre_lat = models.FloatField(null=True, editable=False)

    address = models.CharField(_("address"), max_length=200, blank=True)
    service_phone = models.CharField(
        _("service phone"), max_length=32, blank=True, help_text=_("A public office or hotline number, not a person's.")
    )
    households = models.PositiveIntegerField(_("households (estimate)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["parent", "code"]),
            models.Index(fields=["level", "path"]),
            models.Index(fields=["name"]),
        ]

    def __str__(self):
        return self.name

    def ancestor_pks(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/")[:-1]] if self.path else []

    def is_within(self, other: "Area") -> bool:
        return self.path.startswith(other.path)

    @property
    def has_boundary(self) -> bool:
        return self.boundary is not None

    def lineage_above(self) -> dict[str, int | None]:
        """The lineage columns of the levels above this area's own, with their values (what a move changes)."""
        return {LINEAGE_FIELD_OF_LEVEL[level]: self.lineage_pk(level) for level in range(1, self.level)}

    def lineage_pk(self, level: int):
        return {1: self.district_pk, 2: self.street_pk, 3: self.community_pk, 4: self.grid_pk, 5: self.pk}[level]


class SpatialIndexVersion(models.Model):
    """A counter per spatial layer, bumped whenever a boundary changes.

    Each process keeps its STRtree until it sees a newer version here, so several app
    servers agree on what a point falls in.
    """

    layer = models.CharField(max_length=32, primary_key=True)
    version = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.layer}@{self.version}"


class DutyItem(models.Model):
    """One line of the duty list (职责清单) of a role in an area.

    An area without its own list for a role shows the nearest ancestor's list, so a
    district writes the standard duties once and a community may adapt them.
    """

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="duty_items", verbose_name=_("area"))
    role = models.CharField(_("role"), max_length=32)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("duty"), max_length=120)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duty list")
        ordering = ["area", "role", "position", "pk"]
        indexes = [models.Index(fields=["area", "role", "position"])]

    def __str__(self):
        return self.title
