"""The known-face check of one pair, and the blocklist (issue 20).

Flow: a pair of a client with the policy on gets a pending check at submission
(`start_check`, in the submitting transaction) and a `check_pair` message on the faces queue
after commit. The check computes the selfie's template with the local engine, searches the
client's gallery (other applicants only) and active blocklist, stores the sealed template and
the result, and routes the pair:

- not decided yet: the result waits on the pair (`ImagePair.known_face`) and the pipeline's
  `_decide` reads it (an approval becomes a review, or a rejection for a blocklisted face when
  the client configured that);
- already approved automatically: the decision is amended to a review (or the rejection),
  with its audit event, webhook and review case, as the pipeline would have done;
- in review: the match's reasons are added to the open case (`pair_review_reasons_added`,
  received by reviews), which keeps its own;
- anything else (rejected, decided by a person): the result is recorded and the client told
  by the `pair.known_face_matched` webhook.

Blocking mode (policy.blocking): the first comparison waits for the check, which releases it
(`_release_comparison`), so the decision is made with the result at hand.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from kyc import dispatch
from kyc.audit import events
from kyc.audit.chain import Actor, append
from kyc.errors import ApplicationError
from kyc.known_faces import gallery, snapshots
from kyc.known_faces.models import (
    DEFAULT_THRESHOLD,
    BlocklistAction,
    BlocklistEntry,
    CheckStatus,
    FaceTemplate,
    KnownFaceCheck,
    KnownFacePolicy,
    MatchReason,
    seal,
    unseal,
)
from kyc.models import (
    ApiClient,
    ComparisonAttempt,
    DecisionSource,
    ImagePair,
    PairStatus,
)
from kyc.representation import pair_data
from kyc.signals import pair_needs_review, pair_review_reasons_added, review_priority
from kyc.webhooks import enqueue_pair_event
from vendors.local.engine import distance, get_engine, similarity

logger = logging.getLogger(__name__)

ACTOR = Actor.system("known_faces")
#: A blocking check's comparison waits this long for the check before the stuck-attempt sweeper
#: runs it anyway (and `_decide` sends the pair to review: the check never answered).
BLOCKING_WAIT = timedelta(hours=1)


def policy_for(client: ApiClient) -> KnownFacePolicy | None:
    if not client.known_faces:
        return None
    return KnownFacePolicy.objects.filter(client=client, enabled=True).first()


def start_check(pair: ImagePair, first_attempt: ComparisonAttempt) -> bool:
    """Open the pair's check if its client enabled the policy (inside the submitting
    transaction); True when the first comparison must wait for it (blocking mode)."""
    policy = policy_for(pair.client)
    if policy is None:
        return False
    KnownFaceCheck.objects.create(pair=pair)
    pair.known_face = {
        "status": CheckStatus.PENDING,
        "reasons": [],
        "matched_applicant_refs": [],
        "blocking": policy.blocking,
        "blocklist_action": policy.blocklist_action,
    }
    pair.save(update_fields=["known_face"])
    if policy.blocking:
        ComparisonAttempt.objects.filter(pk=first_attempt.pk).update(
            not_before=timezone.now() + BLOCKING_WAIT
        )
    dispatch.send_on_commit(dispatch.CHECK_KNOWN_FACE, pair.pk)
    return policy.blocking


def template_of(selfie: bytes) -> np.ndarray | None:
    """The 128-d descriptor of the largest face of the selfie, None if there is none."""
    try:
        faces = get_engine().analyze_bytes(selfie).faces
    except ValueError:
        return None
    return np.asarray(faces[0].descriptor, np.float32) if faces else None


def check_pair(pair_id: int) -> str | None:
    """Run the pair's pending check; its new status, None when there was nothing to do."""
    pair = (
        ImagePair.objects.select_related("client", "applicant")
        .filter(pk=pair_id, known_face_check__status=CheckStatus.PENDING)
        .first()
    )
    if pair is None:
        return None
    policy = KnownFacePolicy.objects.filter(client_id=pair.client_id).first()
    threshold = policy.threshold if policy else DEFAULT_THRESHOLD
    vector = None
    if pair.images_purged_at is None and pair.selfie:
        with pair.selfie.open("rb") as handle:
            vector = template_of(handle.read())
    if vector is None:
        return _finish(pair, CheckStatus.FAILED, error="no_face" if pair.selfie else "purged")
    hits = gallery.gallery_for(pair.client_id).search(
        vector, threshold=threshold, exclude_applicant=pair.applicant_id
    )
    blocked = _blocklist_hits(pair.client_id, vector, threshold)
    reasons = ([MatchReason.BLOCKLISTED.value] if blocked else []) + (
        [MatchReason.SEEN_BEFORE.value] if hits else []
    )
    best = max([hit.similarity for hit in hits] + [score for _, score in blocked], default=None)
    return _finish(
        pair,
        CheckStatus.MATCHED if reasons else CheckStatus.CLEAR,
        reasons=reasons,
        matched_pairs=[hit.pair_id for hit in hits],
        matched_entries=[entry for entry, _ in blocked],
        best=best,
        template=vector,
    )


def _blocklist_hits(
    client_id: int, vector: np.ndarray, threshold: float
) -> list[tuple[int, float]]:
    hits = []
    for pk, sealed in BlocklistEntry.objects.filter(
        client_id=client_id, removed_at__isnull=True
    ).values_list("pk", "sealed"):
        score = round(similarity(distance(unseal(sealed), vector)), 2)
        if score >= threshold:
            hits.append((pk, score))
    return hits


@transaction.atomic
def _finish(
    pair: ImagePair,
    status: str,
    *,
    reasons: list[str] | None = None,
    matched_pairs: list[int] | None = None,
    matched_entries: list[int] | None = None,
    best: float | None = None,
    error: str = "",
    template: np.ndarray | None = None,
) -> str | None:
    locked = ImagePair.objects.lock_for_change(pair.pk)
    check = KnownFaceCheck.objects.select_for_update().get(pair=locked)
    if check.status != CheckStatus.PENDING:
        return None  # a duplicate message finished it first
    if template is not None and locked.images_purged_at is None:  # not if purged meanwhile
        FaceTemplate.objects.get_or_create(
            pair=locked,
            defaults={
                "client_id": locked.client_id,
                "applicant_id": locked.applicant_id,
                "sealed": seal(template),
            },
        )
    reasons = reasons or []
    check.status, check.reasons, check.best_similarity, check.error = status, reasons, best, error
    check.finished_at = timezone.now()
    check.save()
    if matched_pairs:
        check.matched_pairs.set(matched_pairs)
    if matched_entries:
        check.matched_entries.set(matched_entries)
    refs = sorted(
        set(
            ImagePair.objects.filter(
                pk__in=matched_pairs or [], client_id=locked.client_id
            ).values_list("applicant__external_ref", flat=True)
        )
    )
    summary = locked.known_face or {}
    locked.known_face = {
        **summary,
        "status": status,
        "reasons": reasons,
        "matched_applicant_refs": refs,
    }
    locked.save(update_fields=["known_face", "updated_at"])
    events.pair_event(
        ACTOR,
        "known_face.checked",
        locked,
        status=status,
        reasons=reasons,
        matched_pairs=[
            str(p)
            for p in ImagePair.objects.filter(pk__in=matched_pairs or []).values_list(
                "public_id", flat=True
            )
        ],
        blocklist_entries=matched_entries or [],
        best_similarity=best,
        error=error,
    )
    if status == CheckStatus.MATCHED:
        # Where the faces are, for the case page's side-by-side crops (faces queue, once each).
        for pair_id in [locked.pk, *(matched_pairs or [])]:
            dispatch.send_on_commit(dispatch.LOCATE_FACES, pair_id)
        _route_match(locked, reasons)
        enqueue_pair_event(locked, "pair.known_face_matched", lambda: pair_data(locked))
    if summary.get("blocking"):
        _release_comparison(locked)
    return status


def _route_match(pair: ImagePair, reasons: list[str]) -> None:
    """Amend an automatic approval made before the check finished, or add the match to the
    case of a pair already in review (the pair row is locked)."""
    if pair.status == PairStatus.NEEDS_REVIEW:
        pair_review_reasons_added.send(
            sender=ImagePair, pair=pair, reasons=reasons, priority=review_priority(reasons)
        )
        return
    if pair.status != PairStatus.APPROVED or pair.decision_source != DecisionSource.AUTO:
        return  # undecided (`_decide` reads the result), or decided more strictly
    before = pair.status
    if (
        MatchReason.BLOCKLISTED in reasons
        and (pair.known_face or {}).get("blocklist_action") == BlocklistAction.REJECT
    ):
        pair.status = PairStatus.REJECTED
        pair.status_reason = MatchReason.BLOCKLISTED
        pair.decided_at = timezone.now()
        pair.save(update_fields=["status", "status_reason", "decided_at", "updated_at"])
        events.pair_decision_changed(
            pair, ACTOR, before=before, reason=pair.status_reason, because={"check": "known_face"}
        )
        enqueue_pair_event(
            pair,
            "pair.decision_changed",
            lambda: {**pair_data(pair), "previous_status": before},
        )
        return
    pair.status = PairStatus.NEEDS_REVIEW
    pair.status_reason = reasons[0]
    pair.decision_source = ""
    pair.decided_at = None
    pair.save(
        update_fields=["status", "status_reason", "decision_source", "decided_at", "updated_at"]
    )
    events.pair_decision_changed(
        pair, ACTOR, before=before, reason=pair.status_reason, because={"check": "known_face"}
    )
    pair_needs_review.send(sender=ImagePair, pair=pair, reasons=reasons, priority=1)
    enqueue_pair_event(pair, "pair.needs_review", lambda: pair_data(pair))


def _release_comparison(pair: ImagePair) -> None:
    """Blocking mode: let the held first comparison run now that the check is done."""
    held = list(
        ComparisonAttempt.objects.filter(
            pair=pair, number=1, status="pending", not_before__isnull=False
        ).values_list("pk", flat=True)
    )
    ComparisonAttempt.objects.filter(pk__in=held).update(not_before=None)
    for attempt_id in held:
        dispatch.send_on_commit(dispatch.COMPARE, attempt_id)


def verdict_override(
    known_face: dict[str, Any] | None, outcome: str, reasons: tuple[str, ...]
) -> tuple[str, tuple[str, ...]] | None:
    """What `_decide` makes of an automatic outcome given the pair's check (no query); None
    when the check changes nothing."""
    if not known_face or outcome not in ("approve", "review"):
        return None
    status = known_face.get("status")
    found = tuple(known_face.get("reasons") or ())
    if status == CheckStatus.MATCHED:
        if (
            MatchReason.BLOCKLISTED in found
            and known_face.get("blocklist_action") == BlocklistAction.REJECT
        ):
            return "reject", (MatchReason.BLOCKLISTED.value,)
        return "review", found + tuple(r for r in reasons if r not in found)
    if known_face.get("blocking") and status in (CheckStatus.PENDING, CheckStatus.FAILED):
        why = "known_face_pending" if status == CheckStatus.PENDING else "known_face_failed"
        if outcome == "approve":
            return "review", (why,)
    return None


# --- templates go with the images ---------------------------------------------------------------


def purge_templates(pair: ImagePair) -> int:
    """Blank the pair's template with its images (retention, erasure); blocklist copies stay."""
    if pair.known_face is None:
        return 0  # the client never enabled the check: no template, no query
    purged = FaceTemplate.objects.filter(pair=pair, purged_at__isnull=True).update(
        sealed=b"", purged_at=timezone.now()
    )
    if purged:
        snapshots.discard(pair.client_id)  # its file held this face too
    return purged


# --- blocklist ------------------------------------------------------------------------------------


class BlocklistError(ApplicationError):
    code = "blocklist_refused"


def add_to_blocklist(pair: ImagePair, reason_code: str, user: Any) -> BlocklistEntry:
    template = FaceTemplate.objects.filter(pair=pair, purged_at__isnull=True).first()
    if template is None:
        raise BlocklistError("This pair has no face template (check off, failed or purged).")
    if not reason_code:
        raise BlocklistError("A reason code is required.", field="reason_code")
    with transaction.atomic():
        entry = BlocklistEntry.objects.create(
            client_id=pair.client_id,
            sealed=seal(unseal(template.sealed)),  # its own envelope, outliving the pair's
            source_pair=pair,
            reason_code=reason_code,
            added_by=user,
        )
        events.pair_event(
            Actor.user(user), "blocklist.added", pair, entry=entry.pk, reason_code=reason_code
        )
    return entry


def request_removal(entry: BlocklistEntry, user: Any) -> BlocklistEntry:
    with transaction.atomic():
        locked = BlocklistEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.removed_at is not None or locked.removal_requested_by_id is not None:
            raise BlocklistError("Removal of this entry was already requested.")
        locked.removal_requested_by = user
        locked.removal_requested_at = timezone.now()
        locked.save(update_fields=["removal_requested_by", "removal_requested_at"])
        _entry_event(locked, user, "blocklist.removal_requested")
    return locked


def approve_removal(entry: BlocklistEntry, user: Any) -> BlocklistEntry:
    with transaction.atomic():
        locked = BlocklistEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.removed_at is not None or locked.removal_requested_by_id is None:
            raise BlocklistError("No removal of this entry is waiting for approval.")
        if locked.removal_requested_by_id == user.pk:
            raise BlocklistError("A second person must approve the removal (four eyes).")
        locked.removal_approved_by = user
        locked.removed_at = timezone.now()
        locked.sealed = b""
        locked.save(update_fields=["removal_approved_by", "removed_at", "sealed"])
        _entry_event(locked, user, "blocklist.removed")
    return locked


def _entry_event(entry: BlocklistEntry, user: Any, event_type: str) -> None:
    append(
        actor=Actor.user(user),
        event_type=event_type,
        subject_type="blocklist_entry",
        subject_id=str(entry.pk),
        params={"reason_code": entry.reason_code},
    )
