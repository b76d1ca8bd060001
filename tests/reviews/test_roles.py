"""`manage.py bootstrap_roles` and the demo logins."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from kyc.demo import DEMO_LOGINS, create_demo_users
from reviews.permissions import can_audit, can_review, can_second_review

pytestmark = pytest.mark.django_db


def permissions_of(group: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related("content_type")
    }


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("bootstrap_roles", *args, stdout=out)
    return out.getvalue()


def test_bootstrap_roles_creates_three_groups_with_exactly_their_permissions():
    first = run()
    assert "Reviewers: created; added reviews.do_qa, reviews.review_case" in first
    assert permissions_of("Reviewers") == {"reviews.review_case", "reviews.do_qa"}
    assert permissions_of("Senior reviewers") == {
        "reviews.review_case",
        "reviews.second_review",
        "reviews.do_qa",
        "known_faces.manage_blocklist",
    }
    assert permissions_of("Auditors") == {
        "audit.view_audit_trail",
        "kyc.view_dashboard",
        "kyc.export_decisions",
    }


def test_bootstrap_roles_can_run_again_and_changes_nothing():
    run()
    groups = Group.objects.count()
    assert run() == "Reviewers: up to date\nSenior reviewers: up to date\nAuditors: up to date\n"
    assert Group.objects.count() == groups


def test_bootstrap_roles_keeps_hand_added_permissions_unless_told_to_reset():
    run()
    extra = Permission.objects.get(codename="view_audit_trail")
    Group.objects.get(name="Reviewers").permissions.add(extra)
    run()
    assert "audit.view_audit_trail" in permissions_of("Reviewers")
    assert "removed audit.view_audit_trail" in run("--reset")
    assert permissions_of("Reviewers") == {"reviews.review_case", "reviews.do_qa"}


def test_the_demo_creates_one_login_per_role_and_only_the_admin_is_staff():
    create_demo_users()
    create_demo_users()  # twice: the demo may be started again
    User = get_user_model()
    users = {login.username: User.objects.get(username=login.username) for login in DEMO_LOGINS}
    assert set(users) == {"admin", "reviewer", "senior", "auditor"}
    for login in DEMO_LOGINS:
        assert users[login.username].check_password(login.password)
    assert [u.username for u in users.values() if u.is_staff] == ["admin"]
    assert (can_review(users["reviewer"]), can_second_review(users["reviewer"])) == (True, False)
    assert can_second_review(users["senior"])
    assert (can_audit(users["auditor"]), can_review(users["auditor"])) == (True, False)
    assert users["auditor"].has_perm("kyc.view_dashboard")
