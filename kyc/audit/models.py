"""The append-only, hash-chained audit trail (DESIGN §8)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models


class ActorType(models.TextChoices):
    USER = "user", "Staff user"
    API_CLIENT = "api_client", "API client"
    SYSTEM = "system", "System"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One link of the hash chain. Written only through kyc.audit.chain.append, never changed."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=12, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    event_type = models.CharField(max_length=60)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    # Unique prev_hash: two writers can never both extend the same link (no forked chain).
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        permissions = [("view_audit_trail", "Can view and export the audit trail")]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "seq"], name="audit_subject"),
            models.Index(fields=["event_type", "-created_at"], name="audit_type"),
            models.Index(fields=["actor_type", "actor_id", "-created_at"], name="audit_actor"),
            models.Index(fields=["-created_at"], name="audit_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only.")
