"""Regressions from the outside probe (issue 15), each with the exact input it reported."""

from __future__ import annotations

import pytest

from kyc.audit.models import AuditEvent
from kyc.models import Applicant, ImagePair
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
