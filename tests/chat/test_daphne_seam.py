"""The Daphne seam: loading Django changes no library class, and the internals' version guard falls back."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from chat import daphne_internals
from tests.fixtures.daphne import BASE_DIR

# Run in a subprocess: importing daphne.server installs Twisted's reactor, which this process must not do.
_LIBRARY_METHODS = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "chatsite.test_settings"
django.setup()
import chatsite.asgi, chat.consumers  # everything a Django process loads
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
before = {(cls.__name__, name): getattr(cls, name) for cls, name in [
    (Server, "handle_reply"), (Server, "create_application"), (Server, "run"),
    (WebSocketProtocol, "onMessage"), (WebSocketFactory, "setProtocolOptions"), (WebSocketFactory, "protocol")]}
assert all(not value.__module__.startswith(("chat", "chatsite")) for value in before.values()), before
import chatsite.daphne_main  # the entry point subclasses; it changes nothing either
after = {(cls.__name__, name): getattr(cls, name) for (cls_name, name) in before
         for cls in (Server, WebSocketFactory, WebSocketProtocol) if cls.__name__ == cls_name}
assert after == before, after
print("unchanged")
"""


def test_loading_django_and_the_entry_point_change_no_library_class():
    out = subprocess.run([sys.executable, "-c", _LIBRARY_METHODS], cwd=BASE_DIR, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "unchanged", out.stderr


def test_the_installed_versions_pass_the_guard():
    daphne_internals.process_supported.cache_clear()
    assert daphne_internals.process_supported()


def test_versions_outside_the_checked_majors_are_refused():
    def versions(daphne: str, twisted: str = "26.10.0", autobahn: str = "26.10.2"):
        return {"daphne": daphne, "twisted": twisted, "autobahn": autobahn}.__getitem__

    assert daphne_internals._version_problem(versions("4.2.3")) is None
    assert "daphne 5.0.0" in daphne_internals._version_problem(versions("5.0.0"))
    assert "twisted 22.4.0" in daphne_internals._version_problem(versions("4.2.3", twisted="22.4.0"))
    assert "unknown" in daphne_internals._version_problem(versions("dev"))


def test_a_failed_guard_falls_back_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(daphne_internals, "_version_problem", lambda: "daphne 5.0.0 is not a version these "
                        "internals were checked against")
    daphne_internals.process_supported.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="chat.daphne_internals"):
            assert not daphne_internals.process_supported()
            assert not daphne_internals.process_supported()
        assert [r.getMessage() for r in caplog.records] == [
            "daphne 5.0.0 is not a version these internals were checked against: "
            "Daphne's plain send path is used (no direct writes, no send back-pressure)"]
    finally:
        daphne_internals.process_supported.cache_clear()


@pytest.mark.parametrize("transport", [None, SimpleNamespace(TLS=True), object()])
def test_a_connection_that_is_not_plain_tcp_is_served_plainly(transport):
    assert not daphne_internals.connection_supported(SimpleNamespace(transport=transport))


def test_the_default_server_takes_the_direct_path_on_the_standard_event_loop(daphne_factory):
    server = daphne_factory(DJANGO_LOG_LEVEL="INFO")  # the server logs which send path it took
    assert "chat send path: direct writes, send back-pressure; event loop: asyncio" in server.log_tail(200)


def test_an_unknown_event_loop_is_refused_before_daphne_starts():
    out = subprocess.run([sys.executable, "-m", "chatsite.daphne_main", "--version"], cwd=BASE_DIR,
                         capture_output=True, text=True, timeout=60, env={**os.environ, "CHAT_EVENT_LOOP": "trio"})
    assert out.returncode != 0 and "CHAT_EVENT_LOOP='trio': expected one of asyncio, uvloop" in out.stderr


# In a subprocess for the same reason: autobahn's Twisted flavour installs the reactor.
_QUIET_READS = """
import txaio
txaio.use_twisted()
from autobahn.util import hl
import autobahn.twisted.websocket as tw
from chat import daphne_internals
calls = []
class Probe:
    log = txaio.make_logger()
    peer = "tcp:127.0.0.1:1"
    dataReceived = tw.WebSocketServerProtocol.dataReceived
    def _dataReceived(self, data):
        calls.append(data)
formatted = []
tw.hltype = lambda obj: formatted.append(obj) or ""  # counts the formatting of autobahn's own debug line
proto = Probe()
assert daphne_internals.receive_data(proto, b"frame") is True and calls == [b"frame"] and not formatted
proto.dataReceived(b"plain")  # autobahn's method formats its line first
assert calls == [b"frame", b"plain"] and formatted, formatted
txaio.set_global_log_level("debug")
assert daphne_internals.receive_data(proto, b"x") is False and calls == [b"frame", b"plain"]
print("quiet")
"""


def test_reads_skip_autobahns_debug_line_unless_debug_logging_is_on():
    out = subprocess.run([sys.executable, "-c", _QUIET_READS], cwd=BASE_DIR, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "quiet", out.stderr
