"""The audit trail in the admin: read-only, it has no add, change or delete path."""

from __future__ import annotations

from django.contrib import admin

from kyc.admin.base import ReadOnlyModelAdmin
from kyc.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "seq",
        "created_at",
        "actor_type",
        "actor_label",
        "event_type",
        "subject_type",
        "subject_id",
    )
    list_filter = ("event_type", "actor_type")
    search_fields = ("subject_id", "actor_label")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
