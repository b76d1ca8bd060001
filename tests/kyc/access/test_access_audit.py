"""Every staff access event, with its exact fields: sign-in, failure, sign-out, accounts, roles
and permissions. Changes made in the admin are the admin's; elsewhere, the system's."""

from __future__ import annotations

import json

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from kyc.audit.chain import verify_chain
from kyc.audit.models import AuditEvent
from reviews.roles import bootstrap_roles
from tests.factories import PASSWORD, UserFactory
from tests.staff import StaffClient

pytestmark = pytest.mark.django_db

SYSTEM = ("system", "", "system")


@pytest.fixture
def roles(db):
    bootstrap_roles()
    return {group.name: group for group in Group.objects.all()}


def new_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=since).order_by("seq"))


def head() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def summary(event: AuditEvent) -> tuple:
    return (
        event.event_type,
        (event.actor_type, event.actor_id, event.actor_label),
        (event.subject_type, event.subject_id),
        event.params,
    )


def permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


# --- signing in and out --------------------------------------------------------------------------


def test_a_password_sign_in_and_sign_out_are_recorded_with_method_and_address():
    rita = UserFactory(username="rita")
    browser = Client(REMOTE_ADDR="192.0.2.10")
    since = head()
    response = browser.post("/accounts/login/", {"username": "rita", "password": PASSWORD})
    assert response.status_code == 302
    browser.post("/accounts/logout/")
    rita_actor = ("user", str(rita.pk), "rita")
    assert [summary(e) for e in new_events(since)] == [
        (
            "staff.signed_in",
            rita_actor,
            ("user", str(rita.pk)),
            {
                "username": "rita",
                "method": "password",
                "second_factor_required": True,
                "address": "192.0.2.10",
            },
        ),
        (
            "staff.signed_out",
            rita_actor,
            ("user", str(rita.pk)),
            {"username": "rita", "address": "192.0.2.10"},
        ),
    ]


def test_a_failed_sign_in_keeps_the_name_tried_cut_to_150_characters_and_never_the_password():
    tried = "x" * 400
    secret = "hunter2-do-not-store"
    since = head()
    response = Client(REMOTE_ADDR="192.0.2.10").post(
        "/accounts/login/", {"username": tried, "password": secret}
    )
    assert response.status_code == 200  # the form again, not a database error
    assert AccessAttempt.objects.get().username == "x" * 150  # counted by the same name
    [failed] = new_events(since)
    assert summary(failed) == (
        "staff.sign_in_failed",
        ("system", "", "anonymous"),
        ("user", ""),
        {"username": "x" * 150, "method": "password", "address": "192.0.2.10"},
    )
    stored = json.dumps(
        [list(AuditEvent.objects.values()), list(AccessAttempt.objects.values())], default=str
    )
    assert secret not in stored


def test_a_failed_sign_in_for_an_existing_name_names_that_user():
    rita = UserFactory(username="rita")
    Client().post("/accounts/login/", {"username": "rita", "password": "not it"})
    failed = AuditEvent.objects.get(event_type="staff.sign_in_failed")
    assert (failed.subject_id, failed.params["username"]) == (str(rita.pk), "rita")


def test_signing_out_without_a_session_records_nothing():
    since = head()
    Client().post("/accounts/logout/")
    assert new_events(since) == []


# --- accounts ------------------------------------------------------------------------------------


def test_a_user_created_outside_a_request_is_the_systems_doing():
    since = head()
    nina = User.objects.create_user("nina", is_staff=True)
    assert [summary(e) for e in new_events(since)] == [
        (
            "user.created",
            SYSTEM,
            ("user", str(nina.pk)),
            {"username": "nina", "is_active": True, "is_staff": True, "is_superuser": False},
        )
    ]


def test_deactivating_reactivating_and_privileges_are_each_recorded():
    nina = User.objects.create_user("nina")
    since = head()
    nina.is_active = False
    nina.save()
    nina.is_active, nina.is_staff, nina.is_superuser = True, True, True
    nina.save()
    nina.first_name = "Nina"  # not an access flag: nothing to record
    nina.save()
    subject = ("user", str(nina.pk))
    assert [summary(e) for e in new_events(since)] == [
        ("user.deactivated", SYSTEM, subject, {"username": "nina"}),
        ("user.reactivated", SYSTEM, subject, {"username": "nina"}),
        (
            "user.privileges_changed",
            SYSTEM,
            subject,
            {
                "username": "nina",
                "changed": ["is_staff", "is_superuser"],
                "before": {"is_staff": False, "is_superuser": False},
                "after": {"is_staff": True, "is_superuser": True},
            },
        ),
    ]


def test_deleting_a_user_is_recorded():
    nina = User.objects.create_user("nina")
    pk = nina.pk
    since = head()
    nina.delete()
    assert [summary(e) for e in new_events(since)] == [
        ("user.deleted", SYSTEM, ("user", str(pk)), {"username": "nina"})
    ]


def test_the_admin_creating_and_changing_a_user_is_the_admins_doing(admin_client, roles):
    admin = User.objects.get(username="admin")
    admin_actor = ("user", str(admin.pk), "admin")
    since = head()
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "nina",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    response = admin_client.post(
        reverse("admin:auth_user_change", args=[nina.pk]),
        {
            "username": "nina",
            "is_staff": "on",
            "groups": [roles["Reviewers"].pk],
            "user_permissions": [permission("kyc.view_dashboard").pk],
            "date_joined_0": nina.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": nina.date_joined.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302
    subject = ("user", str(nina.pk))
    assert [summary(e) for e in new_events(since)] == [
        (
            "user.created",
            admin_actor,
            subject,
            {"username": "nina", "is_active": True, "is_staff": False, "is_superuser": False},
        ),
        ("user.deactivated", admin_actor, subject, {"username": "nina"}),  # is_active unticked
        (
            "user.privileges_changed",
            admin_actor,
            subject,
            {
                "username": "nina",
                "changed": ["is_staff"],
                "before": {"is_staff": False},
                "after": {"is_staff": True},
            },
        ),
        (
            "user.groups_changed",
            admin_actor,
            subject,
            {"username": "nina", "added": ["Reviewers"], "removed": []},
        ),
        (
            "user.permissions_changed",
            admin_actor,
            subject,
            {"username": "nina", "added": ["kyc.view_dashboard"], "removed": []},
        ),
    ]
    assert verify_chain().ok


# --- roles and permissions -----------------------------------------------------------------------


def test_groups_added_removed_and_cleared_are_recorded_as_really_changed(roles):
    nina = User.objects.create_user("nina")
    reviewers, auditors = roles["Reviewers"], roles["Auditors"]
    since = head()
    nina.groups.add(reviewers, auditors)
    nina.groups.add(reviewers)  # already there: nothing changes
    nina.groups.remove(roles["Senior reviewers"])  # never there: nothing changes
    nina.groups.remove(reviewers)
    nina.groups.clear()
    subject = ("user", str(nina.pk))
    assert [summary(e) for e in new_events(since)] == [
        (
            "user.groups_changed",
            SYSTEM,
            subject,
            {"username": "nina", "added": ["Auditors", "Reviewers"], "removed": []},
        ),
        (
            "user.groups_changed",
            SYSTEM,
            subject,
            {"username": "nina", "added": [], "removed": ["Reviewers"]},
        ),
        (
            "user.groups_changed",
            SYSTEM,
            subject,
            {"username": "nina", "added": [], "removed": ["Auditors"]},
        ),
    ]


def test_members_added_from_the_groups_side_are_recorded_per_user(roles):
    nina = User.objects.create_user("nina")
    omar = User.objects.create_user("omar")
    since = head()
    roles["Auditors"].user_set.add(omar, nina)
    assert [(e.subject_id, e.params) for e in new_events(since)] == [
        (str(nina.pk), {"username": "nina", "added": ["Auditors"], "removed": []}),
        (str(omar.pk), {"username": "omar", "added": ["Auditors"], "removed": []}),
    ]


def test_a_users_own_permissions_are_recorded_by_their_dotted_names():
    nina = User.objects.create_user("nina")
    since = head()
    nina.user_permissions.add(permission("reviews.review_case"), permission("kyc.view_dashboard"))
    nina.user_permissions.remove(permission("kyc.view_dashboard"))
    subject = ("user", str(nina.pk))
    assert [summary(e) for e in new_events(since)] == [
        (
            "user.permissions_changed",
            SYSTEM,
            subject,
            {
                "username": "nina",
                "added": ["kyc.view_dashboard", "reviews.review_case"],
                "removed": [],
            },
        ),
        (
            "user.permissions_changed",
            SYSTEM,
            subject,
            {"username": "nina", "added": [], "removed": ["kyc.view_dashboard"]},
        ),
    ]


def test_a_roles_permissions_are_recorded_on_the_group_from_either_side(roles):
    auditors = roles["Auditors"]
    export = permission("kyc.export_decisions")
    since = head()
    auditors.permissions.remove(export)
    export.group_set.add(auditors)
    subject = ("group", str(auditors.pk))
    assert [summary(e) for e in new_events(since)] == [
        (
            "group.permissions_changed",
            SYSTEM,
            subject,
            {"group": "Auditors", "added": [], "removed": ["kyc.export_decisions"]},
        ),
        (
            "group.permissions_changed",
            SYSTEM,
            subject,
            {"group": "Auditors", "added": ["kyc.export_decisions"], "removed": []},
        ),
    ]


# --- the audit page ------------------------------------------------------------------------------

ACCESS_LABELS = {
    "staff.signed_in": "Signed in",
    "staff.sign_in_failed": "Sign-in failed",
    "staff.signed_out": "Signed out",
    "staff.locked_out": "Sign-in locked out",
    "staff.unlocked": "Sign-in unlocked",
    "user.created": "User created",
    "user.deactivated": "User deactivated",
    "user.reactivated": "User reactivated",
    "user.deleted": "User deleted",
    "user.privileges_changed": "Staff or superuser status changed",
    "user.groups_changed": "User's roles changed",
    "user.permissions_changed": "User's own permissions changed",
    "group.permissions_changed": "Role's permissions changed",
    "user.sso_linked": "Single sign-on linked",
}


def test_the_audit_page_offers_every_access_event_in_words_and_filters_by_it():
    auditor = UserFactory(username="audrey", role="Auditors")
    Client().post("/accounts/login/", {"username": "audrey", "password": "not it"})
    browser = StaffClient()
    browser.force_login(auditor)

    page = browser.get("/audit/")
    choices = dict(page.context["form"].fields["event_type"].choices)
    assert {t: choices[t] for t in ACCESS_LABELS} == ACCESS_LABELS

    filtered = browser.get("/audit/?event_type=staff.sign_in_failed")
    assert [e.event_type for e in filtered.context["rows"]] == ["staff.sign_in_failed"]
    html = filtered.content.decode()
    assert '<span class="event-label">Sign-in failed</span>' in html
    assert '<option value="staff.sign_in_failed" selected>Sign-in failed</option>' in html
