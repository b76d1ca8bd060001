"""Sign-in lockouts: the failed sign-ins django-axes counts, and the audited way to unlock.

Rows are counters, not history (the audit trail has every failed sign-in). Deleting is not
offered: "Unlock" is the one way to clear a row, and it writes `staff.unlocked`.
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kyc.access import lockout
from kyc.admin.base import actor_of


@admin.register(AccessAttempt)
class LockoutAdmin(admin.ModelAdmin):
    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "locked")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    actions = ["unlock"]
    fields = readonly_fields = (
        "username",
        "ip_address",
        "failures_since_start",
        "attempt_time",
        "user_agent",
        "path_info",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description="Locked now")
    def locked(self, attempt: AccessAttempt) -> bool:
        return lockout.is_locked(attempt)

    @admin.action(description="Unlock the selected names and addresses", permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        count = lockout.unlock(queryset, actor_of(request))
        self.message_user(
            request,
            f"Unlocked {count} name{'s' if count != 1 else ''} and address"
            f"{'es' if count != 1 else ''}: they may sign in again.",
            messages.SUCCESS,
        )
