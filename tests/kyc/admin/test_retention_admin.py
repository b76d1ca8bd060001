"""Retention policy (one row) and legal hold per applicant, both audited."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from kyc.audit.models import AuditEvent
from kyc.models import Applicant, RetentionPolicy
from kyc.services.retention import get_policy, image_retention_days
from tests.factories import ApplicantFactory

pytestmark = pytest.mark.django_db


def test_the_migration_creates_the_policy_with_thirty_days():
    assert RetentionPolicy.objects.count() == 1
    assert image_retention_days() == 30
    assert get_policy().keep_unfinished_days == 180


def test_the_policy_list_goes_straight_to_the_one_row_and_nothing_can_be_added(admin_client):
    response = admin_client.get(reverse("admin:kyc_retentionpolicy_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:kyc_retentionpolicy_change", args=[1])
    assert admin_client.get(reverse("admin:kyc_retentionpolicy_add")).status_code == 403


def test_changing_the_retention_period_is_validated_and_audited(admin_client):
    change = reverse("admin:kyc_retentionpolicy_change", args=[1])
    refused = admin_client.post(change, {"image_retention_days": 0, "keep_unfinished_days": ""})
    assert "image_retention_days" in refused.context["adminform"].form.errors
    response = admin_client.post(change, {"image_retention_days": 90, "keep_unfinished_days": ""})
    assert response.status_code == 302
    assert image_retention_days() == 90
    assert get_policy().keep_unfinished_days is None
    event = AuditEvent.objects.get(event_type="retention_policy.changed")
    assert event.params["before"] == {"image_retention_days": 30, "keep_unfinished_days": 180}
    assert event.params["after"] == {"image_retention_days": 90, "keep_unfinished_days": None}


def test_the_accessor_recreates_a_missing_row_with_the_defaults():
    RetentionPolicy.objects.all().delete()
    assert image_retention_days() == 30


def test_legal_hold_is_toggled_on_the_applicant_form_with_an_audit_event(admin_client):
    applicant = ApplicantFactory()
    change = reverse("admin:kyc_applicant_change", args=[applicant.pk])
    response = admin_client.post(change, {"legal_hold": "on"})
    assert response.status_code == 302
    applicant.refresh_from_db()
    assert applicant.legal_hold is True
    event = AuditEvent.objects.get(event_type="applicant.legal_hold")
    assert (event.subject_id, event.params) == (str(applicant.public_id), {"legal_hold": True})
    assert LogEntry.objects.filter(object_id=str(applicant.pk)).exists()


def test_the_list_actions_place_and_lift_holds_skipping_erased_applicants(admin_client):
    held, free = ApplicantFactory(), ApplicantFactory()
    erased = ApplicantFactory(erased_at=timezone.now())
    listing = reverse("admin:kyc_applicant_changelist")
    response = admin_client.post(
        listing,
        {"action": "place_legal_hold", "_selected_action": [held.pk, free.pk, erased.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "2 applicant(s) placed on legal hold." in text
    assert "1 erased applicant(s) skipped" in text
    assert set(Applicant.objects.filter(legal_hold=True)) == {held, free}
    admin_client.post(listing, {"action": "lift_legal_hold", "_selected_action": [held.pk]})
    held.refresh_from_db()
    assert held.legal_hold is False
    holds = AuditEvent.objects.filter(event_type="applicant.legal_hold").order_by("seq")
    assert [e.params["legal_hold"] for e in holds] == [True, True, False]


def test_an_erased_applicant_cannot_be_put_on_hold(admin_client):
    erased = ApplicantFactory(erased_at=timezone.now())
    events = AuditEvent.objects.count()  # the admin's account and sign-in
    response = admin_client.post(
        reverse("admin:kyc_applicant_change", args=[erased.pk]), {"legal_hold": "on"}
    )
    assert "no images left to hold" in response.context["adminform"].form.errors["legal_hold"][0]
    assert AuditEvent.objects.count() == events


def test_applicants_cannot_be_added_or_deleted_in_the_admin(admin_client):
    applicant = ApplicantFactory()
    assert admin_client.get(reverse("admin:kyc_applicant_add")).status_code == 403
    delete = reverse("admin:kyc_applicant_delete", args=[applicant.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
