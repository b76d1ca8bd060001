from __future__ import annotations

import pytest

from vendors.base import CompareResult, ErrorCode, ResultStatus
from vendors.verdicts import (
    APPROVE,
    REJECT,
    RESUBMIT,
    REVIEW,
    Band,
    band_for,
    judge,
    judged_band,
    judged_lines,
)

ADVANCE = {"approve_at": 70, "reject_below": 55}
FINAUTH = {
    "approve_at": 80,
    "reject_below": 60,
    "finauth_strictness": "1e-4",
    "review_risk_tags": ["is_age_risk", "is_gender_risk"],
    "age_gap_years": None,
}
FINAUTH_LEVELS = {"1e-3": 62.169, "1e-4": 69.315, "1e-5": 74.399, "1e-6": 78.038}


def completed(score, **kwargs):
    return CompareResult(vendor="x", status=ResultStatus.COMPLETED, score=score, **kwargs)


@pytest.mark.parametrize(
    ("score", "outcome"),
    [(70, APPROVE), (95.5, APPROVE), (69.99, REVIEW), (55, REVIEW), (54.99, REJECT), (0, REJECT)],
)
def test_advance_scores_fall_into_its_published_70_55_bands(score, outcome):
    assert judge("advance", completed(score), ADVANCE).outcome == outcome


def test_a_score_in_the_band_gives_the_score_in_band_reason():
    assert judge("advance", completed(60), ADVANCE).reasons == ("score_in_band",)


def test_finauth_is_judged_against_the_thresholds_in_its_own_response():
    details = {"thresholds": FINAUTH_LEVELS}
    assert band_for("finauth", FINAUTH, completed(70, details=details)) == Band(69.315, 62.169)
    assert judge("finauth", completed(70, details=details), FINAUTH).outcome == APPROVE
    assert judge("finauth", completed(65, details=details), FINAUTH).outcome == REVIEW
    assert judge("finauth", completed(62, details=details), FINAUTH).outcome == REJECT


def test_a_stricter_finauth_level_moves_the_approve_line():
    strict = {**FINAUTH, "finauth_strictness": "1e-6"}
    result = completed(75, details={"thresholds": FINAUTH_LEVELS})
    assert judge("finauth", result, strict).outcome == REVIEW


def test_finauth_without_thresholds_falls_back_to_the_configured_numbers():
    assert judge("finauth", completed(79), FINAUTH).outcome == REVIEW
    assert judge("finauth", completed(80), FINAUTH).outcome == APPROVE


def test_configured_risk_tags_send_even_a_high_score_to_review():
    result = completed(99, risk_tags=("is_age_risk",), details={"thresholds": FINAUTH_LEVELS})
    verdict = judge("finauth", result, FINAUTH)
    assert verdict.outcome == REVIEW
    assert verdict.reasons == ("age_risk",)


def test_risk_tags_that_are_not_configured_are_ignored():
    result = completed(99, risk_tags=("is_gender_risk",), details={"thresholds": FINAUTH_LEVELS})
    assert (
        judge("finauth", result, {**FINAUTH, "review_risk_tags": ["is_age_risk"]}).outcome
        == APPROVE
    )


def test_an_age_gap_beyond_the_configured_years_sends_to_review():
    result = completed(
        99, details={"thresholds": FINAUTH_LEVELS, "selfie_age": 25, "reference_age": 41}
    )
    verdict = judge("finauth", result, {**FINAUTH, "age_gap_years": 10})
    assert verdict.outcome == REVIEW
    assert verdict.reasons == ("age_gap",)


@pytest.mark.parametrize(("score", "same_person"), [(90, False), (10, True)])
def test_a_vendor_flag_that_contradicts_the_band_is_a_disagreement(score, same_person):
    verdict = judge("zoloz", completed(score, same_person=same_person), ADVANCE)
    assert verdict.outcome == REVIEW
    assert verdict.reasons == ("vendor_disagreement",)


def test_a_vendor_flag_that_agrees_changes_nothing():
    assert judge("zoloz", completed(90, same_person=True), ADVANCE).outcome == APPROVE


def test_image_problems_ask_for_new_photos_unless_configured_to_go_to_review():
    result = CompareResult(
        vendor="x", status=ResultStatus.INVALID_INPUT, error_code=ErrorCode.NO_FACE
    )
    assert judge("advance", result, ADVANCE).outcome == RESUBMIT
    assert judge("advance", result, ADVANCE).reasons == ("no_face",)
    assert judge("advance", result, {**ADVANCE, "image_problems_to_review": True}).outcome == REVIEW


@pytest.mark.parametrize(
    ("score", "zone"),
    [(55, REVIEW), (54.999, REJECT), (69.999, REVIEW), (70, APPROVE), (100, APPROVE)],
)
def test_a_band_places_the_lines_themselves_in_review_and_approve(score, zone):
    assert Band(approve_at=70, reject_below=55).place(score) == zone


def test_a_band_with_its_lines_equal_has_no_review_zone():
    band = Band(approve_at=60, reject_below=60)
    assert (band.place(59.99), band.place(60)) == (REJECT, APPROVE)


def test_a_stored_attempt_is_placed_by_the_band_it_was_judged_with_not_the_configuration():
    stored = {
        "approve_at": 80.0,
        "reject_below": 60.0,
        "band": {"approve_at": 69.3, "reject_below": 62.2},
    }
    band = judged_band(stored)
    assert band == Band(69.3, 62.2)
    assert band.place(70) == APPROVE  # the configuration would have said review
    assert judged_lines(stored) == {"approve_at": 69.3, "reject_below": 62.2}


def test_an_attempt_judged_without_a_band_falls_back_to_its_configured_lines():
    stored = {"approve_at": 70, "reject_below": 60, "image_problems_to_review": False}
    assert judged_band(stored) == Band(70.0, 60.0)
    assert judged_lines(stored) is stored  # as recorded: 70 stays 70 in the API


@pytest.mark.parametrize(
    "stored",
    [None, {}, {"band": {}}, {"approve_at": 70}, {"approve_at": None, "reject_below": 50}],
)
def test_an_attempt_without_both_lines_has_no_band(stored):
    assert judged_band(stored) is None


def test_the_band_for_a_configuration_without_an_answer_is_its_own_lines():
    assert band_for("finauth", FINAUTH) == Band(80.0, 60.0)
    assert band_for("advance", ADVANCE).place(60) == REVIEW
