from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fengchao.audit"
    label = "audit"
