"""The API's guard against guessed keys: too many unknown keys from one address, and every key
from it waits for the cool-off (settings in tests/conftest.py: 10 in 600 s, 900 s cool-off)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from kyc.audit.chain import Actor
from kyc.services.api_clients import revoke_api_key
from tests.kyc.api.test_image_pairs import URL

pytestmark = pytest.mark.django_db

UNKNOWN_KEY = "kyc_000000000000_guessed"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def call(key: str, address: str = "203.0.113.7", **headers: str):
    client = APIClient()
    return client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {key}", REMOTE_ADDR=address, **headers)


def guess(times: int, address: str = "203.0.113.7") -> list[int]:
    return [call(UNKNOWN_KEY, address).status_code for _ in range(times)]


def refused_for(seconds: int) -> dict[str, object]:
    return {
        "code": "too_many_failed_keys",
        "message": (
            "Too many unknown or revoked API keys were sent from this address; "
            f"try again in {seconds} seconds."
        ),
        "field": None,
    }


def test_ten_unknown_keys_are_each_refused_as_unauthenticated(api_client_and_key, clock):
    responses = [call(UNKNOWN_KEY) for _ in range(10)]
    assert {r.status_code for r in responses} == {401}
    assert {r.json()["code"] for r in responses} == {"unauthenticated"}


def test_after_ten_unknown_keys_even_a_valid_key_from_that_address_waits_for_the_cool_off(
    api_client_and_key, clock
):
    _, key = api_client_and_key
    assert guess(10) == [401] * 10

    refused = call(key)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "900"
    assert refused.json() == refused_for(900)

    clock.shift(timedelta(seconds=300))
    later = call(UNKNOWN_KEY)
    assert (later.status_code, later["Retry-After"]) == (429, "600")
    assert later.json() == refused_for(600)

    clock.shift(timedelta(seconds=600))
    assert call(key).status_code == 200
    assert call(UNKNOWN_KEY).status_code == 401  # counting starts again


def test_another_address_is_not_held_back_by_the_guesser(api_client_and_key, clock):
    _, key = api_client_and_key
    guess(10, address="203.0.113.7")
    assert call(key, address="198.51.100.20").status_code == 200
    assert call(key, address="203.0.113.7").status_code == 429


def test_failures_further_apart_than_the_window_never_add_up(api_client_and_key, clock):
    _, key = api_client_and_key
    assert guess(9) == [401] * 9
    clock.shift(timedelta(seconds=601))
    assert guess(9) == [401] * 9
    assert call(key).status_code == 200


def test_a_revoked_key_counts_as_a_failure(api_client_and_key, clock):
    client, key = api_client_and_key
    revoke_api_key(client.keys.get(), Actor.system("test"))
    assert guess(9) == [401] * 9
    assert call(key).status_code == 401
    assert call(key).status_code == 429


def test_behind_a_proxy_each_client_address_is_counted_on_its_own(
    api_client_and_key, clock, settings
):
    _, key = api_client_and_key
    settings.KYC_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    # Whatever a client writes to the left of what our proxy added is ignored.
    for n in range(10):
        call(UNKNOWN_KEY, proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7")
    blocked = call(key, proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_failed_keys")
    assert call(key, proxy, HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 200
