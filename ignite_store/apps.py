from django.apps import AppConfig


class IgniteStoreConfig(AppConfig):
    name = "ignite_store"
    verbose_name = "Chat store (Apache Ignite)"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
