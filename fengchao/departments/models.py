from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A functional department (职能部门) with its own handlers, working over an area."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=32, unique=True)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="departments", verbose_name=_("area"))
    phone = models.CharField(_("office phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self):
        return self.name


class DepartmentLayer(models.Model):
    """A department's own grid layer (多网合一): e.g. the urban-management or the police grid."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(_("name"), max_length=100)
    grid_type = models.CharField(_("grid type"), max_length=64, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("department grid layer")
        verbose_name_plural = _("department grid layers")
        ordering = ["department", "name"]

    def __str__(self):
        return self.name


class DepartmentGrid(models.Model):
    layer = models.ForeignKey(DepartmentLayer, on_delete=models.CASCADE, related_name="grids")
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    boundary = models.JSONField(_("boundary (GeoJSON, WGS84)"))
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()

    class Meta:
        verbose_name = _("department grid")
        verbose_name_plural = _("department grids")
        constraints = [models.UniqueConstraint(fields=["layer", "code"], name="unique_grid_code_in_layer")]
        ordering = ["layer", "code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class DepartmentGridOverlap(models.Model):
    """Which unified micro-grids a department grid covers, and how much of each."""

    department_grid = models.ForeignKey(DepartmentGrid, on_delete=models.CASCADE, related_name="overlaps")
    area = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="department_overlaps")
    share_of_area = models.FloatField(help_text="Fraction of the unified area inside the department grid")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["department_grid", "area"], name="unique_overlap")]
        indexes = [models.Index(fields=["area"])]

    def __str__(self):
        return f"{self.department_grid} ~ {self.area} ({self.share_of_area:.0%})"
