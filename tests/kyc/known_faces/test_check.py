"""The known-face check end to end through the API and the pipeline, on real photos."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from kyc import dispatch
from kyc.known_faces.models import FaceTemplate, KnownFaceCheck, unseal
from kyc.models import ApiClient, ComparisonAttempt, PairStatus, WebhookDelivery
from kyc.services import pipeline
from tests.factories import client_with_key
from tests.kyc.known_faces.conftest import enable_policy

pytestmark = pytest.mark.django_db(transaction=True)

OBAMA, OBAMA_2, OBAMA_3 = "fr_obama.jpg", "fr_obama2.jpg", "fr_obama3.jpg"
BIDEN, BIDEN_2 = "fr_biden.jpg", "fr_biden2.jpg"


def the_client(pair) -> ApiClient:
    return ApiClient.objects.get(pk=pair.client_id)


def names(tasks) -> list[str]:
    return [task.name for task in tasks.history]


@pytest.fixture
def enabled(harness):
    harness.enable("local")
    client = ApiClient.objects.order_by("-pk").first()
    client.webhook_url = "https://hooks.example.com/kyc"
    client.save()
    enable_policy(client)
    return harness


def test_with_the_policy_off_nothing_is_computed_enqueued_or_shown(harness):
    harness.enable("local")
    pair = harness.run(harness.submit(OBAMA, OBAMA_2))

    assert dispatch.CHECK_KNOWN_FACE not in names(harness.tasks)
    assert not FaceTemplate.objects.exists() and not KnownFaceCheck.objects.exists()
    assert pair.known_face is None
    body = harness.api.get(f"/api/v1/image-pairs/{pair.public_id}/").json()
    assert body["known_face"] is None


def test_the_same_person_under_a_second_applicant_ref_is_sent_to_review(enabled):
    first = enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="alice"))
    assert first.status == PairStatus.APPROVED
    assert first.known_face["status"] == "clear"
    assert FaceTemplate.objects.filter(pair=first, purged_at__isnull=True).count() == 1

    second = enabled.run(enabled.submit(OBAMA_3, OBAMA_2, applicant_ref="bob"))

    assert second.status == PairStatus.NEEDS_REVIEW
    assert second.status_reason == "face_seen_before"
    check = KnownFaceCheck.objects.get(pair=second)
    assert check.status == "matched"
    assert list(check.matched_pairs.values_list("pk", flat=True)) == [first.pk]
    assert check.best_similarity >= 70
    body = enabled.api.get(f"/api/v1/image-pairs/{second.public_id}/").json()
    assert body["known_face"] == {
        "status": "matched",
        "reasons": ["face_seen_before"],
        "matched_applicant_refs": ["alice"],
    }
    assert WebhookDelivery.objects.filter(
        pair=second, event_type="pair.known_face_matched"
    ).exists()
    assert second.review_case.reasons[0] == "face_seen_before"


def test_the_same_applicant_submitting_again_is_not_a_match(enabled):
    enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="alice"))
    again = enabled.run(enabled.submit(OBAMA_3, OBAMA_2, applicant_ref="alice"))
    assert again.known_face["status"] == "clear"
    assert again.status == PairStatus.APPROVED


def test_different_people_are_not_flagged(enabled):
    enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="alice"))
    other = enabled.run(enabled.submit(BIDEN, BIDEN_2, applicant_ref="bob"))
    assert other.known_face == {**other.known_face, "status": "clear", "reasons": []}
    assert other.status == PairStatus.APPROVED


def test_another_clients_applicant_never_matches(enabled):
    enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="alice"))
    other_client, key = client_with_key()
    enable_policy(other_client)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    enabled.api = api
    pair = enabled.run(enabled.submit(OBAMA_3, OBAMA_2, applicant_ref="alice-elsewhere"))
    assert pair.client_id == other_client.pk
    assert pair.known_face["status"] == "clear"
    assert pair.status == PairStatus.APPROVED


def test_a_match_found_after_the_automatic_approval_amends_it_to_review(enabled):
    enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="alice"))
    pair = enabled.submit(OBAMA_3, OBAMA_2, applicant_ref="bob")
    # The comparison runs before the check (non-blocking): the pair is approved first.
    compare = [t for t in enabled.tasks.sent if t.name == dispatch.COMPARE]
    pipeline.run_attempt(*compare[0].args)
    pair.refresh_from_db()
    assert pair.status == PairStatus.APPROVED

    enabled.run(pair)

    assert pair.status == PairStatus.NEEDS_REVIEW
    assert pair.decided_at is None and pair.decision_source == ""
    events = {d.event_type for d in WebhookDelivery.objects.filter(pair=pair)}
    assert {"pair.approved", "pair.needs_review", "pair.known_face_matched"} <= events
    assert pair.review_case.reasons == ["face_seen_before"]


def test_blocking_mode_holds_the_comparison_until_the_check_has_run(enabled):
    enable_policy(
        the_client(enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="a"))), blocking=True
    )
    enabled.tasks.history.clear()
    pair = enabled.submit(OBAMA_3, OBAMA_2, applicant_ref="bob")

    assert names(enabled.tasks) == [dispatch.CHECK_KNOWN_FACE]
    attempt = ComparisonAttempt.objects.get(pair=pair)
    assert attempt.not_before is not None  # the stuck-attempt sweeper leaves it alone

    pair = enabled.run(pair)
    sent = names(enabled.tasks)
    assert sent[0] == dispatch.CHECK_KNOWN_FACE and sent.count(dispatch.COMPARE) == 1
    assert pair.status == PairStatus.NEEDS_REVIEW
    # Decided once, with the result at hand: no approval was ever sent.
    assert not WebhookDelivery.objects.filter(pair=pair, event_type="pair.approved").exists()


def test_templates_never_reach_logs_api_answers_or_the_raw_response(enabled, caplog):
    caplog.set_level(logging.DEBUG)
    first = enabled.run(enabled.submit(OBAMA, OBAMA_2, applicant_ref="alice"))
    second = enabled.run(enabled.submit(OBAMA_3, OBAMA_2, applicant_ref="bob"))
    template = FaceTemplate.objects.get(pair=first)
    vector = unseal(template.sealed)
    needles = [f"{value:.4f}" for value in vector[:8]] + [repr(float(vector[0]))]
    # Sealed at rest: the stored bytes are an envelope, not the floats.
    assert vector.tobytes() not in bytes(template.sealed)
    bodies = [
        enabled.api.get(f"/api/v1/image-pairs/{p.public_id}/").content.decode()
        for p in (first, second)
    ]
    raw = [str(a.raw_response) for a in ComparisonAttempt.objects.all()]
    hooks = [str(d.payload) for d in WebhookDelivery.objects.all()]
    for text in [caplog.text, *bodies, *raw, *hooks]:
        for needle in needles:
            assert needle not in text
