"""Keys per decision and the app's time from a decision to the next case on screen, in Chromium.

    .venv/bin/python bench/reviewer.py [--decisions 20]

Builds a throwaway PostgreSQL database (`kyc_bench_reviewer`, BENCH_PG), opens `--decisions`
review cases plus a few spare with real photos from the shared face set (KYC_FACES_DIR), serves
production settings with gunicorn (2 workers x 4 threads) and drives Debian's /usr/bin/chromium
through Playwright as a reviewer: "Take next", then for each case A, Enter (approve with its
default reason). For each decision it counts the keys pressed and measures, in the browser, the
time from the Enter that records the decision to the next case's faces on screen
(`data-faces-ready` on the case root: the aligned faces panel when there is one, the full photos
otherwise). Prints the median and p95 over the decisions. Nothing asserts on the figures; the
machine's other load shows in them.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]


from bench._env import FACES, django_setup, environment, free_port, fresh_database, start_web

DB_NAME = "kyc_bench_reviewer"
PAIRS = [
    ("df_img12.jpg", "df_img55.jpg"),
    ("df_img1.jpg", "df_img10.jpg"),
    ("df_img2.jpg", "df_img11.jpg"),
]
VENDORS = ("finauth", "advance", "zoloz", "alibaba")


def populate(cases: int) -> None:
    """`cases` open cases with real photos, one vendor after another, and the reviewer rita."""
    from tests.factories import UserFactory
    from tests.reviews.cases import opened_case

    for n in range(cases):
        selfie, reference = PAIRS[n % len(PAIRS)]
        opened_case(
            vendor=VENDORS[n % len(VENDORS)],
            images=((FACES / selfie).read_bytes(), (FACES / reference).read_bytes()),
            priority=cases - n,
        )
    UserFactory(username="rita", role="Reviewers")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def drive(base: str, decisions: int) -> tuple[list[int], list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.factories import PASSWORD

    keys: list[int] = []
    seconds: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "rita")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/review/")
        page.keyboard.press("t")
        page.wait_for_selector("#case-root[data-faces-ready='1']")
        for _ in range(decisions):
            current = page.url
            page.keyboard.press("a")
            page.locator("#decide-approve").wait_for(state="visible")
            # The clock starts in the page at the key that records the decision; the next page
            # reads it back from sessionStorage once its faces are on screen.
            page.evaluate("() => sessionStorage.setItem('bench-start', String(Date.now()))")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "url => location.href !== url && "
                "document.querySelector(\"#case-root[data-faces-ready='1']\")",
                arg=current,
                timeout=30_000,
            )
            elapsed = page.evaluate(
                "() => Date.now() - Number(sessionStorage.getItem('bench-start'))"
            )
            seconds.append(elapsed / 1000)
            keys.append(2)
        browser.close()
    return keys, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20)
    args = parser.parse_args()

    env = environment(Path(tempfile.mkdtemp(prefix="kyc-bench-")) / "var")
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{DB_NAME}"
    env["ALLOWED_HOSTS"] = "localhost,127.0.0.1"
    fresh_database(env)
    django_setup(env)
    populate(args.decisions + 3)

    port = free_port()
    server = start_web(env, port)
    # "localhost": Chromium keeps Secure session cookies there without TLS.
    base = f"http://localhost:{port}"
    try:
        keys, seconds = drive(base, args.decisions)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(f"{len(seconds)} decisions (approve with its default reason), Chromium at 1440x900")
    print(f"keys per decision: {statistics.median(keys):g} (max {max(keys)})")
    print(
        "decision to the next case's faces on screen: "
        f"median {statistics.median(seconds):.3f} s, p95 {percentile(seconds, 0.95):.3f} s, "
        f"max {max(seconds):.3f} s"
    )


if __name__ == "__main__":
    main()
