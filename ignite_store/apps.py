from django.apps import AppConfig


class IgniteStoreConfig(AppConfig):
    name = "ignite_store"
    verbose_name = "Chat store (Apache Ignite)"
