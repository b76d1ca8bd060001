"""Error pages: 400, 403, 404 and 500 in the staff pages' design with the way back; JSON under
/api/."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.staff import StaffClient

pytestmark = pytest.mark.django_db


def signed_in(user) -> StaffClient:
    client = StaffClient()
    client.force_login(user)
    return client


def assert_staff_design(html: str) -> None:
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert '<a class="brand" href="/">' in html
    assert '<a class="btn btn-primary" href="/">Go to your start page</a>' in html


@pytest.fixture
def reviewer():
    return UserFactory(username="rita", role="Reviewers")


def test_a_missing_page_says_so_in_the_staff_design_with_the_way_back(reviewer):
    client = signed_in(reviewer)
    response = client.get(
        "/review/no-such-thing/", HTTP_REFERER="http://testserver/review/?reason=age_risk"
    )
    assert response.status_code == 404
    assert response.templates[0].name == "errors/page.html"
    html = response.content.decode()
    assert_staff_design(html)
    assert "Page not found" in html and "Error 404" in html
    assert '<a href="/review/" class="active">Review queue</a>' in html  # their own navigation
    assert '<a class="btn" href="http://testserver/review/?reason=age_risk">' in html


def test_the_way_back_never_leads_off_the_site(reviewer):
    response = signed_in(reviewer).get("/nowhere/", HTTP_REFERER="https://evil.example/phish")
    assert response.status_code == 404
    assert "evil.example" not in response.content.decode()
    assert "Back to the previous page" not in response.content.decode()


def test_a_reviewer_refused_a_page_is_told_which_role_would_open_it(reviewer):
    response = signed_in(reviewer).get("/audit/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_staff_design(html)
    assert "You cannot open this page" in html
    assert "You are signed in as <strong>rita</strong>." in html
    assert "Ask an administrator to add you to <strong>Auditors</strong>." in html


def test_the_senior_queue_names_the_senior_role(reviewer):
    html = signed_in(reviewer).get("/review/senior/").content.decode()
    assert "Ask an administrator to add you to <strong>Senior reviewers</strong>." in html


def test_an_account_without_a_role_is_told_which_roles_exist():
    UserFactory(username="other", role="Reviewers")  # the roles exist
    response = signed_in(UserFactory(username="nora")).get("/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your account has no role yet" in html
    assert "No area of this application is open to you yet." in html
    assert (
        "Ask an administrator to add you to <strong>Auditors</strong>, "
        "<strong>Reviewers</strong> or <strong>Senior reviewers</strong>." in html
    )


def test_a_form_sent_without_its_csrf_token_explains_itself(reviewer):
    client = StaffClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = client.post("/review/take-next/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_staff_design(html)
    assert "This form has expired" in html


def test_a_bad_request_gets_the_designed_page():
    response = Client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert_staff_design(html)
    assert "Bad request" in html


@pytest.mark.urls("tests.kyc.error_urls")
def test_a_server_error_gets_the_designed_page_without_the_users_details(reviewer):
    client = signed_in(reviewer)
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_staff_design(html)
    assert "Something went wrong" in html
    assert "a bug" not in html and "Traceback" not in html
    # Rendered without the request: the database behind the session may be what failed.
    assert "rita" not in html


@pytest.mark.urls("tests.kyc.error_urls")
def test_api_errors_stay_json():
    client = Client()
    client.raise_request_exception = False
    broken = client.get("/api/v1/broken/")
    assert broken.status_code == 500
    assert broken.json() == {
        "code": "server_error",
        "message": "Something went wrong on our side; the error is logged.",
        "field": None,
    }
    missing = client.get("/api/v2/image-pairs/")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": "not_found",
        "message": "No such API endpoint.",
        "field": None,
    }
