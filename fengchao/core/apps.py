from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fengchao.core"
    label = "core"
