"""Export chat history from Ignite as JSON Lines (one message per line), streaming."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import StoreError

from ._chatio import Progress, epoch_ms


class Command(BaseCommand):
    help = "Write messages (tombstones included) as JSON Lines ordered by room and seq; memory stays constant."

    def add_arguments(self, parser):
        parser.add_argument("output", nargs="?", default="-", help="File to write (default: stdout).")
        parser.add_argument("--room", help="Only this room.")
        parser.add_argument("--since", help="Only messages created at or after this ISO date/datetime (UTC).")
        parser.add_argument("--until", help="Only messages created before this ISO date/datetime (UTC).")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        since = epoch_ms(options["since"], "--since") if options["since"] else None
        until = epoch_ms(options["until"], "--until") if options["until"] else None
        store = stores[options["store"]]
        to_stdout = options["output"] == "-"
        out = sys.stdout if to_stdout else open(options["output"], "w", encoding="utf-8")  # noqa: SIM115
        progress = Progress("exporting")
        try:
            if since is None and until is None:
                progress.total = self._total(store, options["room"])
            for message in store.iter_messages(room=options["room"], since=since, until=until):
                out.write(json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
                progress.step()
            progress.finish()
        except StoreError as exc:
            raise CommandError(f"export failed after {progress.count} messages: {exc}") from exc
        finally:
            if to_stdout:
                out.flush()
            else:
                out.close()
        if options["verbosity"] >= 1:
            self.stderr.write(f"Exported {progress.count} messages.")

    @staticmethod
    def _total(store, room: str | None) -> int | None:
        # For the progress bar only; an approximation is fine.
        if not sys.stderr.isatty():
            return None
        return sum(info.message_count for info in store.rooms() if room is None or info.room == room)
