"""Server time and query count of the review queue and the case page at production volume.

    .venv/bin/python bench/queue.py [--cases 100000] [--attempts 1000000] [--days 14]
                                    [--repeat 30] [--reuse]

Needs PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432): it creates the
throwaway database `kyc_bench_queue`, migrates it, and fills it with COPY through the tests'
seeder (tests/seed.py): `--days` of traffic from one API client, twice `--cases` pairs, half of
them decided automatically and the other half waiting in about `--cases` open review cases (some
claimed, some awaiting a second review in the senior queue), `--attempts` comparison attempts in
all (failed calls and retries pad each pair's history), and every pair's audit events. `--reuse`
keeps an already seeded database.

Then, in this process, Django's test client signed in as a reviewer requests each queue filter
and a case page `--repeat` times and prints the server time (p50 / p90, milliseconds: the whole
request through middleware, view and template, no network) and the number of SQL queries at two
page sizes. The queue's filter counts are cached per change generation (reviews.selectors), so
"cold" clears the cache before every request and "warm" does not. Nothing asserts on the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on the path, where this file would shadow the
# standard library's `queue` (which psycopg and logging import); the project lives in REPO.
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import os
import time

import psycopg

from bench._env import PG, fresh_database

DB_NAME = "kyc_bench_queue"


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyc.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CACHE_URL": "locmemcache://",
        "ALLOWED_HOSTS": "testserver,localhost",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "KYC_VAR_DIR": str(REPO / "var" / "bench-queue"),
    }


def database_is_seeded() -> bool:
    try:
        with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
            row = conn.execute("SELECT count(*) FROM reviews_reviewcase").fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])


# --- seeding -----------------------------------------------------------------------------------


def seed(cases: int, attempts: int, days: int) -> None:
    """A backlog of about `cases` open cases among twice as many pairs (the other half decided
    automatically), `attempts` attempts in all, written with COPY by the tests' seeder."""
    from django.db import connection

    from tests.factories import ApiClientFactory, UserFactory
    from tests.seed import Traffic
    from tests.seed import seed as seed_traffic

    reviewer = UserFactory(username="bench-reviewer", role="Senior reviewers")
    others = [UserFactory(username=f"bench-reviewer-{n}") for n in range(5)]
    traffic = Traffic(
        days=days,
        pairs=2 * cases,
        review_share=0.5,
        attempts_per_pair=attempts / (2 * cases),
        reviewers_keep_up=False,
    )
    started = time.perf_counter()
    seeded = seed_traffic(
        traffic,
        copy=True,
        client=ApiClientFactory(name="bench-client"),
        reviewers=[reviewer, *others],
        progress=print,
    )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  {seeded.pairs:,} pairs, {seeded.attempts:,} attempts, {seeded.open_cases:,} open "
        f"cases, {seeded.events:,} audit events in {seconds:.0f} s (plus ANALYZE)"
    )


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(repeat: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reviews.models import ReviewCase

    user = get_user_model().objects.get(username="bench-reviewer")
    client = Client()
    client.force_login(user)
    case = ReviewCase.objects.filter(status="open").order_by("id").first()
    assert case is not None
    targets = [
        ("queue: default (priority)", "/review/"),
        ("queue: vendor=advance", "/review/?vendor=advance"),
        ("queue: reason=age_risk", "/review/?reason=age_risk"),
        ("queue: reason=vendor_failed", "/review/?reason=vendor_failed"),
        ("queue: status=claimed", "/review/?status=claimed"),
        ("queue: assignee=mine", "/review/?assignee=mine"),
        ("queue: assignee=unassigned", "/review/?assignee=unassigned"),
        ("queue: sort=due", "/review/?sort=due"),
        ("queue: sort=age", "/review/?sort=age"),
        ("queue: page 40", "/review/?page=40"),
        ("queue: senior", "/review/senior/"),
        ("case page", f"/review/{case.public_id}/"),
    ]
    print()
    print(
        f"{'page':30} {'cold p50':>9} {'cold p90':>9} {'warm p50':>9} {'warm p90':>9} {'queries@25':>11} {'queries@100':>12}"
    )
    for label, url in targets:
        for _ in range(3):  # warm the connection, templates and permission caches
            client.get(url)
        cold, warm = [], []
        for _ in range(repeat):
            cache.clear()
            start = time.perf_counter()
            response = client.get(url)
            cold.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(url)
            warm.append((time.perf_counter() - start) * 1000)
        queries = []
        for size in (25, 100):
            sized = url if label == "case page" else f"{url}{'&' if '?' in url else '?'}size={size}"
            cache.clear()
            with CaptureQueriesContext(connection) as captured:
                client.get(sized)
            queries.append(len(captured))
        print(
            f"{label:30} {percentile(cold, 0.5):9.1f} {percentile(cold, 0.9):9.1f} "
            f"{percentile(warm, 0.5):9.1f} {percentile(warm, 0.9):9.1f} {queries[0]:>11} {queries[1]:>12}"
        )
    print()
    print("cold: queue counts recomputed on every request; warm: counts from the cache.")
    print(
        "queries: one request at each page size, counted cold (warm saves the two count queries)."
    )
    print(f"{repeat} requests per column; milliseconds of server time (Django test client).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14, help="how long the backlog took to build")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()

    env = environment()
    if not (args.reuse and database_is_seeded()):
        print(f"Creating {DB_NAME} and migrating…")
        fresh_database(env, static=False)
        os.environ.update(env)
        import django

        django.setup()
        print(f"Seeding {args.cases:,} open cases and {args.attempts:,} attempts with COPY…")
        seed(args.cases, args.attempts, args.days)
    else:
        os.environ.update(env)
        import django

        django.setup()
        print(f"Reusing the seeded {DB_NAME}.")
    measure(args.repeat)


if __name__ == "__main__":
    main()
