"""Staff sessions: they end when idle or too old, the page warns first, an admin lists them and
signs a user out everywhere, and their cookies travel over HTTPS only when DEBUG is off."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from kyc.access.models import StaffSession
from kyc.audit.models import AuditEvent
from tests.conftest import REPO
from tests.factories import UserFactory
from tests.staff import StaffClient

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def reviewer():
    return UserFactory(username="rita", role="Reviewers")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def signed_in(user, **headers) -> StaffClient:
    client = StaffClient(**headers)
    client.force_login(user)
    return client


def test_a_session_idle_for_fifteen_minutes_ends_and_the_sign_in_page_says_why(reviewer, clock):
    client = signed_in(reviewer)
    for _ in range(3):  # working: each request starts the idle clock again
        clock.shift(timedelta(minutes=14))
        assert client.get("/review/").status_code == 200
    clock.shift(timedelta(minutes=15, seconds=1))
    response = client.get("/review/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/review/"
    login_page = client.get(response["Location"]).content.decode()
    assert "You were signed out after 15 minutes without activity. Sign in again." in login_page
    assert client.get("/review/")["Location"] == "/accounts/login/?next=/review/"
    assert not StaffSession.objects.filter(user=reviewer).exists()


def test_the_idle_timeout_follows_its_setting(reviewer, clock, settings):
    settings.KYC_SESSION_IDLE_MINUTES = 5
    client = signed_in(reviewer)
    clock.shift(timedelta(minutes=5, seconds=1))
    assert client.get("/review/")["Location"] == "/accounts/login/?next=/review/"


def test_a_session_ends_at_its_absolute_lifetime_however_busy(reviewer, clock, settings):
    settings.SESSION_COOKIE_AGE = 3600
    client = signed_in(reviewer)
    for _ in range(4):
        clock.shift(timedelta(minutes=14))
        assert client.get("/review/").status_code == 200
    clock.shift(timedelta(minutes=5))  # 61 minutes after signing in, 5 after the last request
    response = client.get("/review/")
    assert response["Location"] == "/accounts/login/?next=/review/"
    assert (
        "Your session reached its 1-hour limit."
        in client.get(response["Location"]).content.decode()
    )


def test_every_staff_page_carries_the_warning_and_its_clock(reviewer, clock):
    client = signed_in(reviewer)
    clock.shift(timedelta(minutes=3))
    html = client.get("/review/").content.decode()
    assert 'id="session-timeout"' in html
    assert 'data-seconds-left="900"' in html  # the request itself was activity
    assert 'data-warn-seconds="120"' in html
    assert 'data-status-url="/accounts/session/"' in html
    assert "/static/js/session.js" in html
    assert "Stay signed in" in html
    assert 'id="session-timeout"' not in Client().get("/accounts/login/").content.decode()


def test_the_admin_warns_the_same_way(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert 'id="session-timeout"' in html
    assert "/static/js/session.js" in html and "/static/css/session.css" in html


def test_asking_how_long_is_left_is_not_activity_but_staying_signed_in_is(reviewer, clock):
    client = signed_in(reviewer)
    clock.shift(timedelta(minutes=10))
    assert client.get("/accounts/session/").json() == {"signed_in": True, "seconds_left": 300}
    clock.shift(timedelta(minutes=4))
    assert client.get("/accounts/session/").json() == {"signed_in": True, "seconds_left": 60}
    assert client.post("/accounts/session/").json() == {"signed_in": True, "seconds_left": 900}
    clock.shift(timedelta(minutes=15, seconds=1))
    assert client.get("/accounts/session/").json() == {"signed_in": False, "seconds_left": 0}
    assert client.get("/review/")["Location"] == "/accounts/login/?next=/review/"


def test_an_admin_sees_a_users_sessions_and_signs_them_out_everywhere(admin_client, reviewer):
    laptop = signed_in(reviewer, HTTP_USER_AGENT="Firefox on the laptop")
    tablet = signed_in(reviewer, HTTP_USER_AGENT="Safari on the tablet")
    laptop.get("/review/")
    tablet.get("/review/")
    assert StaffSession.objects.filter(user=reviewer).count() == 2

    change = admin_client.get(f"/admin/auth/user/{reviewer.pk}/change/").content.decode()
    end_url = f"/admin/auth/user/{reviewer.pk}/sessions/end/"
    assert change.count("<tr><td>") == 2
    assert f'href="{end_url}"' in change
    question = admin_client.get(end_url).content.decode()
    assert "End every session of rita now?" in question
    assert laptop.get("/review/").status_code == 200  # asking ends nothing

    response = admin_client.post(end_url)
    assert response["Location"] == f"/admin/auth/user/{reviewer.pk}/change/"
    for browser in (laptop, tablet):
        assert browser.get("/review/")["Location"] == "/accounts/login/?next=/review/"
    [event] = AuditEvent.objects.filter(event_type="sessions.ended")
    assert (event.actor_label, event.subject_type, event.subject_id) == (
        "admin",
        "user",
        str(reviewer.pk),
    )
    assert event.params == {"username": "rita", "sessions": 2}
    assert not StaffSession.objects.filter(user=reviewer).exists()


def test_the_users_session_list_leaves_out_sessions_that_ended_on_their_own(reviewer, clock):
    signed_in(reviewer, HTTP_USER_AGENT="Left open overnight")
    clock.shift(timedelta(minutes=20))
    admin = signed_in(UserFactory(username="ada", is_staff=True, is_superuser=True))
    change = admin.get(f"/admin/auth/user/{reviewer.pk}/change/").content.decode()
    assert "Left open overnight" not in change
    assert not StaffSession.objects.filter(user=reviewer).exists()


def test_signing_out_forgets_the_session(reviewer):
    client = signed_in(reviewer)
    assert StaffSession.objects.filter(user=reviewer).count() == 1
    client.post("/accounts/logout/")
    assert not StaffSession.objects.filter(user=reviewer).exists()


def test_session_and_csrf_cookies_are_secure_when_debug_is_off(reviewer):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.cookies["csrftoken"]["secure"] is True
    signed = client.post(
        "/accounts/login/", {"username": "rita", "password": "correct horse battery"}
    )
    assert signed.status_code == 302
    cookie = signed.cookies["sessionid"]
    assert (cookie["secure"], cookie["httponly"], cookie["samesite"]) == (True, True, "Lax")


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        ({"DJANGO_ENV": "development", "DEBUG": "false"}, "True True"),
        ({"DJANGO_ENV": "development", "DEBUG": "true"}, "False False"),
    ],
    ids=["debug off", "debug on (a developer's machine)"],
)
def test_cookies_are_secure_whenever_debug_is_off(environment, secure, tmp_path):
    import os

    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "DJANGO_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(environment, KYC_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(REPO))
    env["DJANGO_SETTINGS_MODULE"] = "kyc.settings"
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == secure
