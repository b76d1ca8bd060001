"""Labels: every human judgement of a pair's faces, and the labelled scores calibration reads.

A label says whether one person judged a pair's two faces to be the same person. They come
from three places, each written in the transaction of the judgement itself:

- `review`: a first review decision (`label_for_decision`: approve is "same"; a rejection says
  "different" only when its reason code is about the person, as `different_person` is);
- `senior`: a second review (a four-eyes confirmation or an escalation's decision), the same way;
- `qa`: a blind QA answer (same / different / can't tell), which knows nothing of the score.

`labelled_attempts(backend)` turns them into ground truth for one backend, in SQL: each pair's
label is its most authoritative judgement (a senior's over a reviewer's over a QA answer; the
latest within one source), pairs whose label is "unsure" are left out, and every completed
attempt of that backend on a labelled pair — second opinions and re-runs included — is one
labelled score, weighted by 1/p when QA drew the pair with probability p.

A pair reaches a person by design (every pair in the band or with a risk tag, a QA draw with a
known chance) or because its applicant contested the rejection. The contest is the applicant's
choice, with no known chance: contested rejections are mostly people rejected wrongly, and the
QA draws of automatic rejections already stand for them. Their labels stay labels, but a
contested pair that QA did not draw gives no labelled score: counted, it would inflate the
false-reject rate by as many wrongful rejections as applicants took the trouble to contest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from kyc.models import AttemptStatus
from reviews.models import (
    Decision,
    DecisionStage,
    Label,
    LabelSource,
    LabelVerdict,
    Outcome,
    QaAnswer,
    QaItem,
)

#: Rejection reason codes that judge the faces: the two photos show different people. Other
#: rejections (a photo of a screen, say) are about the photo and may show one person twice.
DIFFERENT_PERSON_REASONS = frozenset({"different_person", "reference_mismatch"})
#: Which judgement of a pair wins when people disagree: higher is more authoritative.
AUTHORITY = {LabelSource.QA: 0, LabelSource.REVIEW: 1, LabelSource.SENIOR: 2}
_QA_VERDICT = {
    QaAnswer.SAME: LabelVerdict.SAME,
    QaAnswer.DIFFERENT: LabelVerdict.DIFFERENT,
    QaAnswer.UNSURE: LabelVerdict.UNSURE,
}


@dataclass(frozen=True)
class LabelledScore:
    """One backend's score on a pair whose faces a person judged.

    `weight` undoes the QA sampling: a pair that reached a person only because QA drew it with
    probability p stands for 1/p such pairs; a pair every one of which goes to a person (a
    review case) stands for itself.
    """

    score: float
    same: bool
    weight: float


def label_for_decision(decision: Decision) -> str | None:
    """What a review decision says about the faces; None when it judges no faces (a resubmit,
    an escalation)."""
    if decision.outcome == Outcome.APPROVE:
        return LabelVerdict.SAME
    if decision.outcome == Outcome.REJECT:
        code = decision.reason_code.code if decision.reason_code else ""
        return LabelVerdict.DIFFERENT if code in DIFFERENT_PERSON_REASONS else LabelVerdict.UNSURE
    return None


def record_decision_label(decision: Decision) -> Label | None:
    """Label the pair with a review decision (call inside the decision's transaction)."""
    verdict = label_for_decision(decision)
    if verdict is None:
        return None
    source = LabelSource.SENIOR if decision.stage == DecisionStage.SECOND else LabelSource.REVIEW
    return Label.objects.create(
        pair_id=decision.case.pair_id,
        verdict=verdict,
        source=source,
        labeller_id=decision.reviewer_id,
        decision=decision,
    )


def record_qa_label(item: QaItem) -> Label:
    """Label the pair with a blind QA answer (call inside the answer's transaction)."""
    if not item.answer or item.answered_by_id is None:  # a caller's bug
        raise ValueError("Only an answered QA item is a judgement.")
    return Label.objects.create(
        pair_id=item.pair_id,
        verdict=_QA_VERDICT[QaAnswer(item.answer)],
        source=LabelSource.QA,
        labeller_id=item.answered_by_id,
        qa_item=item,
    )


def _authority() -> Case:
    """AUTHORITY as a column: a label's rank among its pair's judgements."""
    return Case(
        *(When(source=source, then=Value(rank)) for source, rank in AUTHORITY.items()),
        output_field=IntegerField(),
    )


def final_labels() -> QuerySet[Label]:
    """Each labelled pair's label, in SQL: the labels no other label of their pair outranks (a
    more authoritative source, or the same source later; the higher key breaks a tie)."""
    ranked = Label.objects.annotate(authority=_authority())
    outranking = ranked.filter(pair=OuterRef("pair")).filter(
        Q(authority__gt=OuterRef("authority"))
        | Q(authority=OuterRef("authority"), created_at__gt=OuterRef("created_at"))
        | Q(
            authority=OuterRef("authority"),
            created_at=OuterRef("created_at"),
            pk__gt=OuterRef("pk"),
        )
    )
    return ranked.filter(~Exists(outranking))


def labelled_attempts(backend: str, since: datetime | None = None) -> QuerySet[Any]:
    """One row per completed attempt of `backend` (made at or after `since`) on a pair whose
    label is same or different: the label, annotated with the attempt's `score`, `same`, and the
    `probability` QA drew the pair with (None for a pair every one of which reaches a person).

    Rows to aggregate in the database: reviews.calibration.data sums them per score bin.
    """
    attempts = {
        "pair__attempts__vendor": backend,
        "pair__attempts__status": AttemptStatus.COMPLETED,
        "pair__attempts__score__isnull": False,
    }
    if since is not None:
        attempts["pair__attempts__created_at__gte"] = since
    return (
        final_labels()
        .exclude(verdict=LabelVerdict.UNSURE)
        # Reached a person by the applicant's choice, not by a draw (see the module docstring).
        .exclude(pair__contest__isnull=False, pair__qa_item__isnull=True)
        # One filter() call: every condition holds for the same joined attempt.
        .filter(**attempts)
        .annotate(
            score=F("pair__attempts__score"),
            same=Case(
                When(verdict=LabelVerdict.SAME, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            probability=F("pair__qa_item__probability"),
        )
    )


def labelled_scores(backend: str, since: datetime | None = None) -> list[LabelledScore]:
    """Every completed attempt of `backend` (made at or after `since`) on a pair labelled same or
    different, with its label and its sampling weight (row by row: calibration bins them in SQL
    from `labelled_attempts` instead)."""
    rows = labelled_attempts(backend, since).values_list("score", "same", "probability")
    return [
        LabelledScore(float(score), same, 1.0 / probability if probability else 1.0)
        for score, same, probability in rows.iterator(chunk_size=10000)
    ]
