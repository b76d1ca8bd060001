""" "Test connection": one comparison of the built-in sample images against a backend's endpoint.

The call goes through exactly what the pipeline uses — `kyc.images.prepare_for_backend` and the
adapter from `vendors.registry.get_adapter` with the configured timeout — so a success here means
credentials, signing, endpoint and image limits all work. It leaves no `ComparisonAttempt` (there
is no pair) but an audit event, since a commercial vendor may bill it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.images import ImageRejected, prepare_for_backend
from vendors.base import CompareRequest, VendorError, VendorNotConfigured
from vendors.models import VendorConfig
from vendors.registry import get_adapter
from vendors.samples import sample_pair


@dataclass(frozen=True)
class ConnectionCheck:
    backend: str
    label: str
    #: The backend answered about the images (a score, or an image problem such as no face).
    answered: bool
    #: `CompareResult.as_dict()` when it answered.
    result: dict[str, Any] | None
    #: Taxonomy code of the failure (`VendorError.code`), or NOT_CONFIGURED / IMAGE_REJECTED.
    error_code: str = ""
    message: str = ""
    vendor_code: str = ""
    http_status: int | None = None
    retryable: bool | None = None
    #: Wall-clock time of the whole call as we saw it (token requests included).
    latency_ms: int | None = None

    @property
    def status(self) -> str:
        if self.result is not None:
            return str(self.result["status"])
        return "not_configured" if self.error_code == "NOT_CONFIGURED" else "failed"


def check_connection(config: VendorConfig, actor: Actor) -> ConnectionCheck:
    backend = config.backend
    label = str(config)
    selfie, reference = sample_pair()
    try:
        request = CompareRequest(
            selfie=prepare_for_backend(selfie, backend, field="selfie"),
            reference=prepare_for_backend(reference, backend, field="reference"),
            reference_id=str(uuid.uuid4()),
            user_ref="connection-test",
            options={"multiple_faces": config.multiple_faces},
        )
    except ImageRejected as rejected:  # only if a vendor's limits change under the samples
        check = ConnectionCheck(
            backend, label, False, None, "IMAGE_REJECTED", f"{rejected.code}: {rejected.message}"
        )
        _audit(check, actor)
        return check
    started = time.monotonic()
    try:
        result = get_adapter(backend, timeout=config.timeout_seconds).compare(request)
    except VendorNotConfigured as error:
        check = ConnectionCheck(backend, label, False, None, "NOT_CONFIGURED", str(error))
    except VendorError as error:
        check = ConnectionCheck(
            backend,
            label,
            answered=False,
            result=None,
            error_code=str(error.code),
            message=error.message,
            vendor_code=error.vendor_code,
            http_status=error.http_status,
            retryable=error.retryable,
            latency_ms=_since(started),
        )
    else:
        check = ConnectionCheck(backend, label, True, result.as_dict(), latency_ms=_since(started))
    _audit(check, actor)
    return check


def _audit(check: ConnectionCheck, actor: Actor) -> None:
    error_code = check.error_code or str((check.result or {}).get("error_code") or "")
    with transaction.atomic():
        events.vendor_connection_tested(
            check.backend,
            actor,
            status=check.status,
            error_code=error_code,
            latency_ms=check.latency_ms,
        )


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
