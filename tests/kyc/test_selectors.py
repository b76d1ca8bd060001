"""What `with_attempt_summaries` leaves on a pair: its attempts in order, read once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kyc.models import ImagePair
from kyc.selectors import with_attempt_summaries
from tests.factories import AttemptFactory, ImagePairFactory

pytestmark = pytest.mark.django_db


def test_the_attempts_are_listed_in_number_order_from_one_query():
    pair = ImagePairFactory()
    for number, vendor in ((2, "finauth"), (1, "advance"), (3, "zoloz")):
        AttemptFactory(pair=pair, number=number, vendor=vendor, score=60.5, latency_ms=number)
    AttemptFactory(number=4)  # another pair's
    pair = ImagePair.objects.get(pk=pair.pk)

    with CaptureQueriesContext(connection) as queries:
        with_attempt_summaries(pair)
        listed = [(a.number, a.vendor, a.score, a.latency_ms) for a in pair.attempts.all()]
    assert listed == [(1, "advance", 60.5, 1), (2, "finauth", 60.5, 2), (3, "zoloz", 60.5, 3)]
    assert len(queries) == 1
    # What the list never shows is not read (nor decoded): reading it is a query of its own.
    assert "raw_response" in pair.attempts.all()[0].get_deferred_fields()


def test_attempts_already_loaded_are_not_read_again():
    pair = ImagePairFactory()
    AttemptFactory(pair=pair, number=1)
    with_attempt_summaries(pair)
    AttemptFactory(pair=pair, number=2)  # after the first read

    with CaptureQueriesContext(connection) as queries:
        assert with_attempt_summaries(pair) is pair
        assert [a.number for a in pair.attempts.all()] == [1]
    assert len(queries) == 0
