"""Contested automatic rejections: decided by people who had no part in the pair, with four eyes,
the client told of the outcome, and the applicant's statement erased with the applicant."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.db import connection

from kyc import crypto
from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from kyc.models import (
    ContestStatus,
    DecisionSource,
    PairContest,
    PairStatus,
    WebhookDelivery,
)
from kyc.services.contests import contest_pair, read_statement
from kyc.services.erasure import erase_applicant
from reviews import events, services
from reviews.models import CaseQueue, CaseRecusal, CaseStatus, ReviewCase
from tests.factories import (
    ApplicantFactory,
    AttemptFactory,
    ImagePairFactory,
)
from tests.reviews.cases import decide, opened_case
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db

STATEMENT = "It is me; the photo on my ID card is ten years old."


def contested_case(*, looked_at_by=()) -> ReviewCase:
    """An automatically rejected pair, seen before by `looked_at_by`, then contested."""
    applicant = ApplicantFactory(client__webhook_url="https://hooks.example.test/kyc")
    pair = ImagePairFactory(
        applicant=applicant, status=PairStatus.REJECTED, decision_source=DecisionSource.AUTO
    )
    pair.deciding_attempt = AttemptFactory(pair=pair, number=1, score=20.0, verdict="reject")
    pair.save(update_fields=["deciding_attempt"])
    for user in looked_at_by:
        events.images_viewed(pair, Actor.user(user), which="selfie", rule="test", case=None)
    contest_pair(pair.client, pair, STATEMENT)
    return ReviewCase.objects.get(pair=pair)


# --- routing to fresh eyes ------------------------------------------------------------------------


def test_someone_who_had_a_part_in_the_pair_is_recused_and_never_given_the_case(
    reviewer, other_reviewer
):
    case = contested_case(looked_at_by=[reviewer])

    assert list(CaseRecusal.objects.filter(case=case).values_list("user_id", flat=True)) == [
        reviewer.pk
    ]
    [recused] = AuditEvent.objects.filter(event_type="review.recused")
    assert recused.params["users"] == [reviewer.pk]
    assert services.take_next(reviewer) is None
    assert services.take_next(other_reviewer) == case


def test_a_recused_reviewer_can_neither_claim_nor_decide_the_case(reviewer):
    case = contested_case(looked_at_by=[reviewer])

    with pytest.raises(services.ConflictOfInterest) as claimed:
        services.claim_case(case.public_id, reviewer)
    with pytest.raises(services.ConflictOfInterest) as decided:
        decide(case, reviewer, "approve")

    assert claimed.value.code == decided.value.code == "conflict_of_interest"
    assert not case.decisions.exists()


def test_a_recused_reviewer_cannot_be_assigned_the_case_either(reviewer, senior):
    case = contested_case(looked_at_by=[reviewer])

    with pytest.raises(services.ConflictOfInterest) as assigned:
        services.assign_case(case.public_id, senior, reviewer)

    assert assigned.value.code == "conflict_of_interest"
    case.refresh_from_db()
    assert case.assignee is None


def test_the_case_page_links_to_the_statement_and_tells_a_recused_reviewer_why_they_cannot_act(
    reviewer, other_reviewer
):
    case = contested_case(looked_at_by=[reviewer])

    mine = signed_in(reviewer).get(f"/review/{case.public_id}/").content.decode()
    fresh = signed_in(other_reviewer).get(f"/review/{case.public_id}/").content.decode()

    assert "Contested by the applicant" in fresh
    assert f'href="/review/{case.public_id}/statement/"' in fresh
    assert f"({len(STATEMENT)} characters; each reading is audited)" in fresh
    assert STATEMENT not in fresh and STATEMENT not in mine  # only on its audited page
    assert "You had a part in this pair before" in mine
    assert "You had a part in this pair before" not in fresh
    assert not AuditEvent.objects.filter(event_type="contest.statement_read").exists()


# --- the statement: encrypted at rest, read through an audited page -------------------------------


def test_the_statement_is_stored_encrypted_and_reads_back_as_sent():
    case = contested_case()

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM kyc_paircontest")
        columns = [column[0] for column in cursor.description]  # DB-API: the name is first
        [row] = cursor.fetchall()
    stored = dict(zip(columns, row, strict=True))

    assert "statement" not in stored  # no clear-text column
    ciphertext = bytes(stored["statement_encrypted"])
    assert ciphertext.startswith(crypto.MAGIC)
    assert STATEMENT.encode() not in ciphertext
    assert crypto.decrypt(ciphertext) == STATEMENT.encode()
    assert stored["statement_chars"] == len(STATEMENT)
    # The retry fingerprint is keyed, not a plain hash anyone could check a guess against.
    assert stored["request_fingerprint"] != hashlib.sha256(STATEMENT.encode()).hexdigest()
    assert read_statement(PairContest.objects.get(pair=case.pair)) == STATEMENT


def test_a_reviewer_with_no_part_reads_the_statement_and_the_trail_records_it(other_reviewer):
    case = contested_case()

    response = signed_in(other_reviewer).get(f"/review/{case.public_id}/statement/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert STATEMENT in response.content.decode()
    [event] = AuditEvent.objects.filter(event_type="contest.statement_read")
    contest = PairContest.objects.get(pair=case.pair)
    assert (event.actor_type, event.actor_id) == ("user", str(other_reviewer.pk))
    assert event.params == {
        "case": str(case.public_id),
        "contest": str(contest.public_id),
        "erased": False,
    }
    assert STATEMENT not in str(AuditEvent.objects.values_list("params", flat=True))


def test_a_recused_reviewer_may_not_read_the_statement(reviewer):
    case = contested_case(looked_at_by=[reviewer])

    response = signed_in(reviewer).get(f"/review/{case.public_id}/statement/")

    assert response.status_code == 403
    assert STATEMENT not in response.content.decode()
    assert not AuditEvent.objects.filter(event_type="contest.statement_read").exists()


def test_a_case_that_decides_no_contest_has_no_statement(other_reviewer):
    case = opened_case()
    response = signed_in(other_reviewer).get(f"/review/{case.public_id}/statement/")
    assert response.status_code == 404


def test_a_senior_who_had_a_part_cannot_give_the_second_review(reviewer, senior, other_senior):
    case = contested_case(looked_at_by=[senior])
    decide(case, reviewer, "approve")

    with pytest.raises(services.ConflictOfInterest):
        decide(case, senior, "approve", stage="second")
    assert services.take_next(senior, CaseQueue.SENIOR) is None
    assert services.take_next(other_senior, CaseQueue.SENIOR) == case


# --- four eyes and the outcome --------------------------------------------------------------------


def test_a_first_decision_on_a_contest_always_waits_for_a_second_reviewer(reviewer):
    case = contested_case()

    result = decide(case, reviewer, "approve")

    case.refresh_from_db()
    assert (case.status, case.queue) == (CaseStatus.AWAITING_SECOND_REVIEW, CaseQueue.SENIOR)
    assert "contested" in result.four_eyes_rules
    assert result.pair_status is None
    case.pair.refresh_from_db()
    assert case.pair.status == PairStatus.REJECTED
    assert PairContest.objects.get(pair=case.pair).status == ContestStatus.OPEN
    assert not WebhookDelivery.objects.filter(event_type="pair.contest_decided").exists()


def test_a_confirmed_approval_changes_the_decision_and_tells_the_client(reviewer, senior):
    case = contested_case()
    decide(case, reviewer, "approve")

    result = decide(case, senior, "approve", stage="second")

    assert result.pair_status == PairStatus.APPROVED
    pair = case.pair
    pair.refresh_from_db()
    assert (pair.status, pair.decision_source, pair.status_reason) == (
        PairStatus.APPROVED,
        DecisionSource.REVIEWER,
        "reviewer_decision",
    )
    contest = PairContest.objects.get(pair=pair)
    assert contest.status == ContestStatus.CHANGED
    [delivery] = WebhookDelivery.objects.filter(pair=pair, event_type="pair.contest_decided")
    assert delivery.payload["data"]["decision_changed"] is True
    assert delivery.payload["data"]["pair_status"] == "approved"
    [decided] = AuditEvent.objects.filter(event_type="contest.decided")
    assert decided.params["status"] == "changed"
    assert decided.params["pair_status"] == "approved"
    [pair_decided] = AuditEvent.objects.filter(event_type="pair.decided")
    assert pair_decided.params["reasons"] == ["contested"]


def test_a_confirmed_rejection_upholds_the_decision_and_tells_the_client(reviewer, senior):
    case = contested_case()
    decide(case, reviewer, "reject")

    decide(case, senior, "reject", stage="second")

    pair = case.pair
    pair.refresh_from_db()
    assert (pair.status, pair.decision_source) == (PairStatus.REJECTED, DecisionSource.AUTO)
    assert PairContest.objects.get(pair=pair).status == ContestStatus.UPHELD
    [delivery] = WebhookDelivery.objects.filter(pair=pair, event_type="pair.contest_decided")
    assert delivery.payload["data"]["decision_changed"] is False
    assert not AuditEvent.objects.filter(event_type="pair.decided").exists()


def test_the_first_reviewer_cannot_give_the_second_review_of_a_contest(senior):
    case = contested_case()
    decide(case, senior, "approve")

    with pytest.raises(services.FourEyesViolation):
        decide(case, senior, "approve", stage="second")


# --- erasure --------------------------------------------------------------------------------------


def test_erasing_the_applicant_erases_the_statement_and_the_page_says_so(reviewer):
    case = contested_case()
    applicant = case.pair.applicant

    erase_applicant(applicant, Actor.system("test"))

    contest = PairContest.objects.get(pair=case.pair)
    assert bytes(contest.statement_encrypted) == b""
    assert contest.request_fingerprint == ""
    assert contest.statement_erased_at is not None
    assert read_statement(contest) == ""
    [event] = AuditEvent.objects.filter(event_type="contest.statements_erased")
    assert event.params == {"contests": 1}
    html = signed_in(reviewer).get(f"/review/{case.public_id}/").content.decode()
    assert "The statement was erased with the applicant's data." in html
    assert "/statement/" not in html
    read = signed_in(reviewer).get(f"/review/{case.public_id}/statement/").content.decode()
    assert STATEMENT not in read
    assert "The statement was erased with the applicant's data." in read
    [event] = AuditEvent.objects.filter(event_type="contest.statement_read")
    assert event.params["erased"] is True


def test_a_statement_sent_after_an_erasure_goes_with_the_next_one():
    case = contested_case()
    applicant = case.pair.applicant
    erase_applicant(applicant, Actor.system("test"))
    again = ImagePairFactory(
        applicant=applicant, status=PairStatus.REJECTED, decision_source=DecisionSource.AUTO
    )
    contest_pair(applicant.client, again, "Second statement.")

    erase_applicant(applicant, Actor.system("test"))
    erase_applicant(applicant, Actor.system("test"))  # nothing left: no further event

    stored = PairContest.objects.values_list("statement_encrypted", flat=True)
    assert [bytes(ciphertext) for ciphertext in stored] == [b"", b""]
    assert AuditEvent.objects.filter(event_type="contest.statements_erased").count() == 2


def test_a_statement_is_only_for_staff_who_may_review(nobody):
    case = contested_case()
    for url in (f"/review/{case.public_id}/", f"/review/{case.public_id}/statement/"):
        response = signed_in(nobody).get(url)
        assert response.status_code == 403
        assert STATEMENT not in response.content.decode()


def test_a_reviewer_with_no_part_has_no_recusal(other_reviewer):
    case = contested_case()
    assert not CaseRecusal.objects.filter(case=case).exists()
    assert services.take_next(other_reviewer) == case


def test_rotating_the_master_keys_rewraps_the_statements_too(settings):
    old, new = crypto.generate_master_key_entry("old"), crypto.generate_master_key_entry("new")
    settings.KYC_ENCRYPTION_KEYS = old
    case = contested_case()
    settings.KYC_ENCRYPTION_KEYS = f"{new},{old}"
    out = io.StringIO()

    call_command("rotate_image_keys", stdout=out, stderr=io.StringIO())

    assert "contest statements: re-wrapped 1, already on new 0, failed 0" in out.getvalue()
    settings.KYC_ENCRYPTION_KEYS = new  # the old key dropped
    contest = PairContest.objects.get(pair=case.pair)
    assert crypto.key_id(bytes(contest.statement_encrypted)) == "new"
    assert read_statement(contest) == STATEMENT
