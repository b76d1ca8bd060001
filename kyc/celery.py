"""The Celery application (DESIGN §9).

Tasks acknowledge late and are rejected back to the queue when their worker dies, so a vendor
call interrupted by a crash runs again on another worker; the task itself claims its attempt
with a conditional update, which makes the second run safe.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals

from kyc import dispatch, queues
from kyc.ops.logs import connect_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc.settings")

app = Celery("kyc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
    task_default_queue=queues.DEFAULT,
    # Face work runs on our own CPU for seconds; on its own queue it never delays a comparison.
    task_routes={dispatch.LOCATE_FACES: {"queue": queues.FACES}},
)
app.autodiscover_tasks()
# Request ids travel from the web request to the tasks it enqueues (kyc/ops/logs.py).
connect_signals()


def report_missing_vendor_credentials(**_: Any) -> None:
    """One error line per variable an enabled backend lacks (the vendors' deployment check). The
    worker runs on: that backend's attempts fail over as `not_configured`, the others' proceed."""
    from vendors.checks import enabled_vendors_have_credentials

    for problem in enabled_vendors_have_credentials():
        logging.getLogger("kyc.worker").error(
            "%s %s", problem.msg, problem.hint, extra={"check": problem.id}
        )


signals.worker_ready.connect(
    report_missing_vendor_credentials, weak=False, dispatch_uid="kyc.vendor_credentials"
)
