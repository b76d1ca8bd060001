"""Real-browser tests: Debian chromium driven by Playwright against the live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# No background networking: the machine has no internet and Chromium would retry forever.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots go to test-results/ (ignored by git); KYC_REFRESH_SCREENSHOTS=1 writes the README's
#: docs/screenshots/ instead, so an ordinary test run never changes the source tree.
SCREENSHOTS = Path(__file__).resolve().parents[2] / (
    "docs/screenshots" if os.environ.get("KYC_REFRESH_SCREENSHOTS") == "1" else "test-results"
)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium (make test does).")
    # Playwright's sync API keeps an event loop running in this thread for the rest of the
    # session; the ORM calls tests make are still synchronous and safe. (Subprocess tests that
    # check deployment settings remove the variable from their environment.)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in as a person does: the password, then the code their authenticator app shows (an
    app is set up for the user first, if they have none)."""
    from django.contrib.auth import get_user_model

    from tests.staff import give_authenticator, totp_code

    user = get_user_model().objects.filter(username=username).first()
    device = give_authenticator(user) if user is not None else None
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if device is not None and "/accounts/second-factor/verify/" in page.url:
        page.fill("#id_code", totp_code(device))
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")


#: axe-core (npm axe-core 4.14.1, MPL-2.0), for the tests only: it is never served.
AXE = Path(__file__).resolve().parent / "axe" / "axe.min.js"


def serious_accessibility_violations(page, within: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical findings on the page as it is now (DESIGN §12: none),
    on the whole document or only `within` the element a CSS selector names.

    Evaluated through the browser's debugging protocol, which the page's CSP does not govern.
    """
    page.evaluate(AXE.read_text())
    results = page.evaluate(
        "(within) => axe.run(within ? {include: [within]} : document,"
        " {resultTypes: ['violations']})",
        within,
    )
    return [
        f"{violation['id']}: {violation['help']}: "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def scrolls_sideways(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"))
