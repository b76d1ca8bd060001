from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reviews.models import AuditEvent, Decision, ReasonCode, ReviewCase


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ("label", "outcome", "code", "position", "is_active")
    list_filter = ("outcome", "is_active")
    ordering = ("outcome", "position")


@admin.register(ReviewCase)
class ReviewCaseAdmin(admin.ModelAdmin):
    list_display = ("public_id", "status", "queue", "assignee", "priority", "due_at", "created_at")
    list_filter = ("status", "queue")
    readonly_fields = ("public_id", "pair", "reasons", "created_at", "decided_at")


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ("case", "stage", "outcome", "reviewer", "reason_code", "created_at")
    list_filter = ("outcome", "stage")
    readonly_fields = [f.name for f in Decision._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail has no add, change or delete path."""

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
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
