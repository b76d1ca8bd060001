"""Face templates, known-face checks, the per-client policy and the face blocklist.

A template is the local engine's 128-d descriptor of a selfie (LOCAL-ENGINE §7): biometric data,
so it is stored sealed with the images' envelope encryption (kyc.crypto) and opened only by the
face workers' gallery (kyc.known_faces.gallery) and the check itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from kyc import crypto
from kyc.known_faces.index import DIMENSIONS
from kyc.models import ApiClient, Applicant, ImagePair

#: Similarity (0-100, LOCAL-ENGINE §7) at or above which two faces count as one person: 80 is a
#: distance of 0.50, where the engine's calibration saw 0 of 2,696 impostor pairs (false-accept
#: rate about 1e-4, extrapolated). Stricter than the 1:1 default of 70 because a search makes
#: one comparison per template: false matches grow with the gallery (README, Known faces).
DEFAULT_THRESHOLD = 80.0


def seal(vector: np.ndarray) -> bytes:
    return crypto.encrypt(np.asarray(vector, dtype="<f4").tobytes())


def unseal(blob: bytes) -> np.ndarray:
    vector = np.frombuffer(crypto.decrypt(bytes(blob)), dtype="<f4")
    if vector.shape != (DIMENSIONS,):
        raise crypto.DecryptionError("A face template has the wrong size.")
    return vector


class BlocklistAction(models.TextChoices):
    REVIEW = "review", "Send to review"
    REJECT = "reject", "Reject"


class KnownFacePolicy(models.Model):
    """Whether (and how) one API client's selfies are searched against its earlier faces."""

    client = models.OneToOneField(
        ApiClient, on_delete=models.CASCADE, related_name="known_face_policy"
    )
    enabled = models.BooleanField(
        default=False,
        help_text="Search each new selfie against this client's other applicants and its "
        "blocklist. Needs its own legal basis (README, Known faces).",
    )
    threshold = models.FloatField(
        default=DEFAULT_THRESHOLD,
        validators=[MinValueValidator(50.0), MaxValueValidator(100.0)],
        help_text="Similarity 0-100 (LOCAL-ENGINE §7) from which two faces are one person. "
        "80 (default) = distance 0.50; 70 = 0.55.",
    )
    blocklist_action = models.CharField(
        max_length=8, choices=BlocklistAction.choices, default=BlocklistAction.REVIEW
    )
    blocking = models.BooleanField(
        default=False,
        help_text="Hold the automatic decision until the check has finished (slower answers).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "known-face policy"
        verbose_name_plural = "known-face policies"

    def __str__(self) -> str:
        return f"Known faces for {self.client}: {'on' if self.enabled else 'off'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        # Denormalised on the client, which every request already loads: a client with the
        # policy off costs the submission and decision paths no query at all.
        ApiClient.objects.filter(pk=self.client_id).update(known_faces=self.enabled)


class FaceTemplate(models.Model):
    """The sealed descriptor of one pair's selfie; blanked (`purged_at`) with the images."""

    pair = models.OneToOneField(ImagePair, on_delete=models.CASCADE, related_name="face_template")
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="+")
    sealed = models.BinaryField(blank=True, default=b"", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client", "id"], name="template_client_id")]

    def __str__(self) -> str:
        return f"Face template of pair {self.pair_id}"


class CheckStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CLEAR = "clear", "Clear"
    MATCHED = "matched", "Matched"
    FAILED = "failed", "Failed"


class MatchReason(models.TextChoices):
    SEEN_BEFORE = "face_seen_before", "Face seen before under another applicant"
    BLOCKLISTED = "face_blocklisted", "Face on the blocklist"


class KnownFaceCheck(models.Model):
    pair = models.OneToOneField(
        ImagePair, on_delete=models.CASCADE, related_name="known_face_check"
    )
    status = models.CharField(
        max_length=8, choices=CheckStatus.choices, default=CheckStatus.PENDING
    )
    reasons = models.JSONField(default=list, blank=True)
    matched_pairs = models.ManyToManyField(ImagePair, related_name="+", blank=True)
    matched_entries: models.ManyToManyField[BlocklistEntry, Any] = models.ManyToManyField(
        "BlocklistEntry", related_name="+", blank=True
    )
    best_similarity = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Known-face check of pair {self.pair_id}: {self.status}"


class BlocklistEntry(models.Model):
    """A face a reviewer put on the client's blocklist. It keeps its own sealed copy of the
    template, so it outlives the applicant's erasure and retention (fraud prevention, README);
    it goes only through a four-eyes removal."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    sealed = models.BinaryField(editable=False)
    source_pair = models.ForeignKey(
        ImagePair, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason_code = models.CharField(max_length=40)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removal_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removal_requested_at = models.DateTimeField(null=True, blank=True)
    removal_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "blocklist entries"
        permissions = [("manage_blocklist", "Can put faces on and off the face blocklist")]
        constraints = [
            models.CheckConstraint(
                condition=Q(removal_approved_by__isnull=True)
                | ~Q(removal_approved_by=models.F("removal_requested_by")),
                name="blocklist_removal_four_eyes",
            )
        ]
        indexes = [models.Index(fields=["client", "id"], name="blocklist_client_id")]

    def __str__(self) -> str:
        return f"Blocklist entry {self.pk} ({self.reason_code})"


class GallerySnapshot(models.Model):
    """The client's current gallery snapshot (kyc.known_faces.snapshots): an encrypted file in
    the images' storage holding the approximate index and the ids it covers, so one face worker
    builds the index and the others load it. Deleted with its file whenever a template of the
    client is purged: at rest, no snapshot holds a purged face."""

    client = models.OneToOneField(ApiClient, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    #: The highest template id it covers; a loader reads only the templates after it.
    watermark = models.BigIntegerField()
    templates = models.PositiveIntegerField()
    #: The maker had dropped every template purged before this instant (less a margin for
    #: purges still committing); a loader drops those purged since.
    purges_seen_from = models.DateTimeField()
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Gallery snapshot of client {self.client_id} up to template {self.watermark}"
