"""`manage.py bootstrap_roles`: the Reviewers, Senior reviewers and Auditors groups."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reviews.roles import bootstrap_roles


class Command(BaseCommand):
    help = "Create the staff groups with their permissions (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Also remove permissions that were added to these groups by hand.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for change in bootstrap_roles(reset=options["reset"]):
            parts = []
            if change.created:
                parts.append("created")
            if change.added:
                parts.append("added " + ", ".join(change.added))
            if change.removed:
                parts.append("removed " + ", ".join(change.removed))
            self.stdout.write(f"{change.group}: {'; '.join(parts) or 'up to date'}")
