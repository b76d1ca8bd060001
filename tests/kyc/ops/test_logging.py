"""Request ids in every log line, carried to tasks; nothing secret or personal in any line."""

from __future__ import annotations

import base64
import io
import json
import logging
import re

import pytest
from celery import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from kyc.models import ApiClient
from kyc.ops import logs
from kyc.ops.logs import CELERY_HEADER, RedactingFilter, redact, request_context
from kyc.tasks import ping
from tests.conftest import face_bytes
from tests.factories import ApplicantFactory, ImagePairFactory, client_with_key

HEX32 = re.compile(r"^[0-9a-f]{32}$")


# --- request ids ----------------------------------------------------------------------------------


def test_every_response_carries_a_new_request_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert HEX32.match(first) and HEX32.match(second) and first != second


def test_a_valid_incoming_request_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a9c21.lb:1")
    assert response["X-Request-ID"] == "edge-7f3a9c21.lb:1"


@pytest.mark.parametrize("bad", ["short", "has space in it", "x" * 200, "<script>alert(1)"])
def test_an_invalid_incoming_request_id_is_replaced(client, bad):
    assert HEX32.match(client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"])


def test_the_id_travels_to_a_celery_task_in_a_message_header():
    headers: dict[str, str] = {}
    with request_context("req-0123456789abcdef"):
        logs._before_task_publish(headers=headers)
    assert headers == {CELERY_HEADER: "req-0123456789abcdef"}

    seen = []

    def look(**kwargs):
        seen.append(logs.current_request_id())

    signals.task_prerun.connect(look, weak=False, dispatch_uid="test-look")
    try:
        ping.apply(args=("x",), headers={CELERY_HEADER: "req-0123456789abcdef"})
        ping.apply(args=("y",))
    finally:
        signals.task_prerun.disconnect(dispatch_uid="test-look")
    assert seen[0] == "req-0123456789abcdef"
    assert HEX32.match(seen[1])  # a task enqueued outside a request gets its own id
    assert logs.current_request_id() is None  # and it does not outlive the task


# --- redaction ------------------------------------------------------------------------------------


def test_redaction_masks_secrets_and_image_data():
    image = base64.b64encode(face_bytes("df_img1.jpg")).decode()
    text = redact(
        f"Authorization: Api-Key kyc_0123456789ab_{'Z' * 43} "
        f"secret whsec_{'A' * 44} token Bearer abc.def.ghi "
        f"img {image[:5000]} data:image/jpeg;base64,{image[:200]} "
        f"url redis://user:hunter2@127.0.0.1:6379/0"
    )
    assert "Z" * 20 not in text and "A" * 20 not in text
    assert image[:100] not in text and image[:40] not in text
    assert "hunter2" not in text and "abc.def.ghi" not in text
    assert "Api-Key [redacted]" in text and "whsec_[redacted]" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /x/?api_key=s3cr3t-v4lue&page=2", "GET /x/?api_key=[redacted]&page=2"),
        ("/x/?page=2&key=s3cr3t", "/x/?page=2&key=[redacted]"),
        ("/x/?token=s3cr3t#top", "/x/?token=[redacted]#top"),
        ("/x/?ACCESS_TOKEN=s3cr3t v", "/x/?ACCESS_TOKEN=[redacted] v"),
        ("/x/?monkey=3&turkey=4", "/x/?monkey=3&turkey=4"),
        ("X-API-Key: s3cr3t-v4lue", "X-API-Key: [redacted]"),
        ("Authorization: Token s3cr3t-v4lue", "Authorization: Token [redacted]"),
        ("DELETE /api/v1/applicants/a/b/?x=1", "DELETE /api/v1/applicants/[applicant_ref]/?x=1"),
        ("bytes " + repr(bytes(range(200, 240))), "bytes [redacted bytes]"),
        ("short b'OK' stays", "short b'OK' stays"),
    ],
)
def test_redaction_masks_credentials_clients_put_in_urls_and_headers(text, expected):
    assert redact(text) == expected


def test_redaction_keeps_hashes_ids_and_paths():
    sha = "9f" * 32
    path = "/api/v1/image-pairs/0b6f1c2e-4d5a-4b8c-9e0f-1a2b3c4d5e6f/attempts/0b6f1c2e4d5a4b8c/x"
    assert redact(f"sha256 {sha} at {path}") == f"sha256 {sha} at {path}"


def test_redaction_masks_applicant_references_in_paths_queries_and_fields():
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "Not Found: %s",
        ("/api/v1/applicants/jane.doe@x.com/",),
        None,
    )
    record.applicant_ref = "jane.doe@x.com"
    record.query = "/api/v1/image-pairs/?applicant_ref=jane.doe%40x.com"
    RedactingFilter().filter(record)
    assert record.getMessage() == "Not Found: /api/v1/applicants/[applicant_ref]/"
    assert record.applicant_ref == "[redacted]"
    assert "jane" not in record.query


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/api/v1/applicants/sec/slash-1/", "/api/v1/applicants/[applicant_ref]/"),
        ("/api/v1/applicants/../../etc/passwd/", "/api/v1/applicants/[applicant_ref]/"),
        ("/api/v1/applicants/sec/slash-1", "/api/v1/applicants/[applicant_ref]"),
        ("/api/v1/applicants/a/b/?x=1", "/api/v1/applicants/[applicant_ref]/?x=1"),
    ],
)
def test_a_reference_with_slashes_is_masked_whole_in_an_erasure_path(path, masked):
    # The erasure route takes any stored reference, so its path may hold slashes.
    assert redact(f"Not Found: {path} (404)") == f"Not Found: {masked} (404)"


def test_references_of_applicants_loaded_in_a_request_are_masked_anywhere(db):
    with request_context("req-0123456789abcdef"):
        applicant = ApplicantFactory(external_ref="cust-99812")
        assert (
            redact(f"looked at {applicant.external_ref} today") == "looked at [applicant_ref] today"
        )


# --- the whole flow -------------------------------------------------------------------------------


@pytest.fixture
def log_output(caplog):
    """What the configured JSON handler writes, at DEBUG, for the duration of the test."""
    for name in ("", "django", "kyc", "httpx", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_a_submission_and_its_pipeline_run_log_no_secret_image_or_applicant_ref(
    harness, log_output, caplog
):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 96, "risk_tags": []})
    ref = "applicant-secret-4411"
    selfie_b64 = base64.b64encode(face_bytes("df_img1.jpg")).decode()
    api_key = harness.api._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    webhook_secret = ApiClient.objects.get().webhook_secret

    pair = harness.submit(applicant_ref=ref)
    with request_context("req-worker-0000001"):  # what task_prerun binds in a worker
        pair = harness.run(pair)
    assert pair.status == "approved"
    harness.api.get("/api/v1/image-pairs/", {"applicant_ref": ref})
    harness.api.delete("/api/v1/applicants/nobody-else-5512/")  # 404, logged with its path
    bad = harness.api.__class__()
    bad.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}x")
    bad.delete(f"/api/v1/applicants/{ref}/")  # 401, logged with its path
    # Code that forgets the rules must still not leak.
    careless = logging.getLogger("kyc.careless")
    careless.warning(
        "calling with Api-Key %s and %s", api_key, webhook_secret, extra={"body": selfie_b64}
    )
    careless.error("applicant %s failed", ref, extra={"applicant_ref": ref})

    written = log_output.getvalue()
    lines = [json.loads(line) for line in written.splitlines()]
    assert len(lines) >= 6
    for leak in (ref, "nobody-else-5512", api_key, api_key.split("_", 2)[2], webhook_secret):
        assert leak not in written, leak
        assert leak not in caplog.text, leak
    assert selfie_b64[:64] not in written
    assert all("request_id" in line for line in lines)
    vendor_calls = [line for line in lines if line["message"] == "vendor call"]
    assert vendor_calls and vendor_calls[0]["request_id"] == "req-worker-0000001"
    assert vendor_calls[0]["vendor"] == "advance" and vendor_calls[0]["outcome"] == "completed"
    not_found = next(line for line in lines if line["message"].startswith("Not Found"))
    assert HEX32.match(not_found["request_id"])
    assert "[applicant_ref]" in not_found["message"]


# --- the crash path -------------------------------------------------------------------------------


@pytest.mark.parametrize("body_format", ["multipart", "json"])
def test_an_unhandled_exception_logs_no_reference_callback_url_metadata_or_image(
    db, settings, monkeypatch, log_output, body_format
):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True  # the callback URL names loopback: no DNS
    _, key = client_with_key()
    ref = "cust-ref-90113"
    callback = "http://127.0.0.1:9/kyc-hooks/cb-7Hq2Lx9?sig=0a1b2c3d"
    metadata = {"customer": "Jane Q. Customer", "account": 99817265, "tags": ["vip-gold"]}
    selfie, reference = face_bytes("df_img1.jpg"), face_bytes("df_img2.jpg")

    def storage_fails(client, submission):
        # What a database or storage error can do: quote the values it was handed.
        raise RuntimeError(
            f"cannot store {submission.applicant_ref} {submission.callback_url} "
            f"{submission.metadata} {submission.selfie[:200]!r}"
        )

    monkeypatch.setattr("kyc.api.views.submit_pair", storage_fails)
    api = APIClient()
    api.raise_request_exception = False
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    fields = {"applicant_ref": ref, "callback_url": callback}
    if body_format == "multipart":
        response = api.post(
            "/api/v1/image-pairs/",
            {
                **fields,
                "metadata": json.dumps(metadata),
                "selfie": SimpleUploadedFile("s.jpg", selfie, "image/jpeg"),
                "reference": SimpleUploadedFile("r.jpg", reference, "image/jpeg"),
            },
            format="multipart",
        )
    else:
        response = api.post(
            "/api/v1/image-pairs/",
            {
                **fields,
                "metadata": metadata,
                "selfie_base64": base64.b64encode(selfie).decode(),
                "reference_base64": base64.b64encode(reference).decode(),
            },
            format="json",
        )
    assert response.status_code == 500

    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    written = "\n".join(str(value) for line in lines for value in line.values())
    for leak in (ref, callback, "cb-7Hq2Lx9", "Jane Q. Customer", "99817265", "vip-gold"):
        assert leak not in written, leak
    assert repr(selfie[:40])[2:-1] not in written
    crash = next(line for line in lines if line["logger"] == "django.request")
    assert crash["level"] == "ERROR"
    assert crash["message"] == "Internal Server Error: /api/v1/image-pairs/"
    assert crash["status_code"] == 500
    assert HEX32.match(crash["request_id"])
    assert (
        "RuntimeError: cannot store [applicant_ref] [callback_url] {'customer': '[metadata]', "
        "'account': [metadata], 'tags': ['[metadata]']} [redacted bytes]"
    ) in crash["exc_info"]


def test_a_crash_while_contesting_logs_no_word_of_the_applicants_statement(
    db, monkeypatch, log_output
):
    client, key = client_with_key()
    pair = ImagePairFactory(
        applicant=ApplicantFactory(client=client), status="rejected", decision_source="auto"
    )
    statement = "My name is Jane Q. Customer and the photo is mine."

    def storage_fails(client, pair, statement, **kwargs):
        raise RuntimeError(f"cannot store {statement}")

    monkeypatch.setattr("kyc.api.contests.contest_pair", storage_fails)
    api = APIClient()
    api.raise_request_exception = False
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api.post(
        f"/api/v1/image-pairs/{pair.public_id}/contest", {"statement": statement}, format="json"
    )

    assert response.status_code == 500
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    crash = next(line for line in lines if line["logger"] == "django.request")
    assert "RuntimeError: cannot store [statement]" in crash["exc_info"]
    written = "\n".join(str(value) for line in lines for value in line.values())
    assert "Jane Q. Customer" not in written
