"""The known-face policy in the admin: off by default, enabled per client, audited, and copied
onto the client so the submission path needs no query to know it is off."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyc.audit.models import AuditEvent
from kyc.known_faces.models import KnownFacePolicy
from kyc.models import ApiClient
from tests.factories import ApiClientFactory

pytestmark = pytest.mark.django_db


def test_a_client_starts_with_the_check_off():
    assert ApiClientFactory().known_faces is False


def test_an_admin_enables_the_check_for_one_client_and_the_change_is_audited(admin_client):
    client, other = ApiClientFactory(), ApiClientFactory()
    response = admin_client.post(
        reverse("admin:known_faces_knownfacepolicy_add"),
        {"client": client.pk, "enabled": "on", "threshold": "85", "blocklist_action": "review"},
    )
    assert response.status_code == 302
    assert ApiClient.objects.get(pk=client.pk).known_faces is True
    assert ApiClient.objects.get(pk=other.pk).known_faces is False
    event = AuditEvent.objects.get(event_type="known_face_policy.changed")
    assert event.subject_id == str(client.public_id)
    assert event.params["after"]["enabled"] is True and event.params["after"]["threshold"] == 85

    policy = KnownFacePolicy.objects.get(client=client)
    admin_client.post(
        reverse("admin:known_faces_knownfacepolicy_change", args=[policy.pk]),
        {"client": client.pk, "threshold": "85", "blocklist_action": "review"},
    )
    assert ApiClient.objects.get(pk=client.pk).known_faces is False
