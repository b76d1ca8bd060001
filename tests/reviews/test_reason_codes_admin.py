"""Reason codes: per outcome, ordered, activated in the list, every change audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyc.audit.models import AuditEvent
from reviews.models import ReasonCode

pytestmark = pytest.mark.django_db

LIST = reverse("admin:reviews_reasoncode_changelist")


def list_edit_data(codes, changes):
    """The changelist formset as posted, with {pk: {field: value}} `changes` applied."""
    data = {
        "form-TOTAL_FORMS": str(len(codes)),
        "form-INITIAL_FORMS": str(len(codes)),
        "_save": "Save",
    }
    for index, code in enumerate(codes):
        values = {"position": code.position, "is_active": code.is_active}
        values.update(changes.get(code.pk, {}))
        data[f"form-{index}-id"] = code.pk
        data[f"form-{index}-position"] = values["position"]
        if values["is_active"]:
            data[f"form-{index}-is_active"] = "on"
    return data


def test_the_list_is_ordered_by_outcome_then_position(admin_client):
    response = admin_client.get(f"{LIST}?outcome__exact=reject")
    labels = [code.label for code in response.context["cl"].result_list]
    assert labels == [
        "Different person",
        "Photo of a photo, screen or mask",
        "Reference photo does not belong to the applicant",
    ]
    assert response.context["cl"].list_editable == ("position", "is_active")


def test_editing_position_and_active_in_the_list_is_audited_per_code(admin_client):
    codes = list(ReasonCode.objects.filter(outcome="reject").order_by("position"))
    first, second = codes[0], codes[1]
    response = admin_client.post(
        f"{LIST}?outcome__exact=reject",
        list_edit_data(codes, {first.pk: {"position": 5}, second.pk: {"is_active": False}}),
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.position, second.is_active) == (5, False)
    events = {
        e.subject_id: e.params for e in AuditEvent.objects.filter(event_type="reason_code.changed")
    }
    assert events == {
        f"reject:{first.code}": {
            "changed": ["position"],
            "before": {"position": 0},
            "after": {"position": 5},
        },
        f"reject:{second.code}": {
            "changed": ["is_active"],
            "before": {"is_active": True},
            "after": {"is_active": False},
        },
    }


def test_a_new_code_is_audited_and_its_code_cannot_change_later(admin_client):
    response = admin_client.post(
        reverse("admin:reviews_reasoncode_add"),
        {"outcome": "escalate", "code": "legal_request", "label": "Legal request", "position": 3},
    )
    assert response.status_code == 302
    code = ReasonCode.objects.get(code="legal_request")
    assert code.is_active is False  # the box was left unticked
    event = AuditEvent.objects.get(event_type="reason_code.created")
    assert event.subject_id == "escalate:legal_request"
    form = admin_client.get(reverse("admin:reviews_reasoncode_change", args=[code.pk]))
    assert set(form.context["adminform"].form.fields) == {"label", "position", "is_active"}


def test_a_duplicate_code_for_the_same_outcome_is_refused(admin_client):
    events = AuditEvent.objects.count()  # the admin's account and sign-in
    response = admin_client.post(
        reverse("admin:reviews_reasoncode_add"),
        {"outcome": "reject", "code": "different_person", "label": "Again", "position": 9},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert AuditEvent.objects.count() == events


def test_codes_are_deactivated_not_deleted(admin_client):
    code = ReasonCode.objects.first()
    delete = reverse("admin:reviews_reasoncode_delete", args=[code.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ReasonCode.objects.filter(pk=code.pk).exists()
