"""Delete messages older than the retention period (IGNITE_STORE OPTIONS retention_days, or --older-than)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import StoreError

DAY_MS = 86_400_000


class Command(BaseCommand):
    help = (
        "Delete messages created more than DAYS days ago (default: OPTIONS['retention_days'] of the store; "
        "0 there means keep forever). Room sequences are not reused. Run it daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, metavar="DAYS", help="Age in days (overrides retention_days).")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        days = options["older_than"]
        if days is None:
            days = getattr(store, "retention_days", 0)
            if not days:
                raise CommandError("No retention configured: pass --older-than DAYS or set retention_days.")
        if days < 1:
            raise CommandError("--older-than must be at least 1 day")
        cutoff = int(time.time() * 1000) - days * DAY_MS
        try:
            count = store.prune(cutoff, dry_run=options["dry_run"])
        except StoreError as exc:
            raise CommandError(f"prune failed: {exc}") from exc
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} {count} messages older than {days} days.")
