from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from kyc.admin.base import ReadOnlyModelAdmin
from kyc.audit.chain import Actor
from reviews.models import Decision, QaItem, QaSamplingRule, ReasonCode, ReviewCase
from reviews.qa.rules import create_sampling_rule, update_sampling_rule
from reviews.reason_codes import create_reason_code, update_reason_code


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    """The reasons reviewers pick from, per outcome, in `position` order (active ones only)."""

    list_display = ("label", "outcome", "code", "position", "is_active", "used")
    list_display_links = ("label",)
    list_editable = ("position", "is_active")
    list_filter = ("outcome", "is_active")
    ordering = ("outcome", "position", "label")
    search_fields = ("label", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReasonCode]:
        return super().get_queryset(request).annotate(decision_count=Count("decision"))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("outcome", "code", "label", "position", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Outcome and code name the reason in decisions and the audit trail: fixed once created.
        return ("outcome", "code") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # decisions point at codes: make a code inactive instead

    @admin.display(description="Decisions", ordering="decision_count")
    def used(self, obj: ReasonCode) -> int:
        return int(getattr(obj, "decision_count", 0))

    def save_model(self, request: HttpRequest, obj: ReasonCode, form: Any, change: bool) -> None:
        actor = Actor.user(request.user)
        if not change:
            create_reason_code(obj, actor)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        update_reason_code(obj, changes, actor)


@admin.register(ReviewCase)
class ReviewCaseAdmin(ReadOnlyModelAdmin):
    """Read-only: cases are opened by the pipeline and moved only through the reviewer UI's
    audited services, never edited here."""

    list_display = ("public_id", "status", "queue", "assignee", "priority", "due_at", "created_at")
    list_filter = ("status", "queue")
    readonly_fields = [f.name for f in ReviewCase._meta.fields]


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ("case", "stage", "outcome", "reviewer", "reason_code", "created_at")
    list_filter = ("outcome", "stage")
    readonly_fields = [f.name for f in Decision._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- QA sampling (issue 18) ----------------------------------------------------------------------


@admin.register(QaSamplingRule)
class QaSamplingRuleAdmin(admin.ModelAdmin):
    """How many automatic decisions go to blind QA, per backend and outcome (reviews.qa)."""

    list_display = ("__str__", "backend", "outcome", "rate", "near_threshold_points")
    list_filter = ("outcome",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Backend and outcome name the rule in the audit trail: fixed once created.
        return ("backend", "outcome") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # set the rate to 0 instead: the audit trail keeps every rate that applied

    def save_model(
        self, request: HttpRequest, obj: QaSamplingRule, form: Any, change: bool
    ) -> None:
        actor = Actor.user(request.user)
        if not change:
            create_sampling_rule(obj, actor)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        update_sampling_rule(obj, changes, actor)


@admin.register(QaItem)
class QaItemAdmin(ReadOnlyModelAdmin):
    """Read-only: samples are drawn by reviews.qa.sampling and answered on the QA pages."""

    list_display = ("public_id", "backend", "auto_outcome", "probability", "answer", "created_at")
    list_filter = ("backend", "auto_outcome", "answer")
    readonly_fields = [f.name for f in QaItem._meta.fields]
