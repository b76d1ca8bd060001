from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_signs_in_with_sso_through_the_provider_and_lands_on_the_queue(sso, page):
    sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers")
    page.goto("/accounts/login/")
    screenshot(page, "login-sso")
    page.get_by_role("link", name="Sign in with SSO").click()

    page.fill("#id_username", "pia")  # the provider's own form
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url("**/review/")
    assert page.locator(".who").inner_text() == "pia"
