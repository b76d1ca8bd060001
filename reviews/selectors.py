"""Reads for the reviewer and auditor pages. Query counts never grow with the page size."""

from __future__ import annotations

import re
import time as time_module
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce

from kyc.audit.models import AuditEvent
from kyc.models import AttemptPurpose, ComparisonAttempt, ImagePair, PairStatus
from kyc.users import StaffUser
from reviews.models import (
    CaseQueue,
    CaseStatus,
    Decision,
    DecisionStage,
    ReasonCode,
    ReviewCase,
    ReviewReason,
)
from reviews.services import ACTIVE_STATUSES, QUEUE_COUNTS_KEY
from vendors.models import Backend, VendorConfig

#: Every reason a case can carry, with the words and colour the pages use.
REASONS: dict[str, tuple[str, str]] = {
    ReviewReason.SCORE_IN_BAND: ("Score in band", "amber"),
    ReviewReason.AGE_RISK: ("Age risk", "amber"),
    ReviewReason.GENDER_RISK: ("Gender risk", "amber"),
    ReviewReason.AGE_GAP: ("Age gap", "amber"),
    ReviewReason.VENDOR_DISAGREEMENT: ("Vendor disagrees", "red"),
    ReviewReason.VENDOR_FAILED: ("Vendor failed", "grey"),
    ReviewReason.INVALID_INPUT: ("Image problem", "blue"),
    ReviewReason.MULTIPLE_FACES: ("Several faces", "blue"),
    "no_face": ("No face", "blue"),
    "low_quality": ("Low quality", "blue"),
    "invalid_image": ("Invalid image", "blue"),
    "image_too_large": ("Image size", "blue"),  # vendors fold "too small" in here too (§0)
    "image_too_small": ("Image too small", "blue"),
    "score_missing": ("No score", "grey"),
    ReviewReason.QA_DISAGREEMENT: ("QA disagrees", "red"),
}
SORTS = {
    "priority": ("-priority", "due_at", "pk"),
    "due": ("due_at", "pk"),
    "age": ("created_at", "pk"),
}
SORT_LABELS = {"priority": "Priority", "due": "Due time", "age": "Oldest first"}
STATUS_LABELS: dict[str, str] = {
    CaseStatus.OPEN: "Open",
    CaseStatus.CLAIMED: "Claimed",
    CaseStatus.AWAITING_SECOND_REVIEW: "Awaiting 2nd review",
}
#: Queue counts that took longer than this to compute are cached (shared by every reviewer)...
COUNTS_CACHE_AFTER_SECONDS = 0.02
#: ...for this long, or until the next case transition (`services.forget_queue_counts`), so a
#: reviewer's own claim or decision shows in the counts at once.
COUNTS_CACHE_SECONDS = 30


def reason_label(reason: str) -> str:
    return REASONS.get(reason, (reason.replace("_", " ").capitalize(), "grey"))[0]


def reason_colour(reason: str) -> str:
    return REASONS.get(reason, ("", "grey"))[1]


def has_reason(reason: str) -> Q:
    """Cases whose `reasons` JSON list holds `reason` (GIN-indexed containment on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return Q(reasons__contains=[reason])
    # SQLite has no JSON containment lookup: match the quoted element in the JSON text.
    return Q(reasons__icontains=f'"{reason}"')


# --- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    queue: str = CaseQueue.STANDARD
    vendor: str = ""
    reason: str = ""
    status: str = ""
    assignee: str = ""  # "" | "mine" | "unassigned"
    sort: str = "priority"
    search: str = ""  # a case, pair or applicant id (or the first characters shown), or a ref

    @classmethod
    def from_query(cls, queue: str, params: Any) -> QueueFilters:
        def pick(name: str, allowed: Any, default: str = "") -> str:
            value = str(params.get(name, "") or "")
            return value if value in allowed else default

        return cls(
            queue=queue,
            vendor=pick("vendor", Backend.values),
            reason=pick("reason", REASONS),
            status=pick("status", ACTIVE_STATUSES[queue]),
            assignee=pick("assignee", {"mine", "unassigned"}),
            sort=pick("sort", SORTS, "priority"),
            search=str(params.get("q", "") or "").strip()[:SEARCH_MAX_LENGTH],
        )

    def as_query(self, **changes: str) -> dict[str, str]:
        values = {
            "vendor": self.vendor,
            "reason": self.reason,
            "status": self.status,
            "assignee": self.assignee,
            "sort": self.sort,
            "q": self.search,
            **changes,
        }
        return {key: value for key, value in values.items() if value and value != "priority"}

    @property
    def active(self) -> bool:
        return bool(self.vendor or self.reason or self.status or self.assignee or self.search)


SEARCH_MAX_LENGTH = 64  # an applicant's external ref is at most 64 characters
#: The start of an id as the pages show it (`short`: 8 characters), or more of it.
ID_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]{3,35}")


def matching(cases: QuerySet[ReviewCase], term: str) -> QuerySet[ReviewCase]:
    """Cases whose case, pair or applicant id is `term` (or starts with it, as the pages show
    ids shortened), or whose applicant the client calls `term` (its external ref)."""
    try:
        exact = uuid.UUID(term)
    except ValueError:
        pass
    else:
        return cases.filter(
            Q(public_id=exact) | Q(pair__public_id=exact) | Q(pair__applicant__public_id=exact)
        )
    by_ref = Q(pair__applicant__external_ref=term)
    prefix = term.lower()
    if not ID_PREFIX.fullmatch(prefix):
        return cases.filter(by_ref)
    return cases.annotate(
        case_text=Cast("public_id", CharField()),
        pair_text=Cast("pair__public_id", CharField()),
    ).filter(by_ref | Q(case_text__startswith=prefix) | Q(pair_text__startswith=prefix))


def _pairs_of_applicant(*statuses: str) -> Coalesce:
    """How many other pairs of the row's applicant are in `statuses` (a correlated count)."""
    others = (
        ImagePair.objects.filter(applicant_id=OuterRef("pair__applicant_id"), status__in=statuses)
        .exclude(pk=OuterRef("pair_id"))
        .order_by()
        .values("applicant_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(others, output_field=IntegerField()), 0)


#: Pairs of an applicant still waiting for an answer.
OPEN_PAIR_STATUSES = (PairStatus.RECEIVED, PairStatus.COMPARING, PairStatus.NEEDS_REVIEW)


def queue_cases(user: StaffUser, filters: QueueFilters) -> QuerySet[ReviewCase]:
    """One row per case with what the table shows, in one query (no images, no raw answers)."""
    cases = ReviewCase.objects.filter(
        queue=filters.queue, status__in=ACTIVE_STATUSES[filters.queue]
    )
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.vendor:
        cases = cases.filter(pair__deciding_attempt__vendor=filters.vendor)
    if filters.reason:
        cases = cases.filter(has_reason(filters.reason))
    if filters.assignee == "mine":
        cases = cases.filter(assignee=user)
    elif filters.assignee == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    if filters.search:
        cases = matching(cases, filters.search)
    first = Decision.objects.filter(case=OuterRef("pk"), stage=DecisionStage.FIRST)
    return (
        cases.select_related("pair__deciding_attempt", "assignee")
        .annotate(
            # The senior queue marks escalations and the cases this user reviewed first.
            first_outcome=Subquery(first.values("outcome")[:1]),
            first_reviewer_id=Subquery(first.values("reviewer_id")[:1]),
            # The applicant's story: earlier pairs rejected, sent back, or still waiting.
            others_rejected=_pairs_of_applicant(PairStatus.REJECTED),
            others_resubmit=_pairs_of_applicant(PairStatus.RESUBMIT),
            others_open=_pairs_of_applicant(*OPEN_PAIR_STATUSES),
        )
        .only(
            "public_id",
            "reasons",
            "status",
            "queue",
            "priority",
            "due_at",
            "created_at",
            "claim_expires_at",
            "assignee__username",
            "pair__public_id",
            "pair__requested_vendor",
            "pair__reference_source",
            "pair__deciding_attempt__vendor",
            "pair__deciding_attempt__status",
            "pair__deciding_attempt__score",
            "pair__deciding_attempt__thresholds",
            "pair__deciding_attempt__same_person",
            "pair__deciding_attempt__error_code",
        )
        .order_by(*SORTS[filters.sort])
    )


@dataclass
class Page:
    rows: list[Any]
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1 if self.rows else 0


def paginate(queryset: QuerySet[Any], number: int, size: int) -> Page:
    """Offset pages without COUNT(*): one extra row says whether a next page exists."""
    number = max(1, number)
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    return Page(rows[:size], number, size, len(rows) > size)


@dataclass
class QueueCounts:
    standard: int = 0
    senior: int = 0
    total: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    vendors: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    unassigned: int = 0
    mine: int = 0


def queue_counts(user: StaffUser, queue: str) -> QueueCounts:
    """Counts for the tabs and every filter of one queue, over the whole queue.

    Two aggregate queries (one over the cases, one through the deciding attempts for the
    vendors) plus the user's own count. On a small queue they take a few milliseconds and are
    always fresh; when they get slow (a six-figure queue) the shared part is cached for
    COUNTS_CACHE_SECONDS, so most page loads cost only the user's own count.
    """
    key = QUEUE_COUNTS_KEY.format(queue=queue)
    counts: QueueCounts | None = cache.get(key)
    if counts is None:
        started = time_module.perf_counter()
        counts = _shared_counts(queue)
        if time_module.perf_counter() - started > COUNTS_CACHE_AFTER_SECONDS:
            cache.set(key, counts, COUNTS_CACHE_SECONDS)
    counts = replace(counts)
    counts.mine = ReviewCase.objects.filter(
        assignee=user, queue=queue, status__in=ACTIVE_STATUSES[queue]
    ).count()
    return counts


def _shared_counts(queue: str) -> QueueCounts:
    active = ACTIVE_STATUSES[queue]
    in_queue = Q(queue=queue, status__in=active)
    aggregates: dict[str, Any] = {
        "standard": Count("pk", filter=Q(queue=CaseQueue.STANDARD)),
        "senior": Count("pk", filter=Q(queue=CaseQueue.SENIOR)),
        "total": Count("pk", filter=in_queue),
        "unassigned": Count("pk", filter=in_queue & Q(assignee__isnull=True)),
    }
    for status in active:
        aggregates[f"status:{status}"] = Count("pk", filter=in_queue & Q(status=status))
    for reason in REASONS:
        aggregates[f"reason:{reason}"] = Count("pk", filter=in_queue & has_reason(reason))
    row = ReviewCase.objects.filter(status__in=ACTIVE_STATUSES[CaseQueue.SENIOR]).aggregate(
        **aggregates
    )
    counts = QueueCounts(
        standard=row["standard"],
        senior=row["senior"],
        total=row["total"],
        unassigned=row["unassigned"],
    )
    for name, value in row.items():
        kind, _, item = name.partition(":")
        if kind == "status":
            counts.statuses[item] = value
        elif kind == "reason":
            counts.reasons[item] = value
    by_vendor = (
        ReviewCase.objects.filter(in_queue)
        .values("pair__deciding_attempt__vendor")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts.vendors = {row["pair__deciding_attempt__vendor"]: row["n"] for row in by_vendor}
    return counts


# --- the case page -------------------------------------------------------------------------------


_ATTEMPT_FIELDS = (
    "public_id",
    "pair_id",
    "vendor",
    "number",
    "purpose",
    "status",
    "score",
    "vendor_score",
    "error_code",
    "error_message",
    "vendor_code",
    "vendor_message",
    "vendor_request_id",
    "http_status",
    "billable",
    "same_person",
    "risk_tags",
    "faces",
    "details",
    "thresholds",
    "verdict",
    "verdict_reasons",
    "latency_ms",
    "created_at",
    "finished_at",
)


def case_for_page(case_id: Any) -> ReviewCase:
    return (
        ReviewCase.objects.select_related(
            "pair__applicant", "pair__client", "assignee", "pair__deciding_attempt"
        )
        .defer("pair__deciding_attempt__raw_response", "pair__first_response", "pair__metadata")
        .get(public_id=case_id)
    )


def attempts_of(pair: ImagePair) -> list[ComparisonAttempt]:
    """Every call for this pair, failed and pre-flight ones included (never the raw answers)."""
    return list(pair.attempts.only(*_ATTEMPT_FIELDS).order_by("number"))


def second_opinions(attempts: list[ComparisonAttempt]) -> list[ComparisonAttempt]:
    return [a for a in attempts if a.purpose == AttemptPurpose.SECOND_OPINION]


def decisions_of(case: ReviewCase) -> list[Decision]:
    return list(case.decisions.select_related("reviewer", "reason_code").order_by("created_at"))


def earlier_pairs(pair: ImagePair, limit: int = 20) -> list[ImagePair]:
    """The applicant's other pairs, newest first, with their outcome and case (no images: only
    the stored files' names, to know whether there are photos to link to)."""
    return list(
        ImagePair.objects.filter(applicant_id=pair.applicant_id)
        .exclude(pk=pair.pk)
        .select_related("deciding_attempt", "review_case")
        .only(
            "public_id",
            "applicant",
            "selfie",
            "status",
            "status_reason",
            "decision_source",
            "created_at",
            "decided_at",
            "images_purged_at",
            "deciding_attempt__vendor",
            "deciding_attempt__score",
            "review_case__public_id",
        )
        .order_by("-created_at")[:limit]
    )


def timeline(pair: ImagePair, limit: int = 200) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(subject_type="image_pair", subject_id=str(pair.public_id))
        .order_by("seq")
        .only(
            "seq",
            "created_at",
            "actor_type",
            "actor_label",
            "event_type",
            "params",
            "subject_type",
            "subject_id",
        )[:limit]
    )


def assignable_reviewers(queue: str) -> list[Any]:
    """Active people who can work `queue`, by name: whom a senior may hand a case to.

    Mirrors `permissions.can_work_queue` in SQL (a permission through a group or held directly,
    or a superuser), so the list costs the same few queries however large the team is.
    """
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)

    def holding(codename: str) -> Q:
        granted = Q(
            groups__permissions__codename=codename,
            groups__permissions__content_type__app_label="reviews",
        ) | Q(
            user_permissions__codename=codename,
            user_permissions__content_type__app_label="reviews",
        )
        return Q(pk__in=users.filter(granted | Q(is_superuser=True)).values("pk"))

    allowed = holding("review_case")
    if queue == CaseQueue.SENIOR:
        allowed &= holding("second_review")
    return list(users.filter(allowed).order_by("username"))


def skips_of(case: ReviewCase) -> list[Any]:
    """Why reviewers put this case back, oldest first."""
    return list(case.skips.select_related("reviewer").order_by("created_at"))


def vendor_configs() -> dict[str, VendorConfig]:
    return {config.backend: config for config in VendorConfig.objects.all()}


def reason_codes_by_outcome() -> dict[str, list[ReasonCode]]:
    grouped: dict[str, list[ReasonCode]] = {}
    for code in ReasonCode.objects.filter(is_active=True).order_by("outcome", "position", "label"):
        grouped.setdefault(code.outcome, []).append(code)
    return grouped
