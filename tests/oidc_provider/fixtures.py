"""Pytest fixtures: the OpenID Connect provider as a process on loopback, the application
configured to sign in through it, and a browser without a browser (httpx filling HTML forms)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
#: The provider's groups and the roles they grant here (KYC_OIDC_GROUP_MAP).
GROUP_MAP = {"kyc-reviewers": "Reviewers", "kyc-auditors": "Auditors"}
START_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Provider:
    url: str
    env: dict[str, str]
    discovery: dict[str, Any] = field(default_factory=dict)

    def seed(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tests.oidc_provider.seed", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    def add_user(self, username: str, password: str, email: str, *groups: str) -> str:
        """A user of the provider; returns its subject (`sub`)."""
        return self.seed("user", username, password, email, *groups)

    def set_email(self, username: str, email: str) -> None:
        self.seed("email", username, email)

    def set_groups(self, username: str, *groups: str) -> None:
        self.seed("groups", username, *groups)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[Provider]:
    """django-oauth-toolkit's provider, migrated into a fresh SQLite file, signing with a new
    RSA key, served by its own process until the discovery document answers."""
    folder = tmp_path_factory.mktemp("oidc-provider")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "KYC_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        OIDC_PROVIDER_DB=str(folder / "provider.sqlite3"),
        OIDC_PROVIDER_RSA_KEY=_private_key_pem(),
        OIDC_PROVIDER_ISSUER=f"{url}/o",
        PYTHONPATH=str(REPO),
    )
    provider = Provider(url=url, env=env)
    django = [sys.executable, "-m", "django"]
    subprocess.run(
        [*django, "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [*django, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        provider.discovery = _wait_for_discovery(
            f"{url}/o/.well-known/openid-configuration", server
        )
        yield provider
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _wait_for_discovery(address: str, server: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The OpenID Connect provider exited with {server.returncode}.")
        try:
            response = httpx.get(address, timeout=1)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"The OpenID Connect provider did not answer within {START_SECONDS} s.")


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    secret: str


@pytest.fixture(scope="session")
def oidc_client(oidc_provider: Provider, live_server) -> RegisteredClient:
    """The application, registered at the provider with the live server's callback."""
    client = RegisteredClient("kyc-face-review", secrets.token_urlsafe(24))
    oidc_provider.seed(
        "client",
        client.client_id,
        client.secret,
        f"{live_server.url}/accounts/sso/callback/",
        f"{live_server.url}/accounts/login/",
    )
    return client


@pytest.fixture
def sso(settings, transactional_db, oidc_provider: Provider, oidc_client: RegisteredClient):
    """Single sign-on on, configured from the provider's discovery document as an operator
    would, with the roles the tests' users get from the provider's groups."""
    from reviews.roles import bootstrap_roles

    found = oidc_provider.discovery
    settings.OIDC_RP_CLIENT_ID = oidc_client.client_id
    settings.OIDC_RP_CLIENT_SECRET = oidc_client.secret
    settings.KYC_OIDC_ISSUER = found["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = found["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = found["jwks_uri"]
    settings.KYC_OIDC_END_SESSION_ENDPOINT = found["end_session_endpoint"]
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.KYC_OIDC_GROUPS_CLAIM = "groups"
    settings.KYC_OIDC_GROUP_MAP = GROUP_MAP
    settings.KYC_OIDC_CREATE_USERS = True
    settings.KYC_OIDC_DISABLE_PASSWORDS = True
    # httpx, unlike a browser, keeps Secure cookies from plain-HTTP loopback pages: the live
    # server is http://localhost, so the session cookie is sent without the flag here.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    bootstrap_roles()
    return oidc_provider


# --- a browser without a browser -----------------------------------------------------------------


class _Page(HTMLParser):
    """The forms of a page (their inputs' names and values) and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: dict[str, str] = {}
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": found.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and found.get("name"):
            if found.get("type") not in ("submit", "checkbox", "radio"):
                self.forms[-1]["fields"][found["name"]] = found.get("value", "")
        elif tag == "a":
            self._href = found.get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None


class Browser:
    """Follows redirects from one server to the other and keeps each one's cookies."""

    def __init__(self) -> None:
        self.http = httpx.Client(follow_redirects=True, timeout=15)

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def follow(self, page: httpx.Response, text: str) -> httpx.Response:
        parsed = _Page()
        parsed.feed(page.text)
        return self.http.get(urljoin(str(page.url), parsed.links[text]))

    def submit(
        self, page: httpx.Response, values: dict[str, str], index: int = 0
    ) -> httpx.Response:
        """Post the page's form number `index` with its fields, `values` filled in."""
        parsed = _Page()
        parsed.feed(page.text)
        form = parsed.forms[index]
        target = urljoin(str(page.url), form["action"] or str(page.url))
        return self.http.post(target, data={**form["fields"], **values})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def web() -> Iterator[Browser]:
    instance = Browser()
    yield instance
    instance.close()
