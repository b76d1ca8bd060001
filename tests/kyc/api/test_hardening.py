"""Regressions from the outside probe (issue 15), each with the exact input it reported."""

from __future__ import annotations

import base64
import hashlib
import json
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from kyc.audit.models import AuditEvent
from kyc.models import Applicant, ImagePair
from tests.conftest import face_bytes
from tests.factories import (
    ApplicantFactory,
    ImagePairFactory,
    client_with_key,
    jpeg,
    store_images,
)
from tests.kyc.api.test_image_pairs import URL, submit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cursor",
    [
        "cD14",  # base64 of "p=x": a position that is no instant
        "cD0yMDI2LTAxLTAx",  # base64 of "p=2026-01-01": well formed, but not ours
        "not base64 at all",
        "",
    ],
)
def test_a_cursor_we_did_not_issue_is_refused_with_400(api, cursor):
    response = api.get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_cursor",
        "message": "cursor: use the `next` or `previous` link of a page.",
        "field": "cursor",
    }


def test_the_cursors_we_issue_page_forward_and_back_and_refuse_a_tampered_copy(api):
    for ref in ("a", "b", "c"):
        submit(api, applicant_ref=ref)
    first = api.get(URL, {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    assert [p["applicant_ref"] for p in first["results"] + second["results"]] == ["c", "b", "a"]
    back = api.get(second["previous"]).json()
    assert [p["applicant_ref"] for p in back["results"]] == ["c", "b"]
    tampered = first["next"].replace("cursor=", "cursor=x", 1)
    assert api.get(tampered).json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("name", ["status", "applicant_ref"])
def test_an_empty_list_filter_is_refused_not_ignored(api, name):
    submit(api)
    response = api.get(f"{URL}?{name}=")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_value",
        "message": f"{name}: may not be empty.",
        "field": name,
    }


def test_erasing_an_erased_applicant_again_answers_the_same_and_writes_nothing(
    api, django_capture_on_commit_callbacks
):
    submit(api)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.delete("/api/v1/applicants/user-42/")
    events = AuditEvent.objects.count()

    repeats = [api.delete("/api/v1/applicants/user-42/") for _ in range(3)]

    assert first.status_code == 200 and first.json()["pairs"] == 1
    for repeat in repeats:
        assert repeat.status_code == 200
        assert repeat.json() == {**first.json(), "pairs": 0}
    assert AuditEvent.objects.count() == events
    assert AuditEvent.objects.filter(event_type="applicant.erased").count() == 1
    assert Applicant.objects.get().erased_at.isoformat() == first.json()["erased_at"]


def test_a_pair_submitted_after_an_erasure_is_erased_by_the_next_request(
    api, django_capture_on_commit_callbacks
):
    submit(api)
    with django_capture_on_commit_callbacks(execute=True):
        api.delete("/api/v1/applicants/user-42/")
    submit(api)
    with django_capture_on_commit_callbacks(execute=True):
        again = api.delete("/api/v1/applicants/user-42/")
    assert again.json()["pairs"] == 1
    assert AuditEvent.objects.filter(event_type="applicant.erased").count() == 2


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/image-pairs/%0Aabc/",
        "/api/v1/image-pairs/%0A/",
        "/api/v1/nothing%0D%0A",
        "/api/v2/",
    ],
)
def test_every_path_under_the_api_answers_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "callback_url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://[::1]:8000/hook",
        "http://0.0.0.0/hook",
        "http://127.0.0.1:6379/",
    ],
)
def test_a_callback_to_an_internal_address_is_refused_by_default(api, settings, callback_url):
    assert settings.KYC_WEBHOOKS_ALLOW_PRIVATE is False  # the default, outside production too
    response = submit(api, callback_url=callback_url)
    assert response.status_code == 400
    assert response.json()["code"] == "callback_url_not_allowed"
    assert response.json()["field"] == "callback_url"
    assert not ImagePair.objects.exists()


# --- item 2: text that is not valid Unicode ------------------------------------------------------

LONE_SURROGATE, NUL = "\udc80", "\x00"


def json_submission(**fields: Any) -> str:
    """A JSON body with two valid base64 images, exactly as a client's encoder writes it."""
    body = {
        "applicant_ref": "user-42",
        "selfie_base64": base64.b64encode(face_bytes("df_img1.jpg")).decode(),
        "reference_base64": base64.b64encode(face_bytes("df_img2.jpg")).decode(),
        **fields,
    }
    return json.dumps(body)  # ensure_ascii: a lone surrogate travels as the escape "\udc80"


def assert_nothing_stored(media: Path) -> None:
    assert not ImagePair.objects.exists()
    assert not Applicant.objects.exists()
    assert not AuditEvent.objects.filter(event_type="pair.submitted").exists()
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_a_lone_surrogate_in_metadata_is_refused_and_the_clients_reads_still_work(api, tmp_path):
    body = json_submission(metadata={"a": LONE_SURROGATE})
    assert '"metadata": {"a": "\\udc80"}' in body  # the probe's exact input

    response = api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-7")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_text",
        "message": "metadata: text must be valid Unicode with no NUL character or lone surrogate.",
        "field": "metadata",
    }
    assert_nothing_stored(tmp_path / "media")
    assert api.get(URL).json() == {"next": None, "previous": None, "results": []}
    retry = api.post(
        URL,
        json_submission(metadata={"a": "fixed"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-7",
    )
    assert retry.status_code == 202
    assert "Idempotent-Replayed" not in retry
    assert api.get(URL).json()["results"][0]["metadata"] == {"a": "fixed"}


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL], ids=["lone surrogate", "NUL"])
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param(lambda bad: {"applicant_ref": f"user{bad}"}, "applicant_ref", id="ref"),
        pytest.param(lambda bad: {"metadata": {"a": bad}}, "metadata", id="metadata value"),
        pytest.param(lambda bad: {"metadata": {bad: "a"}}, "metadata", id="metadata key"),
        pytest.param(
            lambda bad: {"metadata": {"a": [{"b": f"x{bad}"}]}}, "metadata", id="deep in metadata"
        ),
        pytest.param(
            lambda bad: {"callback_url": f"https://hooks.example.com/{bad}"},
            "callback_url",
            id="callback_url",
        ),
        # A choice field's own error quotes the input, and that answer would not encode.
        pytest.param(lambda bad: {"vendor": bad}, "vendor", id="vendor"),
        pytest.param(lambda bad: {"reference_source": bad}, "reference_source", id="source"),
        pytest.param(lambda bad: {"selfie_base64": f"AAAA{bad}"}, "selfie_base64", id="base64"),
    ],
)
def test_invalid_text_in_any_field_of_a_json_body_is_refused_naming_it(
    api, tmp_path, fields, field, bad
):
    response = api.post(URL, json_submission(**fields(bad)), content_type="application/json")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid_text", field)
    assert_nothing_stored(tmp_path / "media")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metadata": '{"a": "\\udc80"}'}, "metadata"),  # JSON text: the escape is parsed here
        ({"metadata": '{"a": "\\u0000"}'}, "metadata"),
        ({"metadata": '{"\\udc80": 1}'}, "metadata"),
        ({"applicant_ref": "user\x00"}, "applicant_ref"),
        ({"vendor": "\x00"}, "vendor"),
        ({"callback_url": "https://hooks.example.com/\x00"}, "callback_url"),
    ],
)
def test_invalid_text_in_a_multipart_field_is_refused_naming_it(api, tmp_path, fields, field):
    response = submit(api, **fields)

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid_text", field)
    assert_nothing_stored(tmp_path / "media")
    assert api.get(URL).status_code == 200


@pytest.mark.parametrize("key", [f"k-{LONE_SURROGATE}", f"k-{NUL}"], ids=["lone surrogate", "NUL"])
def test_an_idempotency_key_that_is_not_text_is_refused_and_not_stored(api, tmp_path, key):
    response = submit(api, headers={"HTTP_IDEMPOTENCY_KEY": key})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_text",
        "message": "Idempotency-Key: text must be valid Unicode with no NUL character or lone "
        "surrogate.",
        "field": "Idempotency-Key",
    }
    assert_nothing_stored(tmp_path / "media")


def test_a_list_filter_that_is_not_text_is_refused(api):
    response = api.get(URL, {"applicant_ref": f"user{NUL}"})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid_text", "applicant_ref")


# --- item 4: deep nesting ------------------------------------------------------------------------


def nested(levels: int) -> Any:
    """`levels` arrays inside one another, the innermost holding 1: [[...[1]...]]."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_metadata_of_100000_brackets_in_a_multipart_field_is_too_deep(api, tmp_path):
    response = submit(api, metadata="[" * 100_000)

    assert response.status_code == 400
    assert response.json() == {
        "code": "metadata_too_deep",
        "message": "metadata: must nest at most 10 levels of objects and arrays.",
        "field": "metadata",
    }
    assert_nothing_stored(tmp_path / "media")


@pytest.mark.parametrize(
    "metadata",
    ["[" * 100_000, "[" * 100_000 + "]" * 100_000],
    ids=["unclosed, as the probe sent it", "closed"],
)
def test_metadata_of_100000_brackets_in_a_json_body_is_too_deep(api, tmp_path, metadata):
    body = json_submission(metadata=None).replace('"metadata": null', f'"metadata": {metadata}')

    response = api.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "metadata_too_deep"
    assert response.json()["field"] == "metadata"
    assert_nothing_stored(tmp_path / "media")


@pytest.mark.parametrize("form", ["multipart", "json"])
def test_metadata_may_nest_ten_levels_and_not_eleven(api, form):
    deepest = {"a": nested(9)}  # the object and nine arrays: ten levels
    too_deep = {"a": nested(10)}

    def send(metadata: dict[str, Any]) -> Any:
        if form == "multipart":
            return submit(api, metadata=json.dumps(metadata))
        return api.post(URL, json_submission(metadata=metadata), content_type="application/json")

    accepted = send(deepest)
    assert accepted.status_code == 202
    assert accepted.json()["metadata"] == deepest
    assert api.get(URL).json()["results"][0]["metadata"] == deepest
    refused = send(too_deep)
    assert (refused.status_code, refused.json()["code"]) == (400, "metadata_too_deep")


def test_brackets_inside_metadata_strings_are_text_not_nesting(api):
    metadata = {"note": "[" * 50 + '\\"{' * 50, "esc": '"[[[['}

    response = api.post(URL, json_submission(metadata=metadata), content_type="application/json")

    assert response.status_code == 202
    assert response.json()["metadata"] == metadata


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, '{"vendor": ' + "[" * 100_000 + "}"],
    ids=["the whole body", "another field"],
)
def test_deep_nesting_outside_metadata_is_a_malformed_request(api, body):
    response = api.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "malformed_request",
        "message": "The JSON body nests more than 11 levels.",
        "field": None,
    }


def test_metadata_may_be_4096_bytes_as_json_and_not_4097(api):
    filler = "a" * (4096 - len(json.dumps({"x": ""})))
    assert submit(api, metadata=json.dumps({"x": filler})).status_code == 202
    refused = submit(api, metadata=json.dumps({"x": filler + "a"}))
    assert (refused.status_code, refused.json()["code"]) == (400, "metadata_too_large")


# --- item 5: applicant references that could never be erased ------------------------------------

#: The documented alphabet, written out here rather than imported: the test is its specification.
REF_FIRST = string.ascii_letters + string.digits
REF_REST = REF_FIRST + "._~-:@+"


@pytest.mark.parametrize(
    "ref", ["sec/slash-1", "../../etc/passwd", ".", "..", "-x", "a b", "100%", "a?b", "a#b", "é"]
)
def test_a_reference_outside_the_alphabet_is_refused_at_intake(api, tmp_path, ref):
    response = submit(api, applicant_ref=ref)

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_applicant_ref",
        "message": "applicant_ref: must be 1 to 64 characters from A-Z, a-z, 0-9 and "
        "`. _ ~ - : @ +`, starting with a letter or digit.",
        "field": "applicant_ref",
    }
    assert_nothing_stored(tmp_path / "media")


def test_a_reference_one_character_too_long_is_too_long(api):
    response = submit(api, applicant_ref="a" * 65)
    assert (response.status_code, response.json()["code"]) == (400, "too_long")


@pytest.fixture
def unthrottled_api() -> APIClient:
    _, key = client_with_key(throttle_rate="100000/min")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


@given(
    ref=st.builds(str.__add__, st.sampled_from(REF_FIRST), st.text(alphabet=REF_REST, max_size=63))
)
@example(ref="a")
@example(ref="Z" * 64)
@example(ref="0" + REF_REST[-7:] * 9)  # every punctuation mark, 64 characters
@example(ref="a..")
@example(ref="jane.doe+kyc@example.com")
@example(ref="crm:1234")
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_every_reference_the_alphabet_allows_is_accepted_and_erasable(unthrottled_api, ref):
    images = {"selfie": SimpleUploadedFile("s.jpg", jpeg()), "reference": jpeg()}
    images["reference"] = SimpleUploadedFile("r.jpg", images["reference"])
    submitted = unthrottled_api.post(URL, {"applicant_ref": ref, **images}, format="multipart")
    assert submitted.status_code == 202, submitted.json()

    erased = unthrottled_api.delete(f"/api/v1/applicants/{quote(ref, safe='')}/")

    assert erased.status_code == 200, erased.json()
    assert (erased.json()["applicant_ref"], erased.json()["pairs"]) == (ref, 1)


@pytest.mark.parametrize(
    "ref", ["sec/slash-1", "../../etc/passwd", "a b", "100%", "line\nbreak", "a/", "ü?#"]
)
def test_a_reference_stored_before_the_alphabet_is_still_erasable(
    api, api_client_and_key, ref, django_capture_on_commit_callbacks
):
    client, _ = api_client_and_key
    applicant = ApplicantFactory(client=client, external_ref=ref)  # as an earlier version did
    pair = store_images(ImagePairFactory(applicant=applicant))
    files = [pair.selfie.name, pair.reference.name]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/applicants/{quote(ref, safe='')}/")

    assert response.status_code == 200
    assert (response.json()["applicant_ref"], response.json()["pairs"]) == (ref, 1)
    pair.refresh_from_db()
    assert pair.images_purged_at is not None
    assert [name for name in files if default_storage.exists(name)] == []


# --- item 12: base64 with line breaks -----------------------------------------------------------


def test_base64_in_mime_lines_of_76_characters_with_crlf_is_accepted(api):
    selfie = face_bytes("df_img1.jpg")
    flat = base64.b64encode(selfie).decode()
    mime = "\r\n".join(flat[i : i + 76] for i in range(0, len(flat), 76)) + "\r\n"

    response = api.post(URL, json_submission(selfie_base64=mime), content_type="application/json")

    assert response.status_code == 202
    assert response.json()["images"]["selfie"]["sha256"] == hashlib.sha256(selfie).hexdigest()
    pair = ImagePair.objects.get()
    with pair.selfie.open("rb") as stored:
        assert stored.read() == selfie


@pytest.mark.parametrize("encoded", ["AAAA\r\nA", "AA=A", "AAAA\u00e9"])
def test_base64_that_is_still_broken_without_its_line_breaks_is_invalid(api, encoded):
    response = api.post(
        URL, json_submission(selfie_base64=encoded), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_base64",
        "message": "selfie_base64: is not valid base64.",
        "field": "selfie_base64",
    }
