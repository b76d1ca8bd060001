from __future__ import annotations

from base64 import b64decode
from collections.abc import Mapping
from typing import Any
from urllib import parse

from django.core.signing import BadSignature, Signer
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.utils.mediatypes import media_type_matches
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from kyc.api.authentication import ApiKeyAuthentication, ClientPrincipal
from kyc.api.errors import ApiError
from kyc.api.intake import invalid_text, is_text
from kyc.api.parsers import PARSER_CLASSES, BoundedJSONParser
from kyc.api.serializers import (
    ErasureSerializer,
    ErrorSerializer,
    JsonSubmissionSerializer,
    MultipartSubmissionSerializer,
    PairListQuerySerializer,
)
from kyc.audit.chain import Actor
from kyc.models import ApiClient, Applicant, ImagePair
from kyc.ops.logs import APPLICANT_REF, mask_in_context, mask_json_in_context
from kyc.representation import PairSerializer
from kyc.selectors import pairs_for_client
from kyc.services.erasure import erase_applicant
from kyc.services.submissions import Submission, record_first_response, submit_pair

ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in {
        400: "Invalid request: `code` says what, `field` says where.",
        401: "Missing or unknown API key.",
        404: "No such resource for this client.",
        409: "Idempotency-Key reused with a different body, or applicant on legal hold.",
        413: "Image or request too large.",
        415: "Unsupported image format or media type.",
        429: "Too many requests; see the Retry-After header.",
        503: "No comparison backend is enabled; nothing was kept.",
    }.items()
}


class ClientThrottle(SimpleRateThrottle):
    """Per-client request rate, set on the ApiClient (e.g. 600/min)."""

    scope = "api_client"

    def get_rate(self) -> str | None:
        return None  # resolved per request in allow_request

    def allow_request(self, request: Request, view: APIView) -> bool:
        principal = request.user
        if not isinstance(principal, ClientPrincipal):
            return True
        self.rate = principal.client.throttle_rate
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        principal = request.user
        return (
            f"throttle:client:{principal.client.pk}"
            if isinstance(principal, ClientPrincipal)
            else None
        )


class ClientApiMixin(APIView):
    """Authenticated as an API client, throttled per client."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ClientThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before anything can fail and log: the applicant reference in the path or the query
        # string is masked in every line of this request, an exception's text included.
        mask_in_context(
            _text(kwargs.get("applicant_ref") or request.query_params.get("applicant_ref")),
            APPLICANT_REF,
        )
        super().initial(request, *args, **kwargs)

    @property
    def client(self) -> ApiClient:
        principal = self.request.user
        assert isinstance(principal, ClientPrincipal)
        return principal.client


class PairCursor(CursorPagination):
    """Opaque, signed cursors: a cursor we did not issue is refused with 400 `invalid_cursor`
    before it reaches a query (an unsigned one could carry any text as the position)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    _signer = Signer(salt="kyc.api.pair-cursor")

    def encode_cursor(self, cursor: Cursor) -> str:
        url = super().encode_cursor(cursor)
        token = parse.parse_qs(parse.urlsplit(url).query)[self.cursor_query_param][0]
        return replace_query_param(url, self.cursor_query_param, self._signer.sign(token))

    def decode_cursor(self, request: Request) -> Cursor | None:
        signed = request.query_params.get(self.cursor_query_param)
        if signed is None:
            return None
        try:
            # The signature proves we wrote the token, so what it says can be read as it is.
            fields = parse.parse_qs(b64decode(self._signer.unsign(signed)).decode("ascii"))
            return Cursor(
                offset=int(fields.get("o", ["0"])[0]),
                reverse=bool(int(fields.get("r", ["0"])[0])),
                position=fields.get("p", [None])[0],  # type: ignore[arg-type]  # text in DRF too
            )
        except (BadSignature, ValueError):
            raise _invalid_cursor() from None


def _text(value: object) -> str | None:
    return (
        str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    )


def _keep_out_of_logs(data: object) -> None:
    """What a submission carries never reaches a log line of this request, not even the text of
    an exception that quotes it: the applicant reference, the callback URL and the metadata.
    (Images are masked wherever they appear, as base64 or as bytes: kyc/ops/logs.py.)"""
    if not isinstance(data, Mapping):
        return  # refused as a whole by the serializer
    mask_in_context(_text(data.get("applicant_ref")), APPLICANT_REF)
    mask_in_context(_text(data.get("callback_url")), "[callback_url]")
    mask_json_in_context(data.get("metadata"), "[metadata]")


def _invalid_cursor() -> ApiError:
    return ApiError(
        "invalid_cursor", "cursor: use the `next` or `previous` link of a page.", "cursor"
    )


@extend_schema_view(
    create=extend_schema(
        summary="Submit an image pair",
        request={
            "multipart/form-data": MultipartSubmissionSerializer,
            "application/json": JsonSubmissionSerializer,
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retries with the same key and body get the first answer.",
            )
        ],
        responses={202: PairSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a pair's status and decision", responses={200: PairSerializer, **ERRORS}
    ),
    list=extend_schema(
        summary="List pairs",
        parameters=[PairListQuerySerializer],
        responses={200: PairSerializer(many=True), **ERRORS},
    ),
)
class ImagePairViewSet(
    ClientApiMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    parser_classes = PARSER_CLASSES
    pagination_class = PairCursor
    lookup_field = "public_id"
    lookup_url_kwarg = "pair_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    serializer_class = PairSerializer  # every answer; create reads a submission serializer

    def get_queryset(self) -> QuerySet[ImagePair]:
        return pairs_for_client(self.client)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = request.data  # parsed first: a media type we do not read is a 415 here
        _keep_out_of_logs(body)
        submission = (
            JsonSubmissionSerializer
            if media_type_matches(BoundedJSONParser.media_type, request.content_type)
            else MultipartSubmissionSerializer
        )
        serializer = submission(data=body)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = _idempotency_key(request)
        pair, replayed = submit_pair(
            self.client,
            Submission(
                applicant_ref=data["applicant_ref"],
                selfie=data["selfie"],
                reference=data["reference"],
                reference_source=data["reference_source"],
                vendor=data.get("vendor") or "",
                callback_url=data.get("callback_url") or "",
                metadata=data.get("metadata") or {},
                idempotency_key=key,
            ),
        )
        if replayed and pair.first_response is not None:
            answer = pair.first_response
        else:
            answer = self.get_serializer(pair).data
            record_first_response(pair, answer)
        headers = {"Location": f"/api/v1/image-pairs/{pair.public_id}/"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(answer, status=status.HTTP_202_ACCEPTED, headers=headers)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = PairListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        pairs = self.get_queryset()
        if ref := query.validated_data.get("applicant_ref"):
            pairs = pairs.filter(applicant__external_ref=ref)
        if pair_status := query.validated_data.get("status"):
            pairs = pairs.filter(status=pair_status)
        page = self.paginate_queryset(pairs)
        assert page is not None
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _idempotency_key(request: Request) -> str:
    key: str = request.headers.get("Idempotency-Key", "").strip()
    if not is_text(key):
        raise invalid_text("Idempotency-Key")
    if len(key) > 255:
        raise ApiError(
            "invalid_value", "Idempotency-Key must be at most 255 characters.", "Idempotency-Key"
        )
    return key


class ApplicantErasureView(ClientApiMixin, APIView):
    @extend_schema(
        summary="Erase an applicant's images",
        parameters=[
            OpenApiParameter(
                "applicant_ref",
                str,
                OpenApiParameter.PATH,
                description="The applicant_ref as submitted, percent-encoded (`/` as `%2F`).",
            )
        ],
        description="Deletes every image of the applicant; decisions, hashes and the audit "
        "trail stay. Idempotent: a repeat answers 200 with the first erasure's `erased_at` and "
        '`"pairs": 0` and changes nothing (unless new pairs were submitted since).',
        responses={200: ErasureSerializer, **ERRORS},
    )
    def delete(self, request: Request, applicant_ref: str) -> Response:
        applicant = get_object_or_404(Applicant, client=self.client, external_ref=applicant_ref)
        # Refused on legal hold: LegalHold, which kyc.api.errors answers with a 409.
        pairs = erase_applicant(applicant, Actor.api_client(self.client))
        applicant.refresh_from_db()
        assert applicant.erased_at is not None
        erasure = {
            "applicant_ref": applicant.external_ref,
            "erased_at": applicant.erased_at,
            "pairs": pairs,
        }
        return Response(ErasureSerializer(erasure).data)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([])
def api_not_found(request: Request, path: str = "") -> Response:
    return Response(
        {"code": "not_found", "message": "No such API endpoint.", "field": None}, status=404
    )
