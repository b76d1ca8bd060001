"""A reviewer rejects in a browser, a senior confirms, the client hears it, the audit shows it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from kyc.models import PairStatus, WebhookDelivery
from kyc.services.api_clients import create_api_key
from reviews.models import ReviewCase
from tests.browser.conftest import screenshot, sign_in
from tests.factories import UserFactory
from tests.kyc.test_webhooks import Receiver
from tests.reviews.cases import opened_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASE_URL = re.compile(r".*/review/[0-9a-f-]{36}/$")


@pytest.fixture
def receiver():
    running = Receiver()
    running.start()
    yield running
    running.stop()


def other_cases() -> None:
    """A queue that looks like a working day: several vendors, reasons, one overdue, one taken."""
    now = timezone.now()
    rows = [
        ("finauth", ["age_risk"], 91.0, 1, -3),
        ("zoloz", ["vendor_disagreement"], 95.0, 1, 5),
        ("advance", ["score_in_band"], 58.5, 0, 2),
        ("alibaba", ["score_in_band"], 72.0, 0, 9),
        ("advance", ["vendor_failed"], None, 1, 20),
        ("finauth", ["gender_risk", "age_gap"], 84.0, 0, 14),
        ("zoloz", ["score_in_band"], 66.0, 0, 22),
    ]
    bands = {"finauth": (80, 62), "advance": (70, 55), "zoloz": (80, 50), "alibaba": (80, 50)}
    for vendor, reasons, score, priority, due_hours in rows:
        approve_at, reject_below = bands[vendor]
        case = opened_case(
            vendor=vendor,
            reasons=reasons,
            score=score,
            priority=priority,
            approve_at=approve_at,
            reject_below=reject_below,
        )
        ReviewCase.objects.filter(pk=case.pk).update(
            due_at=now + timedelta(hours=due_hours),
            created_at=now - timedelta(hours=24 - due_hours),
        )


def case_of(pair) -> str:
    return str(ReviewCase.objects.get(pair=pair).public_id)


def wait_for_photos(page) -> None:
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.photo-frame img'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def test_a_rejection_by_a_reviewer_and_a_senior_reaches_the_client_and_the_audit_trail(
    page, live_server, harness, receiver, settings
):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    # A gray-band pair through the real pipeline: the local engine scores it and finds the faces.
    harness.enable("local")
    pair = harness.run(harness.submit(selfie="df_img12.jpg", reference="df_img55.jpg"))
    assert pair.status == PairStatus.NEEDS_REVIEW
    ReviewCase.objects.filter(pair=pair).update(
        priority=1, due_at=timezone.now() - timedelta(hours=4)
    )
    client = pair.client
    client.webhook_url = receiver.url
    client.save()
    _, api_key = create_api_key(client, Actor.system("test"))
    other_cases()
    UserFactory(username="rita", role="Reviewers")
    UserFactory(username="sofia", role="Senior reviewers")
    UserFactory(username="audrey", role="Auditors")

    # --- the reviewer: queue, take next, look, reject -----------------------------------------
    sign_in(page, "rita", "correct horse battery")
    assert page.url.endswith("/review/")
    assert page.locator("#queue-table tbody tr").count() == 8
    screenshot(page, "queue")

    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    wait_for_photos(page)
    assert page.locator(".photo-frame img").count() == 2
    assert page.locator(".face-box").count() == 2
    for box in page.locator(".face-box").all():
        assert box.bounding_box()["width"] > 20
    assert page.locator("svg.band-large .marker-head").is_visible()
    assert page.locator("svg.band-large .z-review").is_visible()
    screenshot(page, "case")

    page.keyboard.press("r")
    dialog = page.locator("#decide-reject")
    assert dialog.is_visible()
    dialog.locator("input[value=different_person]").check()
    dialog.locator("textarea").fill("Different jawline and ear shape.")
    dialog.locator("button[type=submit]").click()
    # Straight on to the next case of the queue.
    page.wait_for_url(lambda url: CASE_URL.match(url) and str(case_of(pair)) not in url)
    assert "second reviewer must confirm" in page.locator(".messages").inner_text()
    pair.refresh_from_db()
    assert pair.status == PairStatus.NEEDS_REVIEW

    # --- the senior: the senior queue, confirm ------------------------------------------------
    page.click(".signout button")
    page.wait_for_url(re.compile(r".*/accounts/login/$"))
    sign_in(page, "sofia", "correct horse battery")
    page.goto("/review/senior/")
    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    assert "Confirm reject" in page.locator(".decision-actions").inner_text()
    page.keyboard.press("r")
    dialog = page.locator("#decide-reject")
    assert dialog.locator("input[value=different_person]").is_checked()
    dialog.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/review/senior/$"))
    assert "Rejected." in page.locator(".messages").inner_text()

    # --- the client: its API says rejected and its webhook arrived ----------------------------
    pair.refresh_from_db()
    assert (pair.status, pair.decision_source) == (PairStatus.REJECTED, "reviewer")
    answer = httpx.get(
        f"{live_server.url}/api/v1/image-pairs/{pair.public_id}/",
        headers={"Authorization": f"Api-Key {api_key}"},
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "rejected")
    assert WebhookDelivery.objects.filter(pair=pair, event_type="pair.rejected").exists()
    harness.tasks.run_all()
    delivered = [json.loads(r.body) for r in receiver.requests]
    assert [(d["type"], d["data"]["id"]) for d in delivered] == [
        ("pair.rejected", str(pair.public_id))
    ]

    # --- the auditor: the claim and both decisions are in the trail ---------------------------
    page.click(".signout button")
    page.wait_for_url(re.compile(r".*/accounts/login/$"))
    sign_in(page, "audrey", "correct horse battery")
    page.goto(f"/audit/?subject={pair.public_id}")
    table = page.locator(".audit-table").inner_text()
    assert table.count("review.claimed") == 2  # rita, then sofia
    assert table.count("review.decision") == 2
    assert "pair.decided" in table
    assert "Chain intact" in page.locator(".chain-banner").inner_text()
    decisions = AuditEvent.objects.filter(
        event_type="review.decision", subject_id=str(pair.public_id)
    )
    assert [(e.actor_label, e.params["stage"], e.params["confirms"]) for e in decisions] == [
        ("rita", "first", None),
        ("sofia", "second", True),
    ]
