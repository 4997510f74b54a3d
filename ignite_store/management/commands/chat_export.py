"""Export chat history from Ignite as JSON Lines: rooms, memberships (read markers), then messages, streaming."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import InvalidMessage, StoreError

from ._chatio import Progress, epoch_ms, membership_line, message_line, room_line
from ._rooms import all_rooms, iter_memberships


def _line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


class Command(BaseCommand):
    help = (
        "Write rooms, memberships (with read markers) and messages (tombstones included, ordered by room and seq) "
        "as JSON Lines; memory stays constant."
    )

    def add_arguments(self, parser):
        parser.add_argument("output", nargs="?", default="-", help="File to write (default: stdout).")
        parser.add_argument("--room", help="Only this room (its record, members and messages).")
        parser.add_argument("--since", help="Only messages created at or after this ISO date/datetime (UTC); "
                                            "rooms and memberships are written whole.")
        parser.add_argument("--until", help="Only messages created before this ISO date/datetime (UTC).")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        since = epoch_ms(options["since"], "--since") if options["since"] else None
        until = epoch_ms(options["until"], "--until") if options["until"] else None
        store = stores[options["store"]]
        to_stdout = options["output"] == "-"
        out = sys.stdout if to_stdout else open(options["output"], "w", encoding="utf-8")  # noqa: SIM115
        progress = Progress("exporting")
        rooms = memberships = 0
        try:
            # Rooms first, then memberships, then messages: import creates them in file order.
            for room in all_rooms(store, options["room"]):
                out.write(_line(room_line(room)))
                rooms += 1
            for membership in iter_memberships(store, options["room"]):
                out.write(_line(membership_line(membership)))
                memberships += 1
            if since is None and until is None:
                progress.total = self._total(store, options["room"])
            for message in store.iter_messages(room=options["room"], since=since, until=until):
                out.write(_line(message_line(message)))
                progress.step()
            progress.finish()
        except (StoreError, InvalidMessage) as exc:
            raise CommandError(
                f"export failed after {rooms} rooms, {memberships} memberships, {progress.count} messages: {exc}"
            ) from exc
        finally:
            if to_stdout:
                out.flush()
            else:
                out.close()
        if options["verbosity"] >= 1:
            self.stderr.write(f"Exported {rooms} rooms, {memberships} memberships, {progress.count} messages.")

    @staticmethod
    def _total(store, room: str | None) -> int | None:
        # For the progress bar only; an approximation is fine.
        if not sys.stderr.isatty():
            return None
        return sum(info.message_count for info in store.rooms() if room is None or info.room == room)
