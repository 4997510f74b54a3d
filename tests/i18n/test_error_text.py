"""Error details reach a Korean page in Korean; every detail the server writes has its translation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import override_settings

from chat.error_text import DETAILS, localize_error, translate_detail
from chat.locale import SESSION_KEY, socket_language

pytestmark = pytest.mark.unit
BASE_DIR = Path(__file__).resolve().parents[2]
# Calls whose second positional argument is a detail sent to clients.
DETAIL_CALLS = {"ProtocolError", "InvalidMessage", "error_frame"}


def written_details() -> dict[str, str]:
    """Every detail literal in chat/ and ignite_store/ (f-string parts filled with 7) -> where it is."""
    found = {}
    for path in [*BASE_DIR.glob("chat/**/*.py"), *BASE_DIR.glob("ignite_store/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and len(node.args) >= 2):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            detail = node.args[1]
            if name not in DETAIL_CALLS:
                continue
            if isinstance(detail, ast.Constant) and isinstance(detail.value, str):
                text = detail.value
            elif isinstance(detail, ast.JoinedStr):
                text = "".join(part.value if isinstance(part, ast.Constant) else "7" for part in detail.values)
            else:
                continue  # passed through (e.detail): its sentence is checked where it is written
            found[text] = f"{path.relative_to(BASE_DIR)}:{node.lineno}"
    return found


def test_every_detail_the_server_writes_has_a_translation():
    details = written_details()
    assert len(details) > 30
    missing = {text: where for text, where in details.items() if not any(p.fullmatch(text) for p, _ in DETAILS)}
    assert missing == {}


def test_details_are_rewritten_in_the_sockets_language_with_their_numbers():
    frame = {"type": "error", "code": "invalid", "field": "body", "detail": "must be at most 4000 characters"}
    korean = localize_error(frame, "ko")
    assert korean == {**frame, "detail": "4000자까지 쓸 수 있어요"}
    assert localize_error(frame, "en") == frame
    assert translate_detail("something new") == "something new"
    assert localize_error({"type": "ack", "detail": "x"}, "ko") == {"type": "ack", "detail": "x"}


@override_settings(LANGUAGE_CODE="en")
def test_a_socket_takes_the_language_of_its_page():
    assert socket_language({"headers": [(b"accept-language", b"ko-KR,ko;q=0.9,en;q=0.8")]}) == "ko"
    assert socket_language({"headers": [(b"accept-language", b"fr-FR")]}) == "en"
    assert socket_language({"cookies": {"django_language": "ko"}, "headers": []}) == "ko"
    chosen = {"session": {SESSION_KEY: "en"}, "cookies": {"django_language": "ko"},
              "headers": [(b"accept-language", b"ko")]}
    assert socket_language(chosen) == "en"
