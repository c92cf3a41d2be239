from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "fengchao.registry"
    label = "registry"
    verbose_name = "Registry"

    def ready(self):
        from . import signals  # noqa: F401  (keeps lineage in step when areas move)
