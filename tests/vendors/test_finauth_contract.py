"""FinAuth passes the shared backend contract against its sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.vendors.contract import SAME_PERSON, ContractSuite
from vendors.base import ErrorCode, ResultStatus


class TestFinAuthContract(ContractSuite):
    vendor = "finauth"
    no_face_entry = {"error": "NO_FACE_FOUND:image"}
    image_error_entry = {"error": "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1"}
    image_error_code = ErrorCode.INVALID_IMAGE
    unknown_code_entry = {"error": "SOMETHING_UNDOCUMENTED:detail"}
    has_verdict_flag = True

    # The ignores go once ContractSuite declares these two as staticmethods (mypy reads a
    # ClassVar[Callable] as a bound method); every vendor's contract module hits the same.
    @staticmethod
    def wrong_credentials(settings: Mapping[str, str]) -> dict[str, str]:  # type: ignore[override]
        return {**settings, "FINAUTH_API_SECRET": settings["FINAUTH_API_SECRET"] + "x"}

    @staticmethod
    def sent_reference_id(logged: dict[str, Any]) -> str:  # type: ignore[override]
        return str(logged["fields"]["biz_no"])

    def test_same_person_scores_high_and_is_billable(self, adapter, sandbox):
        # Overridden only because FinAuth documents a face box for the selfie alone (§1.5 `face`
        # describes the verification image); the shared test expects one for the reference too.
        result = adapter.compare(self.request(*SAME_PERSON))
        assert result.status == ResultStatus.COMPLETED
        assert result.vendor == self.vendor
        assert result.score is not None and result.score >= 70
        assert result.billable is True
        assert result.vendor_request_id
        assert result.same_person is True
        assert result.selfie_face is not None
        assert result.reference_face is None
