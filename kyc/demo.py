"""Demo set-up shared by `manage.py demo`: users and roles, vendor switches, and demo data.

The demo data goes in the way a real client's would: multipart POSTs to the REST API of the
running web server, processed by the real Celery worker against the vendor sandboxes, whose next
answers are scripted through their control API. A newcomer lands on a populated review queue.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.access import two_factor
from kyc.models import ApiClient, ImagePair
from vendors.models import VendorConfig


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    group: str = ""
    staff: bool = False


DEMO_LOGINS = (
    DemoLogin("admin", "demo-admin-pass", "Administrator (Django admin)", staff=True),
    DemoLogin("reviewer", "demo-reviewer-pass", "Reviewer (/review/)", group="Reviewers"),
    DemoLogin(
        "senior", "demo-senior-pass", "Senior reviewer (four-eyes)", group="Senior reviewers"
    ),
    DemoLogin("auditor", "demo-auditor-pass", "Auditor (/audit/, /stats/)", group="Auditors"),
)
DEMO_CLIENT = "Demo mobile backend"
FACES_DIR = Path(
    os.environ.get("KYC_FACES_DIR", Path(settings.BASE_DIR).parent / "shared" / "faces")
)


@dataclass(frozen=True)
class DemoSignIn:
    """How one demo user signs in: the password, then a code from an authenticator app that
    holds `totp_key`, or one of `recovery_codes`."""

    login: DemoLogin
    totp_key: str
    recovery_codes: list[str]


@transaction.atomic
def create_demo_users() -> list[DemoSignIn]:
    """The groups (`manage.py bootstrap_roles`) and one user per role, passwords reset, each with
    an authenticator key already set up (kept across runs, so an app that holds it keeps working)
    and fresh recovery codes: every role signs in with a second factor, the demo's too."""
    call_command("bootstrap_roles", stdout=io.StringIO())
    User = get_user_model()
    sign_ins = []
    for login in DEMO_LOGINS:
        user, _ = User.objects.get_or_create(username=login.username)
        # Only the administrator may enter the Django admin; everyone else works in the app.
        user.is_staff = login.staff
        user.is_superuser = login.username == "admin"
        user.set_password(login.password)
        user.save()
        if login.group:
            user.groups.set([Group.objects.get(name=login.group)])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(
                user=user, name=two_factor.AUTHENTICATOR, confirmed=True
            )
        codes = two_factor.replace_recovery_codes(user)
        sign_ins.append(DemoSignIn(login, two_factor.secret_text(device), codes))
    return sign_ins


@transaction.atomic
def enable_backends(backends: list[str]) -> None:
    VendorConfig.objects.filter(backend__in=backends).update(enabled=True)


# --- demo data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    label: str
    vendor: str
    selfie: str
    reference: str
    script: dict[str, Any] | None  # the vendor sandbox's next answer; None = real scoring
    applicant: str
    reference_source: str = "ID_PHOTO"
    #: Every other backend is switched off while this pair runs, so it ends with a human.
    fail_all: bool = False


SCENARIOS = (
    # Decided automatically: clear answers never reach a person.
    Scenario("clear match", "advance", "df_img2.jpg", "df_img6.jpg", {"score": 97}, "demo-0001"),
    Scenario("clear mismatch", "zoloz", "df_img13.jpg", "fr_obama.jpg", {"score": 9}, "demo-0002"),
    Scenario(
        "same person (local engine)", "local", "df_img34.jpg", "df_img36.jpg", None, "demo-0003"
    ),
    Scenario(
        "no face found",
        "advance",
        "df_img11.jpg",
        "df_img10.jpg",
        {"error": "NO_FACE_DETECTED_FROM_FIRST_IMAGE"},
        "demo-0004",
    ),
    Scenario(
        "earlier rejection",
        "finauth",
        "df_img53.jpg",
        "fr_biden.jpg",
        {"score": 20, "risk_tags": []},
        "demo-0105",
    ),
    # For a reviewer: gray-band scores, risk tags, disagreements, vendor failure.
    Scenario("gray band", "advance", "df_img3.jpg", "df_img54.jpg", {"score": 62}, "demo-0101"),
    Scenario("gray band", "advance", "df_img14.jpg", "df_img57.jpg", {"score": 57.5}, "demo-0102"),
    Scenario("gray band", "advance", "df_img18.jpg", "df_img19.jpg", {"score": 68.4}, "demo-0103"),
    Scenario(
        "FinAuth age risk",
        "finauth",
        "df_img7.jpg",
        "df_img4.jpg",
        {"score": 93, "risk_tags": ["is_age_risk"], "ages": [24, 41], "genders": [1, 1]},
        "demo-0104",
    ),
    Scenario(
        "FinAuth gender risk",
        "finauth",
        "df_img59.jpg",
        "df_img61.jpg",
        {"score": 88, "risk_tags": ["is_gender_risk"], "ages": [34, 36], "genders": [0, 1]},
        "demo-0105",
    ),
    Scenario(
        "FinAuth band",
        "finauth",
        "df_img22.jpg",
        "df_img23.jpg",
        {"score": 66, "risk_tags": []},
        "demo-0106",
    ),
    Scenario("ZOLOZ band", "zoloz", "df_img24.jpg", "df_img18.jpg", {"score": 64}, "demo-0107"),
    Scenario(
        "ZOLOZ disagrees with its score",
        "zoloz",
        "df_img35.jpg",
        "df_img37.jpg",
        {"score": 95, "same_person": False},
        "demo-0108",
    ),
    Scenario(
        "Alibaba band", "alibaba", "fr_obama2.jpg", "fr_obama3.jpg", {"score": 71}, "demo-0109"
    ),
    Scenario(
        "Alibaba disagrees with its score",
        "alibaba",
        "fr_biden2.jpg",
        "fr_biden.jpg",
        {"score": 92, "same_person": False},
        "demo-0110",
    ),
    Scenario("local engine band", "local", "df_img12.jpg", "df_img55.jpg", None, "demo-0111"),
    Scenario("local engine band", "local", "df_img28.jpg", "df_img46.jpg", None, "demo-0112"),
    Scenario(
        "earlier selfie as reference",
        "advance",
        "fr_alex_lacamoire_img1.jpg",
        "fr_alex_lacamoire1_knn_test.jpg",
        {"score": 59},
        "demo-0114",
        reference_source="SELFIE",
    ),
    # Known faces: demo-0001's face again, under another applicant ref. Approved by the
    # vendor, then sent to review by the known-face check ("face_seen_before").
    Scenario(
        "face seen before (known faces)",
        "advance",
        "df_img5.jpg",
        "df_img4.jpg",
        {"score": 96},
        "demo-0115",
    ),
    Scenario(
        "every vendor failed",
        "advance",
        "df_img58.jpg",
        "df_img15.jpg",
        {"fault": "http_500", "repeat": 10},
        "demo-0113",
        fail_all=True,
    ),
)


@dataclass
class SeedReport:
    skipped: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    generated_images: bool = False

    @property
    def needs_review(self) -> int:
        return self.statuses.get("needs_review", 0)


def demo_client_has_pairs() -> bool:
    return ImagePair.objects.filter(client__name=DEMO_CLIENT).exists()


def _demo_key() -> str:
    from kyc.audit.chain import Actor
    from kyc.known_faces.models import KnownFacePolicy
    from kyc.services.api_clients import create_api_key

    client, _ = ApiClient.objects.get_or_create(name=DEMO_CLIENT)
    # The demo client has opted in to known faces (a real client needs a legal basis first).
    policy, _ = KnownFacePolicy.objects.get_or_create(client=client)
    policy.enabled = True
    policy.save()
    with transaction.atomic():
        _, secret = create_api_key(client, Actor.system("demo"))
    return secret


def _generated_image(seed: str) -> bytes:
    """A plain portrait-sized picture (when the shared face set is absent): no face in it."""
    import hashlib

    from PIL import Image, ImageDraw

    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", (720, 900), (digest[0] // 2 + 90, digest[1] // 2 + 90, 150))
    draw = ImageDraw.Draw(image)
    draw.ellipse((230, 220, 490, 560), fill=(224, 190, 160))
    draw.rectangle((200, 600, 520, 900), fill=(60, 70, 90))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def seed_demo_data(
    base_url: str,
    sandbox_urls: dict[str, str],
    *,
    faces_dir: Path = FACES_DIR,
    log: Callable[[str], None] = print,
    timeout: float = 90.0,
) -> SeedReport:
    """Submit the scenarios through the API one by one and wait for each to settle."""
    if demo_client_has_pairs():
        return SeedReport(skipped=True)
    report = SeedReport(generated_images=not faces_dir.is_dir())
    key = _demo_key()
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Api-Key {key}"}, timeout=30)
    with api:
        for number, scenario in enumerate(SCENARIOS, start=1):
            if scenario.vendor != "local" and scenario.vendor not in sandbox_urls:
                continue
            status = _run_scenario(api, scenario, sandbox_urls, faces_dir, timeout)
            report.statuses[status] = report.statuses.get(status, 0) + 1
            line = f"  {number:2}/{len(SCENARIOS)}  {scenario.vendor:8} {scenario.label:32}"
            log(f"{line} {status}")
    return report


def _image(faces_dir: Path, name: str) -> bytes:
    path = faces_dir / name
    return path.read_bytes() if path.is_file() else _generated_image(name)


def _run_scenario(
    api: httpx.Client,
    scenario: Scenario,
    sandbox_urls: dict[str, str],
    faces_dir: Path,
    timeout: float,
) -> str:
    saved: list[tuple[str, bool, int]] = []
    if scenario.fail_all:
        # Failover would rescue the pair; with only this vendor left, and its retry budget
        # small, the pipeline gives up and hands the pair to a person ("vendor_failed").
        saved = list(VendorConfig.objects.values_list("backend", "enabled", "retry_budget"))
        VendorConfig.objects.exclude(backend=scenario.vendor).update(enabled=False)
        VendorConfig.objects.filter(backend=scenario.vendor).update(enabled=True, retry_budget=1)
    try:
        if scenario.script is not None and scenario.vendor in sandbox_urls:
            httpx.post(
                f"{sandbox_urls[scenario.vendor]}/__sandbox/script",
                json={"responses": [scenario.script]},
                timeout=10,
            ).raise_for_status()
        selfie, reference = (
            _image(faces_dir, scenario.selfie),
            _image(faces_dir, scenario.reference),
        )
        response = api.post(
            "/api/v1/image-pairs/",
            data={
                "applicant_ref": scenario.applicant,
                "vendor": scenario.vendor,
                "reference_source": scenario.reference_source,
                "metadata": '{"demo": "' + scenario.label + '"}',
            },
            files={
                "selfie": (scenario.selfie, selfie, "image/jpeg"),
                "reference": (scenario.reference, reference, "image/jpeg"),
            },
        )
        if response.status_code != 202:
            return f"refused ({response.status_code} {response.json().get('code', '')})"
        pair_id = response.json()["id"]
        deadline = time.monotonic() + timeout
        status = "received"
        while time.monotonic() < deadline:
            status = api.get(f"/api/v1/image-pairs/{pair_id}/").json()["status"]
            if status not in {"received", "comparing"}:
                break
            time.sleep(0.3)
        return status
    finally:
        if scenario.fail_all:
            for backend, enabled, budget in saved:
                VendorConfig.objects.filter(backend=backend).update(
                    enabled=enabled, retry_budget=budget
                )
            if scenario.vendor in sandbox_urls:
                # Forget the unused fault entries so later calls answer normally.
                httpx.post(f"{sandbox_urls[scenario.vendor]}/__sandbox/reset", timeout=10)
