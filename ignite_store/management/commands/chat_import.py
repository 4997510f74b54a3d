"""Import chat history from JSON Lines written by chat_export; idempotent, sequences kept."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import InvalidMessage, StoreError

from ._chatio import Progress, message_from_json


class Command(BaseCommand):
    help = "Store messages from a JSON Lines file with their own id, seq and time; already stored ones are skipped."

    def add_arguments(self, parser):
        parser.add_argument("input", nargs="?", default="-", help="File to read (default: stdin).")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        source = sys.stdin if options["input"] == "-" else open(options["input"], encoding="utf-8")  # noqa: SIM115
        created = skipped = 0
        progress = Progress("importing")
        try:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    message = message_from_json(json.loads(line), number)
                    if store.import_message(message):
                        created += 1
                    else:
                        skipped += 1
                except json.JSONDecodeError as exc:
                    raise CommandError(f"line {number}: not JSON: {exc}") from exc
                except InvalidMessage as exc:
                    raise CommandError(f"line {number}: {exc}") from exc
                except StoreError as exc:
                    raise CommandError(f"line {number}: {exc} (re-run to resume; stored lines are skipped)") from exc
                progress.step()
        finally:
            progress.finish()
            if source is not sys.stdin:
                source.close()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Imported {created} messages, skipped {skipped} already stored.")
