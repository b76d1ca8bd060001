"""The shared adapter contract, for ZOLOZ against its sandbox over real HTTP on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.vendors.contract import ContractSuite
from vendors.base import ErrorCode
from vendors.zoloz.auth import private_key_pem


class TestZolozContract(ContractSuite):
    vendor = "zoloz"
    # S3: UNABLE_GET_IMAGE covers "no face detected"; the message says which side.
    no_face_entry = {"error": "UNABLE_GET_IMAGE", "no_face": "face1"}
    image_error_entry = {"error": "UNABLE_GET_IMAGE"}
    image_error_code = ErrorCode.INVALID_IMAGE
    unknown_code_entry = {"error": "FACE_FEATURE_EXTRACT_FAIL"}
    has_verdict_flag = True
    reports_selfie_box = False  # the compare response carries no face rectangles (§3)
    reports_reference_box = False

    @staticmethod
    def wrong_credentials(settings: Mapping[str, str]) -> dict[str, str]:
        """A fresh merchant key the sandbox has never registered: every signature is refused."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return {**settings, "ZOLOZ_MERCHANT_PRIVATE_KEY": private_key_pem(key)}

    @staticmethod
    def sent_reference_id(logged: dict[str, Any]) -> str:
        # bizId holds 32 bytes (§3.6), so the adapter sends our UUID as its 32 hex digits.
        return str(uuid.UUID(logged["body"]["bizId"]))

    # ZOLOZ's compare answer has no face rectangles (§3.7), so the two contract tests that
    # expect boxes are restated here with boxes absent rather than invented.
