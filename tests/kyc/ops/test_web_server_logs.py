"""gunicorn, as `make demo` and the README's production command run it, logs no key and no
applicant reference, wherever a client puts them, and keeps what an operator needs."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from gunicorn.config import Config

from kyc.ops.gunicorn_logs import GunicornLogger
from kyc.worker_process import web_command
from tests.conftest import REPO, database_url
from tests.factories import ApplicantFactory, client_with_key

REF = "cust-ref-77130412"


@dataclass
class Logs:
    access: str
    error: str


def json_lines(text: str) -> list[dict[str, object]]:
    """Every line parsed as JSON: a line that is not went round the redaction."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def key(transactional_db) -> str:
    client, secret = client_with_key(name="Mobile backend")
    ApplicantFactory(client=client, external_ref=REF)
    return secret


def serve_and_log(tmp_path: Path, send) -> Logs:
    """Start gunicorn with the project's configuration, let `send` talk to it, stop it, and
    return what it wrote to stdout (the access log) and stderr (the error log and the app's)."""
    port = free_port()
    access, error = tmp_path / "access.log", tmp_path / "error.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "KYC_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "INFO",
    }
    with access.open("wb") as stdout, error.open("wb") as stderr:
        server = subprocess.Popen(
            web_command(f"127.0.0.1:{port}", workers=1, threads=2),
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, error.read_text()
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)
            send(base, port)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return Logs(access.read_text(), error.read_text())


def test_no_key_or_reference_reaches_the_access_or_error_log(tmp_path, key):
    erase = f"/api/v1/applicants/{REF}/"
    header_tries = {
        "req-apikey-000001": {"Authorization": f"Api-Key {key}"},
        "req-bearer-000002": {"Authorization": f"Bearer {key}"},
        "req-token--000003": {"Authorization": f"Token {key}"},
        "req-basicu-000004": {"Authorization": basic(key, "")},
        "req-basicp-000005": {"Authorization": basic("mobile", key)},
        "req-xapikey-00006": {"X-API-Key": key},
    }
    query_tries = {
        f"req-query-{name}": {name: key} for name in ("api_key", "key", "token", "access_token")
    }
    statuses: dict[str, int] = {}

    def send(base: str, port: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            for request_id, headers in header_tries.items():
                response = http.delete(erase, headers={**headers, "X-Request-ID": request_id})
                statuses[request_id] = response.status_code
            for request_id, params in query_tries.items():
                response = http.get(
                    "/api/v1/image-pairs/",
                    params={**params, "applicant_ref": REF},
                    headers={"X-Request-ID": request_id},
                )
                statuses[request_id] = response.status_code
        # gunicorn refuses a request line with a control character, and quotes it in its log.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(f"GET {erase}?api_key={key}&x=\x7f HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert raw.recv(100).startswith(b"HTTP/1.1 400")

    logs = serve_and_log(tmp_path, send)

    secret = key.split("_", 2)[2]
    credentials = [key, secret, basic(key, "").split()[1], basic("mobile", key).split()[1]]
    for leak in [*credentials, REF]:
        assert leak not in logs.access, leak
        assert leak not in logs.error, leak
    # The first try erased the applicant with a valid key; the others were refused.
    assert statuses == {
        "req-apikey-000001": 200,
        **dict.fromkeys([*header_tries, *query_tries][1:], 401),
    }

    access = {line["request_id"]: line for line in json_lines(logs.access)}
    for request_id, status in statuses.items():
        line = access[request_id]
        assert line["logger"] == "gunicorn.access"
        assert line["status"] == status
        assert isinstance(line["duration_ms"], int)
        assert line["remote_addr"] == "127.0.0.1"
        assert "?" not in line["path"] and "?" not in line["message"]
    assert access["req-apikey-000001"]["method"] == "DELETE"
    assert access["req-apikey-000001"]["path"] == "/api/v1/applicants/[applicant_ref]/"
    assert access["req-apikey-000001"]["message"] == (
        "DELETE /api/v1/applicants/[applicant_ref]/ 200"
    )
    assert access["req-query-api_key"]["path"] == "/api/v1/image-pairs/"

    errors = json_lines(logs.error)
    refused = next(line for line in errors if "Invalid request" in str(line["message"]))
    assert refused["logger"] == "gunicorn.error"
    assert "/api/v1/applicants/[applicant_ref]/?api_key=[redacted]" in str(refused["message"])
    unauthorized = [line for line in errors if line["logger"] == "django.request"]
    assert {line["request_id"] for line in unauthorized} == set(list(statuses)[1:])


def test_no_access_log_format_can_print_a_query_string_a_user_or_a_credential_header(tmp_path):
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("errorlog", str(tmp_path / "error.log"))
    config.set(
        "access_log_format",
        "%(r)s|%(U)s%(q)s|%(u)s|%({authorization}i)s|%({x-api-key}i)s|%({cookie}i)s|"
        "%({query_string}e)s|%({set-cookie}o)s|%(f)s|%({user-agent}i)s|%({x-request-id}o)s",
    )
    logger = GunicornLogger(config)
    response = SimpleNamespace(
        status="404 Not Found",
        headers=[("X-Request-ID", "req-0123456789"), ("Set-Cookie", "sessionid=s3ss10n")],
        sent=58,
    )
    request = SimpleNamespace(
        headers=[
            ("AUTHORIZATION", basic("kyc_0123456789ab_" + "k" * 43, "")),
            ("X-API-KEY", "x-api-s3cr3t"),
            ("COOKIE", "sessionid=s3ss10n"),
            ("USER-AGENT", "backend/2.1"),
        ]
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/applicants/{REF}/?token=t0k3n",
        "PATH_INFO": f"/api/v1/applicants/{REF}/",
        "QUERY_STRING": "token=t0k3n",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_AUTHORIZATION": basic("kyc_0123456789ab_" + "k" * 43, ""),
        "HTTP_REFERER": f"https://review.example.org/admin/?q={REF}",
    }
    try:
        logger.access(response, request, environ, timedelta(milliseconds=12))
    finally:
        for handler in [*logger.error_log.handlers, *logger.access_log.handlers]:
            handler.close()
    (line,) = json_lines((tmp_path / "access.log").read_text())
    assert line["message"] == (
        "GET /api/v1/applicants/[applicant_ref]/ HTTP/1.1|/api/v1/applicants/[applicant_ref]/|"
        "-|-|-|-|-|-|-|backend/2.1|req-0123456789"
    )
    assert (line["request_id"], line["status"], line["duration_ms"], line["bytes"]) == (
        "req-0123456789",
        404,
        12,
        58,
    )
