from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportInConfig(AppConfig):
    name = "fengchao.reportin"
    label = "reportin"
    verbose_name = _("Report-in")
