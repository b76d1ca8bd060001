"""What every staff page needs to warn before its session ends (templates/base.html)."""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest

from kyc.access import sessions


def session_clock(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return {}
    return {
        "session_clock": {
            "seconds_left": sessions.seconds_left(request.session, time.time()),
            "warn_seconds": sessions.warning_seconds(),
        }
    }
