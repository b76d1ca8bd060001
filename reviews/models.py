"""Review cases, decisions and reason codes (DESIGN §4)."""

from __future__ import annotations

import uuid

from django.conf import settings
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
