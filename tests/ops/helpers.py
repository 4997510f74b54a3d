"""Point the default store at another cluster for one test, and put it back."""

from __future__ import annotations

import contextlib
import copy
import socket
from collections.abc import Iterator

from django.conf import settings

import ignite_store


def reset_stores() -> None:
    """stores.reset(), also forgetting the IGNITE_STORE dict it resolved.

    BaseConnectionHandler.settings stores the resolved dict in `_settings`, so reset() alone
    keeps using the old one (reported to the lead: reset() should set `_settings = None`).
    """
    ignite_store.stores.reset()
    ignite_store.stores._settings = None


@contextlib.contextmanager
def store_at(nodes: list[tuple[str, int]], **options) -> Iterator[ignite_store.backends.base.BaseMessageStore]:
    """settings.IGNITE_STORE['default'] aimed at `nodes` (OPTIONS updated by `options`) inside the block."""
    saved = copy.deepcopy(settings.IGNITE_STORE)
    conf = copy.deepcopy(saved)
    conf["default"]["NODES"] = list(nodes)
    conf["default"].setdefault("OPTIONS", {}).update(options)
    settings.IGNITE_STORE = conf
    reset_stores()
    try:
        yield ignite_store.get_store()
    finally:
        settings.IGNITE_STORE = saved
        reset_stores()


def dead_address() -> tuple[str, int]:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return ("127.0.0.1", sock.getsockname()[1])
