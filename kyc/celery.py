"""The Celery application (DESIGN §9).

Tasks acknowledge late and are rejected back to the queue when their worker dies, so a vendor
call interrupted by a crash runs again on another worker; the task itself claims its attempt
with a conditional update, which makes the second run safe.

Stopping: SIGTERM is a warm shutdown (no new task; prefetched messages go back to the broker;
running tasks finish and store their vendor's answer), which the process manager must give
time to (README, "Stopping a worker"); `worker_soft_shutdown_timeout` (kyc/settings.py) gives a
cold shutdown the same time before it abandons running tasks.
"""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

from celery import Celery, signals

from kyc import dispatch, queues
from kyc.ops.logs import connect_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc.settings")


#: Tasks that leave the comparisons queue by name (kyc/queues.py says why each queue exists).
ROUTES = {
    dispatch.LOCATE_FACES: queues.FACES,
    dispatch.CHECK_KNOWN_FACE: queues.FACES,
    dispatch.DELIVER_WEBHOOK: queues.WEBHOOKS,
}


def route_task(name: str, *_: Any, **__: Any) -> dict[str, str] | None:
    """The queue of a task, wherever it is sent from (web, worker, beat, `celery call`).

    Every task the beat schedule runs is maintenance: one rule, so a beat task added later (in
    kyc or reviews) cannot end up behind the comparisons. Read at send time, not at import:
    the schedule is a setting, and this module is imported while settings load.
    """
    if name in ROUTES:
        return {"queue": ROUTES[name]}
    if any(entry["task"] == name for entry in app.conf.beat_schedule.values()):
        return {"queue": queues.MAINTENANCE}
    return None


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
    task_default_queue=queues.COMPARISONS,
    task_routes=(route_task,),
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


#: Container objects allocated (net) before a young-generation collection; CPython's default is
#: 700. A comparison task allocates thousands, and with a hundred tasks in flight most of them
#: are still alive at a collection: each one then scans them and moves them on to an older
#: generation that scans them again.
YOUNG_COLLECTION_THRESHOLD = 10_000


def collect_garbage_less(**_: Any) -> None:
    """Once the worker is ready, what it has loaded (Django, Celery, models, vendor clients) lives
    as long as the process: `gc.freeze` leaves it out of every later collection, and the young
    generation is collected less often. Timed with gc.callbacks over bench/pipeline.py's three
    bursts of 300 pairs (issue 19): 336 collections took 0.57 and 0.61 s of the worker's CPU with
    CPython's defaults, 19 took 0.20 s with these."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


signals.worker_ready.connect(collect_garbage_less, weak=False, dispatch_uid="kyc.gc")
