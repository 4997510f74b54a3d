"""Daphne on uvloop: `python -m chatsite.daphne_main <daphne arguments>` (the same arguments as `daphne`).

Daphne's server module installs Twisted's AsyncioSelectorReactor on `asyncio.new_event_loop()` when it
is imported, so the loop is whatever the event loop policy in force at that moment makes. This entry
point installs uvloop's policy first, then runs Daphne's own command line. CHAT_EVENT_LOOP chooses:
"auto" (default: uvloop when installed, else asyncio), "uvloop" (required) or "asyncio".

One line on stderr names the reactor's loop (e.g. "chatsite.daphne_main: event loop uvloop.Loop"),
so logs and tests can tell which loop a process runs.
"""

from __future__ import annotations

import asyncio
import os
import sys

ENV_VAR = "CHAT_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")


def install_loop_policy(choice: str | None = None) -> str:
    """Install uvloop's event loop policy unless asked for asyncio (or uvloop is missing); return the loop used."""
    choice = (os.environ.get(ENV_VAR, "auto") if choice is None else choice).strip().lower() or "auto"
    if choice not in CHOICES:
        raise SystemExit(f"{ENV_VAR}={choice!r}: expected one of {', '.join(CHOICES)}")
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit(f"{ENV_VAR}=uvloop but uvloop is not installed (pip install uvloop)") from None
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """'uvloop.Loop' or 'asyncio.unix_events._UnixSelectorEventLoop': the class of a loop."""
    kind = type(loop)
    return f"{kind.__module__}.{kind.__qualname__}"


def main() -> None:
    """Choose the loop, then hand over to Daphne's command line (reads sys.argv, exits with its status)."""
    if "daphne.server" in sys.modules:  # its reactor already sits on a loop made without our policy
        raise SystemExit("chatsite.daphne_main must run before daphne.server is imported")
    install_loop_policy()
    from daphne import server  # creates the reactor's loop under the policy just installed

    sys.stderr.write(f"chatsite.daphne_main: event loop {loop_name(server.twisted_loop)}\n")
    sys.stderr.flush()
    from daphne.cli import CommandLineInterface

    sys.argv[0] = "daphne"  # Daphne's usage and error messages
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
