"""Daphne started through chatsite.daphne_main runs its reactor on uvloop, and the chat works on it.

A real Daphne (real Ignite, Redis and session database from `chat_site`) on a free port handed over
with --fd, exactly as tests/fixtures/daphne.py starts `python -m daphne`, but through the new entry
point. Checked on uvloop: a round trip across two clients, the close codes autobahn sends (1009, 1007),
back-pressure (a client that stops reading is closed 4008 once its outbox overflows) and a clean SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.fixtures.daphne import BASE_DIR, DaphneServer, _wait_until_serving

from .helpers import unique
from .test_e2e import TIMEOUT, join, open_client, put, recv

USERS = ["uv-ana", "uv-bob", "uv-cyd"]
# Small limits so that a stalled reader overflows in a few dozen frames; sends are not rate limited.
ENV = {
    "CHAT_EVENT_LOOP": "uvloop", "CHAT_OUTBOX_MAX_FRAMES": "40", "CHAT_SOCKET_HIGH_WATER_BYTES": "16384",
    "CHAT_SEND_BURST": "1000", "CHAT_SEND_RATE_PER_SECOND": "1000", "CHAT_FRAME_BURST": "1000",
}
MAX_FRAME = 32_768


def start_daphne(chat_site, **extra_env: str) -> DaphneServer:
    """`python -m chatsite.daphne_main` on a listening socket opened here (--fd), serving the chat site."""
    env = {**chat_site.env, **extra_env}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    log_path = chat_site.directory / f"daphne-uvloop-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatsite.daphne_main", "--fd", str(listener.fileno()),
             "--ping-interval", "5", "--ping-timeout", "10", "-v", "1",
             "--websocket-max-message-size", str(MAX_FRAME), "--websocket-max-frame-size", str(MAX_FRAME),
             "chatsite.asgi:application"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()],
        )
    listener.close()
    server = DaphneServer(proc, port, log_path)
    try:
        _wait_until_serving(server)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def uv_server(chat_site):
    server = start_daphne(chat_site, **ENV)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uv_cookies(chat_site) -> dict[str, str]:
    return {name: f"sessionid={key}" for name, key in chat_site.login(*USERS).items()}


def test_the_reactor_runs_on_uvloop(uv_server):
    assert "chatsite.daphne_main: event loop uvloop.Loop" in uv_server.log_path.read_text()
    maps = Path(f"/proc/{uv_server.pid}/maps").read_text()
    assert "/uvloop/loop." in maps  # uvloop's extension module is mapped into the server process


@pytest.mark.parametrize(("choice", "expected"), [("asyncio", "asyncio.unix_events._UnixSelectorEventLoop"),
                                                  ("auto", "uvloop.Loop")])
def test_the_loop_follows_chat_event_loop(chat_site, choice, expected):
    out = subprocess.run([sys.executable, "-m", "chatsite.daphne_main", "--help"], cwd=BASE_DIR,
                         env={**chat_site.env, "CHAT_EVENT_LOOP": choice}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"chatsite.daphne_main: event loop {expected}" in out.stderr


async def test_chat_round_trip_on_uvloop(uv_server, uv_cookies):
    room = unique("uv")
    ana = await open_client(uv_server, uv_cookies["uv-ana"])
    bob = await open_client(uv_server, uv_cookies["uv-bob"])
    await join(ana, room)
    await join(bob, room)
    await put(ana, type="send", room=room, body="over uvloop", client_id="uv-1")
    ack = await recv(ana, "ack")
    for ws in (ana, bob):
        message = (await recv(ws, "message"))["message"]
        assert (message["seq"], message["author"], message["body"]) == (ack["seq"], "uv-ana", "over uvloop")
    await ana.close()
    await bob.close()


@pytest.mark.parametrize(("frame", "code"), [
    (json.dumps({"type": "ping", "id": "x", "pad": "x" * 40_000}).encode(), 1009),
    (b'{"type": "ping", "id": "\xff\xfe"}', 1007),
], ids=["oversized", "bad-utf8"])
async def test_close_codes_on_uvloop(uv_server, uv_cookies, frame, code):
    ws = await open_client(uv_server, uv_cookies["uv-cyd"])
    await ws.send(frame, text=True)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == code


async def test_a_reader_that_stalls_is_closed_4008_on_uvloop(uv_server, uv_cookies):
    room = unique("uv-slow")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", uv_server.port))
    stalled = await connect(uv_server.ws_url, sock=sock, origin=uv_server.origin, compression=None, max_queue=1,
                            additional_headers={"Cookie": uv_cookies["uv-bob"]}, open_timeout=TIMEOUT)
    assert json.loads(await stalled.recv())["type"] == "hello"
    await stalled.send(json.dumps({"type": "join", "room": room}))
    while json.loads(await asyncio.wait_for(stalled.recv(), TIMEOUT))["type"] != "joined":
        pass
    sender = await open_client(uv_server, uv_cookies["uv-ana"])
    await join(sender, room)
    for i in range(120):  # ~460 KiB to a reader whose kernel buffers hold a few KiB
        await put(sender, type="send", room=room, body=f"{i:03d}" + "y" * 3800, client_id=f"slow-{i}")
    acks = [await recv(sender, "ack") for _ in range(120)]
    assert [a["seq"] for a in acks] == list(range(acks[0]["seq"], acks[0]["seq"] + 120))  # the sender is unhurt
    seqs = []
    with pytest.raises(ConnectionClosed) as closed:  # now read: what was queued, then the close frame
        while True:
            frame = json.loads(await asyncio.wait_for(stalled.recv(), TIMEOUT))
            if frame["type"] == "message":
                seqs.append(frame["message"]["seq"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert seqs == sorted(seqs) and len(seqs) < 120  # in order, and cut before the end
    await sender.close()


def test_sigterm_stops_uvloop_daphne_cleanly(chat_site):
    server = start_daphne(chat_site, CHAT_EVENT_LOOP="uvloop")
    t0 = time.monotonic()
    server.stop()  # SIGTERM, SIGKILL only after 10 s
    assert server.proc.returncode == 0, server.log_tail()
    assert time.monotonic() - t0 < 5
