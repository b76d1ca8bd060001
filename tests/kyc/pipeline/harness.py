"""Run the pipeline in-process: queued Celery tasks are captured and executed on demand.

A pytest plugin (tests/conftest.py names it in `pytest_plugins`): the `tasks` and `harness`
fixtures reach every test, from the pipeline's own to the reporting and browser ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from rest_framework.test import APIClient

from kyc import dispatch, webhooks
from kyc.celery import app
from kyc.known_faces import services as known_faces
from kyc.models import ImagePair
from kyc.services import pipeline
from tests.conftest import face_bytes
from tests.factories import client_with_key
from vendors.base import CompareResult
from vendors.models import VendorConfig
from vendors.registry import reset_adapters


def record_result(attempt: Any, result: CompareResult, config: VendorConfig) -> None:
    """What `run_attempt` does with a vendor's answer: store it, then settle it."""
    settling = pipeline._store_result(attempt, result, config)
    if settling is not None:
        pipeline._settle_stored(attempt, settling)


@contextmanager
def no_deferred_loads() -> Iterator[None]:
    """The pipeline reads only some columns when it claims an attempt (`_CLAIM_FIELDS`); reading
    any other one would quietly cost a query per attempt. Fail instead."""
    original = Model.refresh_from_db

    def refresh(self: Model, using: Any = None, fields: Any = None, **kwargs: Any) -> None:
        assert fields is None, f"{type(self).__name__}.{fields} was loaded on its own"
        original(self, using, fields, **kwargs)

    Model.refresh_from_db = refresh  # type: ignore[method-assign]
    try:
        yield
    finally:
        Model.refresh_from_db = original  # type: ignore[method-assign]


@dataclass
class SentTask:
    name: str
    args: tuple[Any, ...]
    countdown: float | None


@dataclass
class TaskQueue:
    sent: list[SentTask] = field(default_factory=list)
    history: list[SentTask] = field(default_factory=list)

    def send_task(
        self,
        name: str,
        args: Any = None,
        kwargs: Any = None,
        countdown: float | None = None,
        **_: Any,
    ):
        task = SentTask(name, tuple(args or ()), countdown)
        self.sent.append(task)
        self.history.append(task)

    def run_all(self, max_steps: int = 100) -> None:
        """Execute queued tasks (ignoring countdowns) until nothing is left."""
        for _ in range(max_steps):
            if not self.sent:
                return
            task = self.sent.pop(0)
            if task.name == dispatch.COMPARE:
                with no_deferred_loads():
                    pipeline.run_attempt(*task.args)
            elif task.name == dispatch.DELIVER_WEBHOOK:
                webhooks.deliver(*task.args)
            elif task.name == dispatch.CHECK_KNOWN_FACE:
                known_faces.check_pair(*task.args)
        raise AssertionError("the pipeline did not settle")

    def countdowns(self, name: str = dispatch.COMPARE) -> list[float | None]:
        return [t.countdown for t in self.history if t.name == name]


@pytest.fixture
def tasks(monkeypatch) -> TaskQueue:
    queue = TaskQueue()
    monkeypatch.setattr(app, "send_task", queue.send_task)
    return queue


@dataclass
class Harness:
    api: APIClient
    tasks: TaskQueue
    sandboxes: dict[str, Any]

    def enable(self, *backends: str, **config: Any) -> None:
        """Enable exactly these backends, in this priority order."""
        VendorConfig.objects.update(enabled=False)
        for priority, backend in enumerate(backends):
            VendorConfig.objects.filter(backend=backend).update(
                enabled=True, priority=priority, **config
            )

    def submit(
        self,
        selfie: str | bytes = "df_img1.jpg",
        reference: str | bytes = "df_img2.jpg",
        **fields: Any,
    ) -> ImagePair:
        """Submit two faces of the shared set by name, or an image's bytes."""
        data = {
            "applicant_ref": fields.pop("applicant_ref", "user-1"),
            "selfie": SimpleUploadedFile("s.jpg", _image(selfie)),
            "reference": SimpleUploadedFile("r.jpg", _image(reference)),
            **fields,
        }
        response = self.api.post("/api/v1/image-pairs/", data, format="multipart")
        assert response.status_code == 202, response.json()
        return ImagePair.objects.get(public_id=response.json()["id"])

    def run(self, pair: ImagePair) -> ImagePair:
        self.tasks.run_all()
        pair.refresh_from_db()
        return pair


def _image(name_or_data: str | bytes) -> bytes:
    return name_or_data if isinstance(name_or_data, bytes) else face_bytes(name_or_data)


@pytest.fixture
def harness(default_rows, tasks, sandboxes, settings) -> Harness:
    settings.VENDOR_CREDENTIALS = {
        **{vendor: handle.settings for vendor, handle in sandboxes.items()},
        "local": {},
    }
    reset_adapters()
    for handle in sandboxes.values():
        handle.configure(engine=False)  # scripted scores: no need to run the face engine
    _, key = client_with_key()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    yield Harness(api, tasks, sandboxes)
    reset_adapters()
