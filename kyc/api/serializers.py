"""The API's request and response bodies (DESIGN §5).

A serializer's docstring is its description in the OpenAPI schema, read by clients: notes for
us are comments.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.conf import settings
from rest_framework import serializers

from kyc.api.errors import ApiError
from kyc.models import (
    PairStatus,
    ReferenceSource,
)
from kyc.representation import IsoDateTimeField
from vendors.models import Backend

METADATA_MAX_BYTES = 4096


class PairCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """Multipart (`selfie`, `reference` files) or JSON (`selfie_base64`, `reference_base64`)."""

    applicant_ref = serializers.CharField(
        max_length=64, help_text="Your id for the person (≤ 64 chars)."
    )
    selfie = serializers.FileField(
        required=False, allow_empty_file=True, help_text="Selfie image file (JPEG or PNG)."
    )
    reference = serializers.FileField(
        required=False,
        allow_empty_file=True,
        help_text="Reference photo (ID photo or earlier selfie).",
    )
    selfie_base64 = serializers.CharField(
        required=False, help_text="Selfie as base64, for JSON requests."
    )
    reference_base64 = serializers.CharField(
        required=False, help_text="Reference as base64, for JSON requests."
    )
    reference_source = serializers.ChoiceField(
        choices=ReferenceSource.choices, default=ReferenceSource.ID_PHOTO
    )
    vendor = serializers.ChoiceField(
        choices=Backend.choices,
        required=False,
        allow_blank=True,
        help_text="Backend to use; default by priority.",
    )
    callback_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    metadata = serializers.JSONField(
        required=False, help_text="Object of at most 4 KB, returned as sent."
    )

    def validate_applicant_ref(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("'applicant_ref' is required.", code="required")
        return value

    def validate_metadata(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ApiError("invalid_metadata", "'metadata' must be a JSON object.", "metadata")
        if len(json.dumps(value).encode()) > METADATA_MAX_BYTES:
            raise ApiError(
                "metadata_too_large", "'metadata' must be at most 4 KB as JSON.", "metadata"
            )
        return value

    def validate_callback_url(self, value: str) -> str:
        if value:
            from kyc.webhooks import WebhookTargetRefused, check_target_url

            try:
                check_target_url(value)
            except WebhookTargetRefused as refused:
                raise ApiError(
                    "callback_url_not_allowed", str(refused), "callback_url"
                ) from refused
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("selfie", "reference"):
            attrs[f"{name}_bytes"] = self._image_bytes(attrs, name)
        return attrs

    def _image_bytes(self, attrs: dict[str, Any], name: str) -> bytes:
        upload = attrs.pop(name, None)
        encoded = attrs.pop(f"{name}_base64", None)
        if upload is not None and encoded is not None:
            raise ApiError("ambiguous_field", f"Send '{name}' or '{name}_base64', not both.", name)
        if upload is not None:
            if upload.size > settings.KYC_MAX_IMAGE_BYTES:
                raise ApiError(
                    "image_too_large",
                    f"{name} is {upload.size} bytes; the limit is {settings.KYC_MAX_IMAGE_BYTES}.",
                    name,
                    413,
                )
            data: bytes = upload.read()
            return data
        if encoded is not None:
            if len(encoded) > settings.KYC_MAX_IMAGE_BYTES * 4 // 3 + 8:
                raise ApiError(
                    "image_too_large",
                    f"{name}_base64 is larger than the image limit.",
                    f"{name}_base64",
                    413,
                )
            if "," in encoded[:100] and encoded.startswith("data:"):
                encoded = encoded.split(",", 1)[1]  # accept data: URLs as mobile SDKs produce them
            try:
                return base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as error:
                raise ApiError(
                    "invalid_base64", f"'{name}_base64' is not valid base64.", f"{name}_base64"
                ) from error
        raise ApiError("missing_field", f"'{name}' (a file) or '{name}_base64' is required.", name)


class PairListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    applicant_ref = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(choices=PairStatus.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A query string's `?status=` would otherwise be skipped and list every pair: a filter
        # that is there but empty is a mistake to report, not a filter to ignore.
        for name in ("applicant_ref", "status"):
            if self.initial_data.get(name, None) == "":
                raise serializers.ValidationError(
                    {name: serializers.ErrorDetail("may not be empty.", code="invalid")}
                )
        return attrs


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class ErasureSerializer(serializers.Serializer[dict[str, Any]]):
    applicant_ref = serializers.CharField()
    erased_at = IsoDateTimeField()
    pairs = serializers.IntegerField()
