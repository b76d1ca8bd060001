"""The Celery queues, named once (DESIGN §9: no kind of task waits behind another).

`DEFAULT` carries the comparisons, webhooks and maintenance; `FACES` the face work on our own
CPU (kyc.services.faces), which a busy vendor backlog must not hold up, nor slow down. No imports:
the worker launcher (kyc.worker_process) reads this before Django is configured.
"""

DEFAULT = "celery"  # Celery's own default name, so messages already queued stay routed
FACES = "faces"
ALL = (DEFAULT, FACES)
