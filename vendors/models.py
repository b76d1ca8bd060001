"""Per-backend configuration that admins edit (DESIGN §4, §6). Never credentials (§9)."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class Backend(models.TextChoices):
    FINAUTH = "finauth", "FinAuth v5"
    ADVANCE = "advance", "ADVANCE.AI v4"
    ZOLOZ = "zoloz", "ZOLOZ facecompare"
    ALIBABA = "alibaba", "Alibaba Cloud FaceCompare"
    LOCAL = "local", "Local engine (dlib)"


class FinAuthStrictness(models.TextChoices):
    LOOSE = "1e-3", "1e-3 (loose: one false accept in a thousand)"
    DEFAULT = "1e-4", "1e-4 (FinAuth default)"
    STRICT = "1e-5", "1e-5 (strict)"
    VERY_STRICT = "1e-6", "1e-6 (very strict)"


class MultipleFacesPolicy(models.TextChoices):
    LARGEST = "largest", "Use the largest face"
    REFUSE = "refuse", "Refuse images with several faces"


_score = [MinValueValidator(0), MaxValueValidator(100)]


class VendorConfig(models.Model):
    backend = models.CharField(max_length=16, choices=Backend.choices, unique=True)
    enabled = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower runs first; failover goes to the next enabled backend."
    )
    approve_at = models.FloatField(
        validators=_score, help_text="Scores at or above this are approved automatically."
    )
    reject_below = models.FloatField(
        validators=_score, help_text="Scores below this are rejected automatically."
    )
    # FinAuth: its response carries its own thresholds per false-accept level (VENDOR-PROTOCOLS
    # §1.5); we approve at the configured level and reject below the loosest (1e-3).
    finauth_strictness = models.CharField(
        max_length=4, choices=FinAuthStrictness.choices, default=FinAuthStrictness.DEFAULT
    )
    review_risk_tags = models.JSONField(
        default=list,
        blank=True,
        help_text="FinAuth risk tags that send a pair to review whatever its score, e.g. "
        '["is_age_risk", "is_gender_risk"].',
    )
    age_gap_years = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="FinAuth: also send to review when the two estimated ages differ by more.",
    )
    preflight = models.BooleanField(
        default=False,
        help_text="Run local face detection first and answer no-face / several-face pairs "
        "without paying for a vendor call.",
    )
    multiple_faces = models.CharField(
        max_length=8, choices=MultipleFacesPolicy.choices, default=MultipleFacesPolicy.LARGEST
    )
    image_problems_to_review = models.BooleanField(
        default=False,
        help_text="Send no-face / low-quality answers to a reviewer instead of asking the "
        "client for new photos.",
    )
    timeout_seconds = models.FloatField(
        default=15.0, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    retry_budget = models.PositiveSmallIntegerField(
        default=2, help_text="Retries of a retryable failure before failing over."
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Calls per minute across all workers; empty = no limit."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "backend"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approve_at__gte=0) & Q(approve_at__lte=100),
                name="vendorconfig_approve_at_0_100",
            ),
            models.CheckConstraint(
                condition=Q(reject_below__gte=0) & Q(reject_below__lte=100),
                name="vendorconfig_reject_below_0_100",
            ),
            models.CheckConstraint(
                condition=Q(reject_below__lte=F("approve_at")),
                name="vendorconfig_reject_below_lte_approve_at",
            ),
            models.CheckConstraint(
                condition=Q(backend__in=Backend.values), name="vendorconfig_backend_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.get_backend_display()

    def thresholds_snapshot(self) -> dict[str, Any]:
        """What a verdict was judged with, copied onto the attempt (DESIGN §4)."""
        return {
            "approve_at": self.approve_at,
            "reject_below": self.reject_below,
            "finauth_strictness": self.finauth_strictness,
            "review_risk_tags": list(self.review_risk_tags),
            "age_gap_years": self.age_gap_years,
            "multiple_faces": self.multiple_faces,
            "image_problems_to_review": self.image_problems_to_review,
        }
