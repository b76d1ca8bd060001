"""ZOLOZ's RSA signing, response verification and RSA_AES helpers (VENDOR-PROTOCOLS.md §3.3–§3.5).

The fixed key pairs under payloads/zoloz/keys/ are test-only keys made with `openssl genpkey`.
RSA PKCS#1 v1.5 signatures are deterministic, so `vector_signature.b64` (made with
`openssl dgst -sha256 -sign merchant_private_key.pem`, the shell script's path, §3.3) pins the
exact signature of the §3 test vector independently of our code.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization

from vendors.zoloz import auth
from vendors.zoloz.consts import COMPARE_PATH

PAYLOADS = Path(__file__).parent / "payloads" / "zoloz"
KEYS = PAYLOADS / "keys"

# §3.3 test vector: the doc's client id and time, and a short body.
CLIENT_ID = "2089012345678900"
REQUEST_TIME = "2020-01-01T08:00:00+0800"
BODY = '{"bizId":"trans-test-1234","face1":{"content":"AAAA"},"face2":{"content":"BBBB"}}'
CONTENT_SHA256 = "7e10e11a081fbe39df99f0c183be4a6ca500a33fb70cf4f873b3aeddec31eee0"


def key_text(name: str) -> str:
    return (KEYS / f"{name}.pem").read_text()


@pytest.fixture(scope="module")
def merchant_key() -> auth.RSAPrivateKey:
    return auth.load_private_key(key_text("merchant_private_key"))


@pytest.fixture(scope="module")
def merchant_public() -> auth.RSAPublicKey:
    return auth.load_public_key(key_text("merchant_public_key"))


@pytest.fixture(scope="module")
def zoloz_key() -> auth.RSAPrivateKey:
    return auth.load_private_key(key_text("zoloz_private_key"))


@pytest.fixture(scope="module")
def zoloz_public() -> auth.RSAPublicKey:
    return auth.load_public_key(key_text("zoloz_public_key"))


# --- the string to sign ------------------------------------------------------------------------


def test_the_content_string_matches_the_published_vector_exactly():
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    assert content == (
        b"POST /api/v1/zoloz/facecompare/compare\n"
        b'2089012345678900.2020-01-01T08:00:00+0800.{"bizId":"trans-test-1234",'
        b'"face1":{"content":"AAAA"},"face2":{"content":"BBBB"}}'
    )
    assert hashlib.sha256(content).hexdigest() == CONTENT_SHA256


def test_the_signature_header_equals_what_openssl_produces_for_the_vector(merchant_key):
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    openssl_b64 = (PAYLOADS / "vector_signature.b64").read_text().strip()
    header = auth.sign(merchant_key, content)
    assert header == "algorithm=RSA256, signature=" + quote(openssl_b64, safe="")


def test_the_signer_sends_client_id_request_time_and_signature(merchant_key, zoloz_public):
    signer = auth.ZolozSigner(CLIENT_ID, merchant_key, zoloz_public)
    headers = signer.request_headers(COMPARE_PATH, BODY, REQUEST_TIME)
    openssl_b64 = (PAYLOADS / "vector_signature.b64").read_text().strip()
    assert headers == {
        "Client-Id": CLIENT_ID,
        "Request-Time": REQUEST_TIME,
        "Signature": "algorithm=RSA256, signature=" + quote(openssl_b64, safe=""),
    }


# --- round trips -------------------------------------------------------------------------------


def test_a_signature_verifies_with_the_matching_public_key(merchant_key, merchant_public):
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    assert auth.verify(merchant_public, content, auth.sign(merchant_key, content)) is True


def test_a_tampered_body_fails_to_verify(merchant_key, merchant_public):
    header = auth.sign(
        merchant_key, auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    )
    tampered = BODY.replace("AAAA", "AAAB")
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, tampered)
    assert auth.verify(merchant_public, content, header) is False


def test_another_time_or_client_id_fails_to_verify(merchant_key, merchant_public):
    header = auth.sign(
        merchant_key, auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    )
    other_time = auth.signing_content(COMPARE_PATH, CLIENT_ID, "2020-01-01T08:00:01+0800", BODY)
    other_client = auth.signing_content(COMPARE_PATH, "2089012345678901", REQUEST_TIME, BODY)
    assert auth.verify(merchant_public, other_time, header) is False
    assert auth.verify(merchant_public, other_client, header) is False


def test_a_signature_from_another_key_fails_to_verify(zoloz_key, merchant_public):
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    assert auth.verify(merchant_public, content, auth.sign(zoloz_key, content)) is False


def test_a_header_naming_another_algorithm_fails_to_verify(merchant_key, merchant_public):
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    header = auth.sign(merchant_key, content).replace("RSA256", "HMAC256")
    assert auth.verify(merchant_public, content, header) is False


# --- percent-encoding (§3.3.4) -----------------------------------------------------------------


def test_plus_slash_and_padding_are_percent_encoded_in_upper_case():
    # 0xfb 0xff 0xfe is "+//+" in standard base64; 0xfb alone is "+w==".
    assert auth.encode_signature(bytes([0xFB, 0xFF, 0xFE])) == "%2B%2F%2F%2B"
    assert auth.encode_signature(bytes([0xFB])) == "%2Bw%3D%3D"


def test_the_vector_signature_carries_no_raw_base64_punctuation(merchant_key):
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, BODY)
    value = auth.parse_header_pairs(auth.sign(merchant_key, content))["signature"]
    assert not set(value) & set("+/=")
    assert value.endswith("%3D%3D")  # a 256-byte signature always ends in two padding chars
    assert "%2B" in value and "%2F" in value


def test_lower_case_percent_escapes_decode_like_upper_case_ones():
    assert auth.decode_signature("%2bw%3d%3d") == bytes([0xFB])
    assert auth.decode_signature("%2B%2f%2F%2b") == bytes([0xFB, 0xFF, 0xFE])


def test_an_unencoded_plus_is_never_turned_into_a_space():
    assert auth.decode_signature("+w==") == bytes([0xFB])


def test_header_pairs_allow_extra_keys_such_as_key_version():
    pairs = auth.parse_header_pairs("algorithm=RSA256, keyVersion=v1, signature=ab%3D%3D")
    assert pairs == {"algorithm": "RSA256", "keyVersion": "v1", "signature": "ab%3D%3D"}


def test_unencoded_padding_survives_header_parsing():
    assert auth.parse_header_pairs("algorithm=RSA256, signature=+w==")["signature"] == "+w=="


# --- response signatures (§3.4) ----------------------------------------------------------------


def test_response_content_is_built_from_the_request_path_and_client_id(
    merchant_key, zoloz_key, zoloz_public
):
    signer = auth.ZolozSigner(CLIENT_ID, merchant_key, zoloz_public)
    response_time = "2019-11-19T21:56:15-0800"
    response_body = '{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}'
    expected = (
        b"POST /api/v1/zoloz/facecompare/compare\n"
        b"2089012345678900.2019-11-19T21:56:15-0800." + response_body.encode()
    )
    header = auth.sign(zoloz_key, expected)
    assert signer.verify_response(COMPARE_PATH, response_time, response_body, header) is True
    other_path = "/api/v1/zoloz/authentication/test"
    assert signer.verify_response(other_path, response_time, response_body, header) is False
    other_client = auth.ZolozSigner("2089012345678901", merchant_key, zoloz_public)
    assert other_client.verify_response(COMPARE_PATH, response_time, response_body, header) is False


def test_a_response_signed_with_the_merchant_key_does_not_pass_as_zolozs(
    merchant_key, zoloz_public
):
    signer = auth.ZolozSigner(CLIENT_ID, merchant_key, zoloz_public)
    content = auth.signing_content(COMPARE_PATH, CLIENT_ID, REQUEST_TIME, "{}")
    header = auth.sign(merchant_key, content)
    assert signer.verify_response(COMPARE_PATH, REQUEST_TIME, "{}", header) is False


# --- time format (§3.2) ------------------------------------------------------------------------


def test_request_time_has_an_offset_without_a_colon():
    ist = timezone(timedelta(hours=5, minutes=30))
    # 2019-04-04T06:38:56Z is the doc's example time in +05:30.
    assert auth.format_time(1554359936, ist) == "2019-04-04T12:08:56+0530"
    assert auth.format_time(1554359936, timezone(timedelta(hours=-8))) == "2019-04-03T22:38:56-0800"


# --- keys --------------------------------------------------------------------------------------


def test_pem_and_bare_base64_der_keys_load_as_the_same_key(merchant_key, merchant_public):
    der_private = merchant_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    der_public = merchant_public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bare_private = base64.b64encode(der_private).decode()
    bare_public = base64.b64encode(der_public).decode()
    assert bare_private.startswith("MIIE") and bare_public.startswith("MIIBIj")
    assert auth.load_private_key(bare_private).private_numbers() == merchant_key.private_numbers()
    assert auth.load_public_key(bare_public).public_numbers() == merchant_public.public_numbers()


def test_a_pkcs1_pem_and_escaped_newlines_are_accepted(merchant_key):
    pkcs1 = merchant_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert pkcs1.startswith("-----BEGIN RSA PRIVATE KEY-----")
    escaped = pkcs1.replace("\n", "\\n")
    assert auth.load_private_key(escaped).private_numbers() == merchant_key.private_numbers()


def test_text_that_is_not_a_key_is_refused():
    with pytest.raises(ValueError, match="neither PEM nor base64 DER"):
        auth.load_private_key("not a key!")


# --- RSA_AES (§3.5) ----------------------------------------------------------------------------


def test_aes_128_ecb_matches_the_published_vector():
    ciphertext = auth.aes_encrypt(b"0123456789abcdef", b'{"bizId":"trans-test-1234"}')
    assert ciphertext == "0hHHrzPjSLeKcLOggLD89CeWHx0s/xHWaZagQ7exiPU="
    assert auth.aes_decrypt(b"0123456789abcdef", ciphertext) == b'{"bizId":"trans-test-1234"}'


@pytest.mark.parametrize("bits", [128, 256])
def test_aes_round_trips_with_both_key_sizes(bits):
    key = auth.new_aes_key(bits)
    assert len(key) * 8 == bits
    assert auth.aes_decrypt(key, auth.aes_encrypt(key, "é日本".encode())) == "é日本".encode()


def test_other_aes_key_sizes_are_refused():
    with pytest.raises(ValueError, match="128 or 256"):
        auth.new_aes_key(192)


def test_the_wrapped_key_is_percent_encoded_and_unwraps_with_the_private_key(
    zoloz_key, zoloz_public
):
    key = bytes(range(32))
    header = auth.encrypt_header(zoloz_public, key)
    assert header.startswith("algorithm=RSA_AES, symmetricKey=")
    wrapped = auth.parse_header_pairs(header)["symmetricKey"]
    assert not set(wrapped) & set("+/=")
    assert auth.unwrap_key(zoloz_key, header) == key


def test_an_encrypt_header_with_another_algorithm_is_refused(zoloz_key, zoloz_public):
    header = auth.encrypt_header(zoloz_public, bytes(16)).replace("RSA_AES", "SM4")
    with pytest.raises(ValueError, match="RSA_AES"):
        auth.unwrap_key(zoloz_key, header)
