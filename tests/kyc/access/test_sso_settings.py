"""Single sign-on's settings are checked at start-up, naming what is wrong (a subprocess each:
settings are read once per process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

ENDPOINTS = {
    "KYC_OIDC_CLIENT_SECRET": "secret",
    "KYC_OIDC_ISSUER": "https://login.bank.example",
    "KYC_OIDC_AUTHORIZATION_ENDPOINT": "https://login.bank.example/authorize",
    "KYC_OIDC_TOKEN_ENDPOINT": "https://login.bank.example/token",
    "KYC_OIDC_USERINFO_ENDPOINT": "https://login.bank.example/userinfo",
    "KYC_OIDC_JWKS_ENDPOINT": "https://login.bank.example/jwks",
}


def start(tmp_path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("KYC_OIDC_") and name != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kyc.settings",
        KYC_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(REPO),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_client_id_alone_names_every_variable_single_sign_on_still_needs(tmp_path):
    started = start(tmp_path, KYC_OIDC_CLIENT_ID="kyc")
    assert started.returncode != 0
    assert (
        "KYC_OIDC_CLIENT_ID is set, so single sign-on needs KYC_OIDC_CLIENT_SECRET, "
        "KYC_OIDC_ISSUER, KYC_OIDC_AUTHORIZATION_ENDPOINT, KYC_OIDC_TOKEN_ENDPOINT, "
        "KYC_OIDC_USERINFO_ENDPOINT, KYC_OIDC_JWKS_ENDPOINT too."
    ) in started.stderr


def test_a_complete_configuration_starts(tmp_path):
    started = start(
        tmp_path,
        KYC_OIDC_CLIENT_ID="kyc",
        KYC_OIDC_GROUP_MAP='{"kyc-reviewers": "Reviewers"}',
        **ENDPOINTS,
    )
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{reviewers: Reviewers}", "KYC_OIDC_GROUP_MAP is not valid JSON: "),
        (
            '["Reviewers"]',
            "KYC_OIDC_GROUP_MAP must be a JSON object of claim values to group names",
        ),
        (
            '{"kyc-reviewers": ["Reviewers"]}',
            "KYC_OIDC_GROUP_MAP must be a JSON object of claim values to group names",
        ),
    ],
    ids=["not json", "a list", "a list as a value"],
)
def test_a_group_map_that_is_not_an_object_of_names_is_refused(tmp_path, value, message):
    started = start(tmp_path, KYC_OIDC_GROUP_MAP=value)
    assert started.returncode != 0
    assert message in started.stderr
