"""/healthz, /readyz and the protected /metrics."""

from __future__ import annotations

import base64
import socket

import pytest

from kyc.celery import app
from kyc.ops import health
from kyc.ops.metrics import METRIC_NAMES

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_broker_and_storage_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_fails_when_the_database_is_down(client, monkeypatch):
    class Down:
        def cursor(self):
            raise health_error("could not connect to server: Connection refused")

    monkeypatch.setattr(health, "connection", Down())
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {
        "ok": False,
        "ms": checks["database"]["ms"],
        "error": "OperationalError",
    }
    assert checks["broker"]["ok"] and checks["storage"]["ok"]


def health_error(message: str) -> Exception:
    from django.db import OperationalError

    return OperationalError(message)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_readyz_fails_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_read_url", f"redis://127.0.0.1:{closed_port()}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert "127.0.0.1" not in response.content.decode()  # details go to the log only


def test_readyz_fails_when_the_storage_is_unreachable(client, monkeypatch):
    class Unreachable:
        def exists(self, name):
            raise OSError("bucket unreachable")

    monkeypatch.setattr(health, "default_storage", Unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {
        "ok": False,
        "ms": response.json()["checks"]["storage"]["ms"],
        "error": "OSError",
    }


# --- /metrics -------------------------------------------------------------------------------------


@pytest.fixture
def metrics_credentials(settings):
    settings.KYC_METRICS_USER = "prometheus"
    settings.KYC_METRICS_PASSWORD = "s3cret-scrape"
    settings.KYC_METRICS_TOKEN = "token-abc-123"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_metrics_do_not_exist_when_no_credentials_are_configured(client, settings):
    settings.KYC_METRICS_USER = settings.KYC_METRICS_PASSWORD = settings.KYC_METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 404


def test_metrics_ask_for_credentials(client, metrics_credentials):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "header",
    [basic("prometheus", "wrong"), basic("someone", "s3cret-scrape"), "Bearer nope", "Basic !!!"],
)
def test_metrics_refuse_wrong_credentials(client, metrics_credentials, header):
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 403


@pytest.mark.parametrize("header", [basic("prometheus", "s3cret-scrape"), "Bearer token-abc-123"])
def test_metrics_expose_the_documented_names(client, metrics_credentials, known_data, header):
    client.get("/healthz")
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in METRIC_NAMES:
        assert f"# HELP {name} " in text, name
    assert 'kyc_http_requests_total{method="GET",route="ops:healthz",status="200"}' in text
    assert "kyc_review_cases_overdue 1.0" in text
    assert 'kyc_review_cases_open{queue="standard",status="open"} 2.0' in text
    assert (
        'kyc_vendor_calls_total{error_code="TIMEOUT",status="failed",vendor="advance"} 1.0' in text
    )
    assert 'kyc_vendor_billable_calls_total{vendor="zoloz"} 3.0' in text
    assert 'kyc_vendor_call_duration_seconds_bucket{le="0.5",vendor="advance"} 4.0' in text
    assert 'kyc_vendor_call_duration_seconds_count{vendor="advance"} 6.0' in text
    assert 'kyc_image_pairs_in_progress{status="needs_review"} 2.0' in text
    assert "kyc_webhook_deliveries_failed_total 0.0" in text


def test_vendor_counters_add_the_cached_past_to_the_live_hour(metrics_credentials, known_data):
    from datetime import timedelta

    from kyc.ops.metrics import vendor_totals

    first = vendor_totals(known_data.now)
    # A later scrape in the same hour reuses the sealed part and still counts everything.
    again = vendor_totals(known_data.now + timedelta(minutes=20))
    assert first == again
    assert first["outcomes"][("advance", "completed", "")] == [5, 5]
    assert first["latency"]["zoloz"][-2:] == [3, 1500]
