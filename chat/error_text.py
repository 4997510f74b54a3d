"""Error details in the language of the socket that gets them.

The protocol, the store and the rules write each `detail` in English (docs/protocol.md), some with a
number in them ("must be at most 4000 characters"). Rather than thread a language through every
raise, a socket whose language is not English gets each `error` frame's detail matched against the
known sentences below and rewritten in its language; `code`, `field` and `ref` never change, and a
detail that matches nothing stays English. tests/i18n/test_error_text.py checks that every detail
written in chat/ and ignite_store/ has its sentence here.
"""

from __future__ import annotations

import re

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

N = r"(?P<n>\d+)"

# (English detail as a regular expression, its translatable text with the same named numbers)
DETAILS: list[tuple[re.Pattern[str], Promise]] = [
    (re.compile(pattern), text)
    for pattern, text in [
        # ignite_store.validation
        (r"must be a string", _("must be a string")),
        (r"must be a non-empty string", _("must be a non-empty string")),
        (r"must not be empty", _("must not be empty")),
        (rf"must be at most {N} characters", _("must be at most %(n)s characters")),
        (r"must not contain control characters", _("must not contain control characters")),
        (r"must not contain control or invisible characters", _("must not contain control or invisible characters")),
        (r"must be 1-64 characters of A-Z a-z 0-9 _ \. : -", _("must be 1-64 characters of A-Z a-z 0-9 _ . : -")),
        (rf"must be 1\.\.{N} characters", _("must be 1 to %(n)s characters")),
        (rf"must be 1 to {N} characters", _("must be 1 to %(n)s characters")),
        (r"must be a non-negative integer", _("must be a non-negative integer")),
        (rf"must be an integer from 1 to {N}", _("must be an integer from 1 to %(n)s")),
        (r"must be at least 1", _("must be at least 1")),
        (r"must match (?P<pattern>.+)", _("must match %(pattern)s")),
        (r"must be one of (?P<choices>.+)", _("must be one of %(choices)s")),
        (rf"must be 1 to {N} characters without spaces or controls",
         _("must be 1 to %(n)s characters without spaces or controls")),
        # chat.protocol, chat.service, chat.room_commands
        (r"no such room, or you may not do this in it", _("no such room, or you may not do this in it")),
        (r"no such user", _("no such user")),
        (r"must be a string of at most 80 characters", _("must be a string of at most 80 characters")),
        (r"must be public or private", _("must be public or private")),
        (r"must be true or false", _("must be true or false")),
        (r"give a name or a topic", _("give a name or a topic")),
        (r"must be all, mentions or none", _("must be all, mentions or none")),
        (r"an archived room is restored from the admin", _("an archived room is restored from the admin")),
        (r"only an owner may remove an owner", _("only an owner may remove an owner")),
        (r"join the room first", _("join the room first")),
        (r"leave a room first", _("leave a room first")),
        (r"the store is unavailable, retry", _("the store is unavailable, retry")),
        (r"history is unavailable, retry", _("history is unavailable, retry")),
        (r"live updates are unavailable, retry", _("live updates are unavailable, retry")),
        (r"too many frames", _("too many frames")),
        (r"slow down", _("slow down")),
        (r"the frame is not valid JSON", _("the frame is not valid JSON")),
        (r"the frame must be a JSON object", _("the frame must be a JSON object")),
        (r"the frame needs a string `type`", _("the frame needs a string `type`")),
        (r"unknown frame type", _("unknown frame type")),
        (rf"this server speaks version {N}", _("this server speaks version %(n)s")),
        (r"send JSON text frames", _("send JSON text frames")),
        (r"the server failed on this frame", _("the server failed on this frame")),
        (r"close another tab first", _("close another tab first")),
        (r"catch-up interrupted, ask again from the last seq", _("catch-up interrupted, ask again from the last seq")),
        (r"could not find a free id for the room, retry", _("could not find a free id for the room, retry")),
        (r"import the room before its memberships", _("import the room before its memberships")),
        (r"must be an integer or 1-64 characters of A-Z a-z 0-9 _ \. : -",
         _("must be an integer or 1-64 characters of A-Z a-z 0-9 _ . : -")),
        (r"the message was not stored, retry with the same client_id",
         _("the message was not stored, retry with the same client_id")),
        # message changes and search
        (r"give before or around, not both", _("give before or around, not both")),
        (r"must be the cursor of a previous page", _("must be the cursor of a previous page")),
        (r"search is unavailable, retry", _("search is unavailable, retry")),
        (r"deleting messages is turned off", _("deleting messages is turned off")),
        (r"the change was not stored, retry", _("the change was not stored, retry")),
        (r"catch-up interrupted, ask again from the last change",
         _("catch-up interrupted, ask again from the last change")),
        (rf"must have at most {N} words and phrases", _("must have at most %(n)s words and phrases")),
        (rf"is too short: search for a word of at least {N} letters or digits",
         _("is too short: search for a word of at least %(n)s letters or digits")),
        (rf"must be a list of at most {N} rooms", _("must be a list of at most %(n)s rooms")),
        (r"must be \(created_at, room, seq\)", _("must be (created_at, room, seq)")),
    ]
]


def translate_detail(detail: str) -> str:
    """`detail` in the active language when it is a known sentence; as it is otherwise."""
    for pattern, text in DETAILS:
        match = pattern.fullmatch(detail)
        if match:
            return str(text) % match.groupdict() if match.groupdict() else str(text)
    return detail


def localize_error(frame: dict, language: str) -> dict:
    """An `error` frame with its detail in `language` (a copy; other frames are returned as they are)."""
    if frame.get("type") != "error" or not isinstance(frame.get("detail"), str):
        return frame
    with translation.override(language):
        return {**frame, "detail": translate_detail(frame["detail"])}
