"""A case whose photos were deleted (retention or erasure) can only ask for new photos, so it is
closed in a way that makes sense and never holds up "Take next" (issue 15, item 13)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyc.models import ImagePair, PairStatus
from reviews import services
from reviews.models import CaseStatus
from tests.reviews.cases import decide, opened_case, reason

pytestmark = pytest.mark.django_db


def purged_case(**fields):
    case = opened_case(priority=9, **fields)
    ImagePair.objects.filter(pk=case.pair_id).update(images_purged_at=timezone.now())
    case.pair.refresh_from_db()
    return case


def test_the_case_page_of_a_pair_without_photos_offers_only_new_photos(as_reviewer):
    case = purged_case()
    page = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert 'data-decide="resubmit"' in page
    for outcome in ("approve", "reject", "escalate"):
        assert f'data-decide="{outcome}"' not in page
    assert 'id="photos-gone"' in page


@pytest.mark.parametrize("outcome", ["approve", "reject", "escalate"])
def test_deciding_a_pair_without_photos_any_other_way_is_refused_and_records_nothing(
    reviewer, outcome
):
    case = purged_case()
    services.take_next(reviewer)
    with pytest.raises(services.InvalidDecision) as refused:
        decide(case, reviewer, outcome)
    assert (refused.value.code, refused.value.field) == ("images_purged", "outcome")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLAIMED and not case.decisions.exists()


def test_asking_for_new_photos_closes_it_and_take_next_moves_on(reviewer):
    purged = purged_case()
    waiting = opened_case(priority=1)
    assert services.take_next(reviewer) == purged
    decide(purged, reviewer, "resubmit", reason_code=reason("resubmit"))
    purged.pair.refresh_from_db()
    assert purged.pair.status == PairStatus.RESUBMIT
    assert services.take_next(reviewer) == waiting
