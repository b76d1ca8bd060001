"""Admin building blocks shared by the apps."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kyc.audit.chain import Actor

#: The admin pages' own styles (band bars, guidance, the impact preview).
ADMIN_CSS = {"all": ("vendors/admin.css",)}


def actor_of(request: HttpRequest) -> Actor:
    """Who an admin action is audited as."""
    return Actor.user(request.user)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Lists and shows rows that only the application's own services write."""

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
