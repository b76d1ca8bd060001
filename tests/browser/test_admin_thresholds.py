"""An admin lowers ADVANCE's approve line in the browser, sees the impact, saves, and the next
pair in the new band is approved automatically instead of queued for review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kyc.audit.models import AuditEvent
from kyc.models import AttemptPurpose, AttemptStatus, PairStatus
from reviews.models import ReviewCase
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import AttemptFactory, UserFactory
from vendors.models import VendorConfig

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ten_days_of_advance_decisions() -> None:
    """Scores 50, 55, ... 95, one a day: under 70/55 one reject, three reviews, six approvals."""
    now = timezone.now()
    for index, score in enumerate(range(50, 100, 5)):
        AttemptFactory(
            vendor="advance",
            status=AttemptStatus.COMPLETED,
            purpose=AttemptPurpose.DECIDE,
            score=score,
            finished_at=now - timedelta(days=10 - index),
        )


def test_lowering_advances_approve_line_is_previewed_saved_and_applied_to_the_next_pair(
    page, harness
):
    harness.enable("advance")
    ten_days_of_advance_decisions()
    harness.sandboxes["advance"].script({"score": 65})
    before = harness.run(harness.submit(applicant_ref="before-change"))
    assert before.status == PairStatus.NEEDS_REVIEW  # 65 sits in ADVANCE's 55–70 band

    UserFactory(username="ada", is_staff=True, is_superuser=True)
    sign_in(page, "ada", "correct horse battery")
    advance = VendorConfig.objects.get(backend="advance")
    page.goto(f"/admin/vendors/vendorconfig/{advance.pk}/change/")
    expect(page.locator("fieldset").first).to_be_visible()
    assert "above 70 pass, 55–70 manual check, below 55 reject" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "admin-vendor.png"), full_page=True)

    page.fill("#id_approve_at", "60")
    page.click("input[name=_save]")

    expect(page.locator("h1")).to_contain_text("Impact of the new settings: ADVANCE.AI v4")
    # Eleven decisions to replay: the ten above and the pair just queued. 60, 65 and 65 leave
    # review for approval; 55 stays. 1.1 decisions a day: the queue loses 0.3 cases a day.
    expect(page.locator('[data-transition="review-approve"]')).to_have_text("3")
    expect(page.locator('[data-transition="review-review"]')).to_have_text("1")
    expect(page.locator('[data-transition="approve-approve"]')).to_have_text("6")
    expect(page.locator('[data-move="review-approve"]')).to_contain_text("3 review → approve")
    expect(page.locator(".vc-delta")).to_have_text("(\N{MINUS SIGN}0.3 per day)")
    page.screenshot(path=str(SCREENSHOTS / "admin-preview.png"), full_page=True)
    advance.refresh_from_db()
    assert advance.approve_at == 70  # nothing saved by the preview

    page.click("#vc-confirm input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    advance.refresh_from_db()
    assert advance.approve_at == 60
    event = AuditEvent.objects.get(event_type="vendor_config.changed")
    assert (event.actor_label, event.params["after"]) == ("ada", {"approve_at": 60.0})

    harness.sandboxes["advance"].script({"score": 65})
    after = harness.run(harness.submit(applicant_ref="after-change"))
    assert after.status == PairStatus.APPROVED
    assert after.decision_source == "auto"
    assert after.deciding_attempt.thresholds["approve_at"] == 60
    assert not ReviewCase.objects.filter(pair=after).exists()
