"""The Celery queues, named once (DESIGN §9: no kind of task waits behind another).

- `COMPARISONS`: vendor calls, which wait on the network (a large thread pool).
- `WEBHOOKS`: deliveries to the clients' servers. Network-bound like the comparisons, so the
  README serves them from the same thread-pool workers (`--queues celery,webhooks`), but on a
  queue of their own: a worker consuming several queues takes from each in turn (kombu's
  round robin), so a delivery, or a redelivery after a lost worker, waits behind the
  comparisons already running, not behind the whole backlog. Not on the maintenance queue:
  a client whose server hangs would hold the few maintenance threads for up to the send limit
  each (kyc/webhooks/delivery.py), and the sweepers would wait on a stranger's server.
- `FACES`: face work on our own CPU (kyc.services.faces), which a vendor backlog must not hold
  up, nor slow down (a prefork pool, one process per core).
- `MAINTENANCE`: the beat tasks (sweepers, purge, claim expiry, drift check, webhook redelivery
  sweep): quick database work that must run on time however long the other queues are.

No imports: the worker launcher (kyc.worker_process) reads this before Django is configured.
"""

COMPARISONS = "celery"  # Celery's own default name, so messages already queued stay routed
WEBHOOKS = "webhooks"
FACES = "faces"
MAINTENANCE = "maintenance"
#: What one worker consumes in the demo, the tests and the benchmarks (a deployment gives each
#: kind its own workers: README, "Processes").
ALL = (COMPARISONS, WEBHOOKS, FACES, MAINTENANCE)
