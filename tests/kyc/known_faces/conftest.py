from __future__ import annotations

import pytest

from kyc.known_faces import gallery
from kyc.known_faces.models import KnownFacePolicy
from kyc.models import ApiClient


@pytest.fixture(autouse=True)
def _fresh_galleries():
    gallery.forget_all()
    yield
    gallery.forget_all()


def enable_policy(client: ApiClient, **fields) -> KnownFacePolicy:
    policy, _ = KnownFacePolicy.objects.get_or_create(client=client)
    for name, value in {"enabled": True, **fields}.items():
        setattr(policy, name, value)
    policy.save()
    client.refresh_from_db()
    return policy
