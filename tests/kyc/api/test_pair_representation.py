"""The pair's JSON, pinned key by key: what the API answers and what the webhooks carry.

The snapshots below were taken from the representation as it stood before the serializer became
its producer; clients parse these bodies and verify webhook signatures over them, so any change to
a key, a null or a number's spelling (70 is not 70.0) is a change to the public contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from kyc.audit.chain import Actor
from kyc.models import ComparisonAttempt, ImagePair, WebhookDelivery
from kyc.representation import PairSerializer, pair_json
from kyc.selectors import pairs_for_client
from kyc.services.decisions import apply_reviewer_outcome
from tests.kyc.api.representative_pairs import make_representative_pairs
from tests.kyc.api.test_image_pairs import submit

pytestmark = pytest.mark.django_db
URL = "/api/v1/image-pairs/"


@pytest.fixture
def pairs(api_client_and_key) -> None:
    client, _ = api_client_and_key
    make_representative_pairs(client)


def _images(**changes: Any) -> dict[str, Any]:
    facts = {"size": 1000, "width": 640, "height": 800, "format": "JPEG"}
    selfie = {"sha256": "a" * 64, **facts}
    reference = {"sha256": "b" * 64, **facts}
    selfie.update(changes.get("selfie", {}))
    reference.update(changes.get("reference", {}))
    return {"selfie": selfie, "reference": reference, "purged_at": changes.get("purged_at")}


def _attempt(vendor: str, number: int, **changes: Any) -> dict[str, Any]:
    return {
        "vendor": vendor,
        "number": number,
        "purpose": "decide",
        "status": "pending",
        "score": None,
        "error_code": None,
        "latency_ms": None,
        **changes,
    }


def _body(public_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-00000000000{public_id}",
        "applicant_ref": "user-42",
        "status": "received",
        "status_reason": None,
        "decision": None,
        "result": None,
        "reference_source": "ID_PHOTO",
        "requested_vendor": None,
        "callback_url": None,
        "metadata": {},
        "images": _images(),
        "attempts": [],
        # Issue 20: null for every client that has not enabled the known-face check.
        "known_face": None,
        "created_at": "2025-03-14T09:26:53.589793+00:00",
        "updated_at": "2025-03-14T09:27:01+00:00",
        **changes,
    }


DECISION_AUTO = {"source": "auto", "decided_at": "2025-03-14T09:27:00.120000+00:00"}

#: Taken from `kyc.selectors.pair_representation` before it was replaced by the serializer.
SNAPSHOTS = {
    "approved automatically": _body(
        "1",
        status="approved",
        decision={"outcome": "approved", **DECISION_AUTO},
        result={
            "vendor": "advance",
            "score": 82.5,
            "verdict": "approve",
            "reasons": [],
            "thresholds": {"approve_at": 70.0, "reject_below": 55.0},
            "error_code": None,
        },
        requested_vendor="advance",
        callback_url="https://hooks.example.com/kyc",
        metadata={"nested": {"n": 1, "ok": True}, "session": "s-1"},
        attempts=[_attempt("advance", 1, status="completed", score=82.5, latency_ms=412)],
    ),
    "in review for risk tags": _body(
        "2",
        status="needs_review",
        status_reason="age_risk",
        result={
            "vendor": "finauth",
            "score": 91.0,
            "verdict": "review",
            "reasons": ["age_risk", "gender_risk"],
            "thresholds": {"approve_at": 73.88, "reject_below": 62.15},
            "error_code": None,
        },
        reference_source="SELFIE",
        attempts=[_attempt("finauth", 1, status="completed", score=91.0, latency_ms=880)],
    ),
    "failed, every vendor down": _body(
        "3",
        status="failed",
        status_reason="vendor_failed",
        decision={"outcome": "failed", **DECISION_AUTO},
        attempts=[
            _attempt("advance", 1, status="failed", error_code="TIMEOUT", latency_ms=10000),
            _attempt("zoloz", 2, status="failed", error_code="VENDOR_ERROR"),
        ],
    ),
    "resubmit for no face": _body(
        "4",
        status="resubmit",
        status_reason="no_face",
        decision={"outcome": "resubmit", **DECISION_AUTO},
        result={
            "vendor": "local",
            "score": None,
            "verdict": "resubmit",
            "reasons": ["no_face"],
            "thresholds": {"approve_at": 70, "reject_below": 60},
            "error_code": "NO_FACE",
        },
        attempts=[
            _attempt(
                "local",
                1,
                purpose="preflight",
                status="invalid_input",
                error_code="NO_FACE",
                latency_ms=35,
            )
        ],
    ),
    "rejected by a reviewer": _body(
        "5",
        status="rejected",
        status_reason="reviewer_decision",
        decision={
            "outcome": "rejected",
            "source": "reviewer",
            "decided_at": "2025-03-14T09:27:00.120000+00:00",
        },
        result={
            "vendor": "advance",
            "score": 61.25,
            "verdict": "review",
            "reasons": ["score_in_band"],
            "thresholds": {"approve_at": 70.0, "reject_below": 55.0},
            "error_code": None,
        },
        attempts=[
            _attempt("advance", 1, status="completed", score=61.25),
            _attempt("zoloz", 2, purpose="second_opinion", status="completed", score=48.0),
        ],
    ),
    "images purged": _body(
        "6",
        images=_images(
            selfie={"format": "PNG"},
            reference={"width": 1200},
            purged_at="2025-04-13T02:00:00+00:00",
        ),
        attempts=[_attempt("advance", 1)],
    ),
}


def _exactly(body: Any, *, any_key_order: bool = False) -> str:
    """JSON text, key order and number spelling included (70 == 70.0 in Python, not on the wire).

    A webhook payload is stored before it is sent, and PostgreSQL's jsonb keeps keys in an order
    of its own: there only the keys, values and number spellings can be compared.
    """
    return json.dumps(body, sort_keys=any_key_order)


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_a_pair_reads_back_exactly_as_before(api, pairs, name):
    expected = SNAPSHOTS[name]
    response = api.get(f"{URL}{expected['id']}/")
    assert response.status_code == 200
    assert _exactly(response.json()) == _exactly(expected)


def test_the_list_carries_the_same_json_as_each_pair_newest_first(api, pairs):
    response = api.get(URL)
    assert response.status_code == 200
    by_id = {body["id"]: body for body in response.json()["results"]}
    assert len(by_id) == len(SNAPSHOTS)
    for expected in SNAPSHOTS.values():
        assert _exactly(by_id[expected["id"]]) == _exactly(expected)


def test_listing_costs_the_same_queries_for_two_pairs_as_for_six(api, pairs):
    api.get(URL)  # the key's first use of the minute also records when it was last used
    with CaptureQueriesContext(connection) as six:
        assert len(api.get(URL).json()["results"]) == 6
    with CaptureQueriesContext(connection) as two:
        assert len(api.get(URL, {"page_size": 2}).json()["results"]) == 2
    assert len(six.captured_queries) == len(two.captured_queries)


def test_a_reviewer_decision_webhook_carries_the_pair_as_the_api_shows_it(api, pairs):
    pair = ImagePair.objects.get(public_id=SNAPSHOTS["in review for risk tags"]["id"])
    ImagePair.objects.filter(pk=pair.pk).update(callback_url="https://hooks.example.com/kyc")
    apply_reviewer_outcome(pair, "approved", Actor.system("test"), reason="looks_fine")
    delivery = WebhookDelivery.objects.get(pair=pair)
    assert delivery.event_type == "pair.approved"
    shown = api.get(f"{URL}{pair.public_id}/").json()
    assert shown["decision"]["source"] == "reviewer"
    assert _exactly(delivery.payload["data"], any_key_order=True) == _exactly(
        shown, any_key_order=True
    )


def test_an_automatic_decision_webhook_carries_the_pair_as_the_api_shows_it(
    api, api_client_and_key, monkeypatch, django_capture_on_commit_callbacks
):
    from kyc import dispatch
    from kyc.celery import app
    from kyc.services import pipeline

    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args=None, **_: sent.append((name, tuple(args or ())))
    )
    client, _ = api_client_and_key
    client.webhook_url = "https://hooks.example.com/kyc"
    client.save(update_fields=["webhook_url"])
    with django_capture_on_commit_callbacks(execute=True):
        body = submit(api, vendor="local", metadata='{"k": [1, 2.5, null]}').json()
    while compares := [args for name, args in sent if name == dispatch.COMPARE]:
        sent.clear()
        for args in compares:
            with django_capture_on_commit_callbacks(execute=True):
                pipeline.run_attempt(*args)
    delivery = WebhookDelivery.objects.get(pair__public_id=body["id"])
    assert delivery.event_type == "pair.approved"
    assert ComparisonAttempt.objects.filter(pair__public_id=body["id"]).count() >= 1
    shown = api.get(f"{URL}{body['id']}/").json()
    assert shown["result"]["vendor"] == "local"
    assert _exactly(delivery.payload["data"], any_key_order=True) == _exactly(
        shown, any_key_order=True
    )


KNOWN_FACE_CHECKS = [
    None,
    {"status": "pending", "reasons": [], "matched_applicant_refs": []},
    {
        "status": "matched",
        "reasons": ["face_seen_before", "face_blocklisted"],
        "matched_applicant_refs": ["alice", "carol"],
    },
]


@pytest.mark.parametrize("known_face", KNOWN_FACE_CHECKS)
def test_the_written_out_json_is_what_the_declared_fields_describe(api_client_and_key, known_face):
    """`pair_json` writes each pair exactly as DRF's walk over `PairSerializer`'s declarations,
    which the OpenAPI schema is made from, would: the schema cannot drift from the bytes."""
    client, _ = api_client_and_key
    make_representative_pairs(client)
    ImagePair.objects.filter(client=client).update(known_face=known_face)
    # A blank the declarations turn into null, and metadata holding nulls and numbers.
    ImagePair.objects.filter(public_id=SNAPSHOTS["images purged"]["id"]).update(
        status_reason="", metadata={"n": None, "list": [1, 2.5, None]}
    )
    declared = serializers.Serializer.to_representation  # the walk PairSerializer replaces

    pairs = list(pairs_for_client(client))
    assert len(pairs) == len(SNAPSHOTS)
    for pair in pairs:
        assert _exactly(pair_json(pair)) == _exactly(declared(PairSerializer(), pair))
