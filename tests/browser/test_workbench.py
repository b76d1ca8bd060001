"""The reviewer's workbench in Chromium: decide in two keys and land on the next case, skip,
search, assign, overturn with a reason, counts that follow one's own work, the applicant's
earlier photos beside this pair's, axe-core on every staff page, and no sideways scrolling."""

from __future__ import annotations

import re
from importlib import import_module

import pytest
from django.apps import apps as django_apps

from kyc.models import PairStatus
from kyc.services.faces import locate_faces
from reviews.models import CaseSkip, CaseStatus, Decision, ReviewCase
from tests.browser.conftest import (
    screenshot,
    scrolls_sideways,
    serious_accessibility_violations,
    sign_in,
)
from tests.conftest import face_bytes, store_images_in
from tests.factories import ImagePairFactory, UserFactory, store_images
from tests.reviews.cases import decide, opened_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASE_URL = re.compile(r".*/review/[0-9a-f-]{36}/$")
VENDORS = ("finauth", "advance", "zoloz", "alibaba")
FACES = [("df_img12.jpg", "df_img55.jpg"), ("df_img1.jpg", "df_img10.jpg")]


@pytest.fixture
def workday(settings, tmp_path):
    """Four cases with real photos, one per commercial vendor, most urgent first; the first
    applicant also has an earlier rejected pair with photos."""
    store_images_in(settings, tmp_path)
    # A transactional test starts from empty tables: the reason codes' data migration again.
    import_module("reviews.migrations.0002_default_reason_codes").create(django_apps, None)
    cases = []
    for n, vendor in enumerate(VENDORS):
        selfie, reference = FACES[n % 2]
        cases.append(
            opened_case(
                vendor=vendor,
                priority=len(VENDORS) - n,
                images=(face_bytes(selfie), face_bytes(reference)),
                reasons=["age_risk"] if vendor == "finauth" else ["score_in_band"],
            )
        )
    for case in cases:  # as the faces queue's worker does when a case opens
        locate_faces(case.pair_id)
    earlier = ImagePairFactory(applicant=cases[0].pair.applicant, status=PairStatus.REJECTED)
    store_images(earlier, face_bytes("df_img11.jpg"), face_bytes("df_img10.jpg"))
    UserFactory(username="rita", role="Reviewers")
    UserFactory(username="omar", role="Reviewers")
    UserFactory(username="sofia", role="Senior reviewers")
    UserFactory(username="audrey", role="Auditors")
    return cases


def faces_ready(page) -> None:
    page.wait_for_selector("#case-root[data-faces-ready='1']")


def case_id(page) -> str:
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def not_covered(page, selector: str) -> bool:
    """The element's centre is not under anything else (a dialog, the decision bar)."""
    return page.eval_on_selector(
        selector,
        "el => { const r = el.getBoundingClientRect();"
        " const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
        " return top === el || el.contains(top); }",
    )


def test_approve_is_two_keys_the_faces_stay_in_view_and_the_next_case_is_there(page, workday):
    sign_in(page, "rita", "correct horse battery")
    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    faces_ready(page)
    first = case_id(page)

    page.keyboard.press("a")
    dialog = page.locator("#decide-approve")
    assert dialog.is_visible()
    assert not_covered(page, ".face[data-which='selfie'] .face-view img")
    assert not_covered(page, ".face[data-which='reference'] .face-view img")
    page.keyboard.press("Enter")

    page.wait_for_url(lambda url: CASE_URL.match(url) and first not in url)
    faces_ready(page)
    decided = Decision.objects.get(case__public_id=first)
    assert (decided.outcome, decided.reason_code.code) == ("approve", "same_person")
    assert page.locator(".messages").inner_text().startswith(f"Case {first[:8]}: Approved.")
    nxt = ReviewCase.objects.get(public_id=case_id(page))
    assert (nxt.assignee.username, nxt.status) == ("rita", CaseStatus.CLAIMED)


def test_a_decision_with_a_reason_is_three_keys(page, workday):
    sign_in(page, "rita", "correct horse battery")
    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    faces_ready(page)
    first = case_id(page)

    for key in ("n", "1", "Enter"):
        page.keyboard.press(key)

    page.wait_for_url(lambda url: CASE_URL.match(url) and first not in url)
    decided = Decision.objects.get(case__public_id=first)
    assert (decided.outcome, decided.reason_code.code) == ("resubmit", "poor_quality")


def test_skip_puts_the_case_back_with_a_note_and_opens_another(page, workday):
    sign_in(page, "rita", "correct horse battery")
    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    faces_ready(page)
    first = case_id(page)

    page.keyboard.press("s")
    page.keyboard.type("Reference too dark to judge.")
    page.keyboard.press("Control+Enter")

    page.wait_for_url(lambda url: CASE_URL.match(url) and first not in url)
    skipped = ReviewCase.objects.get(public_id=first)
    assert (skipped.status, skipped.assignee) == (CaseStatus.OPEN, None)
    assert CaseSkip.objects.get(case=skipped).note == "Reference too dark to judge."


def test_search_finds_a_case_by_the_applicants_ref(page, workday):
    wanted = workday[2]
    sign_in(page, "rita", "correct horse battery")
    page.fill("input[name=q]", wanted.pair.applicant.external_ref)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    rows = page.locator("#queue-table tbody tr[data-href]")
    assert rows.count() == 1
    assert str(wanted.public_id)[:8] in rows.inner_text()


def test_a_senior_assigns_a_case_and_the_reviewer_finds_it_assigned_to_them(page, workday):
    case = workday[3]
    sign_in(page, "sofia", "correct horse battery")
    page.goto(f"/review/{case.public_id}/")
    page.select_option("#assignee", "omar")
    page.click("#assign-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Case assigned to omar." in page.locator(".messages").inner_text()

    page.click(".signout button")
    sign_in(page, "omar", "correct horse battery")
    page.click("#assigned-to-me")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue-table tbody tr[data-href]")
    assert rows.count() == 1 and str(case.public_id)[:8] in rows.inner_text()


def test_overturning_needs_a_reason_and_then_takes_three_keys(page, workday):
    case = workday[0]
    decide(case, UserFactory(username="ula", role="Reviewers"), "reject")
    sign_in(page, "sofia", "correct horse battery")
    page.goto("/review/senior/")
    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    faces_ready(page)

    page.keyboard.press("a")
    assert "Overturn" in page.locator("#decide-approve h2").inner_text()
    assert page.locator("#decide-approve input[type=radio]:checked").count() == 0
    page.click("#decide-approve button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "needs a reason code" in page.locator("#decide-approve .field-error").inner_text()
    assert not Decision.objects.filter(case=case, stage="second").exists()

    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/review/(senior/)?$|.*/review/[0-9a-f-]{36}/$"))
    page.wait_for_load_state("networkidle")
    second = Decision.objects.get(case=case, stage="second")
    assert (second.outcome, second.confirms, second.reason_code.code) == (
        "approve",
        False,
        "same_person",
    )


def test_counts_and_chips_follow_ones_own_decision_at_once(page, workday, monkeypatch):
    # The slow path: counts are cached as on a six-figure queue.
    monkeypatch.setattr("reviews.selectors.COUNTS_CACHE_AFTER_SECONDS", -1.0)
    sign_in(page, "rita", "correct horse battery")
    assert "4 cases waiting" in page.locator(".page-head").inner_text()
    chip = page.locator(".chips .chip", has_text="Age risk")
    assert chip.locator(".count").inner_text() == "1"

    page.keyboard.press("t")
    page.wait_for_url(CASE_URL)
    faces_ready(page)
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    page.wait_for_url(CASE_URL)
    faces_ready(page)
    page.goto("/review/")

    assert "3 cases waiting" in page.locator(".page-head").inner_text()
    assert "1 with you" in page.locator(".page-head").inner_text()
    assert page.locator(".chips .chip", has_text="Age risk").count() == 0
    assert page.locator("#queue-table tbody tr[data-href]").count() == 3


def test_an_earlier_pairs_photos_open_beside_this_pairs_and_are_audited(page, workday):
    from kyc.audit.models import AuditEvent

    case = workday[0]
    sign_in(page, "rita", "correct horse battery")
    page.goto(f"/review/{case.public_id}/")
    faces_ready(page)
    assert "1 rejected" in page.locator("#story-flags").inner_text()
    viewed = AuditEvent.objects.filter(event_type="images.viewed").count()

    page.click("[data-compare]")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare img, #photos img'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#compare").is_visible() and page.locator("#photos").is_visible()
    # The earlier pair's two photos, and this pair's full photos, unfolded beside them.
    assert AuditEvent.objects.filter(event_type="images.viewed").count() == viewed + 4


STAFF_PAGES = [
    ("rita", "/review/", "queue"),
    ("rita", "case", "case"),
    ("sofia", "/review/senior/", "senior-queue"),
    ("audrey", "/audit/", "audit"),
]


@pytest.mark.parametrize(("user", "path", "name"), STAFF_PAGES)
def test_every_staff_page_passes_axe_and_never_scrolls_sideways(page, workday, user, path, name):
    UserFactory(username="dana", permissions=["kyc.view_dashboard"])
    sign_in(page, user, "correct horse battery")
    if path == "case":
        path = f"/review/{workday[0].public_id}/"
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == []
    if name == "case":
        page.keyboard.press("r")  # the docked decision dialog too
        assert serious_accessibility_violations(page) == []
        page.keyboard.press("Escape")
    for width, height in ((1024, 768), (1440, 900), (1920, 1080), (768, 1024), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(50)
        wide = page.evaluate(
            "() => Array.from(document.querySelectorAll('body *'))"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
        )
        assert not scrolls_sideways(page), f"{path} scrolls sideways at {width} px: {wide}"
        screenshot(page, f"{name}-{width}")


def test_the_sign_in_page_and_the_dashboard_pass_axe(page, workday):
    page.goto("/accounts/login/")
    assert serious_accessibility_violations(page) == []
    UserFactory(username="dana", permissions=["kyc.view_dashboard"])
    sign_in(page, "dana", "correct horse battery")
    page.goto("/stats/")
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == []
    for width in (1024, 1440, 1920, 768):
        page.set_viewport_size({"width": width, "height": 900})
        assert not scrolls_sideways(page), f"the dashboard scrolls sideways at {width} px"
