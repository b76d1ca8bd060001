"""Blind QA in a browser: the page the reviewer gets holds nothing of the decision until they
answer; then it shows the decision beside the faces."""

from __future__ import annotations

import pytest

from reviews.models import QaItem
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.conftest import face_bytes
from tests.factories import UserFactory
from tests.reviews.qa.items import sampled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_answers_blind_and_only_then_sees_the_score(page):
    UserFactory(username="rita", role="Reviewers")
    item = sampled(score=93.0, images=(face_bytes("df_img1.jpg"), face_bytes("df_img2.jpg")))
    sign_in(page, "rita", "correct horse battery")

    page.goto("/review/qa/")
    page.click("#take-next-form button")
    page.wait_for_load_state("networkidle")

    served = page.content()  # what the server sent, rendered: nothing hidden, nothing to hide
    assert [word for word in ("93.0", "Automatic approval", "is_age_risk") if word in served] == []
    assert page.locator("#qa-reveal").count() == 0
    assert page.evaluate(
        "() => [...document.querySelectorAll('#photos img')].every(img => img.naturalWidth > 0)"
    )
    assert serious_accessibility_violations(page) == []

    assert page.locator("button[data-key=d]").get_attribute("data-answer") == "different"
    page.keyboard.press("s")  # "Same person", from the keyboard
    page.wait_for_selector("#qa-reveal")

    reveal = page.locator("#qa-reveal")
    assert reveal.is_visible()
    assert "93.0 / 100" in reveal.inner_text()
    assert "Automatic approval" in reveal.inner_text()
    assert "is_age_risk" in reveal.inner_text()
    assert serious_accessibility_violations(page) == []
    item.refresh_from_db()
    assert (item.answer, item.answered_by.username) == ("same", "rita")
    assert QaItem.objects.filter(answered_at__isnull=True).count() == 0
