"""Signals the kyc domain sends to the apps that depend on it (DESIGN §3: reviews -> kyc).

Receivers run synchronously inside the sender's transaction, so whatever they write commits or
rolls back with the change that caused it.
"""

from collections.abc import Iterable

from django.dispatch import Signal

#: Reasons that put a case ahead of plain gray-band scores in the queue.
URGENT_REVIEW_REASONS = frozenset(
    {"vendor_failed", "vendor_disagreement", "age_risk", "gender_risk", "face_blocklisted"}
)


def review_priority(reasons: Iterable[str]) -> int:
    """The `priority` these reasons give a case: 1 when any is urgent, else 0."""
    return int(not URGENT_REVIEW_REASONS.isdisjoint(reasons))


#: A pair needs a human. kwargs: pair (ImagePair), reasons (list[str]), priority (int,
#: `review_priority`).
pair_needs_review = Signal()

#: A pair was decided automatically (approved, rejected or resubmit) and its client's webhook is
#: recorded. kwargs: pair (ImagePair), attempt (the deciding ComparisonAttempt). Sent last in the
#: deciding transaction: a receiver with more than a read to do defers it to `on_commit`, so the
#: decision never waits for it (reviews samples decisions for blind QA this way).
pair_decided = Signal()


#: An applicant contests an automatic rejection. kwargs: pair (ImagePair), contest (PairContest).
pair_contested = Signal()

#: A pair's photos were purged (erasure or retention). kwargs: pair (ImagePair, its face
#: geometry still set). Whatever an app derived from the photos goes with them (reviews drops
#: the aligned face crops it keeps encrypted in the cache).
pair_images_purged = Signal()

#: A pair already in review has more reasons for it: a known-face match (kyc.known_faces)
#: that arrived after the pair's case was opened. kwargs: pair (ImagePair), reasons
#: (list[str]), priority (int, as for `pair_needs_review`). Reviews adds them to the open case.
pair_review_reasons_added = Signal()
