"""ACS3-HMAC-SHA256 and the legacy RPC signature, pinned to published vectors and the official SDK.

VENDOR-PROTOCOLS.md §4.2 and §4.3. The SDK comparisons fix the date and nonce on both sides and
capture the SDK's request before it would leave the process (no socket is opened).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from vendors.alibaba import consts
from vendors.alibaba.adapter import AlibabaAdapter
from vendors.alibaba.auth import (
    EMPTY_PAYLOAD_SHA256,
    Acs3Signer,
    Credentials,
    acs3_authorization,
    canonical_query_string,
    canonical_request,
    percent_encode,
    rpc_signature,
    timestamp,
)
from vendors.base import CompareRequest, PreparedImage

# --- the published V3 example (A4, the e521358f… revision) -------------------------------------

PUBLISHED_QUERY = {
    "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
    "RegionId": "cn-shanghai",
}
PUBLISHED_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-version": "2014-05-26",
    "x-acs-date": "2023-10-26T09:01:01Z",
    "x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
    "x-acs-content-sha256": EMPTY_PAYLOAD_SHA256,
}
PUBLISHED_AUTHORIZATION = (
    "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
    "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
    "x-acs-version,"
    "Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"
)

# --- our FaceCompare vector (§4.2 / §4.3 "own", agreed by the SDK) ---------------------------

VECTOR_CREDENTIALS = Credentials("testAccessKeyId", "testAccessKeySecret")
VECTOR_DATE = "2024-01-01T00:00:00Z"
VECTOR_EPOCH = 1704067200.0
VECTOR_NONCE = "0123456789abcdef0123456789abcdef"
VECTOR_BIZ_ID = "e0c34a77f5ac40a5aa5e6ed20c35abcd"
VECTOR_BODY = b"SourceFacePicture=%2F9j%2F4AAQ%2Babc%3D&TargetFacePicture=%2F9j%2F4AAQ%2Fxyz%3D%3D"


def test_the_published_v3_example_is_reproduced_byte_for_byte():
    authorization = acs3_authorization(
        Credentials("YourAccessKeyId", "YourAccessKeySecret"),
        method="POST",
        path="/",
        query=PUBLISHED_QUERY,
        headers=PUBLISHED_HEADERS,
        body=b"",
    )
    assert authorization == PUBLISHED_AUTHORIZATION


def test_the_canonical_request_has_a_blank_line_before_the_signed_headers():
    canonical = canonical_request(
        "POST", "/", PUBLISHED_QUERY, PUBLISHED_HEADERS, EMPTY_PAYLOAD_SHA256
    )
    assert canonical == (
        "POST\n/\n"
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
        "host:ecs.cn-shanghai.aliyuncs.com\n"
        "x-acs-action:RunInstances\n"
        f"x-acs-content-sha256:{EMPTY_PAYLOAD_SHA256}\n"
        "x-acs-date:2023-10-26T09:01:01Z\n"
        "x-acs-signature-nonce:d410180a5abf7fe235dd9b74aca91fc0\n"
        "x-acs-version:2014-05-26\n"
        "\n"
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_query_values_are_encoded_the_rfc_3986_way():
    assert percent_encode("a b*c~d/e+f=") == "a%20b%2Ac~d%2Fe%2Bf%3D"
    assert canonical_query_string({"b": "2 3", "a": "*"}) == "a=%2A&b=2%203"


def test_our_facecompare_vector_signs_to_the_agreed_signature():
    signed = Acs3Signer(VECTOR_CREDENTIALS).sign(
        host="cloudauth-intl.ap-southeast-1.aliyuncs.com",
        action="FaceCompare",
        version="2022-08-09",
        query={"MerchantBizId": VECTOR_BIZ_ID},
        body=VECTOR_BODY,
        content_type="application/x-www-form-urlencoded",
        date=VECTOR_DATE,
        nonce=VECTOR_NONCE,
    )
    assert signed.headers["x-acs-content-sha256"] == (
        "ee752c00692f47b98a5770ebb6dfad1a66125013f9ca9b76e95feb4cbd06c1a1"
    )
    assert signed.headers["authorization"] == (
        "ACS3-HMAC-SHA256 Credential=testAccessKeyId,"
        "SignedHeaders=accept;content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version,"
        "Signature=93f699b314dac140df8fdbb30002d4face59ea79bc66911ff63f0c9a575ed19c"
    )


def test_the_legacy_rpc_doc_example_is_reproduced():
    params = {
        "Action": "DescribeRegions",
        "Format": "XML",
        "Version": "2014-05-26",
        "Timestamp": "2016-02-23T12:46:24Z",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": "testid",
    }
    assert rpc_signature(params, "GET", "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_the_legacy_rpc_facecompare_vector_signs_query_and_form_together():
    params = {
        "Action": "FaceCompare",
        "Format": "json",
        "Version": "2022-08-09",
        "Timestamp": VECTOR_DATE,
        "SignatureNonce": VECTOR_NONCE,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": "testAccessKeyId",
        "MerchantBizId": VECTOR_BIZ_ID,
        "SourceFacePicture": "/9j/4AAQ+abc=",
        "TargetFacePicture": "/9j/4AAQ/xyz==",
    }
    assert rpc_signature(params, "POST", "testAccessKeySecret") == "+4laVbQcVeMHmfRPx4Zp1oua5BU="
    # The Signature parameter itself is never part of what is signed.
    with_signature = {**params, "Signature": "anything"}
    assert (
        rpc_signature(with_signature, "POST", "testAccessKeySecret")
        == "+4laVbQcVeMHmfRPx4Zp1oua5BU="
    )


def test_timestamps_are_utc_with_a_literal_z():
    assert timestamp(VECTOR_EPOCH) == VECTOR_DATE


# --- against the official SDK ------------------------------------------------------------------

# Bytes whose base64 holds "+", "/" and "=", so form encoding differences would show.
SELFIE_BYTES = b"\xff\xd8\xff\xe0selfie\xfb\xff\xbf\x00"
REFERENCE_BYTES = b"\xff\xd8\xff\xe0reference\xfb\xef\xff"
REFERENCE_ID = "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11"
SUCCESS_BODY = {
    "RequestId": "130A2C10-B9EE-4D84-88E3-5384FF0****",
    "Code": "Success",
    "Message": "success",
    "Result": {
        "TransactionId": "08573be80f944d95ac812e019e36****",
        "Passed": "Y",
        "FaceComparisonScore": "52.57",
    },
}


@pytest.fixture
def sdk(monkeypatch):
    """The official SDK with a fixed date and nonce, whose requests are captured, not sent."""
    client_module = pytest.importorskip("alibabacloud_cloudauth_intl20220809.client")
    models = pytest.importorskip("alibabacloud_cloudauth_intl20220809.models")
    from alibabacloud_tea_openapi.utils import Utils
    from alibabacloud_tea_openapi.utils_models import Config
    from darabonba.core import DaraCore
    from darabonba.response import DaraResponse

    monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: VECTOR_NONCE))
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: VECTOR_DATE))
    captured: list[Any] = []

    def do_action(request: Any, runtime_option: Any = None) -> DaraResponse:
        captured.append(request)
        response = DaraResponse()
        response.status_code = 200
        response.headers = {"content-type": "application/json;charset=utf-8"}
        response.body = json.dumps(SUCCESS_BODY).encode()
        return response

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(do_action))

    def call(
        signature_algorithm: str | None = None,
        region: str = "ap-southeast-1",
        network: str | None = None,
    ):
        config = Config(
            access_key_id=VECTOR_CREDENTIALS.access_key_id,
            access_key_secret=VECTOR_CREDENTIALS.access_key_secret,
            region_id=region,
            signature_algorithm=signature_algorithm,
            network=network,
        )
        response = client_module.Client(config).face_compare(
            models.FaceCompareRequest(
                merchant_biz_id=REFERENCE_ID.replace("-", ""),
                source_face_picture=base64.b64encode(SELFIE_BYTES).decode(),
                target_face_picture=base64.b64encode(REFERENCE_BYTES).decode(),
            )
        )
        assert response.body.result.passed == "Y"
        return captured[-1]

    return call


def adapter_request(monkeypatch) -> httpx.Request:
    """What our adapter sends for the same pair, at the same date, with the same nonce."""
    monkeypatch.setattr(AlibabaAdapter, "nonce_factory", staticmethod(lambda: VECTOR_NONCE))
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=SUCCESS_BODY)

    adapter = AlibabaAdapter(
        {
            "ALIBABA_ACCESS_KEY_ID": VECTOR_CREDENTIALS.access_key_id,
            "ALIBABA_ACCESS_KEY_SECRET": VECTOR_CREDENTIALS.access_key_secret,
            "ALIBABA_REGION": "ap-southeast-1",
        },
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        clock=lambda: VECTOR_EPOCH,
    )

    def image(data: bytes) -> PreparedImage:
        return PreparedImage(data, "image/jpeg", 720, 960, 720, 960)

    adapter.compare(CompareRequest(image(SELFIE_BYTES), image(REFERENCE_BYTES), REFERENCE_ID))
    return sent[-1]


def sdk_body(request: Any) -> bytes:
    body = request.body
    return body.encode() if isinstance(body, str) else bytes(body)


def test_our_signature_equals_the_sdks_for_the_same_facecompare_request(sdk):
    request = sdk()
    headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    ours = acs3_authorization(
        VECTOR_CREDENTIALS,
        method=request.method,
        path=request.pathname,
        query=request.query,
        headers=headers,
        body=sdk_body(request),
    )
    # The SDK signs every header it sends, user-agent and x-acs-credentials-provider included.
    assert "user-agent" in ours and "x-acs-credentials-provider" in ours
    assert ours == request.headers["Authorization"]


def test_our_adapter_sends_the_same_request_as_the_sdk(sdk, monkeypatch):
    theirs = sdk()
    ours = adapter_request(monkeypatch)
    assert ours.method == theirs.method == "POST"
    assert ours.url.path == theirs.pathname == "/"
    assert (
        dict(ours.url.params)
        == theirs.query
        == {"MerchantBizId": "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"}
    )
    assert ours.content == sdk_body(theirs)
    for name in (
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "content-type",
        "accept",
    ):
        assert ours.headers[name] == theirs.headers[name], name


def test_our_adapter_signature_covers_the_headers_it_sends(sdk, monkeypatch):
    # Signing the SDK's request with only the headers our adapter signs gives our adapter's
    # Authorization: the two differ only in the optional user-agent/credentials-provider headers.
    theirs = sdk()
    ours = adapter_request(monkeypatch)
    signed_names = ours.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert (
        acs3_authorization(
            VECTOR_CREDENTIALS,
            method="POST",
            path="/",
            query=theirs.query,
            headers={name: theirs.headers[name] for name in signed_names},
            body=sdk_body(theirs),
        )
        == ours.headers["authorization"]
    )


def test_our_rpc_signature_equals_the_sdks_in_v2_mode(sdk):
    request = sdk(signature_algorithm="v2")
    assert "Authorization" not in request.headers
    form = dict(parse_qsl(sdk_body(request).decode(), keep_blank_values=True))
    assert set(form) == {"SourceFacePicture", "TargetFacePicture"}
    query = dict(request.query)
    assert query["SignatureMethod"] == "HMAC-SHA1" and query["SignatureVersion"] == "1.0"
    assert (
        rpc_signature({**query, **form}, "POST", VECTOR_CREDENTIALS.access_key_secret)
        == query["Signature"]
    )


@pytest.mark.parametrize("region", sorted(consts.ENDPOINTS))
@pytest.mark.parametrize("network", [None, "vpc"])
def test_our_endpoint_table_matches_the_hosts_the_sdk_builds(sdk, region, network):
    request = sdk(region=region, network=network)
    hosts = consts.ENDPOINTS[region]
    assert request.headers["host"] == (hosts.vpc if network else hosts.public)
