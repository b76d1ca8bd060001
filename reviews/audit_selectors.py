"""Reads for the audit page and its filter: the words for each event type, the filters, and
keyset pages of the trail (DESIGN §8)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from kyc.audit.models import AuditEvent
from reviews.models import ReviewCase

#: Every event type the code writes (kyc/audit/events.py, reviews/events.py), in the words the
#: audit page, its filter and the case timeline show; the filter offers them in this order.
EVENT_LABELS: dict[str, str] = {
    # An image pair's life
    "pair.submitted": "Pair submitted",
    "comparison.recorded": "Comparison recorded",
    "comparison.second_opinion": "Second opinion requested",
    "comparison.rerun_requested": "Re-run requested",
    "pair.decided": "Pair decided",
    "review.opened": "Review case opened",
    "review.claimed": "Case claimed",
    "review.released": "Case released",
    "review.skipped": "Case skipped",
    "review.assigned": "Case assigned",
    "review.decision": "Decision",
    "review.four_eyes_required": "Second review required",
    "images.viewed": "Images viewed",
    "images.purged": "Images purged",
    "evidence.exported": "Evidence exported",
    "applicant.erased": "Applicant erased",
    "applicant.legal_hold": "Legal hold changed",
    # Configuration
    "vendor_config.changed": "Vendor settings changed",
    "vendor_config.connection_tested": "Vendor connection tested",
    "retention_policy.changed": "Retention policy changed",
    "reason_code.created": "Reason code created",
    "reason_code.changed": "Reason code changed",
    "api_client.created": "API client created",
    "api_client.changed": "API client changed",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "webhook_secret.rotated": "Webhook secret rotated",
    "webhook_secret.retired": "Previous webhook secret retired",
    # Exports
    "audit.exported": "Audit trail exported",
    "decisions.exported": "Decisions exported",
    # Staff access
    "staff.signed_in": "Signed in",
    "staff.sign_in_failed": "Sign-in failed",
    "staff.signed_out": "Signed out",
    "staff.locked_out": "Sign-in locked out",
    "staff.unlocked": "Sign-in unlocked",
    "user.created": "User created",
    "user.deactivated": "User deactivated",
    "user.reactivated": "User reactivated",
    "user.deleted": "User deleted",
    "user.privileges_changed": "Staff or superuser status changed",
    "user.groups_changed": "User's roles changed",
    "user.permissions_changed": "User's own permissions changed",
    "group.permissions_changed": "Role's permissions changed",
    "user.sso_linked": "Single sign-on linked",
    "user.sso_unlinked": "Single sign-on unlinked",
    "second_factor.enrolled": "Second factor set up",
    "second_factor.passed": "Second factor passed",
    "second_factor.removed": "Second factor removed by its user",
    "second_factor.reset": "Second factor reset by an administrator",
    "second_factor.policy_changed": "Second-factor rule of a role changed",
    "sessions.ended": "Signed out everywhere",
    # Blind QA of automatic decisions (issue 18)
    "qa.sampled": "Drawn for blind QA",
    "qa.answered": "QA answer",
    "pair.decision_changed": "Decision changed after review",
    "qa_rule.created": "QA sampling rule created",
    "qa_rule.changed": "QA sampling rule changed",
    # Contests (GDPR Art. 22) and score drift (issue 18)
    "pair.contested": "Contested by the applicant",
    "contest.decided": "Contest decided",
    "contest.statements_erased": "Contest statements erased",
    "contest.statement_read": "Contest statement read",
    "review.recused": "Reviewers recused",
    "score_drift.detected": "Score drift detected",
}
EVENT_TYPES_CACHE_SECONDS = 600


def event_label(event_type: str) -> str:
    """What people call an event type; a type without a label of its own reads as words
    ("thing.did_this" → "Thing: did this") rather than as code."""
    if event_type in EVENT_LABELS:
        return EVENT_LABELS[event_type]
    subject, _, action = event_type.partition(".")
    words = subject.replace("_", " ").capitalize()
    return f"{words}: {action.replace('_', ' ')}" if action else words


def event_types() -> list[str]:
    """Every event type the filter offers: the known ones and any other the trail holds.

    The distinct scan is cached: new kinds of events appear rarely, and a long trail makes
    DISTINCT a full index walk.
    """
    key = "reviews:audit-event-types"
    types: list[str] | None = cache.get(key)
    if types is None:
        found = AuditEvent.objects.order_by().values_list("event_type", flat=True).distinct()
        types = [*EVENT_LABELS, *sorted(set(found) - set(EVENT_LABELS))]
        cache.set(key, types, EVENT_TYPES_CACHE_SECONDS)
    return types


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    event_type: str = ""
    subject: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_params(self) -> dict[str, str]:
        values = {
            "actor": self.actor,
            "event_type": self.event_type,
            "subject": self.subject,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


_TYPED_SUBJECT = re.compile(r"(?P<type>[a-z_]+):(?P<id>.+)")


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.actor:
        actor = filters.actor.strip()
        events = events.filter(
            Q(actor_label__iexact=actor) | Q(actor_id=actor) | Q(actor_type=actor)
        )
    if filters.event_type:
        events = events.filter(event_type=filters.event_type)
    if filters.subject:
        subject = filters.subject.strip()
        # "user:5" names one subject; a bare "5" is any subject with that id (a user and a group
        # may share one), which is what someone pasting an id expects.
        typed = _TYPED_SUBJECT.fullmatch(subject)
        if typed:
            events, subject = events.filter(subject_type=typed["type"]), typed["id"]
        # A case id means its pair: the pair's public id is what every event names.
        pair_id = (
            ReviewCase.objects.filter(public_id=subject).values_list("pair__public_id", flat=True)
            if _looks_like_uuid(subject)
            else None
        )
        subjects = [subject, *(str(p) for p in pair_id or [])]
        events = events.filter(subject_id__in=subjects)
    if filters.date_from:
        events = events.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        events = events.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return events


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def audit_page(
    events: QuerySet[AuditEvent], before: int | None, size: int = 50
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, keyset-paginated on `seq` (no OFFSET, no COUNT over a long trail)."""
    if before is not None:
        events = events.filter(seq__lt=before)
    rows = list(events.order_by("-seq")[: size + 1])
    older = rows[size - 1].seq if len(rows) > size else None
    return rows[:size], older
