"""Catch-up frames (chat.catchup.page_frames): spliced from each message's JSON, under the frame limit."""

import orjson
import pytest

from chat.catchup import page_frames
from ignite_store import Message, Reaction, ReplyPreview

pytestmark = pytest.mark.unit


def message(seq: int, **extra) -> Message:
    return Message(f"id-{seq}", "r", seq, "ana", f"body {seq} \"quoted\" é\n" * (seq % 3 + 1), "c", 1000, **extra)


def test_frames_fit_the_limit_keep_the_order_and_say_has_more_but_on_the_last(settings):
    settings.CHAT = {**settings.CHAT, "MAX_FRAME_BYTES": 1500}
    messages = [message(seq, change_seq=seq, reactions=(Reaction("👍", ("bob",)),)) for seq in range(1, 40)]
    texts = page_frames("changes", "r", messages, False, {"last_change_seq": 39})
    frames = [orjson.loads(text) for text in texts]
    assert len(frames) > 1 and all(len(text.encode()) <= 1500 for text in texts)
    assert [m["seq"] for f in frames for m in f["messages"]] == list(range(1, 40))
    assert [f["has_more"] for f in frames] == [True] * (len(frames) - 1) + [False]
    assert all(f["last_change_seq"] == 39 and f["room"] == "r" and f["type"] == "changes" for f in frames)
    # a frame holds as many messages as fit: the next message would not have
    for text, following in zip(texts, frames[1:], strict=False):
        assert len(text.encode()) + len(orjson.dumps(following["messages"][0])) + 1 > 1500


def test_the_spliced_text_is_what_encoding_the_frame_gives():
    preview = ReplyPreview(1, "bob", "hi", False)
    messages = [message(1), message(2, change_seq=7, edited_at=5, reply_to=1, reply_preview=preview,
                                    mentions=("bob",), mentions_room=True)]
    (text,) = page_frames("changes", "r", messages, True, {"last_change_seq": 9})
    assert text == orjson.dumps({"type": "changes", "room": "r", "messages": [m.to_dict() for m in messages],
                                 "has_more": True, "last_change_seq": 9}).decode()
    (text,) = page_frames("catchup", "r", messages, False, {})
    assert text == orjson.dumps({"type": "catchup", "room": "r", "messages": [m.to_dict() for m in messages],
                                 "has_more": False}).decode()


def test_one_message_per_frame_even_when_it_is_bigger_than_the_limit(settings):
    settings.CHAT = {**settings.CHAT, "MAX_FRAME_BYTES": 100}
    texts = page_frames("catchup", "r", [message(1), message(2)], False, {})
    assert [[m["seq"] for m in orjson.loads(t)["messages"]] for t in texts] == [[1], [2]]


def test_empty_pages():
    (last,) = page_frames("changes", "r", [], False, {"last_change_seq": 0})
    assert orjson.loads(last) == {"type": "changes", "room": "r", "messages": [], "has_more": False,
                                  "last_change_seq": 0}
    assert page_frames("changes", "r", [], True, {"last_change_seq": 5}) == []  # nothing to say yet
