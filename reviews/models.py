"""Review cases, decisions and reason codes (DESIGN §4)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from kyc.models import ImagePair
from vendors.models import Backend


class ReviewReason(models.TextChoices):
    SCORE_IN_BAND = "score_in_band", "Score in the review band"
    AGE_RISK = "age_risk", "Age risk"
    GENDER_RISK = "gender_risk", "Gender risk"
    AGE_GAP = "age_gap", "Large age gap"
    VENDOR_DISAGREEMENT = "vendor_disagreement", "Vendor verdict disagrees with score"
    VENDOR_FAILED = "vendor_failed", "Every vendor failed"
    INVALID_INPUT = "invalid_input", "Image problem"
    MULTIPLE_FACES = "multiple_faces", "Several faces"
    QA_DISAGREEMENT = "qa_disagreement", "QA answer contradicts the automatic decision"
    CONTESTED = "contested", "Contested by the applicant"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    AWAITING_SECOND_REVIEW = "awaiting_second_review", "Awaiting second review"
    DECIDED = "decided", "Decided"


class CaseQueue(models.TextChoices):
    STANDARD = "standard", "Reviewers"
    SENIOR = "senior", "Senior reviewers"


class Outcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    RESUBMIT = "resubmit", "Request new photos"
    ESCALATE = "escalate", "Escalate"


class ReasonCode(models.Model):
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["outcome", "position", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "code"], name="reasoncode_unique_per_outcome"
            )
        ]

    def __str__(self) -> str:
        return self.label


class ReviewCase(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pair = models.OneToOneField(ImagePair, on_delete=models.CASCADE, related_name="review_case")
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=24, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    queue = models.CharField(max_length=8, choices=CaseQueue.choices, default=CaseQueue.STANDARD)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher is more urgent.")
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("review_case", "Can take, view and decide review cases"),
            ("second_review", "Can give second (four-eyes) reviews and handle escalations"),
            (
                "view_any_pair_photos",
                "Can see the photos of any pair, whether or not it has a review case",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(queue__in=CaseQueue.values), name="case_queue_valid"
            ),
        ]
        indexes = [
            # "Take next" and the queue page: open work by urgency.
            models.Index(fields=["status", "queue", "-priority", "due_at"], name="case_next"),
            models.Index(fields=["assignee", "status"], name="case_assignee"),
            models.Index(fields=["status", "claim_expires_at"], name="case_claim_expiry"),
            # The dashboard's queue size, time to decision and SLA breaches over time.
            models.Index(fields=["created_at"], name="case_created"),
            models.Index(fields=["decided_at"], name="case_decided"),
            models.Index(fields=["due_at"], name="case_due"),
        ]

    def __str__(self) -> str:
        return f"Case {self.public_id}"


class DecisionStage(models.TextChoices):
    FIRST = "first", "First review"
    SECOND = "second", "Second review (four-eyes)"


class Decision(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(ReviewCase, on_delete=models.CASCADE, related_name="decisions")
    stage = models.CharField(
        max_length=8, choices=DecisionStage.choices, default=DecisionStage.FIRST
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason_code = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, null=True, blank=True)
    note = models.TextField(blank=True)
    confirms = models.BooleanField(
        null=True, blank=True, help_text="Second stage: whether the first decision was upheld."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # Exactly one decision per stage: a double submit cannot decide twice.
            models.UniqueConstraint(fields=["case", "stage"], name="decision_one_per_stage"),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="decision_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} by {self.reviewer_id}"


class CaseSkip(models.Model):
    """A reviewer put a case back undecided, saying why: `take_next` offers it to them last."""

    case = models.ForeignKey(ReviewCase, on_delete=models.CASCADE, related_name="skips")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["reviewer", "case"], name="caseskip_reviewer_case")]

    def __str__(self) -> str:
        return f"skip of {self.case_id} by {self.reviewer_id}"


class SavedFilter(models.Model):
    """A reviewer's named set of queue filters, stored as the query string the queue reads.

    The query is parsed again on every use (`QueueFilters.from_query`), so a value that stops
    being valid (a vendor removed, a reason renamed) is dropped instead of breaking the page.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    queue = models.CharField(max_length=8, choices=CaseQueue.choices)
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "queue", "name"], name="savedfilter_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(queue__in=CaseQueue.values), name="savedfilter_queue_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- QA sampling and labels (issue 18, items 1 and 2) -------------------------------------------


class AutoOutcome(models.TextChoices):
    """The automatic decisions QA samples (a resubmit judged no faces, so it is not sampled)."""

    APPROVED = "approved", "Automatic approval"
    REJECTED = "rejected", "Automatic rejection"


class QaSamplingRule(models.Model):
    """How many automatic decisions of one outcome go to blind QA review.

    A rule with an empty `backend` applies to every backend that has no rule of its own.
    """

    backend = models.CharField(
        max_length=16,
        blank=True,
        choices=Backend.choices,
        help_text="Leave empty for the rule every backend without its own rule follows.",
    )
    outcome = models.CharField(max_length=8, choices=AutoOutcome.choices)
    rate = models.FloatField(
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of these decisions sampled, from 0 (none) to 1 (all); 0.02 is 2 %.",
    )
    near_threshold_points = models.FloatField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=(
            "Also sample every pair whose score lies within this many points (0–100 scale) of "
            "the threshold that decided it; 0 turns this off."
        ),
    )

    class Meta:
        verbose_name = "QA sampling rule"
        ordering = ["backend", "outcome"]
        constraints = [
            models.UniqueConstraint(fields=["backend", "outcome"], name="qa_rule_one_per_outcome"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=1), name="qa_rule_rate_0_1"),
            models.CheckConstraint(
                condition=Q(near_threshold_points__gte=0), name="qa_rule_near_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.backend or 'every backend'}: {self.rate:.1%} of {self.outcome}"


class QaAnswer(models.TextChoices):
    SAME = "same", "Same person"
    DIFFERENT = "different", "Different people"
    UNSURE = "unsure", "Can't tell"


class QaItem(models.Model):
    """One automatic decision sampled for blind QA review, with the chance it had to be sampled
    (calibration weighs each QA label by 1 / `probability`)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pair = models.OneToOneField(ImagePair, on_delete=models.CASCADE, related_name="qa_item")
    backend = models.CharField(max_length=16)
    auto_outcome = models.CharField(max_length=8, choices=AutoOutcome.choices)
    probability = models.FloatField(help_text="Chance this decision had of being sampled.")
    near_threshold = models.BooleanField(default=False)
    answer = models.CharField(max_length=10, choices=QaAnswer.choices, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    case = models.ForeignKey(
        ReviewCase,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The qa_disagreement case the answer opened.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "QA item"
        permissions = [("do_qa", "Can answer blind QA samples of automatic decisions")]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gt=0, probability__lte=1), name="qa_item_probability"
            ),
        ]
        indexes = [models.Index(fields=["answered_at", "created_at"], name="qa_item_open")]

    def __str__(self) -> str:
        return f"QA {self.public_id}"


class LabelVerdict(models.TextChoices):
    SAME = "same", "Same person"
    DIFFERENT = "different", "Different people"
    UNSURE = "unsure", "Unsure"


class LabelSource(models.TextChoices):
    REVIEW = "review", "Review decision"
    QA = "qa", "Blind QA answer"
    SENIOR = "senior", "Senior review"


class Label(models.Model):
    """One person's judgement of whether a pair's two faces are the same person."""

    pair = models.ForeignKey(ImagePair, on_delete=models.CASCADE, related_name="labels")
    verdict = models.CharField(max_length=10, choices=LabelVerdict.choices)
    source = models.CharField(max_length=8, choices=LabelSource.choices)
    labeller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.OneToOneField(
        Decision, on_delete=models.CASCADE, null=True, blank=True, related_name="label"
    )
    qa_item = models.OneToOneField(
        QaItem, on_delete=models.CASCADE, null=True, blank=True, related_name="label"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(verdict__in=LabelVerdict.values), name="label_verdict_valid"
            ),
        ]
        indexes = [models.Index(fields=["pair", "created_at"], name="label_pair")]

    def __str__(self) -> str:
        return f"{self.verdict} ({self.source})"


# --- score drift (issue 18 §5) --------------------------------------------------------------------


class DriftCheck(models.Model):
    """One backend's scores of one week compared with the four weeks before (reviews.drift).

    One row per backend and week: the weekly check is idempotent, and a flagged week raises its
    audit event once, however often the check runs.
    """

    backend = models.CharField(max_length=16, choices=Backend.choices)
    week_start = models.DateField(help_text="Monday (UTC) of the week checked.")
    scores = models.PositiveIntegerField(help_text="Scores in the week checked.")
    reference_scores = models.PositiveIntegerField(help_text="Scores in the four weeks before.")
    psi = models.FloatField(null=True, blank=True, help_text="Empty when scores were too few.")
    ks = models.FloatField(null=True, blank=True)
    psi_limit = models.FloatField()
    flagged = models.BooleanField(default=False)
    checked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "backend"]
        constraints = [
            models.UniqueConstraint(fields=["backend", "week_start"], name="drift_once_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.backend} week of {self.week_start}"


# --- recusals (issue 18 §6) -----------------------------------------------------------------------


class CaseRecusal(models.Model):
    """Someone who may not take or decide this case: they had a part in its pair before (a
    contest must be decided by fresh eyes). Enforced by reviews.services, not only by routing."""

    case = models.ForeignKey(ReviewCase, on_delete=models.CASCADE, related_name="recusals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="recusal_once_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} recused from {self.case_id}"
