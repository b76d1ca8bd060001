"""How the demo's users sign in (password, then their printed key or a recovery code), and the
demo refusing to run in production."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from base64 import b32decode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp

from kyc.demo import DEMO_LOGINS, create_demo_users
from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def test_every_demo_user_has_an_authenticator_key_and_recovery_codes_that_sign_in():
    sign_ins = create_demo_users()
    assert [s.login.username for s in sign_ins] == [login.username for login in DEMO_LOGINS]
    for sign_in in sign_ins:
        user = get_user_model().objects.get(username=sign_in.login.username)
        assert len(sign_in.recovery_codes) == 10
        key = b32decode(sign_in.totp_key.replace(" ", ""))

        with_app = Client()
        with_app.force_login(user)
        code = f"{totp(key):06d}"  # what an authenticator app holding the printed key shows
        verified = with_app.post("/accounts/second-factor/verify/", {"code": code})
        assert verified["Location"] == "/", sign_in.login.username

        with_paper = Client()
        with_paper.force_login(user)
        used = with_paper.post(
            "/accounts/second-factor/verify/", {"code": sign_in.recovery_codes[0]}
        )
        assert used["Location"] == "/", sign_in.login.username


def test_starting_the_demo_again_keeps_each_key_and_replaces_the_recovery_codes():
    first = {s.login.username: s for s in create_demo_users()}
    second = {s.login.username: s for s in create_demo_users()}
    for name, sign_in in second.items():
        assert sign_in.totp_key == first[name].totp_key  # an app that holds it keeps working
        assert set(sign_in.recovery_codes).isdisjoint(first[name].recovery_codes)


def test_the_demo_refuses_to_run_in_production(tmp_path):
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"} and not name.startswith("SECURE_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kyc.settings",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        KYC_ENCRYPTION_KEYS=f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        ALLOWED_HOSTS="review.example.org",
        KYC_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(REPO),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "demo", "--no-seed", "--port", "8999"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert (
        "The demo is for development only: it creates users with known passwords and prints "
        "their sign-in keys. It refuses to run with DJANGO_ENV=production." in result.stderr
    )
    assert not (tmp_path / "var" / "sandboxes.json").exists()  # nothing was started
