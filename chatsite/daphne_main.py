"""Daphne with the chat's server class: `python -m chatsite.daphne_main <daphne arguments>`.

The same arguments as the `daphne` command; Daphne's own command line parses them and builds
chat.daphne_server.ChatServer through its `server_class` extension point. Loading Django anywhere
else (manage.py, tests, the admin) changes nothing in Daphne, Twisted or autobahn.
"""

from __future__ import annotations

import sys

from daphne.cli import CommandLineInterface

from chat.daphne_server import ChatServer


class ChatCommandLine(CommandLineInterface):
    """Daphne's command line, serving with ChatServer."""

    server_class = ChatServer


def main() -> None:
    """Run Daphne's command line (reads sys.argv, exits with its status)."""
    sys.argv[0] = "daphne"  # Daphne's usage and error messages
    ChatCommandLine.entrypoint()


if __name__ == "__main__":
    main()
