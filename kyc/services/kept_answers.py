"""A vendor's answer, kept the moment it arrives, so a worker that dies before recording it does
not pay for the call twice (issue 19: crash cost).

Recording an answer is a transaction that, under load, waits its turn for CPU and locks; a
SIGKILL in that window used to lose the answer, and the attempt's next run called the vendor
again, billed again. The answer is now put in the cache (Redis in production, the file cache in
the demo) before anything else happens to it, and an attempt re-claimed after its worker died
records the kept answer instead of calling. Only a re-claim reads it: a fresh claim has nothing
kept. Best effort by design: a cache that is down, or an entry that is gone or unreadable, means
the vendor is called again, exactly as before.

Encrypted like everything else at rest (the answer names no image, but carries the vendor's
ages, genders and face boxes); kept longer than any attempt's deadline (attempt_claims).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from typing import Any

from django.conf import settings
from django.core.cache import cache

from kyc import crypto
from vendors.base import CompareResult, ErrorCode, FaceBox, ResultStatus

logger = logging.getLogger(__name__)
_KEY = "kyc:vendor-answer:{attempt}"


def keep(attempt_id: int, result: CompareResult) -> None:
    try:
        sealed = crypto.encrypt(json.dumps(_fields(result), default=str).encode())
        cache.set(_KEY.format(attempt=attempt_id), sealed, settings.KYC_KEPT_ANSWER_SECONDS)
    except Exception:  # the answer is still recorded; only a crash before that would cost
        logger.warning("vendor answer not kept", extra={"attempt_id": attempt_id}, exc_info=True)


def kept(attempt_id: int) -> CompareResult | None:
    """The answer an earlier claim of this attempt received, or None (then call the vendor)."""
    try:
        sealed = cache.get(_KEY.format(attempt=attempt_id))
        if sealed is None:
            return None
        return _result(json.loads(crypto.decrypt(sealed)))
    except Exception:  # an unreadable entry costs a second call, never the attempt
        logger.warning("kept vendor answer unreadable", extra={"attempt_id": attempt_id})
        return None


def _fields(result: CompareResult) -> dict[str, Any]:
    """The result's fields as JSON takes them. Not `asdict`: that deep-copies the vendor's whole
    raw response only for it to be serialised, a twentieth of an attempt's CPU."""
    return {
        name: asdict(value) if isinstance(value, FaceBox) else value
        for name, value in vars(result).items()
    }


def _result(fields: dict[str, Any]) -> CompareResult:
    result = CompareResult(**fields)
    code = result.error_code
    return replace(
        result,
        status=ResultStatus(result.status),
        error_code=ErrorCode(code) if code else None,
        risk_tags=tuple(result.risk_tags),
        selfie_face=_face(result.selfie_face),
        reference_face=_face(result.reference_face),
    )


def _face(box: Any) -> FaceBox | None:
    return FaceBox(**box) if box else None
