"""Clients, applicants, image pairs and comparison attempts (DESIGN §4)."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from vendors.base import CompareResult, ErrorCode, ResultStatus, VendorError
from vendors.models import Backend


def _choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class ApiClient(models.Model):
    """A mobile backend. It sees only its own applicants and pairs."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)
    webhook_url = models.URLField(blank=True, max_length=500)
    # Standard Webhooks secrets ("whsec_<base64>"). Two may be active while a client rotates.
    webhook_secret = models.CharField(max_length=100, blank=True, default=new_webhook_secret)
    webhook_secret_previous = models.CharField(max_length=100, blank=True)
    throttle_rate = models.CharField(
        max_length=20, default="600/min", help_text="Requests per client, e.g. 600/min or 20/s."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Copied from its KnownFacePolicy (kyc.known_faces) on every save: read on each submission
    # without a query, so a client that has not opted in pays nothing for the feature.
    known_faces = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An API key: the prefix identifies it, only a hash of the secret is stored."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}…"


class Applicant(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="applicants")
    external_ref = models.CharField(max_length=64)
    legal_hold = models.BooleanField(
        default=False, help_text="Keep this applicant's images past the retention period."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_ref"], name="applicant_ref_per_client"
            )
        ]

    def __str__(self) -> str:
        return self.external_ref


class ReferenceSource(models.TextChoices):
    ID_PHOTO = "ID_PHOTO", "ID photo"
    SELFIE = "SELFIE", "Earlier selfie"


class PairStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    COMPARING = "comparing", "Comparing"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    NEEDS_REVIEW = "needs_review", "Needs review"
    RESUBMIT = "resubmit", "New photos requested"
    FAILED = "failed", "Failed"


FINAL_PAIR_STATUSES = (
    PairStatus.APPROVED,
    PairStatus.REJECTED,
    PairStatus.RESUBMIT,
    PairStatus.FAILED,
)


class DecisionSource(models.TextChoices):
    AUTO = "auto", "Automatic"
    REVIEWER = "reviewer", "Reviewer"


def image_path(instance: ImagePair | None, filename: str) -> str:
    # Random names: nothing about the applicant leaks into the storage layout.
    return f"pairs/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.bin"


class ImagePairQuerySet(models.QuerySet["ImagePair"]):
    def lock_for_change(self, pk: int) -> ImagePair:
        """The pair with its client and applicant, its row locked until the transaction ends.

        FOR NO KEY UPDATE of the pair's row only: a plain FOR UPDATE through the join would also
        lock the client row, on which every insert referencing that client waits for its foreign
        key check (tests/kyc/pipeline/test_row_locks.py).
        """
        return (
            self.select_for_update(no_key=True, of=("self",))
            .select_related("client", "applicant")
            .get(pk=pk)
        )


class ImagePair(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="pairs")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="pairs")
    selfie = models.FileField(upload_to=image_path, max_length=200, blank=True)
    reference = models.FileField(upload_to=image_path, max_length=200, blank=True)
    reference_source = models.CharField(
        max_length=8, choices=ReferenceSource.choices, default=ReferenceSource.ID_PHOTO
    )
    selfie_sha256 = models.CharField(max_length=64)
    selfie_size = models.PositiveIntegerField()
    selfie_width = models.PositiveIntegerField()
    selfie_height = models.PositiveIntegerField()
    selfie_format = models.CharField(max_length=8)
    reference_sha256 = models.CharField(max_length=64)
    reference_size = models.PositiveIntegerField()
    reference_width = models.PositiveIntegerField()
    reference_height = models.PositiveIntegerField()
    reference_format = models.CharField(max_length=8)
    requested_vendor = models.CharField(max_length=16, choices=Backend.choices, blank=True)
    status = models.CharField(
        max_length=16, choices=PairStatus.choices, default=PairStatus.RECEIVED
    )
    status_reason = models.CharField(max_length=40, blank=True)
    decision_source = models.CharField(max_length=8, choices=DecisionSource.choices, blank=True)
    deciding_attempt = models.ForeignKey(
        "ComparisonAttempt", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    # The body of the first 202, replayed to a retry with the same Idempotency-Key.
    first_response = models.JSONField(null=True, blank=True, editable=False)
    callback_url = models.URLField(blank=True, max_length=500)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    images_purged_at = models.DateTimeField(null=True, blank=True)
    # Where the face is in each photo, for the reviewer's aligned crops: written once by the face
    # work when the pair goes to review (kyc.faces.geometry describes the shape; {} until then).
    face_geometry = models.JSONField(default=dict, blank=True, editable=False)
    # The known-face check as the client may see it (kyc.known_faces): null when the client has
    # not enabled the check, else {"status", "reasons", "matched_applicant_refs", "blocking"},
    # written by the check so the pair's representation needs no query for it.
    known_face = models.JSONField(null=True, blank=True, editable=False)

    objects = ImagePairQuerySet.as_manager()

    class Meta:
        permissions = [
            ("view_dashboard", "Can view the operations dashboard"),
            ("export_decisions", "Can export decisions and evidence packs"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="pair_idempotency_key_per_client",
            ),
            _choices_check("status", PairStatus, "pair_status_valid"),
            _choices_check("reference_source", ReferenceSource, "pair_reference_source_valid"),
        ]
        indexes = [
            models.Index(fields=["client", "-created_at", "-id"], name="pair_client_created"),
            models.Index(fields=["client", "status", "-created_at"], name="pair_client_status"),
            models.Index(fields=["status", "decided_at"], name="pair_status_decided"),
            # Dashboard by day, CSV exports by decision date, and the retention sweep.
            models.Index(fields=["created_at"], name="pair_created"),
            models.Index(fields=["decided_at"], name="pair_decided"),
            models.Index(
                fields=["decided_at"],
                condition=Q(images_purged_at__isnull=True),
                name="pair_images_kept",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    def next_attempt_number(self) -> int:
        """The number this pair's next attempt gets (call it with the pair's row locked)."""
        last = self.attempts.order_by("-number").values_list("number", flat=True).first()
        return (last or 0) + 1


class AttemptStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    INVALID_INPUT = "invalid_input", "Invalid input"
    FAILED = "failed", "Failed"


class AttemptPurpose(models.TextChoices):
    DECIDE = "decide", "Decision"
    PREFLIGHT = "preflight", "Pre-flight face check"
    SECOND_OPINION = "second_opinion", "Second opinion"
    RERUN = "rerun", "Re-run (calibration)"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REVIEW = "review", "Review"
    RESUBMIT = "resubmit", "Resubmit"


class ComparisonAttempt(models.Model):
    """One call to one backend. Every call leaves a row, failures and retries included."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pair = models.ForeignKey(ImagePair, on_delete=models.CASCADE, related_name="attempts")
    vendor = models.CharField(max_length=16, choices=Backend.choices)
    number = models.PositiveSmallIntegerField()
    purpose = models.CharField(
        max_length=16, choices=AttemptPurpose.choices, default=AttemptPurpose.DECIDE
    )
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.PENDING
    )
    score = models.FloatField(null=True, blank=True)
    vendor_score = models.JSONField(null=True, blank=True)
    error_code = models.CharField(
        max_length=20, blank=True, choices=[(c.value, c.value) for c in ErrorCode]
    )
    error_message = models.TextField(blank=True)
    retryable = models.BooleanField(default=False)
    vendor_code = models.CharField(max_length=120, blank=True)
    vendor_message = models.TextField(blank=True)
    vendor_request_id = models.CharField(max_length=200, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    billable = models.BooleanField(default=False)
    same_person = models.BooleanField(null=True, blank=True)
    risk_tags = models.JSONField(default=list, blank=True)
    faces = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    verdict_reasons = models.JSONField(default=list, blank=True)
    raw_response = models.JSONField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the vendor's answer was committed, by the database's clock: stored first, on its
    # own, and settled after (kyc.services.pipeline); an answered attempt is never called again.
    answered_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pair_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "number"], name="attempt_number_per_pair"),
            _choices_check("status", AttemptStatus, "attempt_status_valid"),
            _choices_check("purpose", AttemptPurpose, "attempt_purpose_valid"),
        ]
        indexes = [
            models.Index(
                fields=["vendor", "status", "-finished_at"], name="attempt_vendor_finished"
            ),
            models.Index(fields=["status", "deadline_at"], name="attempt_status_deadline"),
            models.Index(fields=["finished_at"], name="attempt_finished"),
        ]

    #: `error_message` is a text column, unbounded in the schema; a vendor's error text longer
    #: than this is a whole error page rather than a message, and is cut.
    ERROR_MESSAGE_CHARS = 2000

    def __str__(self) -> str:
        return f"{self.vendor} #{self.number} of {self.pair_id}"

    def fields_from_result(self, result: CompareResult) -> dict[str, Any]:
        """The columns a vendor's answer fills, every text cut to fit its column.

        Column values only: judging the answer (thresholds, verdict) is the pipeline's business.
        """
        return {
            "status": AttemptStatus.COMPLETED
            if result.status == ResultStatus.COMPLETED
            else AttemptStatus.INVALID_INPUT,
            "score": result.score,
            "vendor_score": result.vendor_score,
            "error_code": str(result.error_code or ""),
            "vendor_code": self.fit("vendor_code", result.vendor_code),
            "vendor_message": result.vendor_message,
            "vendor_request_id": self.fit("vendor_request_id", result.vendor_request_id),
            "billable": result.billable,
            "same_person": result.same_person,
            "risk_tags": list(result.risk_tags),
            "faces": result.as_dict()["faces"],
            "details": {**self.details, **dict(result.details)},
            "raw_response": result.raw_response,
            "latency_ms": result.latency_ms,
        }

    def answer_status(self) -> AttemptStatus:
        """The final status of the vendor answer stored here, as `fields_from_result` gave it: a
        vendor's answer carries an error code exactly when it refused the input."""
        return AttemptStatus.INVALID_INPUT if self.error_code else AttemptStatus.COMPLETED

    def fields_from_error(self, error: VendorError) -> dict[str, Any]:
        """The columns a call without a usable answer fills, every text cut to fit its column."""
        return {
            "status": AttemptStatus.FAILED,
            "error_code": str(error.code),
            "error_message": error.message[: self.ERROR_MESSAGE_CHARS],
            "retryable": error.retryable,
            "vendor_code": self.fit("vendor_code", error.vendor_code),
            "vendor_request_id": self.fit("vendor_request_id", error.vendor_request_id),
            "http_status": error.http_status,
            "billable": error.billable,
            "raw_response": error.raw_response,
            "latency_ms": error.latency_ms,
            "details": {**self.details, "retry_after": error.retry_after},
        }

    @classmethod
    def fit(cls, name: str, text: str) -> str:
        """`text` cut to the length of column `name`; vendors send ids and codes of any length."""
        field = cls._meta.get_field(name)
        limit = field.max_length if isinstance(field, models.Field) else None
        return text[:limit] if limit else text


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event for one client, retried until delivered or given up (Standard Webhooks)."""

    event_id = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="deliveries")
    pair = models.ForeignKey(ImagePair, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    url = models.URLField(max_length=500)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            _choices_check("status", DeliveryStatus, "delivery_status_valid"),
            # One delivery per pair and event: a redelivered task never sends an event twice.
            models.UniqueConstraint(
                fields=["pair", "event_type"], name="delivery_once_per_pair_event"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["client", "-created_at"], name="delivery_client_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class RetentionPolicy(models.Model):
    """How long biometric images are kept: one row, edited in the admin (DESIGN §9).

    Only the images go: decisions, hashes, scores and the audit trail stay. Applicants on legal
    hold keep their images whatever this says. The purge job reads it through
    `kyc.services.retention`.
    """

    SINGLETON_ID = 1

    image_retention_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days after a final decision (approved, rejected, new photos requested, "
        "failed) before the selfie and reference are deleted. 1–3650.",
    )
    keep_unfinished_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=180,
        validators=[MinValueValidator(7), MaxValueValidator(3650)],
        help_text="Images of pairs still without a final decision (stuck, abandoned, or never "
        "taken by a reviewer) are deleted this many days after submission. Empty keeps them "
        "until they are decided. 7–3650.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="retention_policy_singleton"),
        ]

    def __str__(self) -> str:
        return f"Images kept {self.image_retention_days} days after a final decision"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)


# --- contests (GDPR Art. 22; issue 18 §6) -----------------------------------------------------


class ContestStatus(models.TextChoices):
    OPEN = "open", "Awaiting a reviewer"
    UPHELD = "upheld", "Automatic decision upheld"
    CHANGED = "changed", "Decision changed"


class PairContest(models.Model):
    """An applicant contests the automatic rejection of their pair and asks for a person to
    decide (GDPR Art. 22(3)). One per pair; reviews opens the case (kyc.signals.pair_contested).

    The statement is the applicant's own words: personal data, so it is stored encrypted like
    the photos (kyc.crypto, AES-GCM under the master keys), never logged, decrypted only for staff
    who may work the case through an audited view (kyc.services.contests.read_statement), and
    blanked when the applicant is erased (kyc.services.erasure).
    """

    STATEMENT_MAX_LENGTH = 4000

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pair = models.OneToOneField(ImagePair, on_delete=models.CASCADE, related_name="contest")
    #: kyc.crypto's envelope of the UTF-8 statement; empty once erased.
    statement_encrypted = models.BinaryField(blank=True, default=b"", editable=False)
    statement_chars = models.PositiveIntegerField(
        default=0, help_text="Length of the statement: what the trail and lists may say of it."
    )
    status = models.CharField(
        max_length=8, choices=ContestStatus.choices, default=ContestStatus.OPEN
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    statement_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_choices_check("status", ContestStatus, "contest_status_valid")]

    def __str__(self) -> str:
        return f"Contest of {self.pair_id}"
