"""How long the dashboard's aggregate queries take with a million comparison attempts.

    .venv/bin/python bench/stats.py [--pairs 600000] [--days 365] [--keep]

Needs PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432): it creates the database
kyc_bench_stats, migrates it, fills it with COPY through the tests' seeder (tests/seed.py:
`--days` of realistic traffic, about 1.6 attempts a pair, review cases and reviewers' decisions,
images purged after the retention period), then times every selector behind /stats/ and the
/metrics scrape for the default 30-day period, first as migrated and then with the indexes
proposed for the operations issue (created here, on the bench database only). Figures are
printed for reading; nothing asserts on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
import statistics
import time
from collections.abc import Callable

import psycopg

from bench._env import PG, fresh_database

DB_NAME = "kyc_bench_stats"

#: The indexes the operations issue asks for (the lead adds them as migrations).
PROPOSED_INDEXES = [
    # Attempts finished in a period, read without touching the table (PostgreSQL INCLUDE).
    "CREATE INDEX IF NOT EXISTS attempt_finished_cover ON kyc_comparisonattempt (finished_at) "
    "INCLUDE (vendor, purpose, status, error_code, billable, score, latency_ms)",
    # Pairs decided in a period (dashboard, CSV export) and pairs created today.
    "CREATE INDEX IF NOT EXISTS pair_decided_at ON kyc_imagepair (decided_at) "
    "INCLUDE (status, decision_source)",
    "CREATE INDEX IF NOT EXISTS pair_created_at ON kyc_imagepair (created_at)",
    # Retention: pairs whose images are still stored, by decision time.
    "CREATE INDEX IF NOT EXISTS pair_images_kept ON kyc_imagepair (decided_at) "
    "WHERE images_purged_at IS NULL",
    # Review queue over time.
    "CREATE INDEX IF NOT EXISTS case_created ON reviews_reviewcase (created_at)",
    "CREATE INDEX IF NOT EXISTS case_decided ON reviews_reviewcase (decided_at)",
    "CREATE INDEX IF NOT EXISTS case_due ON reviews_reviewcase (due_at)",
]


def setup_database() -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "DJANGO_SETTINGS_MODULE": "kyc.settings",
        "LOG_LEVEL": "WARNING",
    }
    fresh_database(env, static=False)
    return env


def fill(pairs: int, days: int) -> None:
    """`days` of traffic, `pairs` image pairs in all, written with COPY."""
    from django.db import connection

    from tests.seed import Traffic, seed

    seeded = seed(Traffic(days=days, pairs=pairs, audit=False), copy=True, progress=print)
    with connection.cursor() as cursor:
        # What autovacuum does in production: statistics, and the visibility map that lets
        # PostgreSQL answer from an index alone.
        cursor.execute("VACUUM ANALYZE")
    print(f"filled: {seeded.attempts:,} attempts, {seeded.pairs:,} pairs, {seeded.cases:,} cases")


def timed(function: Callable[[], object], repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def measure(label: str) -> None:
    from kyc.ops import metrics
    from reviews.reporting import dashboard, stats
    from reviews.reporting.exports import decision_csv_lines

    period = stats.DateRange.last(30)
    cases: dict[str, Callable[[], object]] = {
        "headline": lambda: stats.headline(period),
        "decisions_per_day": lambda: stats.decisions_per_day(period),
        "score_histograms": lambda: stats.score_histograms(period),
        "vendor_table (p50/p95)": lambda: stats.vendor_table(period),
        "billable_per_day": lambda: stats.billable_per_day(period),
        "preflight_savings": lambda: stats.preflight_savings(period),
        "queue_over_time": lambda: stats.queue_over_time(period),
        "whole page (build)": lambda: dashboard.build(period),
        "metrics scrape (warm cache)": metrics.render,
        "CSV export, first 5,000 rows": lambda: [
            line for _, line in zip(range(5001), decision_csv_lines(period), strict=False)
        ],
    }
    print(f"\n{label}")
    for name, function in cases.items():
        print(f"  {name:<32} {timed(function):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=600_000, help="about 1.6 attempts each")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    args = parser.parse_args()
    env = setup_database()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection

    cache.clear()
    started = time.perf_counter()
    fill(args.pairs, args.days)
    print(f"fill took {time.perf_counter() - started:.0f} s")
    measure("as migrated")
    with connection.cursor() as cursor:
        for statement in PROPOSED_INDEXES:
            cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE")
    measure("with the proposed indexes")
    connection.close()
    if not args.keep:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
