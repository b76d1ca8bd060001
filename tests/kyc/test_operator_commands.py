"""An operator's commands from a shell in the demo's folder: read-only ones never need vendor
credentials; the deployment check and the worker name what an enabled backend lacks."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest
from celery import signals

from tests.conftest import REPO, database_url
from vendors.models import VendorConfig
from vendors.registry import COMMERCIAL_BACKENDS, adapter_class
from vendors.sandboxes.registry import write_environment_file

#: What the four commercial backends need, as `check --deploy` would name it.
REQUIRED = {
    variable
    for backend in COMMERCIAL_BACKENDS
    for variable in adapter_class(backend).required_settings
}
MISSING = re.compile(r"\(vendors\.E001\) Backend '\w+' is enabled but (\w+) is not set\.")


def demo_shell(var_dir, *, under_pytest: bool = False) -> dict[str, str]:
    """The environment of a shell in the demo's folder: development settings, the demo's var/,
    no vendor variable (the demo gives those to its children only)."""
    vendor_prefixes = tuple(f"{backend.upper()}_" for backend in COMMERCIAL_BACKENDS)
    env = {
        name: value
        for name, value in os.environ.items()
        # Not what a shell has: pytest's own marker, and the browser tests' async switch (which
        # the deploy check rightly refuses).
        if not name.startswith(vendor_prefixes)
        and name not in ("PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(DJANGO_ENV="development", KYC_VAR_DIR=str(var_dir), DATABASE_URL=database_url())
    if under_pytest:
        env["PYTEST_VERSION"] = os.environ["PYTEST_VERSION"]
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def every_vendor_enabled(default_rows):
    VendorConfig.objects.update(enabled=True)


@pytest.mark.parametrize(
    ("sandboxes_file", "under_pytest", "missing"),
    [
        pytest.param(True, False, set(), id="the demo wrote var/sandboxes.json"),
        pytest.param(False, False, REQUIRED, id="no var/sandboxes.json"),
        pytest.param(True, True, REQUIRED, id="a test run never reads the file"),
    ],
)
def test_read_only_commands_work_and_the_deploy_check_names_what_is_missing(
    every_vendor_enabled, running_sandboxes, tmp_path, sandboxes_file, under_pytest, missing
):
    if sandboxes_file:
        running = {vendor: handle.running for vendor, handle in running_sandboxes.items()}
        write_environment_file(running, tmp_path / "sandboxes.json")
    env = demo_shell(tmp_path, under_pytest=under_pytest)

    audit = manage(env, "audit_verify")
    assert (audit.returncode, audit.stderr) == (0, "")
    assert audit.stdout.startswith("Audit chain intact")

    deploy = manage(env, "check", "--deploy")
    assert set(MISSING.findall(deploy.stderr)) == missing
    assert deploy.returncode == (1 if missing else 0), deploy.stderr


def test_a_starting_worker_names_each_variable_an_enabled_backend_lacks(
    db, settings, caplog, sandboxes
):
    settings.VENDOR_CREDENTIALS = {
        "advance": {},
        "zoloz": sandboxes["zoloz"].settings,
        "finauth": {},
        "alibaba": {},
        "local": {},
    }
    VendorConfig.objects.filter(backend__in=["advance", "zoloz"]).update(enabled=True)
    with caplog.at_level(logging.ERROR, logger="kyc.worker"):
        signals.worker_ready.send(sender=None)
    assert [
        (r.levelname, r.check, r.getMessage().split(" is not set")[0]) for r in caplog.records
    ] == [
        ("ERROR", "vendors.E001", "Backend 'advance' is enabled but ADVANCE_ACCESS_KEY"),
        ("ERROR", "vendors.E001", "Backend 'advance' is enabled but ADVANCE_SECRET_KEY"),
    ]
