"""An image pair as clients see it: the one producer of its JSON, for the API's answers and the
`data` of its webhooks (DESIGN §5). The API documents it in the OpenAPI schema; services use it
for webhook payloads, so it lives here, below both, rather than in `kyc.api`.

A serializer's docstring is its description in the OpenAPI schema, read by clients: notes for
us are comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kyc.models import FINAL_PAIR_STATUSES, ComparisonAttempt, ImagePair, PairStatus
from kyc.selectors import with_attempt_summaries
from vendors.verdicts import judged_lines


class IsoDateTimeField(serializers.DateTimeField):
    """An instant as `datetime.isoformat()` writes it ("2025-03-14T09:27:01+00:00", microseconds
    only when there are some): what the API has always sent. DRF's own format would say "Z" and
    convert to the server's TIME_ZONE, changing bytes clients parse and webhook signatures cover."""

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class BlankAsNullField(serializers.CharField):
    """An empty text column goes out as null: the API has one way of saying "none"."""

    def get_attribute(self, instance: Any) -> str | None:
        return super().get_attribute(instance) or None


class AsStoredNumberField(serializers.FloatField):
    """A number sent as the row holds it: FloatField would turn a threshold recorded as 70 into
    70.0, which reads the same but is not the same bytes."""

    def to_representation(self, value: Any) -> Any:
        return value


class AttemptSummarySerializer(serializers.Serializer[ComparisonAttempt]):
    vendor = serializers.CharField()
    number = serializers.IntegerField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    score = AsStoredNumberField(allow_null=True)
    error_code = BlankAsNullField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)


class ThresholdsSerializer(serializers.Serializer[Mapping[str, Any]]):
    # The lines the result was judged against, as recorded; one the snapshot lacks is null.
    approve_at = AsStoredNumberField(allow_null=True)
    reject_below = AsStoredNumberField(allow_null=True)

    def get_attribute(self, instance: Any) -> Mapping[str, Any]:
        attempt: ComparisonAttempt = instance
        return judged_lines(attempt.thresholds)


class ResultSerializer(serializers.Serializer[ComparisonAttempt]):
    vendor = serializers.CharField()
    score = AsStoredNumberField(allow_null=True)
    verdict = BlankAsNullField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField(), source="verdict_reasons")
    thresholds = ThresholdsSerializer()
    error_code = BlankAsNullField(allow_null=True)


class DecisionSerializer(serializers.Serializer[ImagePair]):
    # Null until the pair has a final status (a pair in review has no decision yet).
    outcome = serializers.CharField(source="status")
    source = BlankAsNullField(source="decision_source", allow_null=True)  # type: ignore[assignment]
    decided_at = IsoDateTimeField(allow_null=True)

    def get_attribute(self, instance: ImagePair) -> ImagePair | None:
        return instance if instance.status in FINAL_PAIR_STATUSES else None


class ImageFactsSerializer(serializers.Serializer[Mapping[str, Any]]):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()

    def get_attribute(self, instance: Any) -> Mapping[str, Any]:
        # The pair keeps each image's facts in columns named after it: `selfie_sha256`, ...
        pair: ImagePair = instance
        return {name: getattr(pair, f"{self.field_name}_{name}") for name, _ in self.fields.items()}


class ImagesSerializer(serializers.Serializer[ImagePair]):
    selfie = ImageFactsSerializer()
    reference = ImageFactsSerializer()
    purged_at = IsoDateTimeField(source="images_purged_at", allow_null=True)


class KnownFaceSerializer(serializers.Serializer[Mapping[str, Any]]):
    """The known-face check of the selfie (only for clients that enabled it): `pending` until it
    ran; `matched` when the face was seen under another of your applicants
    (`face_seen_before`) or is on your face blocklist (`face_blocklisted`)."""

    status = serializers.ChoiceField(choices=["pending", "clear", "matched", "failed"])
    reasons = serializers.ListField(child=serializers.CharField())
    matched_applicant_refs = serializers.ListField(child=serializers.CharField())


# What a pair's JSON is, for the OpenAPI schema and for clients: `pair_json` below produces it.
# It reads the applicant, the deciding attempt and the attempts; `kyc.selectors.pairs_for_client`
# loads exactly those with the pairs, so a field reading any other relation belongs there too
# (tests/kyc/api/test_pair_representation.py counts the queries, pins every key and checks that
# `pair_json` writes what these declarations describe).
class PairSerializer(serializers.Serializer[ImagePair]):
    """An image pair as the API answers it; its webhooks carry the same object as `data`."""

    id = serializers.UUIDField(source="public_id")
    applicant_ref = serializers.CharField(source="applicant.external_ref")
    status = serializers.ChoiceField(choices=PairStatus.choices)
    status_reason = BlankAsNullField(allow_null=True)
    decision = DecisionSerializer(source="*", allow_null=True)
    result = ResultSerializer(source="deciding_attempt", allow_null=True)
    reference_source = serializers.CharField()
    requested_vendor = BlankAsNullField(allow_null=True)
    callback_url = BlankAsNullField(allow_null=True)
    metadata = serializers.DictField()
    images = ImagesSerializer(source="*")
    attempts = AttemptSummarySerializer(many=True)
    # null unless the client enabled the known-face check; read from the pair's own column.
    known_face = KnownFaceSerializer(allow_null=True)
    created_at = IsoDateTimeField()
    updated_at = IsoDateTimeField()

    def to_representation(self, instance: ImagePair) -> dict[str, Any]:
        return pair_json(instance)


def pair_data(pair: ImagePair) -> dict[str, Any]:
    """The pair's JSON, for a webhook's `data`: its attempts are read as the list shows them."""
    return pair_json(with_attempt_summaries(pair))


# --- the producer ------------------------------------------------------------------------------
# Written out rather than walked field by field through DRF (a get_attribute and a
# to_representation per field, nested serializers' the same): a pipeline attempt, whose webhook
# carries the pair, took 16.80 M instructions instead of 17.24 M (bench/attempt_cost.py under
# callgrind), and every page of the API paid the walk per pair.
# Each line does what the declared field above does with the value, None included.


def pair_json(pair: ImagePair) -> dict[str, Any]:
    """The JSON `PairSerializer` describes, for a pair loaded as `kyc.selectors` loads it."""
    return {
        "id": str(pair.public_id),
        "applicant_ref": str(pair.applicant.external_ref),
        "status": _text(pair.status),
        "status_reason": _text_or_null(pair.status_reason),
        "decision": _decision(pair) if pair.status in FINAL_PAIR_STATUSES else None,
        "result": _result(pair.deciding_attempt),
        "reference_source": _text(pair.reference_source),
        "requested_vendor": _text_or_null(pair.requested_vendor),
        "callback_url": _text_or_null(pair.callback_url),
        "metadata": dict(pair.metadata),
        "images": {
            "selfie": _image_facts(pair, "selfie"),
            "reference": _image_facts(pair, "reference"),
            "purged_at": _instant(pair.images_purged_at),
        },
        "attempts": [_attempt_summary(attempt) for attempt in pair.attempts.all()],
        "known_face": _known_face(pair.known_face),
        "created_at": _instant(pair.created_at),
        "updated_at": _instant(pair.updated_at),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _text_or_null(value: Any) -> str | None:
    return str(value) if value else None


def _whole(value: Any) -> int | None:
    return None if value is None else int(value)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _decision(pair: ImagePair) -> dict[str, Any]:
    return {
        "outcome": _text(pair.status),
        "source": _text_or_null(pair.decision_source),
        "decided_at": _instant(pair.decided_at),
    }


def _result(attempt: ComparisonAttempt | None) -> dict[str, Any] | None:
    if attempt is None:
        return None
    lines = judged_lines(attempt.thresholds)
    return {
        "vendor": _text(attempt.vendor),
        "score": attempt.score,
        "verdict": _text_or_null(attempt.verdict),
        "reasons": _texts(attempt.verdict_reasons),
        "thresholds": {
            "approve_at": lines.get("approve_at"),
            "reject_below": lines.get("reject_below"),
        },
        "error_code": _text_or_null(attempt.error_code),
    }


def _texts(values: Any) -> list[str | None] | None:
    return None if values is None else [_text(value) for value in values]


def _image_facts(pair: ImagePair, which: str) -> dict[str, Any]:
    return {
        "sha256": _text(getattr(pair, f"{which}_sha256")),
        "size": _whole(getattr(pair, f"{which}_size")),
        "width": _whole(getattr(pair, f"{which}_width")),
        "height": _whole(getattr(pair, f"{which}_height")),
        "format": _text(getattr(pair, f"{which}_format")),
    }


def _attempt_summary(attempt: ComparisonAttempt) -> dict[str, Any]:
    return {
        "vendor": _text(attempt.vendor),
        "number": _whole(attempt.number),
        "purpose": _text(attempt.purpose),
        "status": _text(attempt.status),
        "score": attempt.score,
        "error_code": _text_or_null(attempt.error_code),
        "latency_ms": _whole(attempt.latency_ms),
    }


def _known_face(check: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "status": _text(check["status"]),
        "reasons": _texts(check["reasons"]),
        "matched_applicant_refs": _texts(check["matched_applicant_refs"]),
    }


class ContestSerializer(serializers.Serializer[Any]):
    """An applicant's contest of an automatic rejection (GDPR Art. 22): a person decides it.

    `status` is `open` until a reviewer (with a second one confirming) decides; then `upheld`
    (the rejection stands) or `changed` (`pair_status` says what the pair is now). The statement
    sent is not returned.
    """

    id = serializers.UUIDField(source="public_id")
    pair_id = serializers.UUIDField(source="pair.public_id")
    status = serializers.ChoiceField(choices=["open", "upheld", "changed"])
    decision_changed = serializers.SerializerMethodField()
    pair_status = serializers.CharField(source="pair.status")
    created_at = IsoDateTimeField()
    decided_at = IsoDateTimeField(allow_null=True)

    @extend_schema_field({"type": "boolean", "nullable": True})
    def get_decision_changed(self, contest: Any) -> bool | None:
        """null while the contest is open."""
        return None if contest.status == "open" else contest.status == "changed"
