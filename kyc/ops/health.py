"""Liveness and readiness for load balancers and orchestrators.

/healthz answers while the process can serve a request at all: no database, no broker, so a slow
dependency never gets healthy web processes killed. /readyz checks what a request needs —
the database, the broker the API enqueues into, and the image storage — and answers 503 with one
entry per check when any fails. The answer names only the exception class: /readyz is
unauthenticated, and messages can carry host names; the full message goes to the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2
STORAGE_PROBE = "readyz-probe"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    ms: float
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": self.ok, "ms": round(self.ms, 1)}
        if self.error:
            body["error"] = self.error
        return body


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    from kyc.celery import app

    with app.connection_for_read(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def check_storage() -> None:
    # A name that never exists: proves the backend answers (a HEAD on S3, a stat on disk).
    default_storage.exists(STORAGE_PROBE)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def run_checks() -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as error:
            elapsed = (time.perf_counter() - started) * 1000
            logger.warning(
                "readiness check failed",
                extra={"check": name, "error": f"{type(error).__name__}: {error}"},
            )
            results.append(CheckResult(name, False, elapsed, type(error).__name__))
        else:
            results.append(CheckResult(name, True, (time.perf_counter() - started) * 1000))
    return results


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    ready = all(result.ok for result in results)
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {result.name: result.as_dict() for result in results},
        },
        status=200 if ready else 503,
    )
