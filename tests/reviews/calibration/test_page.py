"""The calibration page per backend: who may open it, what it reads, what it says with too few
labels, and "use these" landing in the admin's thresholds form without saving anything."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from kyc.models import AttemptPurpose, AttemptStatus
from reviews.calibration import data, stats
from reviews.labels import record_decision_label, record_qa_label
from reviews.models import CaseStatus, DecisionStage, ReasonCode
from reviews.tasks import refresh_calibration
from tests.factories import AttemptFactory, DecisionFactory, ReviewCaseFactory, VendorConfigFactory
from tests.reviews.conftest import as_reviewer, as_senior, reviewer, senior  # noqa: F401
from tests.reviews.qa.items import sampled
from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db
URL = "/stats/calibration/advance/"


def judged(score: float, outcome: str, reason: str | None = None, *, second: str | None = None):
    """A decided case on a pair the advance backend scored `score`."""
    case = ReviewCaseFactory(status=CaseStatus.DECIDED)
    AttemptFactory(
        pair=case.pair,
        score=score,
        status=AttemptStatus.COMPLETED,
        purpose=AttemptPurpose.DECIDE,
        finished_at=timezone.now(),
    )
    code = ReasonCode.objects.get(outcome=outcome, code=reason) if reason else None
    # Labels as reviews.services writes them with each decision.
    record_decision_label(DecisionFactory(case=case, outcome=outcome, reason_code=code))
    if second:
        record_decision_label(
            DecisionFactory(case=case, outcome=second, stage=DecisionStage.SECOND, confirms=False)
        )
    return case


def test_reviewers_and_seniors_are_refused(as_reviewer, as_senior):  # noqa: F811
    assert as_reviewer.get(URL).status_code == 403
    assert as_senior.get(URL).status_code == 403


def test_signed_out_visitors_go_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_backend_is_not_found(admin_client):
    assert admin_client.get("/stats/calibration/nosuch/").status_code == 404


def test_labels_are_final_judgements_of_the_faces():
    VendorConfigFactory(backend="advance")
    judged(80.0, "approve")
    judged(30.05, "reject", "different_person")
    judged(30.0, "reject", "presentation_attack")  # about the photo, not the faces
    judged(60.0, "resubmit", "poor_quality")
    judged(65.0, "approve", second="reject")  # the senior's rejection says nothing of the faces
    judged(45.0, "reject", "different_person", second="approve")  # the senior's approval wins

    labels = data.labels("advance")

    assert labels.same.count == 2
    assert labels.different.count == 1
    assert labels.same.weights[stats.bin_of(80.0)] == 1
    assert labels.same.weights[stats.bin_of(45.0)] == 1
    assert labels.different.weights[stats.bin_of(30.05)] == 1
    assert labels.same.total + labels.different.total == 3


def test_too_few_labels_are_said_not_guessed(admin_client):
    VendorConfigFactory(backend="advance")
    judged(80.0, "approve")
    judged(20.0, "reject", "different_person")

    response = admin_client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Too few labels: 1 effective, at least 30 needed." in body
    assert "Too few labels: at least 30 effective same-person" in body
    assert "Use these" not in body


def test_a_new_decision_is_on_the_page_at_once(admin_client):
    VendorConfigFactory(backend="advance")
    judged(80.0, "approve")
    assert admin_client.get(URL).context["classes"][0][1] == 1

    judged(81.0, "approve")

    assert admin_client.get(URL).context["classes"][0][1] == 2


def synthetic(seed: int = 11) -> data.BackendData:
    """Plenty of labels everywhere: what QA samples and reviews give a well-run backend."""
    rng = np.random.default_rng(seed)
    same, different = rng.normal(80, 8, 5000), rng.normal(30, 10, 5000)
    return data.BackendData(
        population=stats.histogram(np.concatenate([same, different])).weights,
        labels=stats.LabelBins(stats.histogram(same), stats.histogram(different)),
    )


def test_enough_labels_give_rates_a_suggestion_and_use_these(admin_client, monkeypatch):
    config = VendorConfigFactory(backend="advance")
    monkeypatch.setattr(data, "backend_data", lambda backend: synthetic())

    response = admin_client.get(URL, {"target": "1e-2", "max_review": "5"})

    assert response.status_code == 200
    suggestion = response.context["suggestion"]
    assert suggestion.usable
    assert suggestion.false_accept.high <= 1e-2
    assert suggestion.review_share <= 0.05
    change = reverse("admin:vendors_vendorconfig_change", args=[config.pk])
    expected = (
        f"{change}?approve_at={suggestion.approve_at:g}&reject_below={suggestion.reject_below:g}"
    )
    assert response.context["use_url"] == expected
    body = response.content.decode()
    assert expected.replace("&", "&amp;") in body
    assert 'id="calibration-det"' in body and 'id="calibration-distributions"' in body
    assert [r.withheld for r in response.context["rates"]] == ["", ""]


def test_a_bad_target_is_named_and_the_defaults_are_used(admin_client, monkeypatch):
    VendorConfigFactory(backend="advance")
    monkeypatch.setattr(data, "backend_data", lambda backend: synthetic())

    response = admin_client.get(URL, {"target": "0.5", "max_review": "250"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Target false-accept rate: Select a valid choice." in body
    assert "Largest review share (%): Ensure this value is less than or equal to 100." in body
    assert response.context["target"] == "1e-3"


def test_band_only_labels_leave_the_automatic_zones_unestimated(admin_client, monkeypatch):
    VendorConfigFactory(backend="advance")
    rng = np.random.default_rng(2)
    in_band = rng.uniform(55, 70, 2000)
    monkeypatch.setattr(
        data,
        "backend_data",
        lambda backend: data.BackendData(
            stats.histogram(rng.uniform(0, 100, 10_000)).weights,
            stats.LabelBins(stats.histogram(in_band[:1000]), stats.histogram(in_band[1000:])),
        ),
    )

    response = admin_client.get(URL)

    body = response.content.decode()
    assert "No labelled pair lies in the approve zone" in body
    assert "No labelled pair lies in the reject zone" in body
    assert "No suggestion: the labels leave the automatic approve and reject zones" in body
    assert "Use these" not in body


def test_use_these_prefills_the_thresholds_form_and_saves_nothing(admin_client):
    config = VendorConfigFactory(backend="advance")
    saved = (config.approve_at, config.reject_below)
    change = reverse("admin:vendors_vendorconfig_change", args=[config.pk])

    response = admin_client.get(change, {"approve_at": "73.5", "reject_below": "41"})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form["approve_at"].value() == 73.5
    assert form["reject_below"].value() == 41.0
    assert "Nothing is saved yet" in response.content.decode()
    config.refresh_from_db()
    assert (config.approve_at, config.reject_below) == saved


@pytest.mark.parametrize(
    "query",
    [
        {"approve_at": "abc", "reject_below": "40"},
        {"approve_at": "40", "reject_below": "60"},
        {"approve_at": "140", "reject_below": "60"},
        {"approve_at": "nan", "reject_below": "nan"},
        {"approve_at": "70"},
    ],
)
def test_bad_proposed_lines_show_the_saved_ones(admin_client, query):
    config = VendorConfigFactory(backend="advance")
    change = reverse("admin:vendors_vendorconfig_change", args=[config.pk])

    response = admin_client.get(change, query)

    assert response.status_code == 200
    assert response.context["adminform"].form["approve_at"].value() == config.approve_at
    assert "The proposed lines were not numbers from 0 to 100" in response.content.decode()


def test_the_vendor_admin_links_to_the_calibration_page(admin_client):
    config = VendorConfigFactory(backend="advance")
    change = reverse("admin:vendors_vendorconfig_change", args=[config.pk])
    assert 'href="/stats/calibration/advance/"' in admin_client.get(change).content.decode()


def test_scores_off_the_scale_are_left_out_and_the_page_still_opens(admin_client):
    VendorConfigFactory(backend="advance")
    judged(80.0, "approve")
    judged(float("nan"), "approve")
    judged(150.0, "approve")
    judged(-3.0, "reject", "different_person")
    judged(100.0, "approve")

    labels = data.labels("advance")
    population = data.population("advance")

    assert labels.same.count == 2  # 80 and exactly 100
    assert labels.same.weights[stats.N_BINS - 1] == 1
    assert labels.different.count == 0
    assert population.sum() == 2
    assert admin_client.get(URL).status_code == 200


def test_a_qa_answer_counts_with_the_weight_of_its_draw(reviewer):  # noqa: F811
    item = sampled(score=91.0, probability=0.05)
    item.answer, item.answered_by, item.answered_at = "same", reviewer, timezone.now()
    item.save()
    record_qa_label(item)

    labels = data.labels("advance")

    # One QA sample drawn with a 5 % chance stands for the twenty decisions like it.
    assert labels.same.count == 1
    assert labels.same.weights[stats.bin_of(91.0)] == pytest.approx(20.0)
    assert labels.same.squares[stats.bin_of(91.0)] == pytest.approx(400.0)


def test_with_many_labels_the_page_keeps_its_sums_until_the_refresh_and_says_so(
    admin_client, monkeypatch
):
    monkeypatch.setattr(data, "LIVE_LABELS", 2)
    VendorConfigFactory(backend="advance")
    judged(80.0, "approve")
    judged(81.0, "approve")
    assert admin_client.get(URL).context["classes"][0][1] == 2

    judged(82.0, "approve")  # three labels: more than are summed on the page
    response = admin_client.get(URL)

    assert response.context["classes"][0][1] == 2
    assert response.context["labels_since"] == 1
    assert "1 new label since, counted at the next summing (every 10 minutes)" in (
        response.content.decode()
    )

    # The beat's maintenance task, for every backend.
    assert refresh_calibration() == VendorConfig.objects.count()

    response = admin_client.get(URL)
    assert response.context["classes"][0][1] == 3
    assert response.context["labels_as_of"] is None
    assert 'id="labels-as-of"' not in response.content.decode()


def test_the_refresh_task_fills_the_cache_so_a_page_sums_nothing(admin_client, monkeypatch):
    VendorConfigFactory(backend="advance")
    judged(80.0, "approve")
    refresh_calibration()
    monkeypatch.setattr(data, "labels", lambda backend: pytest.fail("summed on the page"))
    monkeypatch.setattr(data, "population", lambda backend: pytest.fail("summed on the page"))

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert response.context["classes"][0][1] == 1
