"""The API's pure parts: secrets shown once and stored hashed, error locations, error responses."""

from __future__ import annotations

import orjson
import pytest

from chat.protocol import ProtocolError
from chat_api import keys
from chat_api.errors import _field, error_response

pytestmark = pytest.mark.unit


def test_a_secret_is_found_by_its_prefix_and_checked_by_its_hash():
    secret = keys.new_secret("ck")
    assert secret.text.startswith(f"ck_{secret.prefix}_") and len(secret.digest) == 64
    assert secret.digest not in secret.text
    assert keys.split(secret.text, "ck") == secret.prefix
    assert keys.split(secret.text, "wh") is None  # a token is not a webhook secret
    assert keys.matches(secret.text, secret.digest)
    assert not keys.matches(secret.text[:-1] + ("A" if secret.text[-1] != "A" else "B"), secret.digest)
    for bad in ("", "ck_", "ck_zzzzzzzz_" + "a" * 43, secret.text + "x", "Bearer " + secret.text):
        assert keys.split(bad, "ck") is None
    assert keys.new_secret("ck").text != secret.text


def test_pydantic_locations_name_the_field():
    assert _field(["query", "limit"]) == "limit"
    assert _field(["body", "payload", "client_id"]) == "client_id"
    assert _field(["body", "payload"]) == "payload"
    assert _field(["path", "seq"]) == "seq"


def test_error_responses_carry_status_code_and_retry_after():
    limited = error_response(ProtocolError("rate_limited", "slow down", ref="send", retry_after=0.2))
    assert limited.status_code == 429 and limited["Retry-After"] == "1"
    assert orjson.loads(limited.content) == {"type": "error", "code": "rate_limited", "detail": "slow down",
                                             "retry_after": 0.2}
    down = error_response(ProtocolError("store_unavailable", "retry", client_id="c1"))
    assert (down.status_code, down["Retry-After"]) == (503, "1")
    invalid = error_response(ProtocolError("invalid", "must not be empty", field="body"))
    assert invalid.status_code == 400 and orjson.loads(invalid.content)["field"] == "body"
    assert error_response(ProtocolError("forbidden", "no")).status_code == 403
