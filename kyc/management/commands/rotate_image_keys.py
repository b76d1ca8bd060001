"""Re-wrap every stored image's data key, and those of the values sealed in the database
(kyc.services.key_rotation), under the newest master key (DESIGN §9).

Rotation procedure: put the new key first in KYC_ENCRYPTION_KEYS (keeping the old ones after it),
restart, run this command until it reports no failures, then drop the old keys. Each file keeps
its data key and its name: the key is unwrapped with the old master key and wrapped with the new
one, and the payload is re-sealed in memory (the header is its associated data). Nothing is
written in plaintext, and the database is only read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc import crypto
from kyc.models import ImagePair
from kyc.services.key_rotation import SEALED_COLUMNS, rewrap_column
from kyc.storage import EncryptedStorage

IMAGE_FIELDS = ("selfie", "reference")


class Command(BaseCommand):
    help = "Re-wrap every stored image's data key under the newest KYC_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Image pairs read per database query."
        )

    def handle(self, *args: Any, dry_run: bool, batch_size: int, **options: Any) -> None:
        keys = crypto.master_keys()
        newest = keys[0].kid
        storage = ImagePair._meta.get_field("selfie").storage
        if not isinstance(storage, EncryptedStorage):
            raise CommandError("The image storage is not kyc.storage.EncryptedStorage.")

        counts: Counter[str] = Counter()
        # Purged pairs keep their row but not their files; only their names would be left.
        pairs = (
            ImagePair.objects.filter(images_purged_at__isnull=True)
            .exclude(selfie="", reference="")
            .only("pk", *IMAGE_FIELDS)
            .order_by("pk")
        )
        for pair in pairs.iterator(chunk_size=batch_size):
            for field in IMAGE_FIELDS:
                name = getattr(pair, field).name
                if name:
                    outcome = self._rotate(storage, pair.pk, field, name, keys, dry_run)
                    counts[outcome] += 1

        rewrapped = "would re-wrap" if dry_run else "re-wrapped"
        self.stdout.write(
            f"{rewrapped} {counts['rewrapped']}, already on {newest} {counts['current']}, "
            f"missing {counts['missing']}, failed {counts['failed']}"
            + (" (dry run: nothing written)" if dry_run else "")
        )
        # Contest statements, face templates and blocklisted faces: the same master keys.
        column_failures = 0
        for label, model, column in SEALED_COLUMNS:
            done = rewrap_column(model, column, keys, dry_run=dry_run)
            self.stdout.write(
                f"{label}: {rewrapped} {done['rewrapped']}, already on {newest} "
                f"{done['current']}, failed {done['failed']}"
            )
            if done["failed"]:
                self.stderr.write(f"failed: {done['failed']} of the {label}")
            column_failures += done["failed"]
        if counts["failed"] or column_failures:
            raise CommandError(
                f"{counts['failed'] + column_failures} image(s) or sealed value(s) could not "
                "be re-wrapped; keep the old keys listed "
                "and see the messages above."
            )

    def _rotate(
        self,
        storage: EncryptedStorage,
        pk: int,
        field: str,
        name: str,
        keys: list[crypto.MasterKey],
        dry_run: bool,
    ) -> str:
        """What happened to one file: rewrapped, current, missing or failed."""
        try:
            if not storage.exists(name):
                # Missing files are reported, not fatal: nothing can be re-wrapped, and
                # nothing is at risk under the old key either.
                self.stderr.write(f"missing: {name}")
                return "missing"
            blob = storage.read_raw(name)
            if crypto.key_id(blob) == keys[0].kid:
                return "current"
            # Re-wrapping in a dry run too: it proves the old key is listed and the file intact.
            rewrapped = crypto.rewrap(blob, keys)
            if dry_run:
                return "rewrapped"
            storage.replace_raw(name, rewrapped)
            still_wanted = ImagePair.objects.filter(
                pk=pk, images_purged_at__isnull=True, **{field: name}
            ).exists()
            if not still_wanted:
                # Purged while we were re-wrapping: the write above must not bring a deleted
                # biometric image back.
                storage.delete(name)
                return "missing"
        except FileNotFoundError:
            # Deleted (purged) after the exists() check; local replace_raw refuses to recreate it.
            self.stderr.write(f"missing: {name}")
            return "missing"
        except Exception as error:
            # One bad file (altered, old key dropped, storage error) must not stop the run; the
            # command still exits non-zero. Names only: never image bytes or keys.
            self.stderr.write(f"failed: {name}: {type(error).__name__}: {error}")
            return "failed"
        return "rewrapped"
