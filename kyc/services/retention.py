"""Reading the retention policy (DESIGN §9). The purge job lives with the operations code."""

from __future__ import annotations

from kyc.models import RetentionPolicy


def get_policy() -> RetentionPolicy:
    """The one policy row (created with the defaults if a test database flushed it)."""
    policy, _ = RetentionPolicy.objects.get_or_create(pk=RetentionPolicy.SINGLETON_ID)
    return policy


def image_retention_days() -> int:
    """Days after a final decision before a pair's images are deleted."""
    return get_policy().image_retention_days
