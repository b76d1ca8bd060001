"""Who may see the photos of an image pair, and which rule let them (issue 15, item 9).

A role alone is no reason to look at someone's face: photos are shown to a person who has a
reason to see them, and the `images.viewed` event names that reason. The rules, tried in this
order (the first that applies is the one recorded):

`review_queue`
    The pair has a review case and the viewer works that case's queue: any reviewer for the
    standard queue, senior reviewers for the senior queue (`permissions.can_work_queue`). The
    case's status does not matter: a decided case stays readable by the people of its queue.

`applicant_under_review`
    The pair belongs to an applicant with a case still under review (not decided) in a queue the
    viewer works. The applicant's other pairs, the automatically decided ones that never had a
    case included, are part of the evidence of that case: a face that changed between two
    submissions is exactly what its reviewer must be able to see. The reason ends with the case:
    once it is decided, those other pairs are closed again to whoever has no case of their own.

`qa_sample`
    The pair's automatic decision was drawn for blind QA review (reviews.qa) and the viewer may
    answer QA samples: while the sample waits for its answer, and afterwards for the person who
    answered it (the answer page reveals the score beside the faces).

`known_face_match`
    The pair is one a known-face check matched (kyc.known_faces) for a pair whose case is still
    under review in a queue the viewer works: the reviewer compares the two faces side by side.
    Asked only of pairs whose client enabled the check (no query for any other pair).

`view_any_pair_photos`
    The `reviews.view_any_pair_photos` permission: administrators (superusers hold every
    permission) and anyone a site grants it to. Tried last, so that the trail names the narrower
    reason whenever there is one and this rule stands out as access outside review work.

Auditors have none of these: they reach any pair through its evidence pack, which carries the
images' hashes, never the images.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q

from kyc.models import ImagePair
from kyc.users import Visitor
from reviews.models import CaseStatus, QaItem, ReviewCase
from reviews.permissions import VIEW_ANY_PAIR_PHOTOS, can_do_qa, can_work_queue


class PhotoRule(StrEnum):
    REVIEW_QUEUE = "review_queue"
    APPLICANT_UNDER_REVIEW = "applicant_under_review"
    QA_SAMPLE = "qa_sample"
    KNOWN_FACE_MATCH = "known_face_match"
    VIEW_ANY_PAIR_PHOTOS = "view_any_pair_photos"


@dataclass(frozen=True)
class PhotoAccess:
    """The answer for one viewer and one pair: the rule that allows it (None: refused) and the
    case that gave the reason (None for the permission rule)."""

    rule: PhotoRule | None
    case: ReviewCase | None = None

    @property
    def allowed(self) -> bool:
        return self.rule is not None


REFUSED = PhotoAccess(rule=None)


def reason_cases(pairs: Iterable[ImagePair]) -> list[ReviewCase]:
    """Every case that can give a reason to see these pairs' photos, in one query: each pair's
    own case and the cases still under review of the pairs' applicants."""
    pairs = list(pairs)
    return list(
        ReviewCase.objects.filter(
            Q(pair__in=[pair.pk for pair in pairs])
            | (
                Q(pair__applicant__in={pair.applicant_id for pair in pairs})
                & ~Q(status=CaseStatus.DECIDED)
            )
        )
        .select_related("pair")
        .only("public_id", "queue", "status", "pair__id", "pair__applicant")
        .order_by("pk")
    )


def photo_access(user: Visitor, pair: ImagePair, cases: Sequence[ReviewCase]) -> PhotoAccess:
    """May `user` see the photos of `pair`, and by which rule? `cases` are `reason_cases` of (at
    least) this pair; the image view and the case page both decide here and nowhere else."""
    if not user.is_authenticated:
        return REFUSED
    own = next((case for case in cases if case.pair_id == pair.pk), None)
    if own is not None and can_work_queue(user, own.queue):
        return PhotoAccess(PhotoRule.REVIEW_QUEUE, own)
    for case in cases:
        if (
            case.pair.applicant_id == pair.applicant_id
            and case.status != CaseStatus.DECIDED
            and can_work_queue(user, case.queue)
        ):
            return PhotoAccess(PhotoRule.APPLICANT_UNDER_REVIEW, case)
    if can_do_qa(user) and _qa_sample_open_to(user, pair):
        return PhotoAccess(PhotoRule.QA_SAMPLE)
    if "known_face" not in pair.get_deferred_fields() and pair.known_face is not None:
        for case in _known_face_cases(pair):
            if can_work_queue(user, case.queue):
                return PhotoAccess(PhotoRule.KNOWN_FACE_MATCH, case)
    if user.has_perm(VIEW_ANY_PAIR_PHOTOS):
        return PhotoAccess(PhotoRule.VIEW_ANY_PAIR_PHOTOS)
    return REFUSED


def _known_face_cases(pair: ImagePair) -> list[ReviewCase]:
    """Cases still under review whose pair's known-face check matched `pair`."""
    return list(
        ReviewCase.objects.filter(pair__known_face_check__matched_pairs=pair)
        .exclude(status=CaseStatus.DECIDED)
        .only("public_id", "queue", "status", "pair")
        .order_by("pk")
    )


def _qa_sample_open_to(user: Visitor, pair: ImagePair) -> bool:
    return (
        QaItem.objects.filter(pair=pair)
        .filter(Q(answered_at__isnull=True) | Q(answered_by=user.pk))
        .exists()
    )
