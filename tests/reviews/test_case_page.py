"""The case page: photos with face boxes, the score bar, facts, attempts, history, timeline."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kyc.audit.models import AuditEvent
from kyc.models import AttemptPurpose, AttemptStatus, ComparisonAttempt, PairStatus
from reviews import services
from tests.factories import AttemptFactory, ImagePairFactory, jpeg
from tests.reviews.cases import decide, opened_case
from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db


def test_the_case_page_shows_both_photos_through_the_audited_view_with_face_boxes(as_reviewer):
    case = opened_case(
        images=(jpeg(640, 800), jpeg(400, 300)),
        faces={
            "selfie": {"left": 200, "top": 150, "width": 240, "height": 300},
            "reference": {"left": 120, "top": 60, "width": 100, "height": 130},
        },
    )
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    pair = case.pair
    assert f'src="/review/images/{pair.public_id}/selfie/"' in html
    assert f'src="/review/images/{pair.public_id}/reference/"' in html
    # Boxes are drawn in the upright image's own pixels and scale with it.
    assert 'viewBox="0 0 640 800"' in html and 'viewBox="0 0 400 300"' in html
    assert '<rect class="face-box" x="200" y="150" width="240" height="300"' in html
    assert '<rect class="face-box" x="120" y="60" width="100" height="130"' in html
    # Rendering the page serves no image by itself; only the browser's image requests do.
    assert not AuditEvent.objects.filter(event_type="images.viewed").exists()


def test_the_score_bar_shows_the_vendors_zones_and_a_marker(as_reviewer):
    case = opened_case(score=62.0, approve_at=70, reject_below=55)
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    bar = re.search(r'<svg class="band band-large".*?</svg>', html, re.S).group(0)
    assert 'aria-label="Score 62.0: reject below 55, approve at 70 and above"' in bar
    assert '<rect class="z-reject" x="0" y="22" width="550.0"' in bar
    assert '<rect class="z-review" x="550.0" y="22" width="150.0"' in bar
    assert '<rect class="z-approve" x="700.0" y="22" width="300.0"' in bar
    assert 'class="marker-line m-review" x1="620.0"' in bar
    assert ">62.0</text>" in bar


def test_finauth_ages_and_genders_stand_behind_its_risk_tags(as_reviewer):
    case = opened_case(
        vendor="finauth",
        reasons=["age_risk"],
        score=88.0,
        risk_tags=["is_age_risk"],
        details={
            "selfie_age": 24,
            "reference_age": 51,
            "selfie_gender": "female",
            "reference_gender": "female",
        },
    )
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    tags = re.search(r'<div class="risk-tags">.*?</div>', html, re.S).group(0)
    assert '<span class="badge badge-amber">Age risk</span>' in tags
    assert "is_age_risk" not in html and "age_risk" not in tags
    assert "<th>Selfie</th><td>24</td><td>female</td>" in html
    assert "<th>Reference</th><td>51</td><td>female</td>" in html


def test_every_attempt_is_listed_including_failed_and_preflight_ones(as_reviewer):
    case = opened_case(vendor="zoloz")
    pair = case.pair
    AttemptFactory(
        pair=pair, vendor="local", number=2, purpose=AttemptPurpose.PREFLIGHT, status="completed"
    )
    AttemptFactory(
        pair=pair,
        vendor="alibaba",
        number=3,
        status=AttemptStatus.FAILED,
        error_code="TIMEOUT",
        http_status=504,
    )
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert "Pre-flight face check" in html
    assert "TIMEOUT" in html and "HTTP 504" in html
    assert html.count("<td>Alibaba</td>") == 1
    assert "vendor says" not in html  # no second opinions yet


def test_earlier_pairs_of_the_applicant_are_listed_with_their_outcomes(as_reviewer):
    case = opened_case()
    ImagePairFactory(
        applicant=case.pair.applicant, status=PairStatus.REJECTED, decision_source="auto"
    )
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    history = re.search(r'<ol class="history">.*?</ol>', html, re.S).group(0)
    assert "This pair" in history
    assert "status-p-rejected" in history and "Automatic" in history
    flags = re.search(r'<p class="story-flags".*?</p>', html, re.S).group(0)
    assert "1 earlier pair" in flags and "1 rejected" in flags


def test_the_timeline_comes_from_the_audit_trail(as_reviewer, reviewer):
    case = opened_case()
    services.claim_case(case.public_id, reviewer)
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    timeline = re.search(r'<ol class="timeline">.*?</ol>', html, re.S).group(0)
    assert "Review case opened" in timeline and "Case claimed" in timeline
    assert "rita" in timeline


def test_the_decision_bar_offers_four_actions_with_their_keys(as_reviewer):
    case = opened_case()
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    for label, key in [("Approve", "A"), ("Reject", "R"), ("New photos", "N"), ("Escalate", "E")]:
        assert f"{label} <kbd>{key}</kbd>" in html
    assert html.count('<dialog class="dialog decide-dialog') == 4
    assert 'name="stage" value="first"' in html and 'name="status" value="open"' in html


def test_a_second_reviewer_sees_confirm_and_overturn_with_the_first_reason_preselected(
    reviewer, as_senior
):
    case = opened_case()
    decide(case, reviewer, "reject")
    html = as_senior.get(f"/review/{case.public_id}/").content.decode()
    assert "Confirm reject <kbd>R</kbd>" in html
    assert "Overturn: approve <kbd>A</kbd>" in html
    assert "Escalate <kbd>E</kbd>" not in html
    assert re.search(r'value="different_person" data-reason-key="1" checked', html)


def test_the_case_page_query_count_does_not_grow_with_attempts_or_events(as_reviewer, reviewer):
    small, large = opened_case(), opened_case()
    for n in range(2, 12):
        AttemptFactory(pair=large.pair, vendor="advance", number=n, status="failed")
    services.claim_case(large.public_id, reviewer)
    services.release_case(large.public_id, reviewer)
    as_reviewer.get(f"/review/{small.public_id}/")
    counts = []
    for case in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert as_reviewer.get(f"/review/{case.public_id}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_second_opinion_runs_on_another_enabled_vendor_and_shows_when_it_arrives(
    as_reviewer, reviewer, monkeypatch
):
    sent = []
    monkeypatch.setattr("kyc.dispatch.current_app.send_task", lambda *a, **k: sent.append(a))
    VendorConfig.objects.filter(backend__in=["advance", "finauth"]).update(enabled=True)
    VendorConfig.objects.filter(backend="zoloz").update(enabled=False)
    case = opened_case(vendor="advance")
    page = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    offered = re.findall(r'name="vendor" value="(\w+)"', page)
    assert "finauth" in offered and "advance" not in offered and "zoloz" not in offered

    response = as_reviewer.post(f"/review/{case.public_id}/second-opinion/", {"vendor": "finauth"})
    assert response.status_code == 302
    opinion = ComparisonAttempt.objects.get(pair=case.pair, purpose=AttemptPurpose.SECOND_OPINION)
    assert (opinion.vendor, opinion.number, opinion.status) == ("finauth", 2, "pending")
    assert AuditEvent.objects.filter(
        event_type="comparison.second_opinion", actor_label="rita"
    ).exists()

    fragment = as_reviewer.get(f"/review/{case.public_id}/second-opinions/")
    assert fragment["Cache-Control"] == "no-store"
    assert 'data-pending="1"' in fragment.content.decode()

    ComparisonAttempt.objects.filter(pk=opinion.pk).update(
        status="completed",
        score=83.0,
        verdict="approve",
        thresholds={"band": {"approve_at": 80, "reject_below": 60}},
    )
    html = as_reviewer.get(f"/review/{case.public_id}/second-opinions/").content.decode()
    assert 'data-pending="0"' in html
    assert "83.0" in html and "Approve by its own band" in html
    assert '<rect class="z-approve" x="80.0"' in html  # FinAuth's band, not ADVANCE's


def test_a_disabled_vendor_cannot_be_asked_for_a_second_opinion(as_reviewer):
    VendorConfig.objects.filter(backend="zoloz").update(enabled=False)
    case = opened_case()
    response = as_reviewer.post(
        f"/review/{case.public_id}/second-opinion/", {"vendor": "zoloz"}, follow=True
    )
    assert "is not enabled" in response.content.decode()
    assert not ComparisonAttempt.objects.filter(purpose=AttemptPurpose.SECOND_OPINION).exists()


def test_an_unknown_case_is_404(as_reviewer):
    assert as_reviewer.get("/review/00000000-0000-0000-0000-000000000000/").status_code == 404
