from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.sandboxes"]

#: The shared face set (never copied into the repository).
FACES_DIR = Path(
    os.environ.get("KYC_FACES_DIR", Path(__file__).resolve().parents[2] / "shared" / "faces")
)
BAD_DIR = FACES_DIR / "bad"


def face_bytes(name: str) -> bytes:
    path = BAD_DIR / name[4:] if name.startswith("bad/") else FACES_DIR / name
    return path.read_bytes()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not FACES_DIR.is_dir():
        pytest.fail(f"The shared face set is missing at {FACES_DIR} (set KYC_FACES_DIR).")
    return FACES_DIR


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Every test writes encrypted images into its own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "kyc.storage.EncryptedStorage",
            "OPTIONS": {
                "inner": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media")},
                }
            },
        },
    }
    # Django's setting_changed handler resets the storage registry and default_storage.


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """A cache of the test's own: throttles, breakers and vendor tokens never leak between tests."""
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def default_rows(transactional_db):
    """Re-create what the data migrations seed (a transactional test flushes it)."""
    from importlib import import_module

    from django.apps import apps

    for module in (
        "vendors.migrations.0002_default_configs",
        "reviews.migrations.0002_default_reason_codes",
    ):
        import_module(module).create(apps, None)
