"""The four sandboxes, their default ports, and how to start them together."""

from __future__ import annotations

import json
import os
from importlib import import_module
from pathlib import Path

from vendors.sandboxes.base import RunningSandbox, SandboxApp

SANDBOX_PATHS = {
    "finauth": "vendors.sandboxes.finauth.FinAuthSandbox",
    "advance": "vendors.sandboxes.advance.AdvanceSandbox",
    "zoloz": "vendors.sandboxes.zoloz.ZolozSandbox",
    "alibaba": "vendors.sandboxes.alibaba.AlibabaSandbox",
}
PORT_OFFSETS = {"finauth": 0, "advance": 1, "zoloz": 2, "alibaba": 3}


def sandbox_class(vendor: str) -> type[SandboxApp]:
    module_name, class_name = SANDBOX_PATHS[vendor].rsplit(".", 1)
    cls: type[SandboxApp] = getattr(import_module(module_name), class_name)
    return cls


def start_sandbox(vendor: str, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    cls = sandbox_class(vendor)
    app = cls(cls.generate_credentials())
    return RunningSandbox(app, host, port).start()


def start_all(host: str = "127.0.0.1", base_port: int | None = None) -> dict[str, RunningSandbox]:
    """Start every sandbox; `base_port=None` picks free ports (tests)."""
    return {
        vendor: start_sandbox(vendor, host, 0 if base_port is None else base_port + offset)
        for vendor, offset in PORT_OFFSETS.items()
    }


def client_environment(running: dict[str, RunningSandbox]) -> dict[str, dict[str, str]]:
    """Per vendor, the DESIGN §9 variables that point a client at its sandbox."""
    return {vendor: sb.app.client_settings(sb.url) for vendor, sb in running.items()}


def write_environment_file(running: dict[str, RunningSandbox], path: Path) -> None:
    """The credentials, readable by their owner only from the first byte, replacing the old file
    in one step (development settings read it: kyc/settings.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(client_environment(running), file, indent=2)
    os.replace(partial, path)
