"""API test fixtures: Daphne servers of the chat site, users with tokens made in its database, HTTP clients."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.api_site import ApiSite

TIMEOUT = 15.0
CSRF = "a" * 32  # any 32 alphanumerics: Django compares the X-CSRFToken header with the csrftoken cookie


@pytest.fixture(scope="session")
def api_site(chat_site) -> ApiSite:
    return ApiSite(chat_site)


@pytest.fixture(scope="session")
def api_server(daphne_factory):
    """One Daphne serving the API (and the socket) on the shared Ignite and Redis."""
    return daphne_factory()


def client(server, token: str | None = None, **kwargs) -> httpx.AsyncClient:
    """An HTTP client of `server`, with a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=server.origin, headers=headers, timeout=TIMEOUT, **kwargs)


def session_client(server, session_key: str, *, csrf: bool = True) -> httpx.AsyncClient:
    """A browser-like client: the session cookie, and the CSRF cookie and header unless `csrf` is False."""
    cookies = {"sessionid": session_key}
    headers = {}
    if csrf:
        cookies["csrftoken"] = CSRF
        headers["X-CSRFToken"] = CSRF
    return httpx.AsyncClient(base_url=server.origin, cookies=cookies, headers=headers, timeout=TIMEOUT)
