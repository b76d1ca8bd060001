"""'Test connection': one comparison of the drawn sample images against the configured endpoint."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from kyc.audit.models import AuditEvent
from vendors.models import VendorConfig
from vendors.registry import reset_adapters
from vendors.samples import sample_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def pointed_at_sandboxes(sandboxes, settings):
    settings.VENDOR_CREDENTIALS = {
        **{vendor: handle.settings for vendor, handle in sandboxes.items()},
        "local": {},
    }
    reset_adapters()
    yield sandboxes
    reset_adapters()


def connection_url(backend: str) -> str:
    config = VendorConfig.objects.get(backend=backend)
    return reverse("admin:vendors_vendorconfig_test_connection", args=[config.pk])


def test_the_sample_images_are_drawn_pngs_within_every_vendors_limits():
    for data in sample_pair():
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size) == ("PNG", (640, 800))
    assert sample_pair()[0] != sample_pair()[1]


def test_opening_the_page_asks_first_and_calls_nobody(admin_client, pointed_at_sandboxes):
    events = AuditEvent.objects.count()  # the admin's account and sign-in
    response = admin_client.get(connection_url("advance"))
    assert response.status_code == 200
    assert "Run the test" in response.content.decode()
    assert pointed_at_sandboxes["advance"].requests() == []
    assert AuditEvent.objects.count() == events


def test_a_scripted_score_comes_back_as_the_normalized_result(admin_client, pointed_at_sandboxes):
    pointed_at_sandboxes["advance"].script({"score": 88.5})
    response = admin_client.post(connection_url("advance"))
    assert response.status_code == 200
    (item,) = response.context["results"]
    check = item["check"]
    assert check.answered
    assert check.result["status"] == "completed"
    assert check.result["score"] == 88.5
    assert check.latency_ms is not None
    page = response.content.decode()
    assert 'class="vc-score">88.5</td>' in page
    assert "&quot;vendor&quot;: &quot;advance&quot;" in page  # CompareResult.as_dict() as JSON
    assert " ms</td>" in page
    event = AuditEvent.objects.get(event_type="vendor_config.connection_tested")
    assert event.subject_id == "advance"
    assert event.params["status"] == "completed"


def test_a_documented_vendor_error_shows_its_taxonomy_code(admin_client, pointed_at_sandboxes):
    pointed_at_sandboxes["advance"].script({"error": "INSUFFICIENT_BALANCE"})
    response = admin_client.post(connection_url("advance"))
    check = response.context["results"][0]["check"]
    assert not check.answered
    assert check.error_code == "QUOTA_EXCEEDED"
    assert check.vendor_code == "INSUFFICIENT_BALANCE"
    page = response.content.decode()
    assert "failed: QUOTA_EXCEEDED" in page
    assert "<code>INSUFFICIENT_BALANCE</code>" in page
    event = AuditEvent.objects.get(event_type="vendor_config.connection_tested")
    assert (event.params["status"], event.params["error_code"]) == ("failed", "QUOTA_EXCEEDED")


def test_a_backend_without_credentials_says_which_variables_are_missing(admin_client, settings):
    settings.VENDOR_CREDENTIALS = {**settings.VENDOR_CREDENTIALS, "zoloz": {}}
    reset_adapters()
    response = admin_client.post(connection_url("zoloz"))
    check = response.context["results"][0]["check"]
    assert check.error_code == "NOT_CONFIGURED"
    assert "ZOLOZ_CLIENT_ID" in check.message
    assert "failed: NOT_CONFIGURED" in response.content.decode()


def test_the_list_action_tests_several_backends_at_once(admin_client, pointed_at_sandboxes):
    pointed_at_sandboxes["alibaba"].script({"score": 91})
    pointed_at_sandboxes["zoloz"].script({"fault": "http_503"})
    configs = VendorConfig.objects.filter(backend__in=["alibaba", "zoloz"])
    response = admin_client.post(
        reverse("admin:vendors_vendorconfig_changelist"),
        {"action": "test_connection", "_selected_action": [c.pk for c in configs]},
    )
    assert response.status_code == 200
    checks = {item["check"].backend: item["check"] for item in response.context["results"]}
    assert checks["alibaba"].result["score"] == 91
    assert checks["zoloz"].error_code == "VENDOR_ERROR"
    assert checks["zoloz"].retryable is True
    assert AuditEvent.objects.filter(event_type="vendor_config.connection_tested").count() == 2


def test_the_local_engine_runs_on_the_drawn_samples(admin_client):
    response = admin_client.post(connection_url("local"))
    check = response.context["results"][0]["check"]
    assert check.answered
    assert check.result["vendor"] == "local"
    assert check.result["status"] in {"completed", "invalid_input"}
