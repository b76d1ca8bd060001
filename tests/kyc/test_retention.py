"""Retention and erasure: images go, every fact about them stays, the audit chain holds."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from kyc.audit.chain import verify_chain
from kyc.audit.models import AuditEvent
from kyc.models import ComparisonAttempt, ContestStatus, ImagePair, PairContest, RetentionPolicy
from kyc.services.retention import purge_expired_images
from kyc.tasks import purge_expired_images_task
from tests.factories import ApplicantFactory, ImagePairFactory, client_with_key, store_images

pytestmark = pytest.mark.django_db


def decided_days_ago(days: float, status: str = "approved", **fields):
    return store_images(
        ImagePairFactory(
            status=status,
            decision_source="auto",
            decided_at=timezone.now() - timedelta(days=days),
            **fields,
        )
    )


def files_of(pair: ImagePair) -> list[str]:
    return [pair.selfie.name, pair.reference.name]


def stored(names: list[str]) -> list[bool]:
    return [default_storage.exists(name) for name in names]


def set_policy(days: int, unfinished_days: int | None) -> None:
    RetentionPolicy.objects.update_or_create(
        pk=RetentionPolicy.SINGLETON_ID,
        defaults={"image_retention_days": days, "keep_unfinished_days": unfinished_days},
    )


@pytest.fixture
def thirty_days():
    set_policy(30, None)


def test_images_of_pairs_decided_before_the_retention_period_are_purged(
    thirty_days, django_capture_on_commit_callbacks
):
    old = decided_days_ago(31)
    names = files_of(old)
    ComparisonAttempt.objects.create(pair=old, vendor="advance", number=1, score=93.0)
    assert stored(names) == [True, True]

    with django_capture_on_commit_callbacks(execute=True):
        report = purge_expired_images()

    assert (report.eligible, report.purged, report.on_hold) == (1, 1, 0)
    assert stored(names) == [False, False]
    old.refresh_from_db()
    assert old.images_purged_at is not None
    assert (old.selfie.name, old.reference.name) == ("", "")
    # Every fact stays: the decision, the hashes, the attempt and its score.
    assert old.status == "approved" and old.decided_at is not None
    assert len(old.selfie_sha256) == 64 and old.selfie_size == 1000
    assert old.attempts.get().score == 93.0
    event = AuditEvent.objects.get(event_type="images.purged", subject_id=str(old.public_id))
    assert event.params == {"why": "retention"}
    assert event.actor_label == "retention"
    assert verify_chain().ok


def test_recent_and_undecided_pairs_keep_their_images(thirty_days):
    recent = decided_days_ago(29)
    waiting = store_images(ImagePairFactory(status="needs_review"))
    report = purge_expired_images()
    assert report.purged == 0
    assert stored(files_of(recent)) == [True, True]
    assert stored(files_of(waiting)) == [True, True]


def test_every_final_status_is_purged(thirty_days, django_capture_on_commit_callbacks):
    pairs = [
        decided_days_ago(40, status) for status in ("approved", "rejected", "resubmit", "failed")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_expired_images().purged == 4
    assert all(not any(stored(files_of(p))) for p in pairs)


def test_an_applicant_on_legal_hold_keeps_their_images(thirty_days):
    held = decided_days_ago(90, applicant=ApplicantFactory(legal_hold=True))
    report = purge_expired_images()
    assert (report.eligible, report.on_hold, report.purged) == (0, 1, 0)
    held.refresh_from_db()
    assert held.images_purged_at is None
    assert stored(files_of(held)) == [True, True]


def test_a_rejection_keeps_its_images_while_its_contest_is_open(thirty_days):
    contested = decided_days_ago(90, status="rejected")
    contest = PairContest.objects.create(pair=contested, statement_chars=9)

    assert purge_expired_images().purged == 0
    contested.refresh_from_db()
    assert contested.images_purged_at is None

    contest.status = ContestStatus.UPHELD
    contest.save()
    assert purge_expired_images().purged == 1


def test_a_dry_run_counts_and_changes_nothing(thirty_days):
    old = decided_days_ago(45)
    decided_days_ago(45, applicant=ApplicantFactory(legal_hold=True))
    events_before = AuditEvent.objects.count()
    out = StringIO()
    call_command("purge_images", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Would purge: 1 pairs" in text
    assert "Kept on legal hold: 1 pairs" in text
    assert "nothing was changed" in text
    old.refresh_from_db()
    assert old.images_purged_at is None
    assert stored(files_of(old)) == [True, True]
    assert AuditEvent.objects.count() == events_before


def test_the_command_purges_and_prints_counts(thirty_days, django_capture_on_commit_callbacks):
    old = decided_days_ago(45)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_images", stdout=out)
    assert "Purged: 1 pairs" in out.getvalue()
    assert stored(files_of(old)) == [False, False]


def test_a_second_run_finds_nothing_left(thirty_days):
    decided_days_ago(45)
    assert purge_expired_images().purged == 1
    assert purge_expired_images().purged == 0
    assert AuditEvent.objects.filter(event_type="images.purged").count() == 1


def test_runs_are_bounded_and_go_in_batches(thirty_days):
    for _ in range(5):
        decided_days_ago(60)
    first = purge_expired_images(batch_size=2, limit=3)
    assert (first.purged, first.remaining) == (3, 2)
    assert purge_expired_images(batch_size=2).purged == 2
    assert verify_chain().ok


def test_images_of_pairs_never_decided_go_after_their_own_period():
    set_policy(30, 180)
    stuck = store_images(ImagePairFactory(status="needs_review"))
    ImagePair.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(days=181))
    young = store_images(ImagePairFactory(status="needs_review"))
    assert purge_expired_images().purged == 1
    stuck.refresh_from_db()
    young.refresh_from_db()
    assert stuck.images_purged_at is not None and young.images_purged_at is None


def test_the_period_comes_from_the_admin_policy():
    RetentionPolicy.objects.update_or_create(pk=1, defaults={"image_retention_days": 10})
    pair = decided_days_ago(11)
    assert purge_expired_images().purged == 1
    pair.refresh_from_db()
    assert pair.images_purged_at is not None


def test_celery_beat_runs_the_purge_every_hour(thirty_days):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-images"]
    assert entry == {"task": "kyc.purge_expired_images", "schedule": 3600.0}
    assert purge_expired_images_task.name == "kyc.purge_expired_images"
    decided_days_ago(31)
    assert purge_expired_images_task.run() == 1


# --- erasure on request (API) ---------------------------------------------------------------------


def api_for(client_key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {client_key}")
    return api


def test_erasure_through_the_api_purges_at_once_and_keeps_the_facts(
    django_capture_on_commit_callbacks,
):
    client, key = client_with_key()
    applicant = ApplicantFactory(client=client, external_ref="customer-77")
    pairs = [
        store_images(ImagePairFactory(applicant=applicant, status="approved")) for _ in range(2)
    ]
    names = [name for pair in pairs for name in files_of(pair)]

    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(key).delete("/api/v1/applicants/customer-77/")

    assert response.status_code == 200, response.content
    assert response.json()["pairs"] == 2
    assert not any(stored(names))
    assert (
        ImagePair.objects.filter(applicant=applicant, images_purged_at__isnull=False).count() == 2
    )
    assert AuditEvent.objects.filter(event_type="images.purged").count() == 2
    assert AuditEvent.objects.filter(event_type="applicant.erased").count() == 1
    assert verify_chain().ok


def test_erasure_of_an_applicant_on_legal_hold_is_refused():
    client, key = client_with_key()
    applicant = ApplicantFactory(client=client, external_ref="held-1", legal_hold=True)
    pair = store_images(ImagePairFactory(applicant=applicant))
    response = api_for(key).delete("/api/v1/applicants/held-1/")
    assert response.status_code == 409
    assert stored(files_of(pair)) == [True, True]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pair_locked_elsewhere_is_skipped_and_purged_next_run(thirty_days):
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks")
    pair = decided_days_ago(40)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic():
            ImagePair.objects.select_for_update().get(pk=pair.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(10)
    try:
        busy = purge_expired_images()
    finally:
        release.set()
        holder.join()
    assert (busy.purged, busy.skipped) == (0, 1)
    assert purge_expired_images().purged == 1
