"""The staff roles as groups of permissions (DESIGN §2). Pages check permissions, not groups."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

ROLES: dict[str, tuple[str, ...]] = {
    "Reviewers": ("reviews.review_case", "reviews.do_qa"),
    "Senior reviewers": (
        "reviews.review_case",
        "reviews.second_review",
        "reviews.do_qa",
        "known_faces.manage_blocklist",
    ),
    "Auditors": ("audit.view_audit_trail", "kyc.view_dashboard", "kyc.export_decisions"),
}


@dataclass(frozen=True)
class RoleChange:
    group: str
    created: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def bootstrap_roles(*, reset: bool = False) -> list[RoleChange]:
    """Create the groups and give them their permissions; running it again changes nothing.

    `reset=True` also takes away permissions someone added to these groups by hand.
    """
    changes = []
    for name, dotted_names in ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        wanted = {dotted: _permission(dotted) for dotted in dotted_names}
        current = {
            f"{p.content_type.app_label}.{p.codename}": p
            for p in group.permissions.select_related("content_type")
        }
        added = sorted(set(wanted) - set(current))
        removed = sorted(set(current) - set(wanted)) if reset else []
        if added:
            group.permissions.add(*(wanted[d] for d in added))
        if removed:
            group.permissions.remove(*(current[d] for d in removed))
        changes.append(RoleChange(name, created, tuple(added), tuple(removed)))
    return changes
