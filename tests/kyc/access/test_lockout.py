"""The sign-in lockout: five failures for a name or from an address (tests/conftest.py), a page
that says so, a 15-minute cool-off from the last failure, and an audited unlock in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kyc.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.staff import StaffClient

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "not the password"
LOCKED_TEXT = "Too many failed sign-ins for this name or from this address."
COOL_OFF_TEXT = (
    "Signing in stays locked until 15 minutes after the last failed attempt. "
    "An administrator can unlock it sooner."
)


@pytest.fixture
def rita(db):
    return UserFactory(username="rita", role="Reviewers")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def sign_in(username: str, password: str = WRONG_PASSWORD, address: str = "192.0.2.10"):
    browser = Client(REMOTE_ADDR=address)
    response = browser.post("/accounts/login/", {"username": username, "password": password})
    return response, browser


def signed_in(browser: Client) -> bool:
    return SESSION_KEY in browser.session


def fail(times: int, username: str = "rita", address: str = "192.0.2.10") -> list[int]:
    return [sign_in(username, address=address)[0].status_code for _ in range(times)]


def events(event_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=event_type).order_by("seq"))


def test_the_fifth_wrong_password_locks_the_name_and_the_page_says_so(rita, clock):
    assert fail(4) == [200] * 4  # the form again, with its error
    response, _ = sign_in("rita")
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED_TEXT in page
    assert COOL_OFF_TEXT in page

    # Locked: even the right password is refused, from anywhere, without being checked.
    response, browser = sign_in("rita", PASSWORD, address="198.51.100.3")
    assert response.status_code == 429
    assert LOCKED_TEXT in response.content.decode()
    assert not signed_in(browser)

    [locked] = events("staff.locked_out")
    assert (locked.actor_type, locked.actor_label) == ("system", "lockout")
    assert (locked.subject_type, locked.subject_id) == ("user", str(rita.pk))
    assert locked.params == {
        "username": "rita",
        "address": "192.0.2.10",
        "failures": 5,
        "cool_off_minutes": 15,
    }
    failed = events("staff.sign_in_failed")
    assert len(failed) == 6  # five wrong passwords and the refused right one
    assert failed[-1].params == {
        "username": "rita",
        "method": "password",
        "address": "198.51.100.3",
    }
    assert failed[4].seq < locked.seq  # the failure, then the lockout it caused


def test_the_lock_lifts_once_fifteen_minutes_have_passed_since_the_last_failure(rita, clock):
    fail(5)
    clock.shift(timedelta(minutes=15))
    assert sign_in("rita", PASSWORD)[0].status_code == 429
    clock.shift(timedelta(seconds=1))
    response, browser = sign_in("rita", PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in(browser)


def test_attempts_refused_during_the_lock_do_not_extend_it(rita, clock):
    fail(5)
    for _ in range(3):
        clock.shift(timedelta(minutes=4))
        assert sign_in("rita")[0].status_code == 429
    clock.shift(timedelta(minutes=3, seconds=1))  # just over 15 minutes after the fifth failure
    assert signed_in(sign_in("rita", PASSWORD)[1])
    assert len(events("staff.locked_out")) == 1


def test_one_address_trying_many_names_is_locked_out_whatever_name_it_tries(rita, clock):
    for name in ("ann", "bob", "cy", "dee", "eve"):
        sign_in(name, address="192.0.2.66")
    response, browser = sign_in("rita", PASSWORD, address="192.0.2.66")
    assert response.status_code == 429
    assert not signed_in(browser)
    assert signed_in(sign_in("rita", PASSWORD, address="198.51.100.3")[1])
    [locked] = events("staff.locked_out")
    assert (locked.subject_id, locked.params["username"]) == ("", "eve")
    assert locked.params["address"] == "192.0.2.66"


def test_a_test_client_signed_in_with_force_login_never_meets_the_lockout(rita, clock):
    fail(5)
    browser = StaffClient()
    browser.force_login(rita)
    assert browser.get("/review/").status_code == 200


def test_an_admin_unlocks_a_name_from_the_admin_and_it_is_audited(rita, admin_client, clock):
    fail(5)
    changelist = reverse("admin:axes_accessattempt_changelist")
    listing = admin_client.get(changelist)
    assert listing.status_code == 200
    assert 'alt="True"' in listing.content.decode()  # "Locked now"
    attempt = AccessAttempt.objects.get(username="rita")

    response = admin_client.post(
        changelist, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True
    )
    assert "Unlocked 1 name and address: they may sign in again." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    [unlocked] = events("staff.unlocked")
    assert (unlocked.actor_type, unlocked.actor_label) == ("user", "admin")
    assert (unlocked.subject_type, unlocked.subject_id) == ("user", str(rita.pk))
    assert unlocked.params == {"username": "rita", "address": "192.0.2.10", "failures": 5}
    assert signed_in(sign_in("rita", PASSWORD)[1])


def test_counters_cannot_be_deleted_in_the_admin_only_unlocked(rita, admin_client, clock):
    fail(1)
    attempt = AccessAttempt.objects.get()
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_staff_without_the_change_permission_cannot_unlock(rita, clock):
    fail(5)
    viewer = UserFactory(is_staff=True, permissions=["axes.view_accessattempt"])
    browser = StaffClient()
    browser.force_login(viewer)
    changelist = reverse("admin:axes_accessattempt_changelist")
    attempt = AccessAttempt.objects.get()
    response = browser.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk]})
    assert response.status_code == 200  # the list again: the action is not offered
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert not events("staff.unlocked")
