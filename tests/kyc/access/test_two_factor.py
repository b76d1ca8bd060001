"""Second factors: who must have one, setting one up, signing in with it, and taking it away."""

from __future__ import annotations

from base64 import b32encode
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.access import two_factor
from kyc.access.models import SecondFactorPolicy
from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from tests.factories import UserFactory
from tests.staff import give_authenticator, totp_code

pytestmark = pytest.mark.django_db

SET_UP = "/accounts/second-factor/set-up/"
VERIFY = "/accounts/second-factor/verify/"
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def signed_in_with_password(user) -> Client:
    """A browser past the password, not yet past the second step."""
    client = Client()
    client.force_login(user)
    return client


def events(event_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=event_type))


def wrong_code(device: TOTPDevice) -> str:
    """A six-digit code that none of the steps the device accepts now would show."""
    accepted = set()
    for step in (-1, 0, 1):
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = NOW.timestamp() + step * device.step
        accepted.add(totp.token())
    return next(f"{n:06d}" for n in range(1_000_000) if n not in accepted)


@pytest.fixture
def reviewer():
    return UserFactory(username="rita", role="Reviewers")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- who must have one ---------------------------------------------------------------------------


def test_a_role_that_requires_it_is_sent_to_set_one_up_before_any_page(reviewer):
    client = signed_in_with_password(reviewer)
    for page in ("/review/", "/", "/accounts/second-factor/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(f"{SET_UP}?next="), page
    assert client.get("/review/")["Location"] == f"{SET_UP}?next=%2Freview%2F"


def test_a_role_the_admin_exempted_opens_its_pages_without_one(reviewer):
    two_factor.set_role_policy(Group.objects.get(name="Reviewers"), Actor.system(), required=False)
    assert signed_in_with_password(reviewer).get("/review/").status_code == 200


def test_administrators_need_one_whatever_their_roles_say():
    admin = UserFactory(is_staff=True, is_superuser=True, role="Reviewers")
    two_factor.set_role_policy(Group.objects.get(name="Reviewers"), Actor.system(), required=False)
    client = signed_in_with_password(admin)
    assert client.get("/admin/")["Location"] == f"{SET_UP}?next=%2Fadmin%2F"
    # The admin's own sign-in form would be a second door: it leads to the one sign-in page.
    assert Client().get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/?next=/admin/"


def test_someone_who_set_one_up_is_asked_for_it_even_in_an_exempted_role(reviewer):
    two_factor.set_role_policy(Group.objects.get(name="Reviewers"), Actor.system(), required=False)
    give_authenticator(reviewer)
    assert signed_in_with_password(reviewer).get("/review/")["Location"] == (
        f"{VERIFY}?next=%2Freview%2F"
    )


def test_a_roles_rule_is_set_on_its_admin_page_and_audited(admin_client, reviewer):
    reviewers = Group.objects.get(name="Reviewers")
    form = admin_client.get(f"/admin/auth/group/{reviewers.pk}/change/").context["adminform"].form
    assert form["second_factor_required"].initial is True  # required until the admin says not
    response = admin_client.post(
        f"/admin/auth/group/{reviewers.pk}/change/",
        {
            "name": "Reviewers",
            "permissions": list(reviewers.permissions.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    assert SecondFactorPolicy.objects.get(group=reviewers).required is False
    [event] = events("second_factor.policy_changed")
    assert (event.subject_type, event.subject_id) == ("role", str(reviewers.pk))
    assert event.params == {"role": "Reviewers", "required": False}
    assert event.actor_label == "admin"
    assert signed_in_with_password(reviewer).get("/review/").status_code == 200


# --- setting one up ------------------------------------------------------------------------------


def test_the_set_up_page_draws_the_qr_code_itself_and_shows_the_key_to_type(reviewer):
    response = signed_in_with_password(reviewer).get(f"{SET_UP}?next=/review/")
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=reviewer)
    assert device.confirmed is False  # nothing counts until a first code proves the app has it
    html = response.content.decode()
    assert '<svg width="' in html and 'xmlns="http://www.w3.org/2000/svg"' in html
    assert "<img" not in html.split('class="qr"')[1].split("</figure>")[0]
    key = b32encode(device.bin_key).decode()
    assert " ".join(key[i : i + 4] for i in range(0, len(key), 4)) in html
    assert 'autocomplete="one-time-code"' in html


def test_a_wrong_first_code_is_explained_next_to_the_field_and_sets_nothing_up(reviewer, clock):
    client = signed_in_with_password(reviewer)
    client.get(SET_UP)
    device = TOTPDevice.objects.get(user=reviewer)
    response = client.post(SET_UP, {"code": wrong_code(device), "next": "/review/"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "code": ["That is not the code your app shows for this key. Type the 6 digits shown now."]
    }
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    assert events("second_factor.enrolled") == []
    assert client.get("/review/")["Location"].startswith(SET_UP)


def test_a_blank_code_is_refused_by_name(reviewer):
    client = signed_in_with_password(reviewer)
    response = client.post(SET_UP, {"code": "  "})
    assert response.context["form"].errors == {"code": ["Type the code first."]}


def test_the_first_right_code_sets_it_up_and_shows_ten_recovery_codes_once(reviewer, clock):
    client = signed_in_with_password(reviewer)
    client.get(SET_UP)
    device = TOTPDevice.objects.get(user=reviewer)
    response = client.post(SET_UP, {"code": totp_code(device), "next": "/review/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/second-factor/recovery-codes/?next=%2Freview%2F"

    shown = client.get(response["Location"])
    tokens = set(StaticToken.objects.filter(device__user=reviewer).values_list("token", flat=True))
    assert len(tokens) == two_factor.RECOVERY_CODES == 10
    assert set(shown.context["codes"]) == tokens
    assert all(token in shown.content.decode() for token in tokens)
    assert shown["Cache-Control"].startswith("no-store")
    again = client.get(response["Location"])
    assert again.context["codes"] == []
    assert "Recovery codes already shown" in again.content.decode()

    device.refresh_from_db()
    assert device.confirmed is True
    [event] = events("second_factor.enrolled")
    assert (event.actor_label, event.subject_type, event.subject_id) == (
        "rita",
        "user",
        str(reviewer.pk),
    )
    assert event.params == {"username": "rita", "device": "totp", "recovery_codes": 10}
    page = client.get("/review/")
    assert page.status_code == 200  # the session that set it up counts as verified
    assert two_factor.second_factor_of(page.wsgi_request) == "totp"


def test_someone_with_a_second_factor_cannot_set_up_another_over_it(reviewer):
    give_authenticator(reviewer)
    assert signed_in_with_password(reviewer).get(SET_UP)["Location"] == VERIFY


# --- signing in with it --------------------------------------------------------------------------


def test_signing_in_asks_for_the_code_and_accepts_the_one_the_app_shows(reviewer, clock):
    device = give_authenticator(reviewer)
    client = signed_in_with_password(reviewer)
    assert client.get("/review/")["Location"] == f"{VERIFY}?next=%2Freview%2F"
    assert two_factor.second_factor_of(client.get(VERIFY).wsgi_request) is None
    assert events("second_factor.passed") == []
    response = client.post(VERIFY, {"code": totp_code(device), "next": "/review/"})
    assert response["Location"] == "/review/"
    page = client.get("/review/")
    assert page.status_code == 200
    assert two_factor.second_factor_of(page.wsgi_request) == "totp"
    [signed_in] = events("staff.signed_in")
    assert signed_in.params["second_factor_required"] is True
    [passed] = events("second_factor.passed")
    assert (passed.subject_id, passed.params) == (
        str(reviewer.pk),
        {"username": reviewer.username, "device": "totp", "address": "127.0.0.1"},
    )


def test_an_app_code_is_accepted_once_only(reviewer, clock):
    device = give_authenticator(reviewer)
    code = totp_code(device)
    assert signed_in_with_password(reviewer).post(VERIFY, {"code": code})["Location"] == "/"
    clock.shift(5)  # past the throttle's wait; still the same 30-second step
    replay = signed_in_with_password(reviewer).post(VERIFY, {"code": code})
    assert replay.status_code == 200
    assert replay.context["form"].errors == {
        "code": ["That code is not valid. Type the 6 digits your app shows now."]
    }


def test_a_recovery_code_signs_in_once_and_is_refused_the_second_time(reviewer):
    give_authenticator(reviewer)
    codes = two_factor.replace_recovery_codes(reviewer)
    typed = f"{codes[0][:4].upper()} {codes[0][4:].upper()}"  # as people copy it from paper

    first = signed_in_with_password(reviewer)
    assert first.post(VERIFY, {"code": typed, "next": "/review/"})["Location"] == "/review/"
    page = first.get("/review/")
    assert page.status_code == 200
    assert two_factor.second_factor_of(page.wsgi_request) == "recovery_code"
    assert two_factor.recovery_codes_left(reviewer) == 9
    assert [e.params["device"] for e in events("second_factor.passed")] == ["recovery_code"]

    second = signed_in_with_password(reviewer)
    again = second.post(VERIFY, {"code": codes[0], "next": "/review/"})
    assert again.status_code == 200
    assert again.context["form"].errors == {
        "code": ["That code is not valid (a recovery code works only once)."]
    }
    assert second.get("/review/")["Location"].startswith(VERIFY)


def test_after_a_wrong_code_the_next_try_waits_and_says_how_long(reviewer, clock):
    device = give_authenticator(reviewer)
    client = signed_in_with_password(reviewer)
    client.post(VERIFY, {"code": wrong_code(device)})
    hurried = client.post(VERIFY, {"code": totp_code(device)})
    assert hurried.context["form"].errors == {
        "code": ["Too many wrong codes. Wait 1 second, then try again."]
    }
    clock.shift(2)
    assert client.post(VERIFY, {"code": totp_code(device)})["Location"] == "/"


# --- taking it away ------------------------------------------------------------------------------


def test_removing_ones_own_second_factor_is_audited_and_leads_to_setting_up_anew(reviewer, clock):
    device = give_authenticator(reviewer)
    two_factor.replace_recovery_codes(reviewer)
    client = signed_in_with_password(reviewer)
    client.post(VERIFY, {"code": totp_code(device)})
    page = client.get("/accounts/second-factor/")
    assert page.status_code == 200
    assert "Verified with the authenticator app" in page.content.decode()

    response = client.post("/accounts/second-factor/")
    assert response["Location"] == SET_UP
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    [event] = events("second_factor.removed")
    assert event.params == {"username": "rita", "devices": ["totp", "recovery_code"]}
    assert event.actor_label == "rita"
    assert client.get("/review/")["Location"].startswith(SET_UP)


def test_an_admin_reset_removes_the_devices_audits_it_and_the_user_sets_up_anew(
    admin_client, reviewer, clock
):
    device = give_authenticator(reviewer)
    two_factor.replace_recovery_codes(reviewer)
    reviewer_browser = signed_in_with_password(reviewer)
    reviewer_browser.post(VERIFY, {"code": totp_code(device)})
    assert reviewer_browser.get("/review/").status_code == 200

    url = f"/admin/auth/user/{reviewer.pk}/second-factor/reset/"
    change_page = admin_client.get(f"/admin/auth/user/{reviewer.pk}/change/").content.decode()
    assert f'href="{url}"' in change_page and "10 recovery code(s) left" in change_page
    question = admin_client.get(url)
    assert "Remove the authenticator app and recovery codes of rita?" in question.content.decode()
    assert TOTPDevice.objects.filter(user=reviewer).exists()  # asking changes nothing

    response = admin_client.post(url)
    assert response["Location"] == f"/admin/auth/user/{reviewer.pk}/change/"
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    [event] = events("second_factor.reset")
    assert (event.actor_label, event.subject_id) == ("admin", str(reviewer.pk))
    assert event.params == {"username": "rita", "devices": ["totp", "recovery_code"]}
    # The session the old app verified no longer counts: the reviewer sets up a new app.
    assert reviewer_browser.get("/review/")["Location"] == f"{SET_UP}?next=%2Freview%2F"


def test_the_admin_shows_no_ones_keys_or_recovery_codes(admin_client, reviewer):
    give_authenticator(reviewer)
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert admin_client.get("/admin/otp_static/staticdevice/").status_code == 404


def test_the_second_step_wants_a_password_first():
    response = Client().get(VERIFY)
    assert response["Location"] == f"/accounts/login/?next={VERIFY}"


def test_a_code_from_minutes_ago_is_refused(reviewer, clock):
    device = give_authenticator(reviewer)
    code = totp_code(device)
    clock.shift(timedelta(minutes=5))
    response = signed_in_with_password(reviewer).post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert "That code is not valid" in response.context["form"].errors["code"][0]
