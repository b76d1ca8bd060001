from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_login_page_refuses_a_wrong_password_and_admits_a_staff_user(page):
    UserFactory(username="sam", is_staff=True, is_superuser=True)
    sign_in(page, "sam", "wrong password")
    assert page.locator(".form-error").is_visible()
    sign_in(page, "sam", "correct horse battery")
    assert "/admin/" in page.url
