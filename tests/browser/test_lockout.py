from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_fifth_wrong_password_shows_the_lockout_page_with_the_way_back(page):
    UserFactory(username="rita", role="Reviewers")
    for _ in range(5):
        sign_in(page, "rita", "not the password")
    assert page.get_by_role("heading", name="Sign-in locked").is_visible()
    assert page.get_by_role("alert").inner_text() == (
        "Too many failed sign-ins for this name or from this address."
    )
    screenshot(page, "login-locked")
    page.get_by_role("link", name="Back to sign-in").click()
    assert page.url.endswith("/accounts/login/")
