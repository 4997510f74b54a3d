import uuid

import pytest


@pytest.fixture
def store(live_settings):
    """The default store backend, wired to the session's Ignite node with the schema created."""
    from ignite_store import get_store

    return get_store()


@pytest.fixture
def room():
    """A room name no other test uses, so tests share one cluster without seeing each other."""
    return f"t-{uuid.uuid4().hex[:12]}"
