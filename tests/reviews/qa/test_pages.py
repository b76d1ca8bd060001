"""The QA pages: the blind page holds nothing of the decision until the answer is in."""

from __future__ import annotations

import pytest

from kyc.audit.models import AuditEvent
from reviews.models import QaItem
from tests.factories import jpeg
from tests.reviews.conftest import signed_in
from tests.reviews.qa.items import sampled

pytestmark = pytest.mark.django_db

#: What would give the decision away: the score, the decision, the verdicts, the tags.
GIVEAWAYS = ("93.0", "Automatic approval", "Same person</span>", "is_age_risk", "qa-reveal")


def test_the_blind_page_shows_the_faces_and_nothing_of_the_score_or_verdicts(as_reviewer):
    item = sampled(score=93.0, images=(jpeg(), jpeg()))

    html = as_reviewer.get(f"/review/qa/{item.public_id}/").content.decode()

    assert f"/review/images/{item.pair.public_id}/selfie/" in html
    assert f"/review/images/{item.pair.public_id}/reference/" in html
    assert [word for word in GIVEAWAYS if word in html] == []
    assert 'name="answer" value="same"' in html


def test_after_the_answer_the_page_reveals_the_decision(as_reviewer):
    item = sampled(score=93.0, images=(jpeg(), jpeg()))

    response = as_reviewer.post(f"/review/qa/{item.public_id}/answer/", {"answer": "same"})

    assert (response.status_code, response["Location"]) == (302, f"/review/qa/{item.public_id}/")
    html = as_reviewer.get(response["Location"]).content.decode()
    assert [word for word in GIVEAWAYS if word not in html] == []
    assert 'name="answer"' not in html


def test_an_unknown_answer_is_refused_and_the_sample_stays_blind(as_reviewer):
    item = sampled()
    response = as_reviewer.post(f"/review/qa/{item.public_id}/answer/", {"answer": "maybe"})
    assert response.status_code == 400
    assert "Answer same, different or can" in response.content.decode()
    item.refresh_from_db()
    assert item.answered_at is None


def test_a_qa_reviewer_sees_a_waiting_samples_photos_by_the_qa_sample_rule(as_reviewer, reviewer):
    item = sampled(images=(jpeg(), jpeg()))

    response = as_reviewer.get(f"/review/images/{item.pair.public_id}/selfie/")

    assert response.status_code == 200
    viewed = AuditEvent.objects.get(event_type="images.viewed")
    assert (viewed.params["rule"], viewed.params["case"]) == ("qa_sample", None)


def test_once_answered_the_photos_stay_with_the_person_who_answered(reviewer, other_reviewer):
    item = sampled(images=(jpeg(), jpeg()))
    QaItem.objects.filter(pk=item.pk).update(answer="same", answered_by=reviewer)
    QaItem.objects.filter(pk=item.pk).update(answered_at=item.created_at)
    url = f"/review/images/{item.pair.public_id}/selfie/"
    assert signed_in(reviewer).get(url).status_code == 200
    assert signed_in(other_reviewer).get(url).status_code == 403


def test_the_qa_pages_are_closed_to_auditors(as_auditor):
    item = sampled(images=(jpeg(), jpeg()))
    assert as_auditor.get("/review/qa/").status_code == 403
    assert as_auditor.get(f"/review/qa/{item.public_id}/").status_code == 403
    assert as_auditor.get(f"/review/images/{item.pair.public_id}/selfie/").status_code == 403


def test_take_next_opens_the_oldest_waiting_sample(as_reviewer):
    first = sampled()
    sampled()
    response = as_reviewer.post("/review/qa/next/")
    assert response["Location"] == f"/review/qa/{first.public_id}/"


def test_a_disagreement_case_opens_on_the_case_page_while_the_pair_keeps_its_decision(
    as_reviewer, reviewer
):
    from reviews.qa import services

    item = sampled(images=(jpeg(), jpeg()))
    services.answer_qa_item(item.public_id, reviewer, "different")
    item.refresh_from_db()

    response = as_reviewer.get(f"/review/{item.case.public_id}/")

    assert response.status_code == 200
    assert "QA disagrees" in response.content.decode()
