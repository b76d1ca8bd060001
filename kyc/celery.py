"""The Celery application (DESIGN §9).

Tasks acknowledge late and are rejected back to the queue when their worker dies, so a vendor
call interrupted by a crash runs again on another worker; the task itself claims its attempt
with a conditional update, which makes the second run safe.
"""

from __future__ import annotations

import os

from celery import Celery

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
