"""The API's request and response bodies (DESIGN §5).

A serializer's docstring is its description in the OpenAPI schema, read by clients: notes for
us are comments.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kyc.api.errors import ApiError
from kyc.api.intake import (
    APPLICANT_REF_MAX_LENGTH,
    APPLICANT_REF_PATTERN,
    APPLICANT_REF_RULE,
    METADATA_MAX_DEPTH,
    METADATA_RULE,
    check_metadata,
    invalid_text,
    is_text,
    json_nesting,
    metadata_too_deep,
)
from kyc.models import (
    PairStatus,
    ReferenceSource,
)
from kyc.representation import IsoDateTimeField
from vendors.models import Backend


class TextOnlySerializer(serializers.Serializer[dict[str, Any]]):
    """Refuses text that cannot be stored (kyc.api.intake) in any field it reads, before the
    fields see it: a field's own error may quote the input, and that answer would not encode."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            for field in self.fields.values():
                name = str(field.field_name)
                if name in data and not is_text(data.get(name)):
                    raise invalid_text(name)
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": True})
class MetadataField(serializers.JSONField):
    """The client's own JSON object, kept and returned as sent, within kyc.api.intake's limits."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A form field's JSON text is measured before it is parsed (a JSON body's already was).
        form_text = getattr(data, "is_json_string", False)
        if form_text and json_nesting(data, METADATA_MAX_DEPTH).too_deep:
            raise metadata_too_deep()
        return check_metadata(super().to_internal_value(data))


class ImageBytesField(serializers.Field[bytes, bytes, str, Any]):
    """An image a client sends, as bytes; kyc.images judges them (an empty one included)."""

    default_error_messages = {"blank": "may not be blank."}

    @property
    def name(self) -> str:
        return str(self.field_name)

    def too_large(self, message: str) -> ApiError:
        return ApiError("image_too_large", f"{self.name} {message}", self.name, 413)


@extend_schema_field(OpenApiTypes.BINARY)
class ImageFileField(ImageBytesField):
    """A file part of a multipart request, read once its size is known to be within the limit."""

    default_error_messages = {"invalid": "must be a file part (multipart/form-data)."}

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, UploadedFile):
            self.fail("invalid")
        limit: int = settings.KYC_MAX_IMAGE_BYTES
        if data.size is not None and data.size > limit:
            raise self.too_large(f"is {data.size} bytes; the limit is {limit}.")
        content: bytes = data.read()
        return content


#: What MIME and PEM line breaks are made of, and what else `base64 -w0` would not have written.
_WHITESPACE = b" \t\n\r\x0b\x0c"


@extend_schema_field(OpenApiTypes.BYTE)
class Base64ImageField(ImageBytesField):
    """An image as standard base64 text, decoded.

    MIME line breaks (76-character lines ending in CRLF) and other whitespace are dropped, and a
    `data:` URL prefix as mobile SDKs produce it is accepted.
    """

    default_error_messages = {"invalid": "must be base64 text."}

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid")
        if not data:
            self.fail("blank")
        if data.startswith("data:") and "," in data[:100]:
            data = data.split(",", 1)[1]
        try:
            encoded = data.encode("ascii").translate(None, delete=_WHITESPACE)
        except UnicodeEncodeError:
            raise self._not_base64() from None
        limit: int = settings.KYC_MAX_IMAGE_BYTES
        if len(encoded) > limit * 4 // 3 + 4:
            raise self.too_large(f"decodes to more than {limit} bytes, the limit.")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise self._not_base64() from None

    def _not_base64(self) -> ApiError:
        return ApiError("invalid_base64", f"{self.name}: is not valid base64.", self.name)


class SubmissionSerializer(TextOnlySerializer):
    """What every submission carries besides its two images."""

    applicant_ref = serializers.CharField(
        max_length=APPLICANT_REF_MAX_LENGTH,
        validators=[
            RegexValidator(
                APPLICANT_REF_PATTERN,
                message=f"must be {APPLICANT_REF_RULE}.",
                code="invalid_applicant_ref",
            )
        ],
        help_text=f"Your id for the person: {APPLICANT_REF_RULE}. It is the path segment that "
        "erases the applicant (`DELETE /api/v1/applicants/{applicant_ref}/`).",
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
    metadata = MetadataField(required=False, help_text=METADATA_RULE)

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


class MultipartSubmissionSerializer(SubmissionSerializer):
    """The two images as files."""

    selfie = ImageFileField(help_text="Selfie image file (JPEG or PNG; WebP and BMP also work).")
    reference = ImageFileField(help_text="Reference photo (ID photo or earlier selfie).")


class JsonSubmissionSerializer(SubmissionSerializer):
    """The two images as base64 text."""

    selfie_base64 = Base64ImageField(
        source="selfie",
        help_text="Selfie image (JPEG or PNG; WebP and BMP also work) as standard base64. "
        "Line breaks and a `data:` URL prefix are accepted.",
    )
    reference_base64 = Base64ImageField(
        source="reference",
        help_text="Reference photo (ID photo or earlier selfie) as standard base64.",
    )


class PairListQuerySerializer(TextOnlySerializer):
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
