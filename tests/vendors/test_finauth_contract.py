"""FinAuth passes the shared backend contract against its sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.vendors.contract import ContractSuite
from vendors.base import ErrorCode


class TestFinAuthContract(ContractSuite):
    vendor = "finauth"
    no_face_entry = {"error": "NO_FACE_FOUND:image"}
    image_error_entry = {"error": "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1"}
    image_error_code = ErrorCode.INVALID_IMAGE
    unknown_code_entry = {"error": "SOMETHING_UNDOCUMENTED:detail"}
    has_verdict_flag = True
    reports_reference_box = False  # §1.5 documents `face` for the selfie only

    @staticmethod
    def wrong_credentials(settings: Mapping[str, str]) -> dict[str, str]:
        return {**settings, "FINAUTH_API_SECRET": settings["FINAUTH_API_SECRET"] + "x"}

    @staticmethod
    def sent_reference_id(logged: dict[str, Any]) -> str:
        return str(logged["fields"]["biz_no"])
