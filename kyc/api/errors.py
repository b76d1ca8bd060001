"""Every API error is `{"code", "message", "field"}` with a specific code and the right status."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kyc.errors import ApplicationError

#: The HTTP status of the domain refusals that are not a plain 400, by their code: the domain
#: says what went wrong, the API alone decides how HTTP says it.
APPLICATION_STATUS = {
    "image_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_format": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "idempotency_conflict": status.HTTP_409_CONFLICT,
    "legal_hold": status.HTTP_409_CONFLICT,
    "not_contestable": status.HTTP_409_CONFLICT,
    "already_contested": status.HTTP_409_CONFLICT,
    "no_backend_available": status.HTTP_503_SERVICE_UNAVAILABLE,
}
# DRF's validation codes, renamed to what a client can act on.
VALIDATION_CODES = {
    "required": "missing_field",
    "null": "missing_field",
    "blank": "missing_field",
    "empty": "missing_field",
    "invalid_choice": "invalid_choice",
    "max_length": "too_long",
    "invalid": "invalid_value",
}


class TooManyFailedKeys(exceptions.Throttled):
    """Too many unknown API keys from one address: every key from it waits for the cool-off.

    A Throttled, so the answer carries Retry-After (DRF adds it from `wait`)."""

    def __init__(self, wait: int) -> None:
        # Not passed to Throttled, which would add its own "Expected available in ..." sentence.
        super().__init__(
            detail=(
                "Too many unknown or revoked API keys were sent from this address; "
                f"try again in {wait} seconds."
            ),
        )
        self.wait = wait


class ApiError(exceptions.APIException):
    def __init__(self, code: str, message: str, field: str = "", status_code: int = 400) -> None:
        super().__init__(message, code)
        self.code, self.message, self.field, self.status_code = code, message, field, status_code


def body(code: str, message: str, field: str = "") -> dict[str, Any]:
    return {"code": code, "message": message, "field": field or None}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return Response(body(exc.code, exc.message, exc.field), status=exc.status_code)
    if isinstance(exc, ApplicationError):
        return Response(
            body(exc.code, exc.message, exc.field),
            status=APPLICATION_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            body("request_too_large", "The request body is larger than two images may be."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.ValidationError):
        field, code, message = _first_error(exc.detail)
        return Response(body(code, message, field), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(body("not_found", "No such resource for this API client."), status=404)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = {
        exceptions.NotAuthenticated: "unauthenticated",
        exceptions.AuthenticationFailed: "unauthenticated",
        exceptions.PermissionDenied: "permission_denied",
        exceptions.Throttled: "throttled",
        TooManyFailedKeys: "too_many_failed_keys",
        exceptions.ParseError: "malformed_request",
        exceptions.UnsupportedMediaType: "unsupported_media_type",
        exceptions.MethodNotAllowed: "method_not_allowed",
        exceptions.NotAcceptable: "not_acceptable",
    }.get(type(exc), "error")
    message = str(getattr(exc, "detail", exc))
    response.data = body(code, message)
    return response


def _first_error(detail: Any, prefix: str = "") -> tuple[str, str, str]:
    """(field, code, message) of the first error in a DRF error structure."""
    if isinstance(detail, dict):
        name, value = next(iter(detail.items()))
        field = name if name != "non_field_errors" else ""
        return _first_error(value, f"{prefix}.{field}".strip(".") if field else prefix)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], prefix)
    error_code = getattr(detail, "code", "invalid")
    code = VALIDATION_CODES.get(str(error_code), str(error_code))
    message = str(detail)
    if prefix and code == "missing_field":
        message = f"'{prefix}' is required."
    elif prefix:
        message = f"{prefix}: {message}"
    return prefix, code, message
