"""Who may change backend thresholds: only staff with vendors.change_vendorconfig."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from kyc.audit.models import AuditEvent
from tests.factories import UserFactory
from tests.kyc.admin.conftest import change_url, vendor_form_data
from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client):
    """A staff member who may look at the backends but not change them."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_vendorconfig"))
    client.force_login(user)
    return client


def test_a_viewer_sees_the_thresholds_read_only(viewer, advance):
    response = viewer.get(change_url(advance))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="approve_at"' not in page
    assert "Preview impact" not in page
    assert "Test connection" not in page


def test_a_viewer_cannot_change_thresholds_preview_or_save(viewer, advance):
    data = vendor_form_data(advance, approve_at=60)
    events = AuditEvent.objects.count()  # the viewer's account and sign-in
    assert viewer.post(change_url(advance), {**data, "_preview": "1"}).status_code == 403
    assert viewer.post(change_url(advance), {**data, "_confirmed": "1"}).status_code == 403
    advance.refresh_from_db()
    assert advance.approve_at == 70
    assert AuditEvent.objects.count() == events


def test_a_viewer_cannot_run_a_billable_connection_test(viewer, advance):
    url = reverse("admin:vendors_vendorconfig_test_connection", args=[advance.pk])
    assert viewer.post(url).status_code == 403
    listing = reverse("admin:vendors_vendorconfig_changelist")
    response = viewer.get(listing)
    assert "test_connection" not in response.content.decode()


def test_staff_without_any_vendor_permission_cannot_even_see_the_backends(client, advance):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(change_url(advance)).status_code == 403
    assert client.get(reverse("admin:vendors_vendorconfig_changelist")).status_code == 403


def test_a_staff_member_with_the_change_permission_can_save_thresholds(client, advance):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_vendorconfig", "change_vendorconfig"])
    )
    client.force_login(user)
    data = vendor_form_data(advance, approve_at=75)
    assert client.post(change_url(advance), {**data, "_confirmed": "1"}).status_code == 302
    assert VendorConfig.objects.get(backend="advance").approve_at == 75
    event = AuditEvent.objects.get(event_type="vendor_config.changed")
    assert event.actor_label == user.username
