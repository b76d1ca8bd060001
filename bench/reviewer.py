"""Keys per decision and the app's time from a decision to the next case on screen, in Chromium.

    .venv/bin/python bench/reviewer.py [--decisions 20] [--db NAME] [--port N] [--redis-db N]
                                       [--no-prefetch]

Builds a throwaway PostgreSQL database (`--db`, default `kyc_bench_reviewer`, on BENCH_PG), opens
`--decisions` review cases plus a few spare with real photos from the shared face set
(KYC_FACES_DIR), finds their faces as the faces queue's worker would, serves production settings
with gunicorn (2 workers x 4 threads, `--port`; cache and broker in Redis database `--redis-db`) and drives Debian's /usr/bin/chromium through Playwright as a reviewer: signs in with
the password and an authenticator code (every staff role needs a second factor), "Take next",
then for each case A, Enter (approve with its default reason). `--no-prefetch` serves with
KYC_PREFETCH_NEXT_CASE=false, the comparison run without preparing the next case. For each decision it counts the keys pressed and measures, in the browser, the
time from the Enter that records the decision to the next case's faces on screen
(`data-faces-ready` on the case root: the aligned faces panel when there is one, the full photos
otherwise). Prints the median and p95 over the decisions. Nothing asserts on the figures; the
machine's other load shows in them.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]


import redis  # after the path fix: bench/queue.py is not the stdlib's queue

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
    from kyc.services.faces import locate_faces
    from tests.factories import UserFactory
    from tests.reviews.cases import opened_case
    from tests.staff import give_authenticator

    for n in range(cases):
        selfie, reference = PAIRS[n % len(PAIRS)]
        case = opened_case(
            vendor=VENDORS[n % len(VENDORS)],
            images=((FACES / selfie).read_bytes(), (FACES / reference).read_bytes()),
            priority=cases - n,
        )
        locate_faces(case.pair_id)  # as the faces queue's worker does when a case opens
    give_authenticator(UserFactory(username="rita", role="Reviewers"))


def load_average() -> str:
    """The machine's load (1, 5, 15 min) as the run ends: the figures share the CPUs with it."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rita():  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="rita")


#: Where the time went, from the browser's own timings (ms since the Enter's navigation began):
#: the decision's POST answered with its redirect, the next page's HTML received, both faces
#: received, the faces panel marked ready.
PHASES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const crops = performance.getEntriesByType("resource").filter(e => /-face\\/$/.test(e.name));
  const ready = Number(document.querySelector("#case-root").dataset.facesReadyAt);
  return [nav.redirectEnd || nav.fetchStart, nav.responseEnd,
          Math.max(0, ...crops.map(e => e.responseEnd)), ready - performance.timeOrigin];
}"""


def drive(base: str, decisions: int) -> tuple[list[int], list[float], list[list[float]]]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.factories import PASSWORD
    from tests.staff import give_authenticator, totp_code

    keys: list[int] = []
    seconds: list[float] = []
    phases: list[list[float]] = []
    # The authenticator code is read from the database while Playwright's loop runs in this
    # thread (the ORM stays synchronous and safe, as in the browser tests).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "rita")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if "/accounts/second-factor/verify/" in page.url:
            page.fill("#id_code", totp_code(give_authenticator(rita())))
            page.click("button[type=submit]")
        page.wait_for_url(f"{base}/review/")
        page.keyboard.press("t")
        page.wait_for_selector("#case-root[data-faces-ready='1']")
        for _ in range(decisions):
            # The reviewer looks at the faces before deciding (here: until the page has been
            # quiet for 0.5 s, its request to prepare the next case answered).
            page.wait_for_load_state("networkidle")
            current = page.url
            page.keyboard.press("a")
            page.locator("#decide-approve").wait_for(state="visible")
            # The clock starts in the page at the keydown that records the decision, and stops
            # when the next page marks its faces on screen (`data-faces-ready-at`): the app's
            # time, not Playwright's polling.
            page.evaluate(
                "() => document.addEventListener('keydown', event => {"
                " if (event.key === 'Enter')"
                " sessionStorage.setItem('bench-start', String(Date.now())); },"
                " {capture: true, once: true})"
            )
            page.keyboard.press("Enter")
            page.wait_for_function(
                "url => location.href !== url && "
                "document.querySelector(\"#case-root[data-faces-ready='1']\")",
                arg=current,
                timeout=30_000,
            )
            elapsed = page.evaluate(
                "() => Number(document.querySelector('#case-root').dataset.facesReadyAt)"
                " - Number(sessionStorage.getItem('bench-start'))"
            )
            seconds.append(elapsed / 1000)
            phases.append(page.evaluate(PHASES))
            keys.append(2)
        browser.close()
    return keys, seconds, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--db", default=DB_NAME, help="the throwaway database's name")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (0: a free one)")
    parser.add_argument(
        "--redis-db", type=int, default=12, help="the Redis database of the cache and the broker"
    )
    parser.add_argument(
        "--no-prefetch", action="store_true", help="serve without preparing the next case"
    )
    args = parser.parse_args()

    env = environment(
        Path(tempfile.mkdtemp(prefix="kyc-bench-")) / "var", broker_db=args.redis_db + 1
    )
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{args.db}"
    env["CELERY_BROKER_URL"] = env["CACHE_URL"]  # one database of the caller's; no worker runs
    env["ALLOWED_HOSTS"] = "localhost,127.0.0.1"
    env["KYC_PREFETCH_NEXT_CASE"] = "false" if args.no_prefetch else "true"
    redis.Redis.from_url(env["CACHE_URL"]).flushdb()
    fresh_database(env)
    django_setup(env)
    populate(args.decisions + 3)

    port = args.port or free_port()
    server = start_web(env, port)
    # "localhost": Chromium keeps Secure session cookies there without TLS.
    base = f"http://localhost:{port}"
    try:
        keys, seconds, phases = drive(base, args.decisions)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    prefetch = "without" if args.no_prefetch else "with"
    print(
        f"{len(seconds)} decisions (approve with its default reason), Chromium at 1440x900, "
        f"{prefetch} the next case prepared; load average {load_average()}"
    )
    print(f"keys per decision: {statistics.median(keys):g} (max {max(keys)})")
    print(
        "decision to the next case's faces on screen: "
        f"median {statistics.median(seconds):.3f} s, p95 {percentile(seconds, 0.95):.3f} s, "
        f"max {max(seconds):.3f} s"
    )
    names = ("decision POST + redirect", "next page's HTML", "both faces received", "faces shown")
    # (From the navigation's start, which is a little after the Enter's keydown.)
    medians = [statistics.median(phase[n] for phase in phases) for n in range(len(names))]
    print(
        "medians from the navigation's start: "
        + ", ".join(f"{name} {ms / 1000:.3f} s" for name, ms in zip(names, medians, strict=True))
    )


if __name__ == "__main__":
    main()
