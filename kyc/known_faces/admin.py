"""The known-face policy per API client, set by an admin (off until enabled); every change is
in the audit trail, since enabling it starts a processing purpose of its own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

from kyc.admin.base import actor_of
from kyc.audit.events import changed_event
from kyc.known_faces.models import KnownFacePolicy

FIELDS = ("enabled", "threshold", "blocklist_action", "blocking")


def _values(policy: KnownFacePolicy | None) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in FIELDS} if policy is not None else {}


@admin.register(KnownFacePolicy)
class KnownFacePolicyAdmin(admin.ModelAdmin):
    list_display = ("client", *FIELDS, "updated_at")
    list_filter = ("enabled", "blocking")
    fields = ("client", *FIELDS)

    def save_model(
        self, request: HttpRequest, obj: KnownFacePolicy, form: ModelForm, change: bool
    ) -> None:
        with transaction.atomic():
            before = _values(KnownFacePolicy.objects.filter(pk=obj.pk).first() if obj.pk else None)
            super().save_model(request, obj, form, change)
            changed_event(
                actor_of(request),
                "known_face_policy.changed",
                ("api_client", str(obj.client.public_id)),
                before=before,
                after=_values(obj),
            )
