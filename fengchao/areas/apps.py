from django.apps import AppConfig


class AreasConfig(AppConfig):
    name = "fengchao.areas"
    label = "areas"
