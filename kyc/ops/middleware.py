"""Request ids on every request and response, and HTTP metrics by route and status."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from kyc.ops.logs import REQUEST_ID_HEADER, bind_request, clean_request_id, new_request_id

GetResponse = Callable[[HttpRequest], HttpResponseBase]


class RequestIdMiddleware:
    """Takes a valid X-Request-ID or makes one; binds it for the logs; returns it in the header.

    First in MIDDLEWARE, so every line logged while handling the request carries the id.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        bind_request(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class PrometheusMiddleware:
    """Counts requests and observes their duration by route name, method and status."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        from kyc.ops.metrics import observe_request

        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match else "unmatched"
        observe_request(route, request.method or "", response.status_code, started)
        return response
