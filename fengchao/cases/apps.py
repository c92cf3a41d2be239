from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "fengchao.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self):
        from . import signals  # noqa: F401 -- connects the receivers
