"""The FinAuth `sign` (VENDOR-PROTOCOLS.md §1.2), byte for byte against the published vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from vendors.finauth.auth import FinAuthSigner, build_raw, parse_sign, sign_raw

MEGVII_KEY = "ICVvC_xUs6177WEtyUNwIH8J6NfGu50t"
MEGVII_SECRET = "UjYGdN9CBZKsDBLB5-5v3DykPXY6dw3q"
MEGVII_RAW = "a=ICVvC_xUs6177WEtyUNwIH8J6NfGu50t&b=1530762218&c=1530762118&d=0799687066"
MEGVII_SIGN = (
    "SPzLRbDBgTGC2A8YdDaa7Jrny+5hPUlDVnZDX3hVczYxNzdXRXR5VU53SUg4SjZOZkd1NTB0JmI9MTUzMDc2Mj"
    "IxOCZjPTE1MzA3NjIxMTgmZD0wNzk5Njg3MDY2"
)
OWN_SIGN = (
    "HygPX5kSpRkkrlMDuL9tzNkwZ/hhPXRlc3RrZXkmYj0xNzAwMDAwMTAwJmM9MTcwMDAwMDAwMCZkPTEyMzQ1Njc4OTA="
)


def test_megvii_published_example_is_reproduced_byte_for_byte():
    signer = FinAuthSigner(MEGVII_KEY, MEGVII_SECRET)
    sign = signer.sign(now=1530762118, ttl=100, random="0799687066")
    assert sign == MEGVII_SIGN
    # The page shows only the first 28 characters, which cover the whole MAC.
    assert sign.startswith("SPzLRbDBgTGC2A8YdDaa7Jrny+5h")


def test_megvii_raw_string_keeps_the_leading_zero_of_random_and_the_fixed_key_order():
    raw = build_raw(
        MEGVII_KEY, expire_time=1530762218, current_time=1530762118, random="0799687066"
    )
    assert raw == MEGVII_RAW
    assert sign_raw(MEGVII_SECRET, raw) == MEGVII_SIGN


def test_own_vector_matches_the_spec_and_its_mac():
    sign = FinAuthSigner("testkey", "testsecret").sign(now=1700000000, ttl=100, random="1234567890")
    assert sign == OWN_SIGN
    assert base64.b64decode(sign)[:20].hex() == "1f280f5f9912a51924ae5303b8bf6dccd93067f8"


def test_sign_is_standard_base64_of_mac_then_raw_without_line_breaks():
    blob = base64.b64decode(OWN_SIGN, validate=True)
    raw = b"a=testkey&b=1700000100&c=1700000000&d=1234567890"
    assert blob[20:] == raw
    assert blob[:20] == hmac.new(b"testsecret", raw, hashlib.sha1).digest()
    assert "\n" not in OWN_SIGN and "-" not in OWN_SIGN and "_" not in OWN_SIGN


def test_a_sign_without_ttl_is_single_use_with_expire_time_zero():
    sign = FinAuthSigner("testkey", "testsecret").sign(now=1700000000, random="42")
    parsed = parse_sign(sign)
    assert parsed.raw == "a=testkey&b=0&c=1700000000&d=42"
    assert parsed.single_use is True


def test_a_sign_with_ttl_expires_at_now_plus_ttl():
    sign = FinAuthSigner("testkey", "testsecret").sign(now=1700000000, ttl=300, random="42")
    parsed = parse_sign(sign)
    assert parsed.raw == "a=testkey&b=1700000300&c=1700000000&d=42"
    assert (parsed.expire_time, parsed.current_time, parsed.single_use) == (
        1700000300,
        1700000000,
        False,
    )


def test_two_signs_at_the_same_second_differ_by_their_random():
    signer = FinAuthSigner("testkey", "testsecret")
    randoms = {parse_sign(signer.sign(now=1700000000)).random for _ in range(20)}
    assert len(randoms) > 1
    assert all(r.isdigit() and len(r) <= 10 for r in randoms)


@pytest.mark.parametrize("random", ["12345678901", "-1", "12a", ""])
def test_a_random_that_is_not_at_most_ten_digits_is_refused(random):
    with pytest.raises(ValueError, match="at most 10 digits"):
        build_raw("k", expire_time=0, current_time=1, random=random)


def test_a_zero_or_negative_ttl_is_refused_rather_than_silently_single_use():
    with pytest.raises(ValueError, match="positive"):
        FinAuthSigner("k", "s").sign(now=1700000000, ttl=0)


def test_the_secret_is_not_in_the_signer_repr():
    assert "testsecret" not in repr(FinAuthSigner("testkey", "testsecret"))
