"""Schemathesis drives every operation of the published OpenAPI schema: no input is a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from kyc.wsgi import application
from tests.factories import client_with_key

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def api_key(db) -> Iterator[str]:
    # Called straight through WSGI, each request would close the test's database connection
    # at its end; Django's test client suspends that handler the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    _, key = client_with_key(throttle_rate="100000/min")
    yield key
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_the_schema_allows_causes_a_server_error(case, api_key):
    response = case.call(headers={"Authorization": f"Api-Key {api_key}"})
    assert response.status_code < 500, (
        case.method,
        case.path,
        response.status_code,
        response.text[:300],
    )
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "field"}, body


def test_the_schema_documents_every_endpoint():
    paths = set(schema.raw_schema["paths"])
    assert {
        "/api/v1/image-pairs/",
        "/api/v1/image-pairs/{pair_id}/",
        "/api/v1/applicants/{applicant_ref}/",
    } <= paths
    assert "ApiKey" in schema.raw_schema["components"]["securitySchemes"]
