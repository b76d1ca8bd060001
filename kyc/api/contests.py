"""`POST /api/v1/image-pairs/<id>/contest`: the applicant contests an automatic rejection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kyc.api.serializers import ErrorSerializer, TextOnlySerializer
from kyc.api.views import ClientApiMixin, _idempotency_key, _text
from kyc.models import PairContest
from kyc.ops.logs import mask_in_context
from kyc.representation import ContestSerializer
from kyc.selectors import pairs_for_client
from kyc.services.contests import contest_pair

STATEMENT_MASK = "[statement]"


class ContestRequestSerializer(TextOnlySerializer):
    """The applicant's reasons for contesting, in their own words. Shown to the reviewers who
    decide the contest; never returned by the API, and erased with the applicant."""

    statement = serializers.CharField(
        max_length=PairContest.STATEMENT_MAX_LENGTH,
        help_text=f"1 to {PairContest.STATEMENT_MAX_LENGTH} characters.",
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class PairContestView(ClientApiMixin):
    @extend_schema(
        summary="Contest an automatic rejection",
        description="Asks for a person to decide a pair the service rejected automatically "
        "(GDPR Art. 22(3)). A reviewer who had no part in the pair decides, and a second "
        "reviewer confirms; the pair stays `rejected` meanwhile. Webhooks: "
        "`pair.contest_received` now, `pair.contest_decided` with the outcome "
        "(`decision_changed`). A retry with the same Idempotency-Key and statement gets the "
        "first answer with `Idempotent-Replayed: true`.",
        request=ContestRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retries with the same key and statement get the first answer.",
            )
        ],
        responses={
            201: ContestSerializer,
            200: OpenApiResponse(ContestSerializer, description="A replayed retry."),
            400: _error(
                "`missing_field`, `too_long` or `invalid_text` (field `statement`), "
                "`invalid_value` or `invalid_text` (field `Idempotency-Key`)."
            ),
            401: _error("Missing or unknown API key."),
            404: _error("No such pair for this client."),
            409: _error(
                "`not_contestable`: the pair was not rejected automatically, or is still in "
                "progress; `already_contested`; `idempotency_conflict`: the key was used with "
                "another statement."
            ),
            429: _error("Too many requests; see the Retry-After header."),
        },
    )
    def post(self, request: Request, pair_id: Any) -> Response:
        data = request.data
        if isinstance(data, Mapping):
            # Before anything can fail and log: the applicant's words stay out of every line.
            mask_in_context(_text(data.get("statement")), STATEMENT_MASK)
        pair = get_object_or_404(pairs_for_client(self.client), public_id=pair_id)
        serializer = ContestRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        contest, replayed = contest_pair(
            self.client,
            pair,
            serializer.validated_data["statement"],
            idempotency_key=_idempotency_key(request),
        )
        answer = ContestSerializer(contest).data
        if replayed:
            return Response(answer, headers={"Idempotent-Replayed": "true"})
        return Response(answer, status=status.HTTP_201_CREATED)
