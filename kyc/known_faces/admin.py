"""The known-face policy per API client, set by an admin (off until enabled)."""

from __future__ import annotations

from django.contrib import admin

from kyc.known_faces.models import KnownFacePolicy


@admin.register(KnownFacePolicy)
class KnownFacePolicyAdmin(admin.ModelAdmin):
    list_display = ("client", "enabled", "threshold", "blocklist_action", "blocking", "updated_at")
    list_filter = ("enabled", "blocking")
