"""Outgoing webhooks, signed and retried as the Standard Webhooks specification describes.

Specification: https://www.standardwebhooks.com (referred to below as "SW").

What a client receives for every event of one of its image pairs::

    POST <pair.callback_url or client.webhook_url>
    webhook-id: msg_<32 hex>          same on every retry: deduplicate on it
    webhook-timestamp: <unix seconds> time of this attempt
    webhook-signature: v1,<base64>    one per active secret, separated by spaces
    content-type: application/json

    {"data": {...}, "timestamp": "2025-01-01T12:00:00.000Z", "type": "pair.approved"}

How a receiver checks it (what `verify` does): take the secret `whsec_<base64>`, base64-decode
the part after `whsec_` to get the HMAC key, compute
`base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{raw body}"))` and compare it in
constant time with each `v1,` entry of `webhook-signature`; refuse timestamps more than five
minutes away from the receiver's clock.

A delivery is one `WebhookDelivery` row. Attempts follow the SW schedule (immediately, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h); a worker takes a delivery with a conditional UPDATE, so a Celery
message delivered twice, or the sweeper racing a scheduled retry, never sends an event twice at
the same time. Payload bodies, secrets and target URLs (which may embed credentials) are never
logged.

The package: `signing` (secrets, signatures, the receiver's check), `targets` (which URLs may
receive webhooks) and `delivery` (recording, sending and retrying).
"""

from kyc.webhooks.delivery import deliver, enqueue_pair_event, sweep_due
from kyc.webhooks.signing import (
    SECRET_PREFIX,
    WebhookVerificationError,
    generate_secret,
    sign,
    signature_header,
    verify,
)
from kyc.webhooks.targets import WebhookTargetRefused, check_target_url

__all__ = [
    "SECRET_PREFIX",
    "WebhookTargetRefused",
    "WebhookVerificationError",
    "check_target_url",
    "deliver",
    "enqueue_pair_event",
    "generate_secret",
    "sign",
    "signature_header",
    "sweep_due",
    "verify",
]
