from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "fengchao.demo"
    label = "demo"
