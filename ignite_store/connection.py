"""Backends created lazily per alias from settings.IGNITE_STORE, like django.core.cache.caches."""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils.connection import BaseConnectionHandler
from django.utils.module_loading import import_string

from .backends.base import BaseMessageStore
from .errors import StoreConfigurationError

DEFAULT_ALIAS = "default"


class StoreHandler(BaseConnectionHandler):
    """One backend instance per alias for the whole process.

    Unlike caches, backends are shared across threads and event loops: the backend
    itself keeps one sync client per thread and one async client per event loop.
    """

    settings_name = "IGNITE_STORE"
    exception_class = StoreConfigurationError

    def __init__(self, settings=None):
        super().__init__(settings)
        self._backends: dict[str, BaseMessageStore] = {}
        self._lock = threading.Lock()

    def __getitem__(self, alias: str) -> BaseMessageStore:
        with self._lock:
            if alias not in self._backends:
                if alias not in self.settings:
                    raise self.exception_class(f"The store alias {alias!r} is not in IGNITE_STORE.")
                self._backends[alias] = self.create_connection(alias)
            return self._backends[alias]

    def reset(self) -> None:
        """Close and forget every backend (tests use this after changing IGNITE_STORE)."""
        with self._lock:
            backends, self._backends = self._backends, {}
        for backend in backends.values():
            backend.close()
        # BaseConnectionHandler.settings caches the resolved dict in _settings too.
        self.__dict__.pop("settings", None)
        self._settings = None

    def configure_settings(self, settings_dict):
        return settings_dict if settings_dict is not None else getattr(settings, "IGNITE_STORE", {})

    def create_connection(self, alias: str) -> BaseMessageStore:
        params = dict(self.settings[alias])
        try:
            backend = params.pop("BACKEND")
            nodes = params.pop("NODES")
            options = params.pop("OPTIONS", {}) or {}
        except KeyError as e:
            raise StoreConfigurationError(f"IGNITE_STORE[{alias!r}] is missing the {e.args[0]} key") from e
        if params:
            raise StoreConfigurationError(f"IGNITE_STORE[{alias!r}] has unknown keys: {sorted(params)}")
        try:
            backend_cls = import_string(backend)
        except ImportError as e:
            raise StoreConfigurationError(f"Could not find store backend {backend!r}: {e}") from e
        try:
            return backend_cls(nodes, **options)
        except (TypeError, ValueError) as e:
            raise StoreConfigurationError(f"IGNITE_STORE[{alias!r}] is malformed: {e}") from e

    def close_all(self) -> None:
        with self._lock:
            backends = list(self._backends.values())
        for backend in backends:
            backend.close()


stores = StoreHandler()


def get_store(alias: str = DEFAULT_ALIAS) -> BaseMessageStore:
    """Return the store backend for `alias` (created on first use)."""
    return stores[alias]
