"""Daphne with the chat's server class: `python -m chatsite.daphne_main <daphne arguments>`.

The same arguments as the `daphne` command; Daphne's own command line parses them and builds
chat.daphne_server.ChatServer through its `server_class` extension point. Loading Django anywhere
else (manage.py, tests, the admin) changes nothing in Daphne, Twisted or autobahn.

CHAT_EVENT_LOOP picks the asyncio event loop under Twisted's asyncio reactor: "asyncio" (the standard
library's, the default) or "uvloop" (libuv's; the standard loop serves when uvloop is not installed).
Daphne creates its loop when daphne.server is imported, so the choice is made through asyncio's loop
policy before that import.
"""

from __future__ import annotations

import asyncio
import os
import sys

EVENT_LOOP_ENV = "CHAT_EVENT_LOOP"
EVENT_LOOPS = ("asyncio", "uvloop")


def choose_event_loop(name: str) -> str:
    """Install the loop policy for `name` ("" = the default); the loop actually chosen."""
    name = name.strip().lower() or EVENT_LOOPS[0]
    if name not in EVENT_LOOPS:
        raise SystemExit(f"{EVENT_LOOP_ENV}={name!r}: expected one of {', '.join(EVENT_LOOPS)}")
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return "asyncio"
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return name


def main() -> None:
    """Run Daphne's command line (reads sys.argv, exits with its status)."""
    choose_event_loop(os.environ.get(EVENT_LOOP_ENV, ""))
    from daphne.cli import CommandLineInterface

    from chat.daphne_server import ChatServer

    class ChatCommandLine(CommandLineInterface):
        """Daphne's command line, serving with ChatServer."""

        server_class = ChatServer

    sys.argv[0] = "daphne"  # Daphne's usage and error messages
    ChatCommandLine.entrypoint()


if __name__ == "__main__":
    main()
