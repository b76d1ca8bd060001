from __future__ import annotations

from django.contrib import admin

from vendors.models import VendorConfig


@admin.register(VendorConfig)
class VendorConfigAdmin(admin.ModelAdmin):
    list_display = (
        "backend",
        "enabled",
        "priority",
        "approve_at",
        "reject_below",
        "preflight",
        "updated_at",
    )
    list_editable = ()
    ordering = ("priority",)
