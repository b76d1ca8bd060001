"""The shared backend contract, for Alibaba Cloud FaceCompare against its sandbox over real HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from tests.vendors.contract import ContractSuite
from vendors.base import ErrorCode, VendorError


class TestAlibabaContract(ContractSuite):
    vendor = "alibaba"
    no_face_entry = {"error": "NoFaceDetected"}
    image_error_entry = {"error": "ToolargeImage"}
    image_error_code = ErrorCode.IMAGE_TOO_LARGE
    unknown_code_entry = {"error": "Forbidden.RiskControl", "status": 403}
    # Result.Passed is Alibaba's own verdict (VENDOR-PROTOCOLS.md §4.5).
    has_verdict_flag = True
    # FaceCompare reports no face rectangles (§4.5, SDK FaceCompareResponseBodyResult).
    reports_selfie_box = False
    reports_reference_box = False

    @staticmethod
    def wrong_credentials(settings: Mapping[str, str]) -> dict[str, str]:
        secret = settings["ALIBABA_ACCESS_KEY_SECRET"]
        return {**settings, "ALIBABA_ACCESS_KEY_SECRET": secret[::-1] + "0"}

    @staticmethod
    def sent_reference_id(logged: dict[str, Any]) -> str:
        """MerchantBizId allows 32 letters and digits (§4.4): our UUID travels as its hex."""
        return str(uuid.UUID(logged["query"]["MerchantBizId"]))

    def test_a_forced_verdict_disagreeing_with_the_score_is_passed_through(self, adapter, sandbox):
        sandbox.script({"score": 95, "same_person": False})
        result = adapter.compare(self.request())
        assert result.score == 95.0
        assert result.same_person is False

    def test_a_numeric_score_is_read_like_a_string_one(self, adapter, sandbox):
        sandbox.script({"score": 81.25, "score_as_number": True})
        result = adapter.compare(self.request())
        assert result.vendor_score == 81.25
        assert result.score == 81.25

    def test_a_clock_more_than_15_minutes_off_is_auth_failed_and_worth_one_fresh_try(self, sandbox):
        adapter = self.make_adapter(sandbox.settings)
        adapter.clock = lambda: time.time() - 16 * 60
        with pytest.raises(VendorError) as caught:
            adapter.compare(self.request())
        error = caught.value
        assert error.code == ErrorCode.AUTH_FAILED
        assert error.vendor_code == "InvalidTimeStamp.Expired"
        assert error.http_status == 400
        assert error.retryable is True
