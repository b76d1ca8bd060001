"""`manage.py purge_images [--dry-run]`: apply the image retention policy now.

Celery beat runs the same service every hour (task kyc.purge_expired_images).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kyc.services.retention import RUN_LIMIT, purge_expired_images


class Command(BaseCommand):
    help = "Delete the images of pairs past the retention period (decisions and audit are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be purged; change nothing."
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=RUN_LIMIT,
            help=f"At most this many pairs (default {RUN_LIMIT}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = purge_expired_images(dry_run=options["dry_run"], limit=options["limit"])
        cutoff = report.decided_before.strftime("%Y-%m-%d %H:%M %Z")
        self.stdout.write(
            f"Retention: images kept {report.days} days after a final decision "
            f"(decided before {cutoff})."
        )
        if report.dry_run:
            self.stdout.write(f"Would purge: {report.eligible} pairs")
            self.stdout.write(f"Kept on legal hold: {report.on_hold} pairs")
            self.stdout.write("Dry run: nothing was changed.")
            return
        self.stdout.write(self.style.SUCCESS(f"Purged: {report.purged} pairs"))
        self.stdout.write(f"Kept on legal hold: {report.on_hold} pairs")
        if report.skipped:
            self.stdout.write(
                f"Skipped (busy or changed meanwhile, retried next run): {report.skipped}"
            )
        if report.remaining:
            self.stdout.write(f"Left for the next run (limit reached): {report.remaining}")
