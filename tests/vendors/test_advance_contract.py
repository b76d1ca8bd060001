"""The shared backend contract, for ADVANCE.AI against its sandbox over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.vendors.contract import ContractSuite
from vendors.base import ErrorCode

REFERENCE_ID = "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11"  # ContractSuite.request()'s id


class TestAdvanceContract(ContractSuite):
    vendor = "advance"
    no_face_entry = {"error": "NO_FACE_DETECTED_FROM_FIRST_IMAGE"}
    image_error_entry = {"error": "IMAGE_INVALID_SIZE"}
    image_error_code = ErrorCode.IMAGE_TOO_LARGE
    unknown_code_entry = {"error": "FACE_SPOOF_SUSPECTED"}
    # ADVANCE answers a similarity only; no same-person flag (VENDOR-PROTOCOLS.md §2.4).
    has_verdict_flag = False

    @staticmethod
    def wrong_credentials(settings: Mapping[str, str]) -> dict[str, str]:
        return {**settings, "ADVANCE_SECRET_KEY": settings["ADVANCE_SECRET_KEY"][::-1] + "0"}

    @staticmethod
    def sent_reference_id(logged: dict[str, Any]) -> str:
        """Our id wherever it shows up in a logged request; "" as ADVANCE has no field for it."""
        wire = json.dumps({key: logged.get(key) for key in ("query", "headers", "fields", "json")})
        return REFERENCE_ID if REFERENCE_ID in wire else ""

    def test_our_reference_id_is_sent(self, adapter, sandbox):
        """Replaced: ADVANCE's check has no business-id field, so our id is not required.

        The documented request is the X-ACCESS-TOKEN header and the firstImage/secondImage file
        parts, nothing else (VENDOR-PROTOCOLS.md §2.3; vendor-docs/advance-face-comparison-v4.txt).
        An undocumented field or header could be rejected or silently dropped, so the adapter
        sends none and ties our id to ADVANCE's transactionId in its log instead.
        """
        request = self.request()
        sandbox.script({"score": 90})

        result = adapter.compare(request)

        calls = [r for r in sandbox.requests() if not r["path"].endswith("generate-token")]
        assert sorted(calls[-1]["fields"]) == ["firstImage", "secondImage"]
        assert type(self).sent_reference_id(calls[-1]) == ""
        assert result.vendor_request_id  # the transactionId is the correlation key we keep
