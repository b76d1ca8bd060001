"""The operations dashboard in a real browser, with a month of realistic activity."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import UserFactory
from tests.seed import seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_shows_a_month_at_a_glance(page, default_rows):
    seeded = seed()
    assert seeded.pairs > 1000
    UserFactory(
        permissions=["kyc.view_dashboard", "kyc.export_decisions"], username="head-of-compliance"
    )
    sign_in(page, "head-of-compliance", "correct horse battery")

    page.goto("/stats/")

    assert page.locator("h1").inner_text() == "Operations dashboard"
    assert page.locator(".kpi").count() == 6
    assert page.locator("svg.chart").count() >= 8
    assert page.locator("svg#decisions rect").count() > 60
    page.set_viewport_size({"width": 1280, "height": 1780})
    screenshot(page, "dashboard")
    page.set_viewport_size({"width": 1280, "height": 860})
    screenshot(page, "dashboard-top")
