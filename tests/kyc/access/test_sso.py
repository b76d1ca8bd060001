"""Single sign-on, end to end: the application (pytest-django's live server) and a real OpenID
Connect provider (django-oauth-toolkit in its own process), both on loopback, driven through
their pages with httpx following every redirect from one to the other."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

from kyc.access.models import SsoIdentity
from kyc.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

#: What the application's sign-in page says when single sign-on did not complete.
FAILED = "Single sign-on did not complete, so you are not signed in."


def sign_in_with_sso(web, live_server, username: str, password: str = PASSWORD):
    """The sign-in page's "Sign in with SSO", the provider's form, its consent page: the page
    the browser lands on at the end."""
    login = web.get(f"{live_server.url}/accounts/login/")
    provider_form = web.follow(login, "Sign in with SSO")
    assert "Test identity provider" in provider_form.text
    consent = web.submit(provider_form, {"username": username, "password": password})
    assert "Authorize KYC face review?" in consent.text
    return web.submit(consent, {"allow": "Authorize"})


def path_of(response) -> str:
    return urlsplit(str(response.url)).path


def events(event_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=event_type).order_by("seq"))


def test_a_first_sso_sign_in_creates_the_user_with_the_role_from_the_groups_claim(
    sso, web, live_server
):
    subject = sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers", "wiki-editors")

    landed = sign_in_with_sso(web, live_server, "pia")

    assert (landed.status_code, path_of(landed)) == (200, "/review/")
    assert "Review queue" in landed.text
    identity = SsoIdentity.objects.select_related("user").get(subject=subject)
    pia = identity.user
    assert (identity.issuer, pia.username, pia.email) == (
        sso.discovery["issuer"],
        "pia",
        "pia@bank.example",
    )
    assert [g.name for g in pia.groups.all()] == ["Reviewers"]  # unmapped groups grant nothing
    assert not pia.has_usable_password()
    assert (pia.is_staff, pia.is_superuser) == (False, False)

    sso_actor = ("system", "", "sso")
    [created] = events("user.created")
    assert (created.actor_type, created.actor_id, created.actor_label) == sso_actor
    [linked] = events("user.sso_linked")
    assert linked.params == {
        "username": "pia",
        "issuer": sso.discovery["issuer"],
        "matched_by": "created",
    }
    [roles] = events("user.groups_changed")
    assert (roles.actor_label, roles.params) == (
        "sso",
        {"username": "pia", "added": ["Reviewers"], "removed": []},
    )
    [signed_in] = events("staff.signed_in")
    assert (signed_in.actor_label, signed_in.subject_id) == ("pia", str(pia.pk))
    assert signed_in.params == {
        "username": "pia",
        "method": "sso",
        "second_factor_required": False,
        "address": "127.0.0.1",
    }


def test_an_existing_account_is_found_by_email_once_then_by_subject_whatever_the_email_says(
    sso, web, live_server
):
    audrey = UserFactory(username="audrey", email="Audrey@Bank.example")
    subject = sso.add_user("a.smith", PASSWORD, "audrey@bank.example", "kyc-auditors")

    first = sign_in_with_sso(web, live_server, "a.smith")
    assert path_of(first) == "/audit/"
    assert SsoIdentity.objects.get(subject=subject).user == audrey
    assert events("user.sso_linked")[0].params["matched_by"] == "email"

    # At the provider: a new address, and moved from the auditors to the reviewers.
    sso.set_email("a.smith", "audrey.smith@bank.example")
    sso.set_groups("a.smith", "kyc-reviewers")
    web.http.cookies.clear()
    second = sign_in_with_sso(web, live_server, "a.smith")

    assert path_of(second) == "/review/"
    assert User.objects.count() == 1  # no second account
    audrey.refresh_from_db()
    assert audrey.email == "audrey.smith@bank.example"
    assert [g.name for g in audrey.groups.all()] == ["Reviewers"]
    assert [e.params for e in events("user.groups_changed")] == [
        {"username": "audrey", "added": ["Auditors"], "removed": []},
        {"username": "audrey", "added": [], "removed": ["Auditors"]},
        {"username": "audrey", "added": ["Reviewers"], "removed": []},
    ]


def test_an_sso_user_can_no_longer_sign_in_with_a_local_password(sso, web, live_server):
    UserFactory(username="audrey", email="audrey@bank.example", role="Auditors")
    sso.add_user("audrey-sso", PASSWORD, "audrey@bank.example", "kyc-auditors")
    sign_in_with_sso(web, live_server, "audrey-sso")
    web.http.cookies.clear()

    login = web.get(f"{live_server.url}/accounts/login/")
    refused = web.submit(login, {"username": "audrey", "password": PASSWORD})
    assert path_of(refused) == "/accounts/login/"
    assert "Your username and password didn't match." in refused.text
    assert events("staff.sign_in_failed")[-1].params["username"] == "audrey"


def test_signing_out_ends_the_session_here_and_at_the_provider(sso, web, live_server):
    sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers")
    queue = sign_in_with_sso(web, live_server, "pia")

    signed_out = web.submit(queue, {}, index=0)  # the "Sign out" form of the header

    assert (signed_out.status_code, path_of(signed_out)) == (200, "/accounts/login/")
    hops = [str(hop.url) for hop in signed_out.history]
    assert any(hop.startswith(sso.discovery["end_session_endpoint"]) for hop in hops)
    again = web.get(f"{live_server.url}/review/")
    assert path_of(again) == "/accounts/login/"  # our session is over
    provider_form = web.follow(again, "Sign in with SSO")
    assert "Test identity provider" in provider_form.text  # and the provider's too
    [signed_out_event] = events("staff.signed_out")
    assert signed_out_event.params == {"username": "pia", "address": "127.0.0.1"}


def test_a_refused_consent_lands_back_on_the_sign_in_page_with_a_message(sso, web, live_server):
    sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers")
    login = web.get(f"{live_server.url}/accounts/login/")
    provider_form = web.follow(login, "Sign in with SSO")
    consent = web.submit(provider_form, {"username": "pia", "password": PASSWORD})

    cancelled = web.submit(consent, {})  # "Cancel" is the submit button without a name

    assert (cancelled.status_code, path_of(cancelled)) == (200, "/accounts/login/")
    assert FAILED in cancelled.text
    assert not User.objects.exists()
    assert not events("staff.signed_in")


def test_an_id_token_from_another_issuer_is_refused_and_recorded(sso, web, live_server, settings):
    settings.KYC_OIDC_ISSUER = "https://login.elsewhere.example/o"
    sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers")

    landed = sign_in_with_sso(web, live_server, "pia")

    assert path_of(landed) == "/accounts/login/"
    assert FAILED in landed.text
    assert not User.objects.exists()
    [failed] = events("staff.sign_in_failed")
    assert failed.params == {"username": "", "method": "sso", "address": "127.0.0.1"}


def test_a_replayed_callback_is_refused_with_the_message_not_an_error(sso, web, live_server):
    sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers")
    landed = sign_in_with_sso(web, live_server, "pia")
    callback = next(hop for hop in landed.history if "/accounts/sso/callback/" in str(hop.url))
    web.http.cookies.clear()

    replayed = web.get(str(callback.url))

    assert (replayed.status_code, path_of(replayed)) == (200, "/accounts/login/")
    assert FAILED in replayed.text


def test_a_deactivated_user_is_refused_and_their_open_session_ends(sso, web, live_server):
    sso.add_user("pia", PASSWORD, "pia@bank.example", "kyc-reviewers")
    sign_in_with_sso(web, live_server, "pia")
    User.objects.filter(username="pia").update(is_active=False)

    assert path_of(web.get(f"{live_server.url}/review/")) == "/accounts/login/"
    web.http.cookies.clear()
    refused = sign_in_with_sso(web, live_server, "pia")
    assert path_of(refused) == "/accounts/login/"
    assert FAILED in refused.text


def test_without_trusting_the_providers_second_factor_sso_users_pass_ours_too(
    sso, web, live_server, settings
):
    settings.KYC_OIDC_PROVIDER_CHECKS_SECOND_FACTOR = False
    sso.add_user("quinn", PASSWORD, "quinn@bank.example", "kyc-reviewers")

    landed = sign_in_with_sso(web, live_server, "quinn")

    assert (landed.status_code, path_of(landed)) == (200, "/accounts/second-factor/set-up/")
    [signed_in] = events("staff.signed_in")
    assert (signed_in.params["method"], signed_in.params["second_factor_required"]) == (
        "sso",
        True,
    )
