from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IgniteStoreConfig(AppConfig):
    name = "ignite_store"
    verbose_name = _("Chat store (Apache Ignite)")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
