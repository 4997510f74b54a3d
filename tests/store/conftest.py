import uuid

import pytest


@pytest.fixture(params=["fast", "plain"])
def store(request, live_settings):
    """The default store backend, wired to the session's Ignite node with the schema created.

    Every test runs twice: with the pyignite seam (fast_codec, the default) and on plain pyignite.
    """
    from django.conf import settings

    from ignite_store import get_store
    from ignite_store.backends import pyignite_seam
    from ignite_store.backends.ignite import IgniteMessageStore

    if request.param == "fast":
        store = get_store()
        assert store.fast_codec and pyignite_seam.installed()
        yield store
        return
    was_installed = pyignite_seam.installed()
    pyignite_seam.uninstall()
    config = settings.IGNITE_STORE["default"]
    store = IgniteMessageStore(config["NODES"], **{**(config.get("OPTIONS") or {}), "fast_codec": False})
    try:
        assert not store.fast_codec
        yield store
    finally:
        store.close()
        assert not pyignite_seam.installed(), "the plain path must run on unpatched pyignite"
        if was_installed:
            pyignite_seam.install()


@pytest.fixture
def room():
    """A room name no other test uses, so tests share one cluster without seeing each other."""
    return f"t-{uuid.uuid4().hex[:12]}"
