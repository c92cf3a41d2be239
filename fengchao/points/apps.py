from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "fengchao.points"
    label = "points"
    verbose_name = _("Points")

    def ready(self):
        from . import receivers  # noqa: F401 -- earns points from the other apps' steps
