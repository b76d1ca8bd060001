"""`manage.py compare --vendor NAME SELFIE REFERENCE [--json]` (DESIGN §10).

One comparison through the same image preparation and adapter code as the pipeline, with the
backend's credentials from the environment. Exit status 0 only when the comparison completed.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc.images import ImageRejected, inspect_upload, prepare_for_backend
from vendors.base import (
    CompareRequest,
    ReferenceSource,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
)
from vendors.registry import BACKENDS, get_adapter


class Command(BaseCommand):
    help = "Compare two photos with one backend and print the normalized result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vendor", required=True, choices=BACKENDS)
        parser.add_argument("selfie", type=Path)
        parser.add_argument("reference", type=Path)
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--reference-source", choices=[s.value for s in ReferenceSource], default="ID_PHOTO"
        )
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        vendor: str = options["vendor"]
        try:
            selfie = options["selfie"].read_bytes()
            reference = options["reference"].read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {error.filename}: {error.strerror}.") from error
        try:
            inspect_upload(selfie, field="selfie")
            inspect_upload(reference, field="reference")
            request = CompareRequest(
                selfie=prepare_for_backend(selfie, vendor, field="selfie"),
                reference=prepare_for_backend(reference, vendor, field="reference"),
                reference_id=str(uuid.uuid4()),
                user_ref=uuid.uuid4().hex[:32],
                reference_source=ReferenceSource(options["reference_source"]),
            )
        except ImageRejected as rejected:
            raise CommandError(f"{rejected.code}: {rejected.message}") from rejected
        try:
            result = get_adapter(vendor, timeout=options["timeout"]).compare(request)
        except VendorNotConfigured as error:
            raise CommandError(str(error)) from error
        except VendorError as error:
            payload = {
                "vendor": vendor,
                "status": "failed",
                "error_code": str(error.code),
                "vendor_code": error.vendor_code,
                "vendor_message": error.message,
                "retryable": error.retryable,
                "retry_after": error.retry_after,
                "http_status": error.http_status,
                "latency_ms": error.latency_ms,
            }
            self._print(payload, options["json"])
            raise SystemExit(1) from error
        self._print(result.as_dict(), options["json"])
        if result.status != ResultStatus.COMPLETED:
            raise SystemExit(1)

    def _print(self, payload: dict[str, Any], as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(payload, indent=2))
            return
        width = max(len(key) for key in payload)
        for key, value in payload.items():
            self.stdout.write(f"{key:<{width}}  {value if value is not None else '-'}")
