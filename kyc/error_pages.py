"""Error pages: 400, 403 (CSRF failures included), 404 and 500 in the staff pages' design, each
with the way back; under /api/ the same errors stay JSON (`{"code", "message", "field"}`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

from kyc.access.denied import AccessDenied, roles_granting
from kyc.api.errors import body

TEMPLATE = "errors/page.html"
API_PREFIX = "/api/"


def _api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _back(request: HttpRequest) -> str:
    """The page the visitor came from, when it is one of ours and not this one."""
    referer = request.headers.get("Referer", "")
    try:
        host = request.get_host()
    except DisallowedHost:  # the very error a 400 page may be showing
        return ""
    ours = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    )
    return referer if ours and not referer.endswith(request.get_full_path()) else ""


def _page(request: HttpRequest, status: int, context: dict[str, Any]) -> HttpResponse:
    return render(
        request, TEMPLATE, {"status": status, "back": _back(request), **context}, status=status
    )


@dataclass(frozen=True)
class _Error:
    """One error as each audience sees it: the API's code and message, the page's title and text."""

    status: int
    code: str
    api_message: str
    title: str
    message: str

    def api(self) -> JsonResponse:
        return JsonResponse(body(self.code, self.api_message), status=self.status)


BAD_REQUEST = _Error(
    400,
    "bad_request",
    "The request could not be understood.",
    "Bad request",
    "The page could not make sense of that request. Go back and try again.",
)
CSRF_FAILED = _Error(
    403,
    "csrf_failed",
    "CSRF verification failed.",
    "This form has expired",
    "The page was open too long, or you signed out in another tab. Reload the page and send the "
    "form again.",
)
NOT_FOUND = _Error(
    404,
    "not_found",
    "No such API endpoint.",
    "Page not found",
    "There is no page at this address. It may have moved, or the link is wrong.",
)
SERVER_ERROR = _Error(
    500,
    "server_error",
    "Something went wrong on our side; the error is logged.",
    "Something went wrong",
    "The error is logged. Try again in a moment.",
)


def _answer(request: HttpRequest, error: _Error) -> HttpResponse:
    if _api(request):
        return error.api()
    return _page(request, error.status, {"title": error.title, "message": error.message})


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, BAD_REQUEST)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse(
            body("permission_denied", "This API client may not do that."), status=403
        )
    no_role = isinstance(exception, AccessDenied) and not exception.permissions
    permissions = exception.permissions if isinstance(exception, AccessDenied) else ()
    context = {
        "title": "Your account has no role yet" if no_role else "You cannot open this page",
        "message": (
            "No area of this application is open to you yet."
            if no_role
            else str(exception) or "You do not have permission to open this page."
        ),
        # Only a page that said what it needs can name the roles that would open it.
        "roles": roles_granting(permissions) if isinstance(exception, AccessDenied) else [],
    }
    return _page(request, 403, context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: most often a form left open past the end of its session."""
    return _answer(request, CSRF_FAILED)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, NOT_FOUND)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return SERVER_ERROR.api()
    # No request context: the database behind the session and the user may be what failed.
    html = loader.get_template(TEMPLATE).render(
        {"status": 500, "title": SERVER_ERROR.title, "message": SERVER_ERROR.message}
    )
    return HttpResponse(html, status=500)
