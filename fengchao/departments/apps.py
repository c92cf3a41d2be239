from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "fengchao.departments"
    label = "departments"
