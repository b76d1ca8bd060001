"""Pytest fixtures that run the vendor sandboxes in-process on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vendors.sandboxes.base import RunningSandbox
from vendors.sandboxes.registry import PORT_OFFSETS, start_sandbox


class SandboxHandle:
    """A running sandbox plus its control API, as a test uses it."""

    def __init__(self, vendor: str, running: RunningSandbox) -> None:
        self.vendor = vendor
        self.running = running
        self.url = running.url
        self.settings = running.app.client_settings(running.url)

    def script(self, *entries: dict[str, Any]) -> None:
        httpx.post(
            f"{self.url}/__sandbox/script", json={"responses": list(entries)}
        ).raise_for_status()

    def configure(self, **config: Any) -> None:
        httpx.post(f"{self.url}/__sandbox/config", json=config).raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.url}/__sandbox/reset").raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/__sandbox/requests")
        response.raise_for_status()
        return list(response.json()["requests"])


@pytest.fixture(scope="session")
def running_sandboxes() -> Iterator[dict[str, SandboxHandle]]:
    handles = {vendor: SandboxHandle(vendor, start_sandbox(vendor)) for vendor in PORT_OFFSETS}
    yield handles
    for handle in handles.values():
        handle.running.stop()


@pytest.fixture
def sandboxes(running_sandboxes: dict[str, SandboxHandle]) -> dict[str, SandboxHandle]:
    """All four sandboxes, reset before the test."""
    for handle in running_sandboxes.values():
        handle.reset()
    return running_sandboxes
