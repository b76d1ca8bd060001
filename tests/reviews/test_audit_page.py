"""/audit/: filters, pages, the CSV export and the chain-status banner."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from kyc.access import two_factor
from kyc.audit import events
from kyc.audit.chain import Actor, verify_chain
from kyc.audit.models import AuditEvent
from reviews import services
from tests.reviews.cases import decide, opened_case

pytestmark = pytest.mark.django_db


def seqs(response) -> list[int]:
    return [event.seq for event in response.context["rows"]]


@pytest.fixture
def history(reviewer, other_reviewer):
    """Two cases, one claimed and decided by rita, one claimed by omar three days ago."""
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        older = opened_case()
        services.claim_case(older.public_id, other_reviewer)
    newer = opened_case()
    services.claim_case(newer.public_id, reviewer)
    decide(newer, reviewer, "approve")
    return older, newer


def test_the_audit_page_lists_events_newest_first_with_an_intact_chain_banner(as_auditor, history):
    response = as_auditor.get("/audit/")
    assert response.status_code == 200
    assert seqs(response) == sorted(AuditEvent.objects.values_list("seq", flat=True), reverse=True)
    html = response.content.decode()
    status = verify_chain()
    assert "Chain intact" in html
    assert f'{status.events} events, head <span class="mono">{status.head_hash[:16]}</span>' in html


def test_the_audit_trail_filters_by_actor_event_type_subject_and_dates(as_auditor, history):
    older, _ = history
    by_actor = as_auditor.get("/audit/?actor=rita").context["rows"]
    assert {e.actor_label for e in by_actor} == {"rita"}
    assert {e.event_type for e in by_actor} == {"review.claimed", "review.decision", "pair.decided"}

    claims = as_auditor.get("/audit/?event_type=review.claimed").context["rows"]
    assert [e.actor_label for e in claims] == ["rita", "omar"]

    for subject in (older.pair.public_id, older.public_id):  # a pair id, or its case's id
        rows = as_auditor.get(f"/audit/?subject={subject}").context["rows"]
        assert {e.subject_id for e in rows} == {str(older.pair.public_id)}
        assert [e.event_type for e in rows] == ["review.claimed", "review.opened"]

    today = timezone.now().date()
    recent = as_auditor.get(f"/audit/?date_from={today - timedelta(days=1)}").context["rows"]
    assert str(older.pair.public_id) not in {e.subject_id for e in recent}
    old = as_auditor.get(f"/audit/?date_to={today - timedelta(days=2)}").context["rows"]
    assert {e.subject_id for e in old} == {str(older.pair.public_id)}


def test_a_date_range_that_ends_before_it_starts_is_explained_next_to_the_field(as_auditor):
    response = as_auditor.get("/audit/?date_from=2026-05-02&date_to=2026-05-01")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_the_audit_trail_pages_backwards_by_sequence(as_auditor, reviewer):
    for _ in range(30):  # 30 cases: 60 events (opened + claimed) at least
        services.claim_case(opened_case().public_id, reviewer)
    first = as_auditor.get("/audit/")
    assert len(first.context["rows"]) == 50
    older_query = first.context["older_query"]
    second = as_auditor.get(f"/audit/?{older_query}")
    assert seqs(second)[0] == seqs(first)[-1] - 1
    assert set(seqs(first)).isdisjoint(seqs(second))


def test_the_csv_export_streams_the_filtered_events_with_their_hashes_and_is_audited(
    as_auditor, history
):
    response = as_auditor.get("/audit/export.csv?actor=rita")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = AuditEvent.objects.filter(actor_label="rita").order_by("seq")
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected]
    assert [r["hash"] for r in rows] == [e.hash for e in expected]
    assert rows[0]["params"].startswith("{")
    exported = AuditEvent.objects.get(event_type="audit.exported")
    assert (exported.actor_label, exported.params) == ("audrey", {"filters": {"actor": "rita"}})
    assert verify_chain().ok


def test_verify_now_finds_a_tampered_chain_and_the_banner_says_where(as_auditor, history):
    assert "Chain intact" in as_auditor.get("/audit/").content.decode()
    victim = AuditEvent.objects.order_by("seq")[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_label = %s WHERE id = %s", ["mallory", victim.pk]
        )
    response = as_auditor.post("/audit/verify/", follow=True)
    html = response.content.decode()
    assert "Chain broken" in html
    assert f"event #{victim.seq}" in html


def test_staff_access_events_show_with_their_labels_and_can_be_filtered(as_auditor, reviewer):
    admin = Actor.system("an administrator")
    with transaction.atomic():
        events.second_factor_enrolled(
            reviewer, Actor.user(reviewer), device="totp", recovery_codes=10
        )
        events.second_factor_removed(reviewer, Actor.user(reviewer), devices=["totp"])
        events.second_factor_reset(reviewer, admin, devices=["totp", "recovery_code"])
        events.sessions_ended(reviewer, admin, sessions=2)
    two_factor.set_role_policy(Group.objects.get(name="Reviewers"), admin, required=False)
    labels = {
        "second_factor.enrolled": "Second factor set up",
        "second_factor.removed": "Second factor removed by its user",
        "second_factor.reset": "Second factor reset by an administrator",
        "second_factor.policy_changed": "Second-factor rule of a role changed",
        "sessions.ended": "Signed out everywhere",
    }
    page = as_auditor.get("/audit/")
    choices = dict(page.context["form"].fields["event_type"].choices)
    html = page.content.decode()
    # A subject's link names its type: a user and a group may share an id.
    assert f'href="?subject=user:{reviewer.pk}"' in html
    for event_type, label in labels.items():
        assert choices[event_type] == label
        assert (
            f'<span class="event-label">{label}</span> '
            f'<span class="mono faint event-code event-type">{event_type}</span>'
        ) in html
        rows = as_auditor.get(f"/audit/?event_type={event_type}").context["rows"]
        assert [row.event_type for row in rows] == [event_type]
    assert {
        row.event_type
        for row in as_auditor.get(f"/audit/?subject=user:{reviewer.pk}").context["rows"]
    } == {
        "user.created",  # the test's own reviewer account, and its role
        "user.groups_changed",
        "second_factor.enrolled",
        "second_factor.removed",
        "second_factor.reset",
        "sessions.ended",
    }
