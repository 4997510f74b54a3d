"""API test fixtures: Daphne servers of the chat site, users with tokens made in its database, HTTP clients."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.fixtures.daphne import BASE_DIR

TIMEOUT = 15.0
CSRF = "a" * 32  # any 32 alphanumerics: Django compares the X-CSRFToken header with the csrftoken cookie

# Runs in the site's environment: users (with tokens), bots, deactivation, revocation, in the Daphne database.
_ADMIN_CODE = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.utils import timezone
from chat_api import keys
from chat_api.models import ApiToken, Bot
users, out = get_user_model(), {}
for op in json.loads(sys.argv[1]):
    kind = op["op"]
    if kind == "token":
        user, created = users.objects.get_or_create(username=op["user"])
        if created:
            user.set_password("pw-" + op["user"]); user.save()
        if op.get("owner"):
            Bot.objects.get_or_create(user=user, defaults={"owner": users.objects.get(username=op["owner"])})
        secret = keys.new_secret("ck")
        ApiToken.objects.create(user=user, name="test", prefix=secret.prefix, digest=secret.digest)
        out[op["user"]] = secret.text
    elif kind == "deactivate":
        user = users.objects.get(username=op["user"]); user.is_active = False; user.save()
    elif kind == "revoke":
        ApiToken.objects.filter(prefix=keys.split(op["token"], "ck")).update(revoked_at=timezone.now())
print(json.dumps(out))
"""


class ApiSite:
    """Operations on the chat site's database (users, tokens, bots) for API tests."""

    def __init__(self, chat_site):
        self.chat_site = chat_site

    def run(self, *ops: dict) -> dict:
        proc = subprocess.run([sys.executable, "-c", _ADMIN_CODE, json.dumps(list(ops))], cwd=BASE_DIR,
                              env=self.chat_site.env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"site admin failed:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def tokens(self, *names: str, owner: str | None = None) -> dict[str, str]:
        """Users (created when missing; bots of `owner` when given) with a new token each: {name: token}."""
        return self.run(*({"op": "token", "user": n, "owner": owner} for n in names))

    def user(self, prefix: str = "u") -> tuple[str, str]:
        """A new user and a token of theirs."""
        name = f"{prefix}{uuid.uuid4().hex[:8]}"
        return name, self.tokens(name)[name]


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
