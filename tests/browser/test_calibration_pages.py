"""The calibration and reviewer-quality pages in a real browser: readable and accessible."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, serious_accessibility_violations, sign_in
from tests.factories import UserFactory
from tests.seed import seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_reads_a_backends_calibration(page, default_rows):
    seed()
    UserFactory(username="head-of-risk", is_staff=True, is_superuser=True)
    sign_in(page, "head-of-risk", "correct horse battery")

    page.goto("/stats/calibration/advance/")

    assert page.locator("h1").inner_text() == "Calibration: ADVANCE.AI v4"
    assert page.locator("svg#calibration-distributions").count() == 1
    assert page.locator("svg#calibration-det").count() == 1
    # A month of review cases labels only the band: the page says so instead of a rate.
    assert page.locator(".withheld").first.is_visible()
    assert serious_accessibility_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 1500})
    screenshot(page, "calibration")


def test_a_senior_reads_reviewer_quality(page, default_rows):
    seed()
    UserFactory(username="head-of-review", role="Senior reviewers")
    sign_in(page, "head-of-review", "correct horse battery")

    page.click("text=Reviewer quality")

    assert page.locator("h1").inner_text() == "Reviewer quality"
    assert page.locator("table.grid tbody tr").count() == 3  # rita, omar and lena
    assert serious_accessibility_violations(page) == []
    screenshot(page, "reviewer-quality")
