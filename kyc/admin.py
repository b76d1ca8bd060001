from __future__ import annotations

from django.contrib import admin

from kyc.models import ApiClient, ApiKey, Applicant, ComparisonAttempt, ImagePair, WebhookDelivery


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    can_delete = False


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "webhook_url", "created_at")
    search_fields = ("name",)
    exclude = ("webhook_secret", "webhook_secret_previous")
    inlines = [ApiKeyInline]


@admin.register(Applicant)
class ApplicantAdmin(admin.ModelAdmin):
    list_display = ("public_id", "client", "external_ref", "legal_hold", "created_at", "erased_at")
    list_filter = ("client", "legal_hold")
    search_fields = ("external_ref", "public_id")
    readonly_fields = ("public_id", "client", "external_ref", "created_at", "erased_at")


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


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_id",
        "client",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status", "event_type", "client")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
