"""POST /api/v1/image-pairs/<id>/contest: an applicant contests an automatic rejection."""

from __future__ import annotations

import pytest

from kyc.audit.models import AuditEvent
from kyc.models import DecisionSource, PairContest, PairStatus, WebhookDelivery
from kyc.services.contests import read_statement
from reviews.models import ReviewCase
from tests.factories import ApplicantFactory, ImagePairFactory, client_with_key

pytestmark = pytest.mark.django_db

STATEMENT = "That is me: I had grown a beard since the passport photo."


def contest_url(pair) -> str:
    return f"/api/v1/image-pairs/{pair.public_id}/contest"


def pair_of(client, **fields):
    """An automatically rejected pair of `client` unless `fields` say otherwise."""
    defaults = {"status": PairStatus.REJECTED, "decision_source": DecisionSource.AUTO}
    return ImagePairFactory(applicant=ApplicantFactory(client=client), **{**defaults, **fields})


@pytest.fixture
def client(api_client_and_key):
    client, _ = api_client_and_key
    client.webhook_url = "https://hooks.example.test/kyc"
    client.save()
    return client


def test_contesting_an_automatic_rejection_opens_a_contested_case(api, client):
    pair = pair_of(client)

    response = api.post(contest_url(pair), {"statement": STATEMENT}, "json")

    assert response.status_code == 201
    contest = PairContest.objects.get(pair=pair)
    assert response.json() == {
        "id": str(contest.public_id),
        "pair_id": str(pair.public_id),
        "status": "open",
        "decision_changed": None,
        "pair_status": "rejected",
        "created_at": contest.created_at.isoformat(),
        "decided_at": None,
    }
    assert read_statement(contest) == STATEMENT
    assert STATEMENT.encode() not in bytes(contest.statement_encrypted)  # encrypted at rest
    case = ReviewCase.objects.get(pair=pair)
    assert case.reasons == ["contested"]
    pair.refresh_from_db()
    assert pair.status == PairStatus.REJECTED  # until a person decides
    [event] = AuditEvent.objects.filter(event_type="pair.contested")
    assert event.params == {"contest": str(contest.public_id), "statement_chars": len(STATEMENT)}
    assert STATEMENT not in str(AuditEvent.objects.values_list("params", flat=True))
    [delivery] = WebhookDelivery.objects.filter(pair=pair)
    assert delivery.event_type == "pair.contest_received"
    assert delivery.payload["data"]["status"] == "open"
    assert "statement" not in delivery.payload["data"]


def test_a_contested_case_is_due_after_the_contest_sla(api, client, settings):
    settings.KYC_CONTEST_SLA_HOURS = 10
    pair = pair_of(client)
    api.post(contest_url(pair), {"statement": STATEMENT}, "json")
    case = ReviewCase.objects.get(pair=pair)
    contest = PairContest.objects.get(pair=pair)
    hours = (case.due_at - contest.created_at).total_seconds() / 3600
    assert 9.99 < hours < 10.01


@pytest.mark.parametrize(
    "fields",
    [
        {"status": PairStatus.APPROVED, "decision_source": DecisionSource.AUTO},
        {"status": PairStatus.REJECTED, "decision_source": DecisionSource.REVIEWER},
        {"status": PairStatus.NEEDS_REVIEW, "decision_source": ""},
        {"status": PairStatus.COMPARING, "decision_source": ""},
        {"status": PairStatus.RESUBMIT, "decision_source": DecisionSource.AUTO},
    ],
    ids=["approved", "rejected-by-reviewer", "in-review", "in-progress", "resubmit"],
)
def test_only_an_automatic_rejection_can_be_contested(api, client, fields):
    pair = pair_of(client, **fields)

    response = api.post(contest_url(pair), {"statement": STATEMENT}, "json")

    assert response.status_code == 409
    assert response.json()["code"] == "not_contestable"
    assert response.json()["field"] == "pair_id"
    assert not PairContest.objects.exists()
    assert not ReviewCase.objects.exists()


def test_a_second_contest_is_refused(api, client):
    pair = pair_of(client)
    api.post(contest_url(pair), {"statement": STATEMENT}, "json")

    response = api.post(contest_url(pair), {"statement": "Again."}, "json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_contested"
    assert read_statement(PairContest.objects.get()) == STATEMENT


def test_a_retry_with_the_same_key_and_statement_gets_the_first_answer(api, client):
    pair = pair_of(client)
    first = api.post(
        contest_url(pair), {"statement": STATEMENT}, "json", HTTP_IDEMPOTENCY_KEY="c-1"
    )

    again = api.post(
        contest_url(pair), {"statement": STATEMENT}, "json", HTTP_IDEMPOTENCY_KEY="c-1"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert PairContest.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="pair.contested").count() == 1


def test_the_same_key_with_another_statement_is_a_conflict(api, client):
    pair = pair_of(client)
    api.post(contest_url(pair), {"statement": STATEMENT}, "json", HTTP_IDEMPOTENCY_KEY="c-2")

    response = api.post(
        contest_url(pair), {"statement": "Other words."}, "json", HTTP_IDEMPOTENCY_KEY="c-2"
    )

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["field"]) == (
        "idempotency_conflict",
        "Idempotency-Key",
    )


def test_another_clients_pair_is_not_found(api):
    other, _ = client_with_key()
    pair = pair_of(other)

    response = api.post(contest_url(pair), {"statement": STATEMENT}, "json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not PairContest.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_field"),
        ({"statement": ""}, "missing_field"),
        ({"statement": "x" * (PairContest.STATEMENT_MAX_LENGTH + 1)}, "too_long"),
        ({"statement": "nul \x00 inside"}, "invalid_text"),
        ('{"statement": "lone \\udc80 surrogate"}', "invalid_text"),
    ],
    ids=["missing", "empty", "too-long", "nul", "surrogate"],
)
def test_a_bad_statement_is_refused_naming_the_field(api, client, body, code):
    pair = pair_of(client)

    if isinstance(body, str):  # JSON text spelling what Python cannot encode
        response = api.post(contest_url(pair), body, content_type="application/json")
    else:
        response = api.post(contest_url(pair), body, "json")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, "statement")
    assert not PairContest.objects.exists()


def test_a_bad_idempotency_key_is_refused(api, client):
    pair = pair_of(client)
    response = api.post(
        contest_url(pair), {"statement": STATEMENT}, "json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (
        "invalid_value",
        "Idempotency-Key",
    )
    assert not PairContest.objects.exists()


def test_a_pair_that_already_had_a_review_case_is_not_contestable(api, client):
    from tests.factories import ReviewCaseFactory

    pair = pair_of(client)
    ReviewCaseFactory(pair=pair)

    response = api.post(contest_url(pair), {"statement": STATEMENT}, "json")

    assert response.status_code == 409
    assert response.json()["code"] == "not_contestable"
    assert not PairContest.objects.exists()  # the refusal undid the contest
