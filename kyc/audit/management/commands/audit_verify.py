from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kyc.audit.chain import verify_chain


class Command(BaseCommand):
    help = "Walk the audit hash chain and name the first event that does not verify."

    def handle(self, *args: Any, **options: Any) -> None:
        status = verify_chain()
        if not status.ok:
            raise CommandError(status.describe())
        self.stdout.write(status.describe())
