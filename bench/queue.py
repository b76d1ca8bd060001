"""Server time and query count of the review queue and the case page at production volume.

    .venv/bin/python bench/queue.py [--cases 100000] [--attempts 1000000] [--repeat 30] [--reuse]

Needs PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432): it creates the
throwaway database `kyc_bench_queue`, migrates it, and fills it with COPY (psycopg): one API
client, an applicant per pair, `--attempts` comparison attempts spread over twice `--cases`
pairs (half of them decided automatically), `--cases` open review cases (some claimed, some
awaiting a second review in the senior queue) and three audit events per case. `--reuse` keeps
an already seeded database.

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
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench._env import PG, fresh_database

DB_NAME = "kyc_bench_queue"
VENDORS = ["advance", "finauth", "zoloz", "alibaba", "local"]
BANDS = {
    "advance": (70, 55),
    "finauth": (80, 62),
    "zoloz": (80, 50),
    "alibaba": (80, 50),
    "local": (70, 60),
}
REASONS = [
    (["score_in_band"], 0.62),
    (["age_risk"], 0.08),
    (["gender_risk"], 0.04),
    (["age_risk", "age_gap"], 0.04),
    (["vendor_disagreement"], 0.08),
    (["vendor_failed"], 0.06),
    (["no_face"], 0.04),
    (["score_in_band", "gender_risk"], 0.04),
]


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


# --- seeding with COPY -------------------------------------------------------------------------


def _copy(cursor: Any, model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows of `model`; any column a row leaves out gets the field's default."""
    from django.db.models import JSONField
    from django.db.models.fields import NOT_PROVIDED

    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults: dict[str, Callable[[], Any]] = {}
    for f in fields:
        if f.default is not NOT_PROVIDED:
            default = f.default
            defaults[f.attname] = default if callable(default) else (lambda d=default: d)
        elif f.null:
            defaults[f.attname] = lambda: None
        else:
            defaults[f.attname] = lambda: ""
    json_fields = {f.attname for f in fields if isinstance(f, JSONField)}
    count = 0
    with cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for f in fields:
                value = row[f.attname] if f.attname in row else defaults[f.attname]()
                if f.attname in json_fields and value is not None:
                    value = json.dumps(value)
                elif isinstance(value, uuid.UUID):
                    value = str(value)
                values.append(value)
            copy.write_row(values)
            count += 1
    return count


def seed(cases: int, attempts_total: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from kyc.audit.models import AuditEvent
    from kyc.models import ApiClient, Applicant, ComparisonAttempt, ImagePair
    from reviews.models import ReviewCase
    from reviews.roles import bootstrap_roles

    rng = random.Random(7)
    now = datetime.now(UTC)
    pairs = cases * 2
    per_pair = max(1, attempts_total // pairs)
    extra = attempts_total - per_pair * pairs  # spread over the first pairs
    bootstrap_roles()
    User = get_user_model()
    reviewer = User.objects.create_user("bench-reviewer", password="bench")  # noqa: S106
    reviewer.groups.add(Group.objects.get(name="Senior reviewers"))
    others = [User.objects.create_user(f"bench-reviewer-{n}") for n in range(5)]
    client = ApiClient.objects.create(name="bench-client")

    started = time.perf_counter()
    attempt_id = 0
    deciding: dict[int, int] = {}
    # One transaction: the pairs' deferred foreign key to their deciding attempt is checked at
    # commit, after the attempts are in.
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor underneath
        n = _copy(
            cursor,
            Applicant,
            (
                {"id": i, "client_id": client.pk, "external_ref": f"user-{i}", "created_at": now}
                for i in range(1, pairs + 1)
            ),
        )
        print(f"  applicants      {n:>9,}")

        def attempt_rows() -> Iterator[dict[str, Any]]:
            nonlocal attempt_id
            for pair_id in range(1, pairs + 1):
                count = per_pair + (1 if pair_id <= extra else 0)
                vendor = VENDORS[pair_id % len(VENDORS)]
                approve_at, reject_below = BANDS[vendor]
                for number in range(1, count + 1):
                    attempt_id += 1
                    last = number == count
                    score = (
                        round(rng.uniform(reject_below - 3, approve_at + 3), 1) if last else None
                    )
                    created = now - timedelta(minutes=pair_id % 5000, seconds=count - number)
                    yield {
                        "id": attempt_id,
                        "public_id": uuid.uuid4(),
                        "pair_id": pair_id,
                        "vendor": vendor,
                        "number": number,
                        "status": "completed" if last else "failed",
                        "score": score,
                        "error_code": "" if last else "TIMEOUT",
                        "vendor_code": "SUCCESS" if last else "",
                        "vendor_request_id": uuid.uuid4().hex,
                        "billable": last,
                        "thresholds": {
                            "approve_at": approve_at,
                            "reject_below": reject_below,
                            "band": {"approve_at": approve_at, "reject_below": reject_below},
                        },
                        "faces": {
                            "selfie": {"left": 100, "top": 120, "width": 200, "height": 240},
                            "reference": {"left": 80, "top": 90, "width": 180, "height": 220},
                        },
                        "verdict": "review" if last else "",
                        "latency_ms": rng.randint(150, 2500),
                        "raw_response": {"code": "SUCCESS", "data": {"similarity": score}},
                        "created_at": created,
                        "started_at": created,
                        "finished_at": created,
                    }

        # Pairs reference their deciding attempt: the FK is checked at commit (deferred), so
        # pairs can go in before the attempts they point at; ids are known in advance.
        next_attempt = 0
        for pair_id in range(1, pairs + 1):
            next_attempt += per_pair + (1 if pair_id <= extra else 0)
            deciding[pair_id] = next_attempt

        def pair_rows() -> Iterator[dict[str, Any]]:
            for pair_id in range(1, pairs + 1):
                open_case = pair_id <= cases
                created = now - timedelta(minutes=pair_id % 5000)
                yield {
                    "id": pair_id,
                    "public_id": uuid.uuid4(),
                    "client_id": client.pk,
                    "applicant_id": pair_id,
                    "selfie": "pairs/aa/selfie.bin",
                    "reference": "pairs/aa/reference.bin",
                    "selfie_sha256": f"{pair_id:064x}",
                    "selfie_size": 120_000,
                    "selfie_width": 640,
                    "selfie_height": 800,
                    "selfie_format": "JPEG",
                    "reference_sha256": f"{pair_id + pairs:064x}",
                    "reference_size": 90_000,
                    "reference_width": 640,
                    "reference_height": 480,
                    "reference_format": "JPEG",
                    "status": "needs_review" if open_case else "approved",
                    "status_reason": "score_in_band" if open_case else "",
                    "decision_source": "" if open_case else "auto",
                    "deciding_attempt_id": deciding[pair_id],
                    "created_at": created,
                    "updated_at": created,
                    "decided_at": None if open_case else created,
                }

        n = _copy(cursor, ImagePair, pair_rows())
        print(f"  image pairs     {n:>9,}")
        n = _copy(cursor, ComparisonAttempt, attempt_rows())
        print(f"  attempts        {n:>9,}")

        reasons, weights = zip(*REASONS, strict=True)

        def case_rows() -> Iterator[dict[str, Any]]:
            for case_id in range(1, cases + 1):
                roll = rng.random()
                status, queue, assignee = "open", "standard", None
                if roll < 0.05:
                    status, assignee = "claimed", rng.choice([reviewer, *others]).pk
                elif roll < 0.10:
                    status, queue = "awaiting_second_review", "senior"
                picked = rng.choices(reasons, weights)[0]
                created = now - timedelta(minutes=case_id % 5000)
                yield {
                    "id": case_id,
                    "public_id": uuid.uuid4(),
                    "pair_id": case_id,
                    "reasons": list(picked),
                    "status": status,
                    "queue": queue,
                    "assignee_id": assignee,
                    "claim_expires_at": now + timedelta(minutes=30) if assignee else None,
                    "priority": 1
                    if picked[0] in {"age_risk", "vendor_failed", "vendor_disagreement"}
                    else 0,
                    "due_at": created + timedelta(hours=24),
                    "created_at": created,
                }

        n = _copy(cursor, ReviewCase, case_rows())
        print(f"  review cases    {n:>9,}")

        cursor.execute("SELECT public_id FROM kyc_imagepair WHERE id <= %s ORDER BY id", [cases])
        case_pairs = [row[0] for row in cursor.fetchall()]

        def event_rows() -> Iterator[dict[str, Any]]:
            seq = 0
            for public_id in case_pairs:
                for event_type in ("pair.submitted", "comparison.recorded", "review.opened"):
                    seq += 1
                    yield {
                        "id": seq,
                        "seq": seq,
                        "created_at": now,
                        "actor_type": "system",
                        "actor_label": "pipeline",
                        "event_type": event_type,
                        "subject_type": "image_pair",
                        "subject_id": str(public_id),
                        "params": {"bench": True},
                        "prev_hash": f"{seq - 1:064x}",
                        "hash": f"{seq:064x}",
                    }

        n = _copy(cursor, AuditEvent, event_rows())
        print(f"  audit events    {n:>9,}")
        for table in (
            "kyc_applicant",
            "kyc_imagepair",
            "kyc_comparisonattempt",
            "reviews_reviewcase",
            "audit_auditevent",
        ):
            cursor.execute(  # table names are the constants above
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  COPY took {seconds:.0f} s (plus ANALYZE)")


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
        seed(args.cases, args.attempts)
    else:
        os.environ.update(env)
        import django

        django.setup()
        print(f"Reusing the seeded {DB_NAME}.")
    measure(args.repeat)


if __name__ == "__main__":
    main()
