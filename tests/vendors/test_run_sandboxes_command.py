"""`manage.py run_sandboxes`: four vendors from one command, credentials a client can use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from kyc.images import prepare_for_backend
from tests.conftest import REPO, face_bytes
from vendors.base import CompareRequest, ResultStatus
from vendors.registry import adapter_class


def free_base_port() -> int:
    """Four consecutive free loopback ports."""
    for base in range(20100, 30000, 10):
        try:
            sockets = [socket.create_server(("127.0.0.1", base + offset)) for offset in range(4)]
        except OSError:
            continue
        for sock in sockets:
            sock.close()
        return base
    raise RuntimeError("no free ports")


def test_one_command_serves_all_four_vendors_and_writes_their_credentials(tmp_path):
    base = free_base_port()
    env_file = tmp_path / "sandboxes.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_sandboxes",
            "--base-port",
            str(base),
            "--env-file",
            str(env_file),
        ],
        cwd=REPO,
        env={**os.environ, "KYC_VAR_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "run_sandboxes did not write its credentials"
            time.sleep(0.1)
        environment = json.loads(env_file.read_text())
        assert set(environment) == {"finauth", "advance", "zoloz", "alibaba"}
        assert environment["finauth"]["FINAUTH_BASE_URL"] == f"http://127.0.0.1:{base}"
        assert environment["alibaba"]["ALIBABA_BASE_URL"].endswith(str(base + 3))
        assert "BEGIN" in environment["zoloz"]["ZOLOZ_MERCHANT_PRIVATE_KEY"]
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        for vendor, variables in environment.items():
            url = next(value for key, value in variables.items() if key.endswith("_BASE_URL"))
            httpx.post(
                f"{url}/__sandbox/script", json={"responses": [{"score": 88, "risk_tags": []}]}
            )
            request = CompareRequest(
                selfie=prepare_for_backend(face_bytes("df_img1.jpg"), vendor),
                reference=prepare_for_backend(face_bytes("df_img2.jpg"), vendor),
                reference_id="5f0c8a4e-1b6d-4c1e-9f3a-2d7b8e6c4a10",
            )
            result = adapter_class(vendor)(variables, timeout=10).compare(request)
            assert (vendor, result.status, result.score) == (vendor, ResultStatus.COMPLETED, 88.0)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
