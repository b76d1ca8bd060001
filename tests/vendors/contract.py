"""The contract every comparison backend passes, against its sandbox over real HTTP.

A vendor's test module subclasses `ContractSuite` (as `TestXxxContract`) and fills in the few
vendor-specific facts: which documented error to script for each case and where our reference
id travels. Everything else is asserted the same way for all vendors (DESIGN §11, anymail-style).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from kyc.images import prepare_for_backend
from tests.conftest import face_bytes
from tests.sandboxes import SandboxHandle
from vendors.base import (
    BaseVendorAdapter,
    CompareRequest,
    ErrorCode,
    ResultStatus,
    VendorError,
)
from vendors.registry import adapter_class

#: The keys of a comparison result as JSON (DESIGN §10), for `compare --json` and the adapters.
RESULT_KEYS = {
    "vendor",
    "status",
    "score",
    "vendor_score",
    "error_code",
    "vendor_code",
    "vendor_message",
    "vendor_request_id",
    "billable",
    "same_person",
    "risk_tags",
    "faces",
    "latency_ms",
}
SAME_PERSON = ("df_img1.jpg", "df_img2.jpg")  # angelina
DIFFERENT_PEOPLE = ("df_img1.jpg", "fr_obama.jpg")


class ContractSuite:
    vendor: ClassVar[str]
    #: Script entry making the vendor say "no face" in the selfie, and the `which` it implies.
    no_face_entry: ClassVar[dict[str, Any]]
    #: Script entry for a documented image-format/size error, and the taxonomy code it maps to.
    image_error_entry: ClassVar[dict[str, Any]]
    image_error_code: ClassVar[ErrorCode]
    #: Script entry producing a code the vendor's documentation does not list.
    unknown_code_entry: ClassVar[dict[str, Any]]
    #: Does the vendor send its own same-person verdict (FinAuth result_code, ZOLOZ samePerson…)?
    has_verdict_flag: ClassVar[bool] = True
    #: Which face boxes the vendor documents: FinAuth only the selfie's, ZOLOZ none.
    reports_selfie_box: ClassVar[bool] = True
    reports_reference_box: ClassVar[bool] = True

    @staticmethod
    def wrong_credentials(settings: Mapping[str, str]) -> dict[str, str]:
        """Settings with one secret changed, so the sandbox refuses the authentication."""
        raise NotImplementedError

    @staticmethod
    def sent_reference_id(logged: dict[str, Any]) -> str:
        """Our reference id as the sandbox saw it in a logged request."""
        raise NotImplementedError

    @pytest.fixture
    def sandbox(self, sandboxes: dict[str, SandboxHandle]) -> SandboxHandle:
        return sandboxes[self.vendor]

    def make_adapter(self, settings: Mapping[str, str], timeout: float = 10.0) -> BaseVendorAdapter:
        return adapter_class(self.vendor)(dict(settings), timeout=timeout)

    @pytest.fixture
    def adapter(self, sandbox: SandboxHandle) -> BaseVendorAdapter:
        return self.make_adapter(sandbox.settings)

    def request(
        self, selfie: str = SAME_PERSON[0], reference: str = SAME_PERSON[1]
    ) -> CompareRequest:
        return CompareRequest(
            selfie=prepare_for_backend(face_bytes(selfie), self.vendor, field="selfie"),
            reference=prepare_for_backend(face_bytes(reference), self.vendor, field="reference"),
            reference_id="0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11",
            user_ref="u-5d41402abc4b2a76",
        )

    # --- answers about the images -------------------------------------------------------

    def test_same_person_scores_high_and_is_billable(self, adapter, sandbox):
        result = adapter.compare(self.request(*SAME_PERSON))
        assert result.status == ResultStatus.COMPLETED
        assert result.vendor == self.vendor
        assert result.score is not None and result.score >= 70
        assert result.billable is True
        assert result.vendor_request_id
        if self.has_verdict_flag:
            assert result.same_person is True
        assert (result.selfie_face is not None) is self.reports_selfie_box
        assert (result.reference_face is not None) is self.reports_reference_box

    def test_different_people_score_low(self, adapter, sandbox):
        result = adapter.compare(self.request(*DIFFERENT_PEOPLE))
        assert result.status == ResultStatus.COMPLETED
        assert result.score is not None and result.score < 50
        if self.has_verdict_flag:
            assert result.same_person is False

    def test_a_scripted_score_comes_back_on_the_0_to_100_scale(self, adapter, sandbox):
        sandbox.script({"score": 62.5})
        result = adapter.compare(self.request())
        assert result.score == pytest.approx(62.5, abs=0.01)

    def test_face_boxes_are_in_pixels_of_the_submitted_image(self, adapter, sandbox):
        request = self.request()
        result = adapter.compare(request)
        box = result.selfie_face
        if not self.reports_selfie_box:
            assert box is None
            return
        assert box is not None
        assert 0 <= box.left < request.selfie.source_width
        assert 0 <= box.top < request.selfie.source_height
        assert 0 < box.width <= request.selfie.source_width

    def test_a_photo_without_a_face_is_invalid_input(self, adapter, sandbox):
        result = adapter.compare(self.request("bad/no_face_landscape.jpg", SAME_PERSON[1]))
        assert result.status == ResultStatus.INVALID_INPUT
        assert result.error_code == ErrorCode.NO_FACE

    def test_scripted_no_face_is_invalid_input(self, adapter, sandbox):
        sandbox.script(self.no_face_entry)
        result = adapter.compare(self.request())
        assert result.status == ResultStatus.INVALID_INPUT
        assert result.error_code == ErrorCode.NO_FACE
        assert result.vendor_code

    def test_a_documented_image_error_is_invalid_input(self, adapter, sandbox):
        sandbox.script(self.image_error_entry)
        result = adapter.compare(self.request())
        assert result.status == ResultStatus.INVALID_INPUT
        assert result.error_code == self.image_error_code

    # --- no usable answer ---------------------------------------------------------------

    def test_an_unknown_code_is_a_vendor_error_that_keeps_the_code(self, adapter, sandbox):
        sandbox.script(self.unknown_code_entry)
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code == ErrorCode.VENDOR_ERROR
        assert caught.value.vendor_code

    def test_wrong_credentials_are_auth_failed_and_not_retried(self, sandbox):
        adapter = self.make_adapter(type(self).wrong_credentials(sandbox.settings))
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code == ErrorCode.AUTH_FAILED
        assert caught.value.retryable is False

    def test_rate_limit_is_retryable_with_the_delay(self, adapter, sandbox):
        sandbox.script({"fault": "rate_limit", "retry_after": 7})
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code == ErrorCode.RATE_LIMITED
        assert caught.value.retryable is True
        assert caught.value.retry_after == pytest.approx(7)

    @pytest.mark.parametrize("fault", ["http_500", "http_503"])
    def test_server_errors_are_retryable(self, adapter, sandbox, fault):
        sandbox.script({"fault": fault})
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code == ErrorCode.VENDOR_ERROR
        assert caught.value.retryable is True

    def test_a_slow_vendor_times_out_and_is_retryable(self, sandbox):
        adapter = self.make_adapter(sandbox.settings, timeout=0.5)
        sandbox.script({"fault": "timeout", "seconds": 2})
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code == ErrorCode.TIMEOUT
        assert caught.value.retryable is True

    def test_a_malformed_body_is_a_retryable_vendor_error(self, adapter, sandbox):
        sandbox.script({"fault": "malformed"})
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code in {ErrorCode.VENDOR_ERROR, ErrorCode.PROTOCOL_ERROR}

    def test_a_dropped_connection_is_retryable(self, adapter, sandbox):
        sandbox.script({"fault": "drop"})
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        assert caught.value.code == ErrorCode.VENDOR_ERROR
        assert caught.value.retryable is True

    # --- what is sent and kept ----------------------------------------------------------

    def test_no_image_bytes_are_kept_in_the_raw_response(self, adapter, sandbox):
        request = self.request()
        result = adapter.compare(request)
        kept = json.dumps(result.raw_response)
        import base64

        for image in (request.selfie.data, request.reference.data):
            assert base64.b64encode(image[:48]).decode()[:40] not in kept
        assert len(kept) < 8000

    def test_our_reference_id_is_sent(self, adapter, sandbox):
        request = self.request()
        sandbox.script({"score": 90})
        adapter.compare(request)
        calls = [r for r in sandbox.requests() if not r["path"].endswith("generate-token")]
        assert self.sent_reference_id(calls[-1]) == request.reference_id
