"""Known faces in a real browser with axe: the case page's panel shows the matched face beside
this one (both crops load through the audited view), a senior reviewer puts the face on the
blocklist, and the blocklist page offers the first half of a four-eyes removal."""

from __future__ import annotations

import pytest

from kyc.audit.models import AuditEvent
from kyc.known_faces.models import BlocklistEntry
from tests.browser.conftest import screenshot, serious_accessibility_violations, sign_in
from tests.factories import PASSWORD, UserFactory
from tests.kyc.known_faces.conftest import matched_review_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_senior_compares_the_matched_faces_and_blocklists_one(page, default_rows):
    case, alice = matched_review_case()
    UserFactory(username="sofia", role="Senior reviewers")
    sign_in(page, "sofia", PASSWORD)

    page.goto(f"/review/{case.public_id}/")
    panel = page.locator("#known-faces")
    panel.scroll_into_view_if_needed()
    assert "alice" in panel.inner_text()
    crops = panel.locator("img")
    assert crops.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#known-faces img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    viewed = AuditEvent.objects.filter(event_type="images.viewed", params__which="selfie-face")
    assert {e.subject_id for e in viewed} >= {str(alice.public_id), str(case.pair.public_id)}
    assert serious_accessibility_violations(page) == []
    screenshot(page, "known-faces-panel")

    page.select_option("#blocklist-reason", "fraud_ring")
    page.get_by_role("button", name="Put face on blocklist").click()
    page.wait_for_load_state("networkidle")
    assert "on the client's blocklist" in page.locator("#known-faces").inner_text()
    entry = BlocklistEntry.objects.get()

    page.goto("/review/blocklist/")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name=f"Request removal of #{entry.pk}").click()
    page.wait_for_load_state("networkidle")
    assert "waiting for a second person" in page.locator("table").inner_text()
    screenshot(page, "blocklist")
