"""The dashboard's drift panel and a contested case's statement, in a real browser with axe."""

from __future__ import annotations

from datetime import date

import pytest

from kyc.models import DecisionSource, PairStatus
from kyc.services.contests import contest_pair
from reviews.models import DriftCheck, ReviewCase
from tests.browser.conftest import (
    AXE,
    screenshot,
    serious_accessibility_violations,
    sign_in,
)
from tests.factories import ApplicantFactory, AttemptFactory, ImagePairFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_flags_a_drifting_backend_first(page, default_rows):
    week = date(2026, 3, 9)
    common = {"week_start": week, "psi_limit": 0.2}
    DriftCheck.objects.create(
        backend="zoloz", scores=900, reference_scores=3600, psi=0.02, ks=0.03, **common
    )
    DriftCheck.objects.create(
        backend="advance",
        scores=850,
        reference_scores=3400,
        psi=0.41,
        ks=0.22,
        flagged=True,
        **common,
    )
    DriftCheck.objects.create(backend="local", scores=12, reference_scores=40, **common)
    UserFactory(permissions=["kyc.view_dashboard"], username="head-of-compliance")
    sign_in(page, "head-of-compliance", "correct horse battery")

    page.goto("/stats/")

    rows = page.locator(".drift-card tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().startswith("ADVANCE.AI")
    assert "Drift: PSI above 0.2" in rows.nth(0).inner_text()
    assert "stable" in rows.nth(1).inner_text() or "stable" in rows.nth(2).inner_text()
    assert "too few scores to judge" in page.locator(".drift-card").inner_text()
    assert serious_accessibility_violations(page) == []
    page.locator(".drift-card").scroll_into_view_if_needed()
    screenshot(page, "dashboard-drift")


def test_a_contested_case_links_to_the_applicants_statement_on_a_page_of_its_own(
    page, default_rows
):
    UserFactory(username="rita", role="Reviewers")
    applicant = ApplicantFactory()
    pair = ImagePairFactory(
        applicant=applicant, status=PairStatus.REJECTED, decision_source=DecisionSource.AUTO
    )
    pair.deciding_attempt = AttemptFactory(pair=pair, number=1, score=21.0, verdict="reject")
    pair.save(update_fields=["deciding_attempt"])
    contest_pair(applicant.client, pair, "The ID photo is from 2015; I wear glasses now.")
    case = ReviewCase.objects.get(pair=pair)
    sign_in(page, "rita", "correct horse battery")

    page.goto(f"/review/{case.public_id}/")

    section = page.locator("section.contest")
    assert section.locator("h3").text_content() == "Contested by the applicant"
    assert "I wear glasses now." not in section.inner_text()  # only on its audited page
    # The section only: the case page's timeline and decision bar have contrast findings of
    # their own, older than contests.
    assert serious_violations_in(page, "section.contest") == []

    section.get_by_role("link", name="Read the applicant's statement").click()

    page.wait_for_url(f"**/review/{case.public_id}/statement/")
    assert "I wear glasses now." in page.locator("section.contest blockquote").inner_text()
    assert serious_accessibility_violations(page) == []


def serious_violations_in(page, selector: str) -> list[str]:
    """axe-core's serious and critical findings inside the elements `selector` matches."""
    page.evaluate(AXE.read_text())
    results = page.evaluate(
        "(selector) => axe.run({include: [[selector]]}, {resultTypes: ['violations']})", selector
    )
    return [
        f"{violation['id']}: " + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
