"""The admin pages staff work in, under axe-core like the review pages (DESIGN §12: no serious or
critical violations): the admin home, the vendor thresholds with their impact preview, and an API
client's keys from creating one to the page that shows it once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.factories import ApiClientFactory, UserFactory, VendorConfigFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(page):  # type: ignore[no-untyped-def]
    UserFactory(username="ada", is_staff=True, is_superuser=True)
    sign_in(page, "ada", "correct horse battery")
    return page


def test_the_thresholds_page_and_its_impact_preview_have_no_serious_violations(admin_page):
    page = admin_page
    advance = VendorConfigFactory(backend="advance")  # a flushing test before may have removed it
    page.goto(f"/admin/vendors/vendorconfig/{advance.pk}/change/")
    expect(page.locator("#id_approve_at")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.fill("#id_approve_at", "60")
    page.click("input[name=_save]")
    expect(page.locator("h1")).to_contain_text("Impact of the new settings")
    assert serious_accessibility_violations(page) == []


def test_an_api_clients_pages_from_the_list_to_the_key_shown_once_have_no_serious_violations(
    admin_page,
):
    page = admin_page
    client = ApiClientFactory(name="Acme mobile")
    page.goto("/admin/kyc/apiclient/")
    expect(page.get_by_role("link", name="Acme mobile")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.goto(f"/admin/kyc/apiclient/{client.pk}/change/")
    assert serious_accessibility_violations(page) == []

    page.goto(f"/admin/kyc/apiclient/{client.pk}/keys/new/")
    assert serious_accessibility_violations(page) == []
    page.get_by_label(re.compile("name", re.IGNORECASE)).first.fill("production")
    page.locator("form [type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/shown-once/$"))
    assert serious_accessibility_violations(page) == []


def test_the_admin_home_has_no_serious_violations(admin_page):
    page = admin_page
    page.goto("/admin/")
    expect(page.locator("#content h1")).to_be_visible()
    assert serious_accessibility_violations(page) == []
