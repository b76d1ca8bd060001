"""Which account a verified set of claims signs in as, and the roles it gets (no provider
needed: the claims are what oidc.py hands over once it has checked the tokens)."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import User

from kyc.access import sso_accounts
from kyc.access.models import SsoIdentity
from kyc.audit.models import AuditEvent
from reviews.roles import bootstrap_roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ISSUER = "https://login.bank.example"


@pytest.fixture(autouse=True)
def _roles(settings):
    bootstrap_roles()
    settings.KYC_OIDC_GROUP_MAP = {"kyc-reviewers": "Reviewers", "kyc-auditors": "Auditors"}
    settings.KYC_OIDC_GROUPS_CLAIM = "groups"
    settings.KYC_OIDC_CREATE_USERS = True


def claims(sub: str = "sub-1", **more: object) -> dict[str, object]:
    return {"sub": sub, "email": "pia@bank.example", "preferred_username": "pia", **more}


def roles_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_an_account_linked_to_another_subject_is_not_taken_over_by_email():
    pia = UserFactory(username="pia", email="pia@bank.example")
    SsoIdentity.objects.create(user=pia, issuer=ISSUER, subject="sub-1")
    assert sso_accounts.sign_in(claims("sub-2"), issuer=ISSUER) is None
    assert SsoIdentity.objects.count() == 1


def test_an_address_the_provider_calls_unverified_finds_no_account():
    pia = UserFactory(username="pia", email="pia@bank.example")
    user = sso_accounts.sign_in(claims(email_verified=False), issuer=ISSUER)
    assert user is not None and user != pia
    assert user.email == ""  # not kept either


def test_two_accounts_with_the_address_are_ambiguous_and_refused():
    UserFactory(username="pia", email="pia@bank.example")
    UserFactory(username="pia2", email="PIA@bank.example")
    assert sso_accounts.sign_in(claims(), issuer=ISSUER) is None


def test_without_account_creation_a_stranger_is_refused(settings):
    settings.KYC_OIDC_CREATE_USERS = False
    assert sso_accounts.sign_in(claims(), issuer=ISSUER) is None
    assert not User.objects.exists()


def test_a_taken_username_gets_a_suffix_drawn_from_the_subject():
    UserFactory(username="pia", email="other@bank.example")
    user = sso_accounts.sign_in(claims(email="pia.new@bank.example"), issuer=ISSUER)
    suffix = hashlib.sha256(b"sub-1").hexdigest()[:8]
    assert user.username == f"pia-{suffix}"


def test_characters_a_username_may_not_hold_become_underscores():
    user = sso_accounts.sign_in(claims(preferred_username="Pia Müller/HQ"), issuer=ISSUER)
    assert user.username == "Pia_Müller_HQ"


def test_a_deactivated_account_is_refused_and_left_as_it_was():
    pia = UserFactory(username="pia", email="pia@bank.example", is_active=False)
    assert sso_accounts.sign_in(claims(groups=["kyc-reviewers"]), issuer=ISSUER) is None
    assert not SsoIdentity.objects.exists()
    assert roles_of(pia) == []


def test_a_single_group_value_is_read_like_a_list():
    user = sso_accounts.sign_in(claims(groups="kyc-auditors"), issuer=ISSUER)
    assert roles_of(user) == ["Auditors"]


def test_groups_given_in_the_admin_outside_the_map_are_left_alone():
    pia = UserFactory(username="pia", email="pia@bank.example", role="Senior reviewers")
    sso_accounts.sign_in(claims(groups=["kyc-reviewers"]), issuer=ISSUER)
    assert roles_of(pia) == ["Reviewers", "Senior reviewers"]
    sso_accounts.sign_in(claims(groups=[]), issuer=ISSUER)
    assert roles_of(pia) == ["Senior reviewers"]


def test_without_a_map_roles_are_managed_in_the_admin_only(settings):
    settings.KYC_OIDC_GROUP_MAP = {}
    pia = UserFactory(username="pia", email="pia@bank.example", role="Auditors")
    sso_accounts.sign_in(claims(groups=["kyc-reviewers"]), issuer=ISSUER)
    assert roles_of(pia) == ["Auditors"]


def test_a_mapped_group_that_does_not_exist_is_skipped_and_named_in_the_log(settings, caplog):
    settings.KYC_OIDC_GROUP_MAP = {"kyc-reviewers": "Reviewers", "kyc-qa": "Quality"}
    user = sso_accounts.sign_in(claims(groups=["kyc-reviewers", "kyc-qa"]), issuer=ISSUER)
    assert roles_of(user) == ["Reviewers"]
    assert "KYC_OIDC_GROUP_MAP names groups that do not exist: ['Quality']." in caplog.text


def test_single_sign_on_never_changes_staff_or_superuser_status():
    boss = UserFactory(username="boss", email="pia@bank.example", is_staff=True, is_superuser=True)
    sso_accounts.sign_in(claims(groups=[]), issuer=ISSUER)
    boss.refresh_from_db()
    assert (boss.is_staff, boss.is_superuser) == (True, True)
    assert not AuditEvent.objects.filter(event_type="user.privileges_changed").exists()


def test_an_admin_unlinks_an_account_so_a_recreated_provider_account_can_link_again(admin_client):
    pia = UserFactory(username="pia", email="pia@bank.example")
    SsoIdentity.objects.create(user=pia, issuer=ISSUER, subject="sub-1")
    change_page = admin_client.get(f"/admin/auth/user/{pia.pk}/change/").content.decode()
    url = f"/admin/auth/user/{pia.pk}/sso/unlink/"
    assert f"Linked to {ISSUER} (subject sub-1)" in change_page and f'href="{url}"' in change_page
    assert "Forget which account at the sign-on provider pia is?" in admin_client.get(url).text
    assert SsoIdentity.objects.filter(user=pia).exists()  # asking changes nothing

    assert admin_client.post(url)["Location"] == f"/admin/auth/user/{pia.pk}/change/"

    assert not SsoIdentity.objects.filter(user=pia).exists()
    [event] = AuditEvent.objects.filter(event_type="user.sso_unlinked")
    assert (event.actor_label, event.subject_id) == ("admin", str(pia.pk))
    assert event.params == {"username": "pia", "issuer": ISSUER}
    # The provider's new account for the same person links by email again.
    assert sso_accounts.sign_in(claims("sub-2"), issuer=ISSUER) == pia
    assert SsoIdentity.objects.get(user=pia).subject == "sub-2"


def test_unlinking_an_account_without_a_link_changes_and_audits_nothing(admin_client):
    pia = UserFactory(username="pia", email="pia@bank.example")
    assert "Not linked." in admin_client.get(f"/admin/auth/user/{pia.pk}/change/").text
    admin_client.post(f"/admin/auth/user/{pia.pk}/sso/unlink/")
    assert not AuditEvent.objects.filter(event_type="user.sso_unlinked").exists()
