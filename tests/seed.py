"""Seeded data for the tests and the benchmarks: realistic traffic in any volume, and the small
set whose figures the dashboard tests work out by hand.

`seed(Traffic(...))` makes a stretch of activity up to now, as real traffic leaves it: image
pairs; their comparison attempts (pre-flight checks, failed calls and their retries, unusable
images); review cases, open, claimed, awaiting a second review or decided by a reviewer; the
decisions; and each pair's audit events, in a hash chain that verifies. Every row is built here
once, as a model instance with its id given in advance, and written a day of traffic at a time,
either with INSERTs on any database (tests, the dashboard screenshot) or, with `copy=True`, with
PostgreSQL's COPY for 10^5–10^6 rows (bench/queue.py, bench/stats.py).

`hand_checked()` is the small set, built with the factories: tests/reviews/reporting/
test_dashboard.py and tests/kyc/ops/test_health_and_metrics.py assert figures worked out from it.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from kyc.audit import events as audit
from kyc.audit.chain import GENESIS_HASH, Actor, _jsonable, compute_hash
from kyc.audit.models import AuditEvent
from kyc.models import ApiClient, Applicant, ComparisonAttempt, ImagePair, image_path
from reviews import events as review_events
from reviews.models import Decision, ReasonCode, ReviewCase
from tests.factories import (
    FACE_BOXES,
    ApplicantFactory,
    AttemptFactory,
    ImagePairFactory,
    ReviewCaseFactory,
    UserFactory,
    VendorConfigFactory,
)

# --- realistic traffic ----------------------------------------------------------------------------

# vendor: (share of traffic, median latency ms, latency spread, failure rate)
VENDORS = {
    "advance": (0.62, 850, 0.45, 0.025),
    "finauth": (0.2, 1300, 0.5, 0.015),
    "zoloz": (0.12, 600, 0.35, 0.04),
    "alibaba": (0.06, 1100, 0.55, 0.03),
}
FAILURES = ["TIMEOUT", "RATE_LIMITED", "VENDOR_ERROR", "TIMEOUT", "QUOTA_EXCEEDED"]
IMAGE_PROBLEMS = ["NO_FACE", "LOW_QUALITY", "MULTIPLE_FACES"]
#: Why cases are opened, and how often.
REVIEW_REASONS = [
    (["score_in_band"], 0.62),
    (["age_risk"], 0.08),
    (["gender_risk"], 0.04),
    (["age_risk", "age_gap"], 0.04),
    (["vendor_disagreement"], 0.08),
    (["vendor_failed"], 0.06),
    (["no_face"], 0.04),
    (["score_in_band", "gender_risk"], 0.04),
]
URGENT = {"age_risk", "vendor_failed", "vendor_disagreement"}
#: A reviewer's outcome: (pair status, how often).
OUTCOMES = {
    "approve": ("approved", 0.7),
    "reject": ("rejected", 0.2),
    "resubmit": ("resubmit", 0.1),
}
IMAGES = {
    "selfie_size": 182_311,
    "selfie_width": 1080,
    "selfie_height": 1440,
    "selfie_format": "JPEG",
    "reference_size": 96_004,
    "reference_width": 640,
    "reference_height": 800,
    "reference_format": "JPEG",
}
SLA = timedelta(hours=24)
RETENTION = timedelta(days=30)
PIPELINE = Actor.system("pipeline")
RETENTION_JOB = Actor.system("retention")


@dataclass(frozen=True)
class Traffic:
    """What to seed: `days` calendar days before today, and today up to now."""

    days: int = 30
    #: Pairs in all; None: 45–95 a weekday and half that at weekends.
    pairs: int | None = None
    #: The share of pairs whose score falls in their vendor's review band; None: as scores fall.
    review_share: float | None = None
    #: Failed (and retried) calls are added until pairs average this many attempts.
    attempts_per_pair: float | None = None
    #: False: reviewers have not started, so every case is still open (a backlog).
    reviewers_keep_up: bool = True
    #: Each pair's audit events.
    audit: bool = True
    seed: int = 7


#: What a day of traffic writes, in this order (a day's rows are a list for each).
TABLES = (Applicant, ImagePair, ComparisonAttempt, ReviewCase, Decision, AuditEvent)
Rows = dict[type[models.Model], list[Any]]


@dataclass
class Seeded:
    pairs: int = 0
    attempts: int = 0
    cases: int = 0
    open_cases: int = 0
    decisions: int = 0
    events: int = 0

    def add(self, rows: Rows) -> None:
        self.pairs += len(rows[ImagePair])
        self.attempts += len(rows[ComparisonAttempt])
        self.cases += len(rows[ReviewCase])
        self.open_cases += sum(1 for case in rows[ReviewCase] if case.status != "decided")
        self.decisions += len(rows[Decision])
        self.events += len(rows[AuditEvent])


def seed(
    traffic: Traffic = Traffic(),
    *,
    copy: bool = False,
    client: ApiClient | None = None,
    reviewers: Sequence[Any] = (),
    progress: Any = None,
) -> Seeded:
    """Write `traffic` for `client` (default "acme-mobile"), decided, claimed and reviewed by
    `reviewers` (default rita, omar and lena). `copy=True` needs PostgreSQL; `progress` is
    called with a line of figures now and then."""
    if client is None:
        client = ApiClient.objects.get_or_create(name="acme-mobile")[0]
    builder = _Builder(traffic, client, list(reviewers) or _default_reviewers())
    write = _copy if copy else _insert
    written = Seeded()
    with (
        mock.patch.object(audit, "append", builder.append),
        transaction.atomic(),  # the pairs' deciding attempts are checked at commit
    ):
        for day, volume in builder.volumes():
            rows = builder.day(day, volume)
            for model in TABLES:
                if rows[model]:
                    write(model, rows[model])
            written.add(rows)
            if progress and day.day == 1:
                progress(f"  {day:%Y-%m}: {written.pairs:,} pairs, {written.attempts:,} attempts")
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), TABLES):
                cursor.execute(statement)
    return written


def _default_reviewers() -> list[Any]:
    return [UserFactory(username=name) for name in ("rita", "omar", "lena")]


def _values(model: type[models.Model], objects: list[Any]) -> tuple[list[str], Iterator[list]]:
    """The columns of `model`, and each object's values as the database takes them."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the per-call proxy
    now = timezone.now()
    fields = [
        (
            f.attname,
            f.get_db_prep_save,
            getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False),
        )
        for f in model._meta.concrete_fields
    ]

    def values(row: Any) -> list[Any]:
        given = row.__dict__
        return [
            prepare(now if stamped and given[name] is None else given[name], db)
            for name, prepare, stamped in fields
        ]

    columns = [db.ops.quote_name(f.column) for f in model._meta.concrete_fields]
    return columns, (values(row) for row in objects)


def _insert(model: type[models.Model], objects: list[Any]) -> None:
    columns, rows = _values(model, objects)
    table = connection.ops.quote_name(model._meta.db_table)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        # Table and column names come from the models, quoted.
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        cursor.executemany(sql, rows)


def _copy(model: type[models.Model], objects: list[Any]) -> None:
    columns, rows = _values(model, objects)
    table = connection.ops.quote_name(model._meta.db_table)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _score(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.82:
        value = rng.gauss(88, 6)
    elif roll < 0.92:
        value = rng.gauss(24, 12)
    else:
        value = rng.uniform(50, 75)
    return round(min(100.0, max(0.0, value)), 1)


class _Builder:
    """Builds each day's rows; ids follow on from what the database already holds. While it
    builds, the real audit event functions run with `append` below in place of the chain's."""

    def __init__(self, traffic: Traffic, client: ApiClient, reviewers: list[Any]) -> None:
        self.traffic = traffic
        self.rng = random.Random(traffic.seed)
        self.now = timezone.now()
        self.client = client
        self.reviewers = reviewers
        self.configs = {backend: VendorConfigFactory(backend=backend) for backend in VENDORS}
        self.reason_codes: dict[str, list[ReasonCode]] = {}
        for code in ReasonCode.objects.filter(is_active=True).order_by("position"):
            self.reason_codes.setdefault(code.outcome, []).append(code)
        self.rows: Rows = {}
        self.ids = {model: model.objects.aggregate(top=Max("id"))["top"] or 0 for model in TABLES}
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        self.seq, self.head = head or (0, GENESIS_HASH)
        self.clock = self.now  # when the event being recorded happens
        self.pairs = self.attempts = 0  # built so far, for `attempts_per_pair`
        self.number = 0  # the current pair's attempts

    def new(self, model: type[models.Model], **fields: Any) -> Any:
        """A row of `model` with the next id, kept for writing."""
        self.ids[model] += 1
        row = model(id=self.ids[model], **fields)
        self.rows[model].append(row)
        return row

    def append(self, *, actor: Actor, params: Any, **subject: str) -> AuditEvent:
        """kyc.audit.chain.append, but dated by the clock of the traffic and kept for writing:
        `subject` is the event type, subject type and subject id."""
        self.seq += 1
        event = self.new(
            AuditEvent,
            seq=self.seq,
            created_at=self.clock,
            prev_hash=self.head,
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label[:150],
            params=_jsonable(params),
            **subject,
        )
        event.hash = self.head = compute_hash(self.head, event)
        return event

    def record(self, when: datetime, event: Any, *args: Any, **kwargs: Any) -> None:
        """The audit event `event(*args, **kwargs)`, as happening at `when`."""
        if self.traffic.audit:
            self.clock = when
            event(*args, **kwargs)

    def volumes(self) -> list[tuple[date, int]]:
        today = self.now.astimezone(UTC).date()
        days = [today - timedelta(days=n) for n in range(self.traffic.days, -1, -1)]
        weights = [1 if day.weekday() >= 5 else 2 for day in days]
        if self.traffic.pairs is None:
            return [
                (day, self.rng.randint(45, 95) * w // 2)
                for day, w in zip(days, weights, strict=True)
            ]
        # Shares of the total in proportion to the weights, the remainders to the largest.
        exact = [self.traffic.pairs * w / sum(weights) for w in weights]
        counts = [int(x) for x in exact]
        by_remainder = sorted(range(len(days)), key=lambda i: counts[i] - exact[i])
        for i in by_remainder[: self.traffic.pairs - sum(counts)]:
            counts[i] += 1
        return list(zip(days, counts, strict=True))

    def day(self, day: date, volume: int) -> Rows:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        low, high = start + timedelta(hours=6), min(start + timedelta(hours=22), self.now)
        if high <= low:  # early today: what has come in since midnight
            low, high = (start, self.now) if self.now > start else (self.now - SLA, self.now)
        span = (high - low).total_seconds()
        self.rows = {model: [] for model in TABLES}
        for offset in sorted(self.rng.uniform(0, span) for _ in range(volume)):
            self.pair(low + timedelta(seconds=offset))
        return self.rows

    # --- one pair's life -------------------------------------------------------------------

    def pair(self, created: datetime) -> None:
        rng = self.rng
        applicant = self.new(Applicant, client=self.client, created_at=created)
        applicant.external_ref = f"applicant-{applicant.id}"
        digest = hashlib.sha256(f"{self.traffic.seed}-{applicant.id}".encode()).hexdigest()
        pair = self.new(
            ImagePair,
            client=self.client,
            applicant=applicant,
            selfie=image_path(None, "selfie"),
            reference=image_path(None, "reference"),
            selfie_sha256=digest,
            reference_sha256=digest[::-1],
            status="needs_review",
            created_at=created,
            updated_at=created,
            **IMAGES,
        )
        self.pairs += 1
        self.number = 0
        self.record(created, audit.pair_submitted, pair, Actor.api_client(self.client))
        vendor = rng.choices(list(VENDORS), [v[0] for v in VENDORS.values()])[0]
        _share, median, spread, fail_rate = VENDORS[vendor]
        clock = created + timedelta(milliseconds=rng.randint(200, 900))
        if vendor == "advance":  # ADVANCE runs with the pre-flight check on
            passed = rng.random() > 0.04
            check = self.attempt(
                pair,
                "local",
                clock,
                rng.randint(40, 120),
                purpose="preflight",
                status="completed" if passed else "invalid_input",
                error_code="" if passed else rng.choice(IMAGE_PROBLEMS[:2]),
                details={"target_vendor": "advance", "vendor_called": None if passed else False},
            )
            if not passed:
                self.decide(pair, "resubmit", check, reason="no_face")
                return
        failures = 0
        while rng.random() < fail_rate:
            failures += 1
        if self.traffic.attempts_per_pair is not None:
            owed = round(self.traffic.attempts_per_pair * self.pairs) - self.attempts - 1
            failures = max(failures, min(owed, 50))
        for _ in range(failures):
            latency = 15000 if rng.random() < 0.6 else rng.randint(200, 3000)
            self.attempt(
                pair,
                vendor,
                clock,
                latency,
                status="failed",
                error_code=rng.choice(FAILURES),
                retryable=True,
            )
            clock += timedelta(milliseconds=latency + 2000)
        latency = int(median * math.exp(rng.gauss(0, spread)))
        if rng.random() < 0.035:
            unusable = self.attempt(
                pair,
                vendor,
                clock,
                latency,
                status="invalid_input",
                error_code=rng.choice(IMAGE_PROBLEMS),
                billable=True,
                verdict="resubmit",
            )
            self.decide(pair, "resubmit", unusable, reason="no_face")
            return
        config = self.configs[vendor]
        band = {"approve_at": config.approve_at, "reject_below": config.reject_below}
        score = self.score(band)
        verdict = (
            "approve"
            if score >= band["approve_at"]
            else "reject"
            if score < band["reject_below"]
            else "review"
        )
        reasons = list(rng.choices(*zip(*REVIEW_REASONS, strict=True))[0])
        deciding = self.attempt(
            pair,
            vendor,
            clock,
            latency,
            status="completed",
            score=score,
            billable=True,
            verdict=verdict,
            verdict_reasons=reasons if verdict == "review" else [],
            vendor_code="SUCCESS",
            faces=FACE_BOXES,
            thresholds={**config.thresholds_snapshot(), "band": band},
            raw_response={"code": "SUCCESS", "data": {"similarity": score}},
        )
        if verdict == "review":
            self.review(pair, deciding, reasons)
        else:
            self.decide(
                pair, "approved" if verdict == "approve" else "rejected", deciding, reason=verdict
            )

    def score(self, band: dict[str, float]) -> float:
        share = self.traffic.review_share
        if share is None:
            return _score(self.rng)
        if self.rng.random() < share:
            return round(self.rng.uniform(band["reject_below"], band["approve_at"] - 0.1), 1)
        while True:
            score = _score(self.rng)
            if not band["reject_below"] <= score < band["approve_at"]:
                return score

    def attempt(
        self, pair: ImagePair, vendor: str, when: datetime, latency: int, **fields: Any
    ) -> ComparisonAttempt:
        self.number += 1
        self.attempts += 1
        attempt = self.new(
            ComparisonAttempt,
            pair=pair,
            vendor=vendor,
            number=self.number,
            latency_ms=latency,
            vendor_request_id=uuid.uuid4().hex,
            created_at=when,
            started_at=when,
            finished_at=when + timedelta(milliseconds=latency),
            **fields,
        )
        self.record(attempt.finished_at, audit.attempt_recorded, attempt)
        return attempt

    def decide(
        self,
        pair: ImagePair,
        status: str,
        deciding: ComparisonAttempt,
        *,
        reason: str,
        decision: Decision | None = None,
    ) -> None:
        """The pair decided by its deciding attempt, or by a reviewer's `decision`."""
        when = decision.created_at if decision else deciding.finished_at
        pair.status, pair.status_reason, pair.decided_at, pair.updated_at = (
            status,
            reason,
            when,
            when,
        )
        pair.decision_source = "reviewer" if decision else "auto"
        pair.deciding_attempt = deciding
        actor = Actor.user(decision.reviewer) if decision else PIPELINE
        reasons = None if decision else deciding.verdict_reasons
        self.record(when, audit.pair_decided, pair, actor, reasons=reasons)
        if when < self.now - RETENTION:  # the retention job has deleted the images since
            pair.selfie, pair.reference = "", ""
            pair.images_purged_at = when + RETENTION
            self.record(
                pair.images_purged_at, audit.images_purged, pair, RETENTION_JOB, why="retention"
            )

    def review(self, pair: ImagePair, deciding: ComparisonAttempt, reasons: list[str]) -> None:
        rng, opened = self.rng, deciding.finished_at
        pair.deciding_attempt, pair.status_reason, pair.updated_at = deciding, reasons[0], opened
        case = self.new(
            ReviewCase,
            pair=pair,
            reasons=reasons,
            priority=1 if reasons[0] in URGENT else 0,
            due_at=opened + SLA,
            created_at=opened,
        )
        self.record(opened, review_events.review_case_opened, case)
        closed = opened + timedelta(hours=rng.lognormvariate(math.log(7), 0.8))
        if self.traffic.reviewers_keep_up and (
            closed < self.now - timedelta(hours=2) or (rng.random() < 0.3 and closed < self.now)
        ):
            outcome = rng.choices(list(OUTCOMES), [w for _, w in OUTCOMES.values()])[0]
            decision = self.decision(case, outcome, closed)
            case.status, case.decided_at = "decided", closed
            self.decide(
                pair, OUTCOMES[outcome][0], deciding, reason="reviewer_decision", decision=decision
            )
            return
        roll = rng.random()
        if roll < 0.05:  # someone is looking at it
            case.status, case.assignee = "claimed", rng.choice(self.reviewers)
            case.claim_expires_at = self.now + timedelta(minutes=30)
            claimed = max(opened, self.now - timedelta(minutes=rng.randint(1, 29)))
            self.record(claimed, review_events.case_claimed, case, Actor.user(case.assignee))
        elif roll < 0.10:  # a first decision that needs a second person's
            case.status, case.queue = "awaiting_second_review", "senior"
            when = min(closed, max(opened, self.now - timedelta(minutes=1)))
            self.decision(case, rng.choice(["approve", "reject"]), when)

    def decision(self, case: ReviewCase, outcome: str, when: datetime) -> Decision:
        """A reviewer's first decision on `case`."""
        codes = (outcome != "approve" and self.reason_codes.get(outcome)) or [None]
        decision = self.new(
            Decision,
            case=case,
            reviewer=self.rng.choice(self.reviewers),
            outcome=outcome,
            reason_code=self.rng.choice(codes),
            created_at=when,
        )
        actor = Actor.user(decision.reviewer)
        self.record(when, review_events.decision_recorded, decision, actor)
        return decision


# --- the hand-checked set -------------------------------------------------------------------------

#: The frozen "now" of the hand-checked set: Sunday 15 March 2026, noon UTC.
HAND_CHECKED_NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@dataclass
class KnownData:
    now: datetime
    pairs: dict[str, ImagePair]


def hand_checked() -> KnownData:
    """Pairs, cases and vendor calls of early 2026, with the clock at HAND_CHECKED_NOW."""
    applicant = ApplicantFactory()
    pairs: dict[str, ImagePair] = {}

    def decided(
        name: str, day: datetime, status: str, source: str, created: datetime | None = None
    ) -> None:
        pairs[name] = ImagePairFactory(
            applicant=applicant,
            status=status,
            decision_source=source,
            decided_at=day,
            created_at=created or day - timedelta(hours=1),
        )

    def waiting(name: str, created: datetime, status: str = "needs_review") -> None:
        pairs[name] = ImagePairFactory(applicant=applicant, status=status, created_at=created)

    # 10 March: three automatic approvals, one automatic rejection, one reviewer approval (A).
    for n in range(3):
        decided(f"auto-approve-{n}", at(10, 10 + n), "approved", "auto")
    decided("auto-reject", at(10, 14), "rejected", "auto")
    decided("case-a", at(10, 15), "approved", "reviewer", created=at(10, 8))
    # 12 March: a reviewer rejection (B, decided late), a request for new photos, a failure.
    decided("case-b", at(12, 20), "rejected", "reviewer", created=at(11, 7))
    decided("resubmit", at(12, 9), "resubmit", "auto")
    decided("failed", at(12, 10), "failed", "")
    # 20 February: a reviewer rejection (E) of a case opened before the period.
    decided("case-e", at(20, 9, month=2), "rejected", "reviewer", created=at(1, 8, 2))
    # Outside the period: an old approval.
    decided("old", datetime(2026, 1, 1, 12, tzinfo=UTC), "approved", "auto")
    # Waiting for a reviewer: C (overdue since yesterday) and D (opened this morning).
    waiting("case-c", at(13, 9))
    waiting("case-d", at(15, 7))
    waiting("today", at(15, 9), status="received")

    for name, created, due, decided_at in [
        ("case-a", at(10, 9), at(11, 9), at(10, 15)),
        ("case-b", at(11, 8), at(12, 8), at(12, 20)),
        ("case-c", at(13, 10), at(14, 10), None),
        ("case-d", at(15, 8), at(16, 8), None),
        ("case-e", at(1, 8, 2), at(2, 8, 2), at(20, 9, 2)),
    ]:
        ReviewCaseFactory(
            pair=pairs[name],
            created_at=created,
            due_at=due,
            status="decided" if decided_at else "open",
            decided_at=decided_at,
        )

    # Vendor calls of one pair on 10 March (advance) and 12 March (zoloz).
    def call(day: datetime, **fields: Any) -> None:
        AttemptFactory(pair=pairs["auto-approve-0"], started_at=day, finished_at=day, **fields)

    advance = {"vendor": "advance", "status": "completed", "billable": True, "verdict": "approve"}
    for score, latency in [(10, 100), (60, 200), (72, 300), (97, 400), (100, 1000)]:
        call(
            at(10),
            **advance,
            score=score,
            latency_ms=latency,
            thresholds={"approve_at": 70, "reject_below": 55},
        )
    call(at(10), vendor="advance", status="failed", error_code="TIMEOUT", latency_ms=15000)
    for score, latency in [(50, 500), (90, 700)]:
        call(
            at(12),
            vendor="zoloz",
            status="completed",
            score=score,
            latency_ms=latency,
            billable=True,
        )
    call(
        at(12),
        vendor="zoloz",
        status="invalid_input",
        error_code="NO_FACE",
        latency_ms=300,
        billable=True,
    )
    # Pre-flight: two pairs answered locally without calling advance, one passed on.
    for passed in (False, False, True):
        call(
            at(12),
            vendor="local",
            purpose="preflight",
            status="completed" if passed else "invalid_input",
            error_code="" if passed else "NO_FACE",
            latency_ms=50,
            details={"target_vendor": "advance", "vendor_called": None if passed else False},
        )
    return KnownData(HAND_CHECKED_NOW, pairs)
