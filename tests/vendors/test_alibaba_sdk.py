"""The official Alibaba Cloud SDK as a real client of our sandbox (VENDOR-PROTOCOLS.md §4.6).

`alibabacloud-cloudauth-intl20220809` signs with its own code (ACS3-HMAC-SHA256 by default, the
legacy HMAC-SHA1 RPC signature with `signature_algorithm="v2"`), sends over `requests` to the
sandbox on loopback and parses the answer into its own models: if our sandbox's checks or bodies
drifted from what the vendor's client expects, these tests would fail.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kyc.images import prepare_for_backend
from tests.conftest import face_bytes
from tests.sandboxes import SandboxHandle

client_module = pytest.importorskip("alibabacloud_cloudauth_intl20220809.client")
models = pytest.importorskip("alibabacloud_cloudauth_intl20220809.models")
utils_models = pytest.importorskip("alibabacloud_tea_openapi.utils_models")
exceptions = pytest.importorskip("alibabacloud_tea_openapi.exceptions")

SIGNATURE_MODES = [
    pytest.param(None, id="acs3-hmac-sha256"),
    pytest.param("v2", id="rpc-hmac-sha1"),
]
BIZ_ID = "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"


@pytest.fixture(scope="module")
def pictures() -> dict[str, str]:
    def b64(name: str) -> str:
        return base64.b64encode(prepare_for_backend(face_bytes(name), "alibaba").data).decode()

    return {
        "selfie": b64("df_img1.jpg"),
        "reference": b64("df_img2.jpg"),
        "other": b64("fr_obama.jpg"),
    }


@pytest.fixture
def sandbox(sandboxes: dict[str, SandboxHandle]) -> SandboxHandle:
    return sandboxes["alibaba"]


def sdk_client(sandbox: SandboxHandle, signature_algorithm: str | None, **overrides: str) -> Any:
    settings = {**sandbox.settings, **overrides}
    config = utils_models.Config(
        access_key_id=settings["ALIBABA_ACCESS_KEY_ID"],
        access_key_secret=settings["ALIBABA_ACCESS_KEY_SECRET"],
        endpoint=settings["ALIBABA_BASE_URL"].removeprefix("http://"),
        protocol="http",
        region_id=settings["ALIBABA_REGION"],
        signature_algorithm=signature_algorithm,
    )
    return client_module.Client(config)


def face_compare(client: Any, selfie: str, reference: str) -> Any:
    return client.face_compare(
        models.FaceCompareRequest(
            merchant_biz_id=BIZ_ID, source_face_picture=selfie, target_face_picture=reference
        )
    )


@pytest.mark.parametrize("signature_algorithm", SIGNATURE_MODES)
def test_the_sdk_gets_a_parsed_response_body_for_the_same_person(
    sandbox, pictures, signature_algorithm
):
    response = face_compare(
        sdk_client(sandbox, signature_algorithm), pictures["selfie"], pictures["reference"]
    )
    assert response.status_code == 200
    body = response.body
    assert isinstance(body, models.FaceCompareResponseBody)
    assert body.code == "Success"
    assert body.message == "success"
    assert body.request_id
    assert isinstance(body.result, models.FaceCompareResponseBodyResult)
    assert body.result.passed == "Y"
    assert float(body.result.face_comparison_score) >= 70
    assert len(body.result.transaction_id) == 32
    logged = sandbox.requests()[-1]
    assert logged["query"]["MerchantBizId"] == BIZ_ID
    expected_scheme = "RPC-HMAC-SHA1" if signature_algorithm else "ACS3-HMAC-SHA256"
    assert logged["signature_scheme"] == expected_scheme


@pytest.mark.parametrize("signature_algorithm", SIGNATURE_MODES)
def test_the_sdk_reads_a_scripted_score_and_verdict(sandbox, pictures, signature_algorithm):
    sandbox.script({"score": 66.25, "same_person": True})
    response = face_compare(
        sdk_client(sandbox, signature_algorithm), pictures["selfie"], pictures["other"]
    )
    assert response.body.result.face_comparison_score == "66.25"
    assert response.body.result.passed == "Y"


@pytest.mark.parametrize("signature_algorithm", SIGNATURE_MODES)
def test_a_scripted_error_raises_client_exception_with_the_documented_code(
    sandbox, pictures, signature_algorithm
):
    sandbox.script({"error": "Forbidden.AccountAccessDenied"})
    with pytest.raises(exceptions.ClientException) as caught:
        face_compare(
            sdk_client(sandbox, signature_algorithm), pictures["selfie"], pictures["reference"]
        )
    error = caught.value
    assert error.code == "Forbidden.AccountAccessDenied"
    assert error.status_code == 403
    assert error.request_id and error.request_id != "None"
    assert error.data["Code"] == "Forbidden.AccountAccessDenied"


@pytest.mark.parametrize("signature_algorithm", SIGNATURE_MODES)
def test_a_wrong_secret_makes_the_sdk_raise_signature_does_not_match(
    sandbox, pictures, signature_algorithm
):
    client = sdk_client(sandbox, signature_algorithm, ALIBABA_ACCESS_KEY_SECRET="not-the-secret")
    with pytest.raises(exceptions.ClientException) as caught:
        face_compare(client, pictures["selfie"], pictures["reference"])
    assert (caught.value.code, caught.value.status_code) == ("SignatureDoesNotMatch", 400)


def test_no_face_in_the_selfie_reaches_the_sdk_as_no_face_detected(sandbox, pictures):
    no_face = base64.b64encode(
        prepare_for_backend(face_bytes("bad/no_face_landscape.jpg"), "alibaba").data
    ).decode()
    with pytest.raises(exceptions.ClientException) as caught:
        face_compare(sdk_client(sandbox, None), no_face, pictures["reference"])
    assert (caught.value.code, caught.value.status_code) == ("NoFaceDetected", 401)


def test_throttling_reaches_the_sdk_as_a_client_exception_as_documented(sandbox, pictures):
    # §4.6: a 403 Throttling.Api surfaced as ClientException; our Retry-After is not the
    # x-acs-retry-after header that would turn it into a ThrottlingException.
    sandbox.script({"fault": "rate_limit", "retry_after": 3})
    with pytest.raises(exceptions.ClientException) as caught:
        face_compare(sdk_client(sandbox, None), pictures["selfie"], pictures["reference"])
    assert not isinstance(caught.value, exceptions.ThrottlingException)
    assert (caught.value.code, caught.value.status_code) == ("Throttling.Api", 403)


def test_an_internal_error_raises_server_exception(sandbox, pictures):
    sandbox.script({"error": "InternalError"})
    with pytest.raises(exceptions.ServerException) as caught:
        face_compare(sdk_client(sandbox, None), pictures["selfie"], pictures["reference"])
    assert (caught.value.code, caught.value.status_code) == ("InternalError", 500)
