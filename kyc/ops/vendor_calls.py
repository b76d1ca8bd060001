"""One log line per vendor call, in one place (the pipeline calls adapters through this).

The line carries the request id of the API request that caused the call (kyc/ops/logs.py) and
only facts: vendor, our attempt id, outcome, error code, the vendor's request id, latency.
Never images, scores' inputs, credentials or the applicant's reference. Metrics about vendor
calls are computed from the attempts' rows at scrape time (kyc/ops/metrics.py), not here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from vendors.base import CompareRequest, CompareResult, VendorError

if TYPE_CHECKING:
    from kyc.models import ComparisonAttempt

logger = logging.getLogger("kyc.vendor_calls")
T = TypeVar("T")


def vendor_call(
    attempt: ComparisonAttempt,
    compare: Callable[[CompareRequest], CompareResult],
    request: CompareRequest,
    *,
    on_answer: Callable[[CompareResult], T],
) -> T:
    """Call the vendor; hand its answer to `on_answer` (which stores it), then log the call.
    Returns what `on_answer` returned.

    The answer is stored before its line is written, not after: writing the line gives up the
    GIL, and until the answer is stored a killed worker costs a second, billed call (issue 19).
    """
    started = time.perf_counter()
    facts: dict[str, object] = {
        "vendor": attempt.vendor,
        "attempt": str(attempt.public_id),
        "purpose": attempt.purpose,
    }
    try:
        result = compare(request)
    except VendorError as error:
        logger.info(
            "vendor call",
            extra={
                **facts,
                "outcome": "error",
                "error_code": str(error.code),
                "retryable": error.retryable,
                "http_status": error.http_status,
                "vendor_request_id": error.vendor_request_id,
                "latency_ms": error.latency_ms or _ms(started),
            },
        )
        raise
    except Exception as error:
        logger.warning(
            "vendor call",
            extra={**facts, "outcome": type(error).__name__, "latency_ms": _ms(started)},
        )
        raise
    latency_ms = result.latency_ms or _ms(started)
    try:
        return on_answer(result)
    finally:
        logger.info(
            "vendor call",
            extra={
                **facts,
                "outcome": str(result.status),
                "error_code": str(result.error_code or ""),
                "billable": result.billable,
                "vendor_request_id": result.vendor_request_id,
                "latency_ms": latency_ms,
            },
        )


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
