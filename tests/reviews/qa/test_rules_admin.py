"""QA sampling rules in the admin: per backend and outcome, validated, every change audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyc.audit.models import AuditEvent
from reviews.models import QaSamplingRule

pytestmark = pytest.mark.django_db

ADD = reverse("admin:reviews_qasamplingrule_add")


def change_url(rule: QaSamplingRule) -> str:
    return reverse("admin:reviews_qasamplingrule_change", args=[rule.pk])


def test_a_backends_own_rule_is_created_with_an_audit_event(admin_client):
    response = admin_client.post(
        ADD,
        {"backend": "zoloz", "outcome": "rejected", "rate": "0.1", "near_threshold_points": "3"},
    )

    assert response.status_code == 302
    rule = QaSamplingRule.objects.get(backend="zoloz", outcome="rejected")
    assert (rule.rate, rule.near_threshold_points) == (0.1, 3.0)
    event = AuditEvent.objects.get(event_type="qa_rule.created")
    assert (event.subject_id, event.params) == (
        "zoloz:rejected",
        {"rate": 0.1, "near_threshold_points": 3.0},
    )


def test_changing_a_rate_is_audited_with_before_and_after(admin_client):
    rule = QaSamplingRule.objects.get(backend="", outcome="approved")

    response = admin_client.post(change_url(rule), {"rate": "0.04", "near_threshold_points": "2"})

    assert response.status_code == 302
    event = AuditEvent.objects.get(event_type="qa_rule.changed")
    assert (event.subject_id, event.params) == (
        "*:approved",
        {"changed": ["rate"], "before": {"rate": 0.02}, "after": {"rate": 0.04}},
    )


def test_a_rate_above_one_is_refused_next_to_the_field_and_nothing_changes(admin_client):
    rule = QaSamplingRule.objects.get(backend="", outcome="approved")

    response = admin_client.post(change_url(rule), {"rate": "2", "near_threshold_points": "2"})

    assert response.status_code == 200
    assert "rate" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.rate == 0.02
    assert not AuditEvent.objects.filter(event_type="qa_rule.changed").exists()


def test_rules_cannot_be_deleted(admin_client):
    rule = QaSamplingRule.objects.get(backend="", outcome="rejected")
    response = admin_client.post(
        reverse("admin:reviews_qasamplingrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert QaSamplingRule.objects.filter(pk=rule.pk).exists()
