"""A million attempts and a hundred thousand labels for bench/calibration.py, written by PostgreSQL.

tests.seed builds every row in Python (about 100 pairs a second here with its audit trail), so
a million attempts would take over an hour. The calibration page reads only attempts, labels and
QA items, so this writes those in a few INSERT … SELECT statements instead: one template row of
each table is made with the tests' factories and cloned per generated row, its columns taken
over except the ones a generated row sets (`clone`).

What it writes, with `pairs` pairs over `days` days (PostgreSQL's random(), seeded):

- pairs on backends in the tests' traffic mix (ADVANCE 62 %, FinAuth 20 %, ZOLOZ 12 %, Alibaba
  6 %), each with its deciding attempt; ADVANCE pairs also have their local pre-flight check, 4 %
  of pairs a failed call before it, and a tenth of the reviewed ones a second opinion from another
  backend (a labelled score of that backend too);
- ground truth per pair: `review_share` of the pairs score inside their backend's band (the
  nearer the approve line, the likelier the same person), the rest are the same person nine times
  in ten, N(84, 7) if so and N(30, 14) if not;
- QA items for 2 % of automatic approvals and 5 % of automatic rejections, answered (2 % "can't
  tell"), each a `qa` label weighted by its draw;
- `review` labels on band pairs and a `senior` label on some of them, until the labels number
  `labels` with the QA ones (labels of existing decisions, written as reviews.labels would, too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

#: Auto-decisions QA draws, as the issue's example rules: 2 % of approvals, 5 % of rejections.
QA_RATES = {"approved": 0.02, "rejected": 0.05}
REVIEWERS = 6


@dataclass(frozen=True)
class Written:
    pairs: int
    attempts: int
    qa_items: int
    labels: dict[str, int]


def clone(
    model: type[models.Model],
    template_pk: int,
    values: dict[str, str],
    source: str,
    where: str = "TRUE",
) -> int:
    """INSERT one row of `model` per row of `source` (a FROM list) that meets `where`, copying
    the template row's columns except the ones `values` gives as SQL expressions."""
    table = model._meta.db_table
    columns = [field.column for field in model._meta.concrete_fields if not field.primary_key]
    unknown = set(values) - set(columns)
    if unknown:
        raise ValueError(f"{table} has no column {', '.join(sorted(unknown))}")
    select = [values.get(column, f"t.{column}") for column in columns]
    # The bench's own SQL fragments, no outside input.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(select)} "
    sql += f"FROM {table} t, {source} WHERE ({where}) AND t.{model._meta.pk.column} = %s"
    return _execute(sql, [template_pk])


def _execute(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def seed_labelled(*, pairs: int, days: int, labels: int, review_share: float) -> Written:
    from django.contrib.auth import get_user_model

    from kyc.models import Applicant, ComparisonAttempt, ImagePair
    from reviews.models import Label, QaItem
    from tests.factories import ApplicantFactory, AttemptFactory, ImagePairFactory, UserFactory

    with transaction.atomic():
        reviewers = [
            get_user_model().objects.filter(username=f"bench-labeller-{i}").first()
            or UserFactory(username=f"bench-labeller-{i}")
            for i in range(REVIEWERS)
        ]
        ids = ",".join(str(user.pk) for user in reviewers)
        labeller = f"(ARRAY[{ids}])[1 + mod(b.n, {REVIEWERS})]"
        applicant = ApplicantFactory()
        pair = ImagePairFactory(applicant=applicant)
        attempt = AttemptFactory(pair=pair, number=1, status="completed", score=50.0)
        item = QaItem.objects.create(
            pair=pair, backend="advance", auto_outcome="approved", probability=0.02
        )
        label = Label.objects.create(
            pair=pair, verdict="same", source="qa", labeller=reviewers[0], qa_item=item
        )
        _generate(pairs=pairs, days=days, review_share=review_share)
        written_pairs = _pairs(applicant.pk, pair.pk)
        attempts = _attempts(attempt.pk)
        qa_items = _qa_items(item.pk, labeller)
        made = _labels(label.pk, labeller, target=labels)
        # The templates were only shapes to copy.
        Label.objects.filter(pk=label.pk).delete()
        QaItem.objects.filter(pk=item.pk).delete()
        ComparisonAttempt.objects.filter(pk=attempt.pk).delete()
        ImagePair.objects.filter(pk=pair.pk).delete()
        Applicant.objects.filter(pk=applicant.pk).delete()
    return Written(written_pairs, attempts, qa_items, made)


def _generate(*, pairs: int, days: int, review_share: float) -> None:
    """bench_pair: one row per pair to write, with its backend, score, truth and dice."""
    _execute("SELECT setseed(0.42)")
    _execute(
        """
        CREATE TEMP TABLE bench_draw AS
        SELECT n,
               now() - random() * %(days)s * interval '1 day' AS at,
               random() AS v, random() < 0.9 AS same,
               sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z,
               random() < %(band)s AS in_band, random() AS u,
               random() AS draw, random() AS pick
        FROM generate_series(1, %(pairs)s) AS n
        """,
        {"days": days, "pairs": pairs, "band": review_share},
    )
    _execute(
        """
        CREATE TEMP TABLE bench_pair AS
        SELECT d.n, d.at, d.draw, d.pick, s.vendor, c.approve_at, c.reject_below,
               md5('bench-applicant-' || d.n)::uuid AS applicant_public_id,
               md5('bench-pair-' || d.n)::uuid AS public_id,
               CASE WHEN d.in_band THEN random() < d.u ELSE d.same END AS same,
               CASE WHEN d.in_band
                    THEN round((c.reject_below + d.u * (c.approve_at - c.reject_below - 0.1))
                               ::numeric, 1)::float
                    ELSE round(greatest(0, least(100,
                         CASE WHEN d.same THEN 84 + 7 * d.z ELSE 30 + 14 * d.z END))::numeric,
                         1)::float
               END AS score
        FROM bench_draw d
        CROSS JOIN LATERAL (SELECT CASE WHEN d.v < 0.62 THEN 'advance' WHEN d.v < 0.82
                            THEN 'finauth' WHEN d.v < 0.94 THEN 'zoloz' ELSE 'alibaba' END
                            AS vendor) s
        JOIN vendors_vendorconfig c ON c.backend = s.vendor
        """
    )
    _execute(
        """
        ALTER TABLE bench_pair ADD COLUMN outcome text;
        UPDATE bench_pair SET outcome = CASE WHEN score >= approve_at THEN 'approved'
                                             WHEN score < reject_below THEN 'rejected'
                                             ELSE 'needs_review' END;
        """
    )


def _pairs(applicant_template: int, pair_template: int) -> int:
    from kyc.models import Applicant, ImagePair

    clone(
        Applicant,
        applicant_template,
        {
            "public_id": "b.applicant_public_id",
            "external_ref": "'bench-' || b.n",
            "created_at": "b.at",
        },
        "bench_pair b",
    )
    written = clone(
        ImagePair,
        pair_template,
        {
            "public_id": "b.public_id",
            "applicant_id": "a.id",
            "selfie_sha256": "md5('s' || b.n) || md5('S' || b.n)",
            "reference_sha256": "md5('r' || b.n) || md5('R' || b.n)",
            "status": "b.outcome",
            "decision_source": "CASE WHEN b.outcome = 'needs_review' THEN '' ELSE 'auto' END",
            "created_at": "b.at",
            "updated_at": "b.at",
            "decided_at": "CASE WHEN b.outcome = 'needs_review' THEN NULL ELSE b.at END",
        },
        "bench_pair b JOIN kyc_applicant a ON a.public_id = b.applicant_public_id",
    )
    _execute(
        "ALTER TABLE bench_pair ADD COLUMN pair_id bigint; "
        "UPDATE bench_pair b SET pair_id = p.id FROM kyc_imagepair p "
        "WHERE p.public_id = b.public_id; "
        "CREATE INDEX ON bench_pair (pair_id); ANALYZE bench_pair"
    )
    return written


def _attempts(template: int) -> int:
    from kyc.models import ComparisonAttempt

    def attempt(values: dict[str, str], where: str = "TRUE") -> int:
        common = {
            "public_id": "gen_random_uuid()",
            "pair_id": "b.pair_id",
            "vendor_request_id": "md5(random()::text)",
            "created_at": "b.at",
            "started_at": "b.at",
            "finished_at": "b.at + interval '1 second'",
        }
        return clone(ComparisonAttempt, template, {**common, **values}, "bench_pair b", where)

    verdict = (
        "CASE b.outcome WHEN 'approved' THEN 'approve' WHEN 'rejected' THEN 'reject' "
        "ELSE 'review' END"
    )
    return (
        attempt(
            {
                "vendor": "b.vendor",
                "number": "3",
                "status": "'completed'",
                "purpose": "'decide'",
                "score": "b.score",
                "verdict": verdict,
            }
        )
        + attempt(
            {
                "vendor": "'local'",
                "number": "1",
                "status": "'completed'",
                "purpose": "'preflight'",
                "score": "NULL",
                "verdict": "''",
            },
            "b.vendor = 'advance'",
        )
        + attempt(
            {
                "vendor": "b.vendor",
                "number": "2",
                "status": "'failed'",
                "purpose": "'decide'",
                "score": "NULL",
                "verdict": "''",
                "error_code": "'TIMEOUT'",
            },
            "b.draw > 0.96",
        )
        + attempt(
            {
                "vendor": "CASE WHEN b.vendor = 'advance' THEN 'zoloz' ELSE 'advance' END",
                "number": "4",
                "status": "'completed'",
                "purpose": "'second_opinion'",
                "score": "greatest(0, least(100, b.score + 10 * (b.pick - 0.5)))",
                "verdict": "''",
            },
            "b.outcome = 'needs_review' AND b.pick < 0.1",
        )
    )


def _qa_items(template: int, labeller: str) -> int:
    from reviews.models import QaItem

    rate = " ".join(f"WHEN '{outcome}' THEN {p}" for outcome, p in QA_RATES.items())
    return clone(
        QaItem,
        template,
        {
            "public_id": "gen_random_uuid()",
            "pair_id": "b.pair_id",
            "backend": "b.vendor",
            "auto_outcome": "b.outcome",
            "probability": f"CASE b.outcome {rate} END",
            "answer": "CASE WHEN b.pick < 0.02 THEN 'unsure' WHEN b.same THEN 'same' "
            "ELSE 'different' END",
            "answered_by_id": labeller,
            "answered_at": "b.at + interval '1 day'",
            "created_at": "b.at",
        },
        "bench_pair b",
        f"b.draw < CASE b.outcome {rate} ELSE 0 END",
    )


def _labels(template: int, labeller: str, *, target: int) -> dict[str, int]:
    """QA answers and existing decisions as labels, then band pairs' reviews (a tenth of them
    confirmed by a senior) until there are `target` labels."""
    from reviews.labels import DIFFERENT_PERSON_REASONS
    from reviews.models import Label

    made = {"qa": 0, "decisions": 0, "review": 0, "senior": 0}
    made["qa"] = clone(
        Label,
        template,
        {
            "pair_id": "q.pair_id",
            "verdict": "q.answer",
            "source": "'qa'",
            "labeller_id": "q.answered_by_id",
            "qa_item_id": "q.id",
            "decision_id": "NULL",
            "created_at": "q.answered_at",
        },
        "reviews_qaitem q JOIN bench_pair b ON b.pair_id = q.pair_id",
    )
    different = ", ".join(f"'{code}'" for code in sorted(DIFFERENT_PERSON_REASONS))
    # As reviews.labels.record_decision_label writes them (tests.seed writes decisions only).
    made["decisions"] = clone(
        Label,
        template,
        {
            "pair_id": "c.pair_id",
            "verdict": "CASE WHEN d.outcome = 'approve' THEN 'same' "
            f"WHEN r.code IN ({different}) THEN 'different' ELSE 'unsure' END",
            "source": "CASE WHEN d.stage = 'second' THEN 'senior' ELSE 'review' END",
            "labeller_id": "d.reviewer_id",
            "qa_item_id": "NULL",
            "decision_id": "d.id",
            "created_at": "d.created_at",
        },
        "reviews_decision d JOIN reviews_reviewcase c ON c.id = d.case_id "
        "LEFT JOIN reviews_reasoncode r ON r.id = d.reason_code_id",
        "d.outcome IN ('approve', 'reject')",
    )
    remaining = max(0, target - made["qa"] - made["decisions"])
    reviews = remaining * 10 // 11
    _execute(
        "CREATE TEMP TABLE bench_reviewed AS SELECT * FROM bench_pair "
        "WHERE outcome = 'needs_review' ORDER BY n LIMIT %s",
        [reviews],
    )
    verdict = "CASE WHEN b.pick > 0.97 THEN 'unsure' WHEN b.same THEN 'same' ELSE 'different' END"
    base = {
        "pair_id": "b.pair_id",
        "labeller_id": labeller,
        "qa_item_id": "NULL",
        "decision_id": "NULL",
    }
    made["review"] = clone(
        Label,
        template,
        {
            **base,
            "verdict": verdict,
            "source": "'review'",
            "created_at": "b.at + interval '7 hours'",
        },
        "bench_reviewed b",
    )
    made["senior"] = clone(
        Label,
        template,
        {
            **base,
            "verdict": verdict.replace("b.pick > 0.97", "false"),
            "source": "'senior'",
            "labeller_id": labeller.replace("mod(b.n,", "mod(b.n + 1,"),
            "created_at": "b.at + interval '1 day'",
        },
        f"(SELECT * FROM bench_reviewed ORDER BY n LIMIT {remaining - made['review']:d}) b",  # noqa: S608
    )
    return made
