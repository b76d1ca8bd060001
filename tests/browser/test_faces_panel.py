"""The faces panel in a browser: both faces aligned, the same size and large, whatever the vendor
(ZOLOZ and Alibaba send no boxes: ours are used), with one shared zoom, and axe-clean."""

from __future__ import annotations

import pytest

from kyc.services.faces import locate_faces
from tests.browser.conftest import screenshot, serious_accessibility_violations, sign_in
from tests.conftest import face_bytes
from tests.factories import UserFactory
from tests.reviews.cases import opened_case
from vendors.local.engine import get_engine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SELFIE, REFERENCE = "df_img12.jpg", "df_img55.jpg"
#: Which vendors report face boxes (VENDOR-PROTOCOLS.md): ZOLOZ and Alibaba do not.
SENDS_BOXES = {"finauth": True, "advance": True, "local": True, "zoloz": False, "alibaba": False}


def vendor_boxes(vendor: str) -> dict:
    """The boxes a vendor's answer carries: a box of its own drawing for those that send one
    (ours, shrunk a little, as vendors draw tighter or looser), none for the others."""
    if not SENDS_BOXES[vendor]:
        return {}
    boxes = {}
    for which, name in (("selfie", SELFIE), ("reference", REFERENCE)):
        left, top, width, height = get_engine().locate_bytes(face_bytes(name))[0].box
        boxes[which] = {
            "left": left + 8,
            "top": top + 8,
            "width": width - 16,
            "height": height - 16,
        }
    return boxes


def case_of(vendor: str):
    case = opened_case(
        vendor=vendor,
        faces=vendor_boxes(vendor),
        images=(face_bytes(SELFIE), face_bytes(REFERENCE)),
    )
    assert locate_faces(case.pair_id)
    return case


def open_case_page(page, case) -> None:
    page.goto(f"/review/{case.public_id}/")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.face-view img'))"
        ".filter(i => i.complete && i.naturalWidth === 512 && i.naturalHeight === 640).length === 2"
    )


def rendered(page, which: str) -> dict:
    return page.eval_on_selector(
        f".face[data-which='{which}'] .face-view",
        "e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);"
        " return {width: r.width, height: r.height, top: r.top, visible: s.visibility};}",
    )


def transform(page, which: str) -> str:
    return page.eval_on_selector(
        f".face[data-which='{which}'] .face-view img", "i => getComputedStyle(i).transform"
    )


@pytest.fixture
def reviewer_page(page, tasks):
    """A signed-in reviewer at 1440x900; face work messages are captured, not sent."""
    UserFactory(username="rita", role="Reviewers")
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "rita", "correct horse battery")
    return page


@pytest.mark.parametrize("vendor", ["finauth", "advance", "zoloz", "alibaba", "local"])
def test_both_aligned_faces_are_shown_large_and_the_same_size_for_a_pair_of_every_vendor(
    reviewer_page, vendor
):
    page = reviewer_page
    case = case_of(vendor)

    open_case_page(page, case)

    selfie, reference = rendered(page, "selfie"), rendered(page, "reference")
    assert (selfie["width"], selfie["height"]) == (reference["width"], reference["height"])
    assert selfie["height"] >= 320
    assert selfie["top"] == reference["top"]
    expected = f"vendor:{vendor}" if SENDS_BOXES[vendor] else "ours"
    source = case.pair.__class__.objects.get(pk=case.pair_id).face_geometry["selfie"]["source"]
    assert source == expected
    caption = page.inner_text(".face[data-which='selfie'] figcaption")
    assert ("ours (local engine)" in caption) == (not SENDS_BOXES[vendor])
    # The full photos are one key away.
    assert page.is_hidden("#photos")
    page.keyboard.press("f")
    assert page.is_visible("#photos")
    assert page.get_attribute("[data-faces-full]", "aria-expanded") == "true"


def test_zoom_pan_and_rotation_apply_to_both_faces_at_once(reviewer_page):
    page = reviewer_page
    case = case_of("zoloz")
    open_case_page(page, case)
    assert transform(page, "selfie") == transform(page, "reference") == "matrix(1, 0, 0, 1, 0, 0)"

    page.hover(".face[data-which='selfie'] .face-view")
    page.mouse.wheel(0, -100)
    zoomed = transform(page, "selfie")
    assert zoomed != "matrix(1, 0, 0, 1, 0, 0)"
    assert transform(page, "reference") == zoomed
    assert page.inner_text("#faces-level") == "125%"

    page.focus(".face[data-which='reference'] .face-view")
    page.keyboard.press("+")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("]")
    assert page.inner_text("#faces-level") == "156%"
    assert transform(page, "selfie") == transform(page, "reference") != zoomed

    page.keyboard.press("0")
    assert transform(page, "selfie") == transform(page, "reference") == "matrix(1, 0, 0, 1, 0, 0)"


def test_brightness_contrast_and_the_overlays(reviewer_page):
    page = reviewer_page
    open_case_page(page, case_of("alibaba"))

    page.fill("[data-faces-filter='brightness']", "150")
    filters = page.eval_on_selector_all(".face-view img", "imgs => imgs.map(i => i.style.filter)")
    assert filters == ["brightness(150%) contrast(100%)"] * 2

    page.click("[data-faces-mode='swipe']")
    assert page.get_attribute("#faces-stage", "data-mode") == "swipe"
    # Overlaid: the reference exactly over the selfie, cut at the swipe bar.
    selfie, reference = rendered(page, "selfie"), rendered(page, "reference")
    assert selfie == reference
    page.fill("[data-faces-swipe]", "30")
    clip = page.eval_on_selector(
        ".face[data-which='reference'] .face-view", "e => getComputedStyle(e).clipPath"
    )
    assert clip == "inset(0px 0px 0px 30%)"

    page.keyboard.press("o")  # swipe -> flicker
    assert page.get_attribute("#faces-stage", "data-mode") == "flicker"
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector(\".face[data-which='reference']\"))"
        ".visibility === 'visible'"
    )
    page.keyboard.press("o")
    assert page.get_attribute("#faces-stage", "data-mode") == "side"


def test_a_case_opened_before_face_work_finished_picks_the_faces_up(reviewer_page):
    page = reviewer_page
    case = opened_case(vendor="zoloz", faces={}, images=(face_bytes(SELFIE), face_bytes(REFERENCE)))

    page.goto(f"/review/{case.public_id}/")
    assert page.inner_text(".faces-pending").startswith("Finding the faces")
    assert page.is_visible("#photos")
    locate_faces(case.pair_id)

    page.wait_for_selector("#faces[data-state='ready'] .face-view img", timeout=10_000)
    open_case_page(page, case)


@pytest.mark.parametrize("mode", ["side", "swipe"])
def test_the_faces_panel_has_no_serious_accessibility_violations(reviewer_page, mode):
    page = reviewer_page
    open_case_page(page, case_of("advance"))
    page.click(f"[data-faces-mode='{mode}']")

    assert serious_accessibility_violations(page, within="#faces") == []
    # Reached from the keyboard, a control shows its focus.
    page.focus("[data-faces-mode='swipe']")
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate(
        "() => [document.activeElement.dataset.facesMode,"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["side", "solid"]


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (1024, 768), (1440, 900), (1920, 1080)])
def test_screenshots_of_the_faces_panel(reviewer_page, width, height):
    page = reviewer_page
    page.set_viewport_size({"width": width, "height": height})
    open_case_page(page, case_of("zoloz"))

    selfie, reference = rendered(page, "selfie"), rendered(page, "reference")
    assert selfie["height"] >= 320
    assert selfie["width"] / selfie["height"] == pytest.approx(512 / 640, abs=0.01)
    assert selfie["top"] == reference["top"]  # side by side at every width
    panel = page.eval_on_selector("#faces", "e => e.getBoundingClientRect().right")
    assert panel <= width
    screenshot(page, f"faces-{width}")
    if width == 1440:
        page.keyboard.press("o")
        page.fill("[data-faces-swipe]", "40")
        screenshot(page, "faces-1440-swipe")
