"""A refusal that says what would open the page: the 403 page names the roles that grant it."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q


class AccessDenied(PermissionDenied):
    """A signed-in user lacks `permissions` ("app_label.codename"); none means they hold no role
    at all."""

    def __init__(self, message: str, permissions: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.permissions = tuple(permissions)


def roles_granting(permissions: Iterable[str]) -> list[str]:
    """The names of the roles (groups) that hold every one of `permissions`; with none asked
    for, every role that holds any permission."""
    wanted = [tuple(dotted.split(".", 1)) for dotted in permissions]
    if not wanted:
        return list(
            Group.objects.filter(permissions__isnull=False)
            .distinct()
            .order_by("name")
            .values_list("name", flat=True)
        )
    match = Q()
    for app_label, codename in wanted:
        match |= Q(content_type__app_label=app_label, codename=codename)
    ids = list(Permission.objects.filter(match).values_list("pk", flat=True))
    if len(ids) < len(wanted):
        return []
    return list(
        Group.objects.annotate(
            held=Count("permissions", filter=Q(permissions__in=ids), distinct=True)
        )
        .filter(held=len(ids))
        .order_by("name")
        .values_list("name", flat=True)
    )
