"""How long the calibration and reviewer-quality pages take with a million attempts.

    .venv/bin/python bench/calibration.py [--pairs 600000] [--labels 100000] [--keep] [--reuse]

Needs PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432): it creates the database
(`--database`, default kyc_bench_calibration), migrates it, writes a little reviewed traffic
through the tests' seeder (`--reviewed-pairs`, with review cases and decisions for the
reviewer-quality page), then a million attempts and a hundred thousand labels in SQL
(bench/calibration_seed.py: `--pairs` pairs, about 1.7 attempts each, `--review-share` of them in
their backend's review band, QA samples of automatic decisions, `--labels` labels in all). Use
CACHE_URL=redis://… to time the cache the servers use (the default is the file cache).

It then times, for the backend with the most attempts: the two GROUP BY queries behind the
calibration page (labels and population per score bin), the statistics on their bins, and the
page itself through Django's test client as an administrator — first with an empty cache, then
warm, then after a new label — and the reviewer-quality page. Figures are printed for reading;
nothing asserts on them.
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

DB_NAME = "kyc_bench_calibration"


def timed(
    function: Callable[[], object], repeat: int = 3, before: Callable[[], object] = list
) -> float:
    """Median milliseconds of `repeat` runs, `before` run untimed ahead of each."""
    runs = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        function()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=600_000, help="about 1.7 attempts each")
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--reviewed-pairs", type=int, default=3_000, help="through tests.seed")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--review-share", type=float, default=0.15)
    parser.add_argument("--database", default=DB_NAME, help="Name of the bench database.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    parser.add_argument(
        "--reuse", action="store_true", help="Time a database an earlier --keep run filled."
    )
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{args.database}",
        "DJANGO_SETTINGS_MODULE": "kyc.settings",
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "WARNING",
    }
    if not args.reuse:
        fresh_database(env, static=False)
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Count

    from bench.calibration_seed import seed_labelled
    from kyc.models import AttemptPurpose, ComparisonAttempt
    from reviews.calibration import data, page, stats
    from reviews.models import CaseStatus, Label, ReviewCase
    from reviews.reporting import reviewer_quality
    from reviews.tasks import refresh_calibration
    from tests.seed import Traffic, seed
    from tests.staff import StaffClient
    from vendors.models import VendorConfig

    if not args.reuse:
        started = time.perf_counter()
        seeded = seed(
            Traffic(days=args.days, pairs=args.reviewed_pairs, review_share=0.3, audit=False),
            copy=True,
        )
        print(
            f"reviewed traffic in {time.perf_counter() - started:.0f} s: {seeded.pairs:,} pairs, "
            f"{seeded.cases:,} cases, {seeded.decisions:,} decisions"
        )
        started = time.perf_counter()
        written = seed_labelled(
            pairs=args.pairs, days=args.days, labels=args.labels, review_share=args.review_share
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(
            f"labelled traffic in {time.perf_counter() - started:.0f} s: {written.pairs:,} pairs, "
            f"{written.attempts:,} attempts, {written.qa_items:,} QA items, labels "
            + ", ".join(f"{source} {n:,}" for source, n in written.labels.items())
        )
    print(
        f"in the database: {ComparisonAttempt.objects.count():,} attempts, "
        f"{Label.objects.count():,} labels"
    )
    cache.clear()
    backend = (
        ComparisonAttempt.objects.filter(purpose=AttemptPurpose.DECIDE, score__isnull=False)
        .values("vendor")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("vendor", flat=True)
        .first()
    )
    assert backend is not None
    config = VendorConfig.objects.get(backend=backend)
    labels = data.labels(backend)
    population = data.population(backend)
    decided = ReviewCase.objects.filter(status=CaseStatus.DECIDED).count()
    print(
        f"\nbackend {backend}: {ComparisonAttempt.objects.filter(vendor=backend).count():,} "
        f"attempts, {int(population.sum()):,} decided in the last {data.POPULATION_DAYS} days; "
        f"{decided:,} decided cases, {labels.count:,} labelled scores "
        f"({labels.same.count:,} same, {labels.different.count:,} different)"
    )

    every_label = sum(data.labels(config.backend).count for config in VendorConfig.objects.all())
    print(f"labelled scores over every backend: {every_label:,}")

    admin = get_user_model().objects.filter(username="bench-admin").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("bench-admin", "", "unused-password")
    client = StaffClient()
    client.force_login(admin)
    url = f"/stats/calibration/{backend}/"
    assert client.get(url).status_code == 200
    assert client.get("/stats/reviewers/").status_code == 200
    bundle = data.BackendData(population, labels)
    added: list[int] = []

    def new_label() -> None:
        """A reviewer's label on a labelled pair, as a decision would write it."""
        last = Label.objects.order_by("-pk").first()
        assert last is not None
        added.append(
            Label.objects.create(
                pair_id=last.pair_id, verdict="same", source="review", labeller=admin
            ).pk
        )

    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "labels per bin (SQL)": (lambda: data.labels(backend), list),
        "population per bin (SQL)": (lambda: data.population(backend), list),
        "statistics and charts": (
            lambda: page.build(config, bundle, target="1e-3", max_review_percent=10),
            list,
        ),
        "suggest() alone": (
            lambda: stats.suggest(labels, population, target_far=1e-3, max_review_share=0.1),
            list,
        ),
        "calibration page, cold cache": (lambda: client.get(url), cache.clear),
        "calibration page, warm cache": (lambda: client.get(url), list),
        "calibration page after a new label": (lambda: client.get(url), new_label),
        "refresh task, every backend": (refresh_calibration, list),
        "reviewer quality (build)": (reviewer_quality.build, list),
        "reviewer quality page, cold cache": (lambda: client.get("/stats/reviewers/"), cache.clear),
        "reviewer quality page, warm cache": (lambda: client.get("/stats/reviewers/"), list),
    }
    print(
        f"\n{Label.objects.count():,} labels; above {data.LIVE_LABELS:,} a page keeps the last "
        "sums while labels arrive (up to date at the next refresh)\n"
    )
    for name, (function, before) in cases.items():
        print(f"  {name:<36} {timed(function, before=before):9.1f} ms")
    Label.objects.filter(pk__in=added).delete()
    connection.close()
    if not (args.keep or args.reuse):
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
