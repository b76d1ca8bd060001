"""Applicants (legal hold) and the retention policy in the admin; writes go through
kyc.services.retention.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kyc.admin.base import ADMIN_CSS, actor_of
from kyc.admin.forms import ApplicantForm
from kyc.models import (
    Applicant,
    RetentionPolicy,
)
from kyc.services.retention import (
    ApplicantErased,
    get_policy,
    set_legal_hold,
    update_retention_policy,
)


@admin.register(Applicant)
class ApplicantAdmin(admin.ModelAdmin):
    form = ApplicantForm
    list_display = ("public_id", "client", "external_ref", "legal_hold", "created_at", "erased_at")
    list_filter = ("legal_hold", "client")
    list_select_related = ("client",)
    search_fields = ("external_ref", "public_id")
    fields = ("public_id", "client", "external_ref", "legal_hold", "created_at", "erased_at")
    readonly_fields = ("public_id", "client", "external_ref", "created_at", "erased_at")
    actions = ["place_legal_hold", "lift_legal_hold"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # applicants come from the API

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # erasure is a request with rules (kyc.services.erasure), not a delete

    def save_model(
        self, request: HttpRequest, obj: Applicant, form: ModelForm, change: bool
    ) -> None:
        if "legal_hold" in form.changed_data:
            set_legal_hold(obj, form.cleaned_data["legal_hold"], actor_of(request))

    def _set_hold(self, request: HttpRequest, queryset: QuerySet[Applicant], hold: bool) -> None:
        changed, refused = 0, 0
        for applicant in queryset:
            try:
                if set_legal_hold(applicant, hold, actor_of(request)):
                    changed += 1
                    self.log_change(
                        request,
                        applicant,
                        "Placed on legal hold." if hold else "Legal hold lifted.",
                    )
            except ApplicantErased:
                refused += 1
        verb = "placed on" if hold else "released from"
        self.message_user(request, f"{changed} applicant(s) {verb} legal hold.")
        if refused:
            self.message_user(
                request, f"{refused} erased applicant(s) skipped: no images left.", messages.WARNING
            )

    @admin.action(description="Place on legal hold (keep images, refuse erasure)")
    def place_legal_hold(self, request: HttpRequest, queryset: QuerySet[Applicant]) -> None:
        self._set_hold(request, queryset, True)

    @admin.action(description="Lift legal hold")
    def lift_legal_hold(self, request: HttpRequest, queryset: QuerySet[Applicant]) -> None:
        self._set_hold(request, queryset, False)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("place_legal_hold", None)
            actions.pop("lift_legal_hold", None)
        return actions


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    """One row: the changelist goes straight to it."""

    fieldsets = [
        (
            None,
            {
                "fields": ("image_retention_days", "keep_unfinished_days", "on_hold"),
                "description": "Only the selfie and reference images are deleted: decisions, "
                "image hashes, scores and the audit trail stay. Applicants on legal hold keep "
                "their images whatever this says. The retention purge job applies these numbers.",
            },
        ),
    ]
    readonly_fields = ("on_hold",)

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        policy = get_policy()
        return HttpResponseRedirect(reverse("admin:kyc_retentionpolicy_change", args=[policy.pk]))

    @admin.display(description="Applicants on legal hold")
    def on_hold(self, policy: RetentionPolicy) -> SafeString:
        count = Applicant.objects.filter(legal_hold=True).count()
        url = reverse("admin:kyc_applicant_changelist")
        return format_html('<a href="{}?legal_hold__exact=1">{}</a>', url, count)

    def save_model(
        self, request: HttpRequest, obj: RetentionPolicy, form: ModelForm, change: bool
    ) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            update_retention_policy(changes, actor_of(request))
        except ValidationError as error:  # the form already validated the same fields
            raise PermissionDenied("; ".join(error.messages)) from error
