"""Create the chat schema in Ignite (caches, tables, indexes); idempotent. --dry-run only checks."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import StoreError

from ._rooms import unmigrated_rooms


class Command(BaseCommand):
    help = "Create the chat tables and indexes in Ignite when missing (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what is missing; change nothing.")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        try:
            if options["dry_run"]:
                problems = store.check_schema()
                for problem in problems:
                    self.stdout.write(f"would fix: {problem}")
                if not problems:
                    self.stdout.write("Schema is complete; nothing to do.")
                    self._report_unmigrated(store)
                return
            created = store.ensure_schema()
        except StoreError as exc:
            raise CommandError(f"Ignite schema: {exc}") from exc
        if created:
            for name in created:
                self.stdout.write(self.style.SUCCESS(f"created {name}"))
        elif options["verbosity"] >= 1:
            self.stdout.write("Schema already complete; nothing created.")
        self._report_unmigrated(store)

    def _report_unmigrated(self, store) -> None:
        # Schema only: migrating rooms is chat_migrate_rooms' job, but say so when it is due.
        try:
            pending = unmigrated_rooms(store)
        except StoreError as exc:
            self.stderr.write(f"could not look for rooms without a room record: {exc}")
            return
        if pending:
            self.stdout.write(self.style.WARNING(
                f"{len(pending)} room(s) have messages but no room record: run manage.py chat_migrate_rooms"))
