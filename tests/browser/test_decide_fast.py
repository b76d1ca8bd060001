"""Decide fast in Chromium: while the reviewer looks at a case its page has the server prepare
the next one's faces (no image of it reaches the browser before it is shown); A, Enter and the
next case's faces are on screen; skip still opens another; a decision that fails shows the case
with the error, never the next one."""

from __future__ import annotations

import re

import pytest

from reviews.models import CaseSkip, CaseStatus, Decision, ReviewCase
from reviews.services import release_case, take_next
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.browser.test_workbench import case_id, faces_ready, workday  # noqa: F401 (fixture)
from tests.reviews.cases import decide, kept_crops

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASE_URL = re.compile(r".*/review/[0-9a-f-]{36}/$")


def prepared(case: ReviewCase) -> bool:
    """Both of the case's aligned faces are kept (encrypted) on the server."""
    case.pair.refresh_from_db()
    return None not in kept_crops(case).values()


def open_first_case(page) -> str:
    """Rita signs in and takes the first case; its page has asked to prepare the next one."""
    sign_in(page, "rita", "correct horse battery")
    with page.expect_response(lambda r: r.url.endswith("/prepare-next/")) as asked:
        page.keyboard.press("t")
        page.wait_for_url(CASE_URL)
        faces_ready(page)
    assert asked.value.status == 204
    return case_id(page)


def test_a_enter_and_the_prepared_next_case_is_on_screen_with_no_image_of_it_fetched_before(
    page,
    workday,  # noqa: F811
):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    first = open_first_case(page)
    following = workday[1]
    assert first == str(workday[0].public_id)
    assert prepared(following)
    # Biometric data of the next case stays on the server until the case is the reviewer's.
    assert not [url for url in requested if str(following.pair.public_id) in url]
    following.refresh_from_db()
    assert (following.assignee, following.status) == (None, CaseStatus.OPEN)

    page.keyboard.press("a")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/review/{following.public_id}/")
    faces_ready(page)
    assert Decision.objects.get(case__public_id=first).outcome == "approve"
    shown = page.locator(".face-view img")
    assert shown.count() == 2
    assert all(
        page.evaluate("img => img.complete && img.naturalWidth === 512", img)
        for img in shown.element_handles()
    )
    following.refresh_from_db()
    assert (following.assignee.username, following.status) == ("rita", CaseStatus.CLAIMED)
    assert serious_accessibility_violations(page) == []


def test_skip_after_preparing_opens_the_next_case(page, workday):  # noqa: F811
    first = open_first_case(page)

    page.keyboard.press("s")
    page.keyboard.type("Selfie half in shadow.")
    page.keyboard.press("Control+Enter")

    page.wait_for_url(f"**/review/{workday[1].public_id}/")
    faces_ready(page)
    skipped = ReviewCase.objects.get(public_id=first)
    assert (skipped.status, skipped.assignee) == (CaseStatus.OPEN, None)
    assert CaseSkip.objects.get(case=skipped).note == "Selfie half in shadow."


def test_a_decision_that_fails_shows_the_error_on_this_case_not_the_next_one(
    page,
    workday,  # noqa: F811
):
    from django.contrib.auth import get_user_model

    first = open_first_case(page)
    # Meanwhile the case went back to the queue and Omar decided it.
    rita, omar = (get_user_model().objects.get(username=name) for name in ("rita", "omar"))
    release_case(first, rita)
    assert take_next(omar) == workday[0]
    decide(workday[0], omar, "approve")

    page.keyboard.press("a")
    page.keyboard.press("Enter")

    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/review/{first}/")
    said = page.locator(".messages").inner_text()
    assert "This case changed while you were looking at it" in said
    assert Decision.objects.filter(case__public_id=first).get().reviewer == omar
    following = ReviewCase.objects.get(pk=workday[1].pk)
    assert (following.assignee, following.status) == (None, CaseStatus.OPEN)
    assert serious_accessibility_violations(page) == []
