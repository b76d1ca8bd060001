"""A reviewer's first sign-in sets up an authenticator app; the next asks for its code."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.audit.models import AuditEvent
from tests.browser.conftest import screenshot, serious_accessibility_violations
from tests.factories import UserFactory
from tests.staff import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def type_password(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_a_reviewer_sets_up_an_app_at_first_sign_in_and_signs_in_with_its_code_later(page):
    reviewer = UserFactory(username="rita", role="Reviewers")

    type_password(page, "rita")
    assert "/accounts/second-factor/set-up/" in page.url
    assert page.locator(".qr svg").is_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "second-factor-set-up")

    # The key as printed under the QR code is what a phone's app would read from it.
    key = b32decode(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.fill("#id_code", f"{totp(key):06d}")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/accounts/second-factor/recovery-codes/" in page.url
    assert page.locator(".recovery-codes li").count() == 10
    assert serious_accessibility_violations(page) == []
    page.click("text=Continue")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/review/")
    assert AuditEvent.objects.filter(event_type="second_factor.enrolled").count() == 1

    page.click("text=Sign out")
    page.wait_for_load_state("networkidle")
    type_password(page, "rita")
    assert "/accounts/second-factor/verify/" in page.url
    assert serious_accessibility_violations(page) == []
    accepted_now = {totp(key, drift=drift) for drift in (-1, 0, 1)}
    page.fill(
        "#id_code", next(c for c in ("000000", "111111", "222222") if int(c) not in accepted_now)
    )
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".form-error").is_visible()
    assert serious_accessibility_violations(page) == []
    page.wait_for_timeout(2100)  # django-otp makes the next try wait a second after a wrong code
    page.fill("#id_code", totp_code(TOTPDevice.objects.get(user=reviewer)))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/review/")
    assert page.locator("#session-timeout").get_attribute("data-warn-seconds") == "120"
