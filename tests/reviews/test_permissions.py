"""Who can open what: every boundary of the staff pages, with exact status codes."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from kyc.audit.models import AuditEvent
from reviews.middleware import POLICY
from reviews.models import CaseStatus, Decision, ReasonCode
from tests.factories import UserFactory, jpeg
from tests.reviews.cases import opened_case
from tests.reviews.conftest import signed_in
from tests.staff import StaffClient

pytestmark = pytest.mark.django_db


def staff_urls(case) -> list[str]:
    return [
        "/",
        "/review/",
        "/review/senior/",
        f"/review/{case.public_id}/",
        f"/review/{case.public_id}/second-opinions/",
        "/audit/",
        "/audit/export.csv",
    ]


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page_from_every_staff_page():
    case = opened_case()
    client = Client()
    for url in staff_urls(case):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_an_anonymous_visitor_cannot_post_any_review_action():
    case = opened_case()
    client = Client()
    for url in [
        "/review/take-next/",
        f"/review/{case.public_id}/claim/",
        f"/review/{case.public_id}/release/",
        f"/review/{case.public_id}/decide/",
        f"/review/{case.public_id}/second-opinion/",
        "/audit/verify/",
    ]:
        response = client.post(url, {"outcome": "approve"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    assert Decision.objects.count() == 0


def test_image_urls_refuse_anonymous_visitors_with_403_and_write_no_event():
    case = opened_case(images=(jpeg(), jpeg()))
    response = Client().get(f"/review/images/{case.pair.public_id}/selfie/")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(event_type="images.viewed").exists()


def test_image_urls_refuse_signed_in_users_without_the_review_permission(auditor, nobody):
    case = opened_case(images=(jpeg(), jpeg()))
    admin_without_review = UserFactory(username="staffer", is_staff=True)
    for user in (auditor, nobody, admin_without_review):
        response = signed_in(user).get(f"/review/images/{case.pair.public_id}/reference/")
        assert response.status_code == 403, user.username
    assert not AuditEvent.objects.filter(event_type="images.viewed").exists()


def test_an_image_is_served_upright_uncached_and_audited_once_per_image(as_reviewer, reviewer):
    # A 64x80 JPEG whose EXIF says "rotate 90° clockwise": upright it is 80 wide, 64 high.
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (64, 80), (200, 120, 90)).save(buffer, format="JPEG", exif=exif)
    case = opened_case(images=(buffer.getvalue(), jpeg()))
    url = f"/review/images/{case.pair.public_id}/selfie/"

    response = as_reviewer.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    served = Image.open(io.BytesIO(response.content))
    assert served.size == (80, 64)
    assert not served.getexif()  # no metadata leaves the server
    viewed = AuditEvent.objects.filter(event_type="images.viewed")
    assert [(e.actor_label, e.subject_id, e.params["which"]) for e in viewed] == [
        ("rita", str(case.pair.public_id), "selfie")
    ]
    as_reviewer.get(f"/review/images/{case.pair.public_id}/reference/")
    assert AuditEvent.objects.filter(event_type="images.viewed").count() == 2


def test_an_unknown_image_name_or_a_purged_pair_is_404(as_reviewer):
    case = opened_case(images=(jpeg(), jpeg()))
    assert as_reviewer.get(f"/review/images/{case.pair.public_id}/passport/").status_code == 404
    case.pair.images_purged_at = timezone.now()
    case.pair.save()
    assert as_reviewer.get(f"/review/images/{case.pair.public_id}/selfie/").status_code == 404
    assert not AuditEvent.objects.filter(event_type="images.viewed").exists()


def test_a_reviewer_cannot_open_the_admin_or_the_vendor_settings(as_reviewer):
    for url in ["/admin/", "/admin/vendors/vendorconfig/", "/admin/reviews/reasoncode/"]:
        response = as_reviewer.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_a_reviewer_cannot_open_the_senior_queue_or_take_from_it(as_reviewer):
    assert as_reviewer.get("/review/senior/").status_code == 403
    assert as_reviewer.post("/review/take-next/", {"queue": "senior"}).status_code == 403


def test_a_reviewer_cannot_give_the_second_review_of_a_case(as_reviewer, other_reviewer):
    case = opened_case()
    reject = ReasonCode.objects.get(outcome="reject", code="different_person")
    first = signed_in(other_reviewer).post(
        f"/review/{case.public_id}/decide/",
        {"outcome": "reject", "reason_code": reject.code, "stage": "first", "status": "open"},
    )
    assert first.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW

    response = as_reviewer.post(
        f"/review/{case.public_id}/decide/",
        {
            "outcome": "reject",
            "reason_code": reject.code,
            "stage": "second",
            "status": "awaiting_second_review",
        },
    )
    assert response.status_code == 403
    assert Decision.objects.filter(case=case).count() == 1


def test_a_reviewer_cannot_open_the_audit_trail(as_reviewer):
    assert as_reviewer.get("/audit/").status_code == 403
    assert as_reviewer.get("/audit/export.csv").status_code == 403


def test_an_auditor_reads_the_audit_trail_but_not_the_queue_or_a_case(as_auditor):
    case = opened_case()
    assert as_auditor.get("/audit/").status_code == 200
    assert as_auditor.get("/review/").status_code == 403
    assert as_auditor.get(f"/review/{case.public_id}/").status_code == 403
    assert as_auditor.post("/review/take-next/").status_code == 403


def test_a_superuser_opens_the_audit_trail_without_being_in_a_group():
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert signed_in(admin).get("/audit/").status_code == 200


def test_a_senior_opens_both_queues(as_senior):
    assert as_senior.get("/review/").status_code == 200
    assert as_senior.get("/review/senior/").status_code == 200


def test_the_home_page_sends_each_role_to_its_own_page(reviewer, senior, auditor, nobody):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    homes = {user.username: signed_in(user).get("/") for user in (reviewer, senior, auditor, admin)}
    assert {name: r["Location"] for name, r in homes.items()} == {
        "rita": "/review/",
        "sofia": "/review/",
        "audrey": "/audit/",
        "root": "/admin/",
    }
    assert signed_in(nobody).get("/").status_code == 403


def test_signing_out_needs_a_post_with_a_csrf_token(reviewer):
    client = StaffClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 403  # no CSRF token
    assert client.get("/review/").status_code == 200


def test_review_actions_refuse_a_post_without_a_csrf_token(reviewer):
    case = opened_case()
    client = StaffClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    assert client.post("/review/take-next/").status_code == 403
    response = client.post(
        f"/review/{case.public_id}/decide/",
        {"outcome": "approve", "stage": "first", "status": "open"},
    )
    assert response.status_code == 403
    assert Decision.objects.count() == 0


def test_staff_pages_carry_a_strict_content_security_policy_and_the_admin_does_not(
    as_reviewer,
):
    for url in ["/review/", "/accounts/login/"]:
        header = Client().get(url) if url.startswith("/accounts") else as_reviewer.get(url)
        assert header["Content-Security-Policy"] == POLICY
    assert "script-src 'self'" in POLICY and "frame-ancestors 'none'" in POLICY
    assert "Content-Security-Policy" not in Client().get("/admin/login/")
