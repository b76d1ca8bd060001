"""Image pairs in the admin: read-only facts; faces only in the audited reviewer view."""

from __future__ import annotations

from django.contrib import admin

from kyc.models import (
    ComparisonAttempt,
    ImagePair,
)


class AttemptInline(admin.TabularInline):
    model = ComparisonAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "vendor",
        "purpose",
        "status",
        "score",
        "error_code",
        "verdict",
        "latency_ms",
    )
    readonly_fields = fields


@admin.register(ImagePair)
class ImagePairAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "client",
        "status",
        "decision_source",
        "requested_vendor",
        "created_at",
    )
    list_filter = ("status", "decision_source", "requested_vendor", "client")
    search_fields = ("public_id", "applicant__external_ref")
    # Image files are never linked from the admin: staff see faces only in the audited view.
    exclude = ("selfie", "reference")
    readonly_fields = [
        f.name for f in ImagePair._meta.fields if f.name not in {"selfie", "reference"}
    ]
    inlines = [AttemptInline]

    def has_add_permission(self, request: object) -> bool:
        return False
