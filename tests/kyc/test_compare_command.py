from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import FACES_DIR
from tests.vendors.contract import RESULT_KEYS
from vendors.registry import BACKENDS, reset_adapters

SAME = (str(FACES_DIR / "df_img1.jpg"), str(FACES_DIR / "df_img2.jpg"))


@pytest.fixture
def pointed_at_sandboxes(sandboxes, settings):
    settings.VENDOR_CREDENTIALS = {**{v: h.settings for v, h in sandboxes.items()}, "local": {}}
    reset_adapters()
    yield sandboxes
    reset_adapters()


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("compare", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize("vendor", BACKENDS)
def test_compare_prints_the_design_json_for_every_backend(pointed_at_sandboxes, vendor):
    if vendor != "local":
        pointed_at_sandboxes[vendor].script({"score": 91.5, "risk_tags": []})
    status, out = run("--vendor", vendor, *SAME, "--json")
    result = json.loads(out)
    assert status == 0
    assert set(result) == RESULT_KEYS
    assert result["vendor"] == vendor
    assert result["status"] == "completed"
    assert result["score"] >= 70
    assert set(result["faces"]) == {"selfie", "reference"}


def test_compare_exits_non_zero_when_there_is_no_face(pointed_at_sandboxes):
    status, out = run(
        "--vendor", "local", str(FACES_DIR / "bad" / "no_face_landscape.jpg"), SAME[1], "--json"
    )
    assert status == 1
    assert json.loads(out)["error_code"] == "NO_FACE"


def test_compare_reports_a_vendor_failure_with_its_taxonomy_code(pointed_at_sandboxes):
    pointed_at_sandboxes["advance"].script({"fault": "http_500"})
    status, out = run("--vendor", "advance", *SAME, "--json")
    assert status == 1
    assert json.loads(out)["error_code"] == "VENDOR_ERROR"
