"""The direct write path: frames written at once while the client keeps up, queued while it does not."""

import asyncio
import struct

from chat.direct_write import text_frame
from chat.fanout import Outbox, RoomHub


class FakeSocket:
    """A DirectWriter whose client stops keeping up when told to, and catches up on release()."""

    def __init__(self):
        self.written: list[str] = []
        self.behind = False
        self.fail = False
        self._caught_up = asyncio.Event()

    def write_now(self, text: str) -> bool:
        if self.fail:
            raise ConnectionError("gone")
        self.written.append(text)
        return not self.behind

    async def drained(self) -> None:
        await self._caught_up.wait()

    def release(self) -> None:
        self.behind = False
        self._caught_up.set()


async def never_called(text):
    raise AssertionError("the direct writer takes every frame")


async def test_frames_are_written_at_once_in_order():
    sock = FakeSocket()
    outbox = Outbox(never_called, lambda: None, 10, "ana", direct=sock)
    outbox.deliver("e0")
    await outbox.put("own")
    outbox.deliver("e1")
    assert sock.written == ["e0", "own", "e1"]  # no task switch needed
    await outbox.aclose()


async def test_a_client_behind_gets_the_rest_in_order_once_it_reads():
    sock = FakeSocket()
    outbox = Outbox(never_called, lambda: None, 10, "ana", direct=sock)
    sock.behind = True
    outbox.deliver("e0")  # written, but now the client has too much unread
    outbox.deliver("e1")
    answer = asyncio.create_task(outbox.put("own"))
    await asyncio.sleep(0)  # the answer is queued behind e1
    outbox.deliver("e2")
    await asyncio.sleep(0.01)
    assert sock.written == ["e0"]
    sock.release()
    await answer
    await asyncio.sleep(0.01)
    outbox.deliver("e3")  # keeping up again: written at once
    assert sock.written == ["e0", "e1", "own", "e2", "e3"]
    await outbox.aclose()


async def test_a_client_that_stays_behind_overflows_once():
    sock = FakeSocket()
    overflowed = []
    outbox = Outbox(never_called, lambda: overflowed.append(1), 3, "slow", direct=sock)
    quick_sock = FakeSocket()
    quick = Outbox(never_called, lambda: None, 3, "quick", direct=quick_sock)
    hub = RoomHub(layer=None)
    hub.rooms["r"] = {outbox, quick}
    sock.behind = True
    for i in range(10):
        hub.dispatch("r", f"e{i}")
    assert overflowed == [1] and outbox.closed and not quick.closed
    assert quick_sock.written == [f"e{i}" for i in range(10)]
    await outbox.aclose()
    await quick.aclose()


async def test_a_failed_write_closes_once_and_drops_the_rest():
    sock = FakeSocket()
    errors = []
    outbox = Outbox(never_called, lambda: None, 10, "ana", on_write_error=lambda: errors.append(1), direct=sock)
    sock.fail = True
    outbox.deliver("e0")
    outbox.deliver("e1")
    await outbox.put("own")
    assert errors == [1] and outbox.closed and sock.written == []
    await outbox.aclose()


def test_text_frames_have_the_rfc_6455_header():
    for size, header in [(0, b"\x81\x00"), (125, b"\x81\x7d"), (126, b"\x81\x7e\x00\x7e"),
                         (65535, b"\x81\x7e\xff\xff"), (65536, b"\x81\x7f" + struct.pack("!Q", 65536))]:
        text = "x" * size
        frame, payload = text_frame(text)
        assert frame == header + text.encode() and payload == size


def test_text_frames_count_utf8_bytes_and_are_framed_once_per_text():
    text = "é" * 100  # 200 bytes: needs the 16-bit length
    frame, size = text_frame(text)
    assert size == 200 and frame[:4] == b"\x81\x7e\x00\xc8" and frame[4:].decode() == text
    assert text_frame(text)[0] is frame
    other = "".join(["é"] * 100)  # equal, another object: framed again, same bytes
    assert text_frame(other)[0] == frame
