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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove this run's SQLite test database and its WAL files."""
    pytest_sessionstart(session)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start from no SQLite test database (stale WAL files would corrupt a new one)."""
    from django.conf import settings

    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and test_name:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{test_name}{suffix}").unlink(missing_ok=True)


def face_bytes(name: str) -> bytes:
    path = BAD_DIR / name[4:] if name.startswith("bad/") else FACES_DIR / name
    return path.read_bytes()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not FACES_DIR.is_dir():
        pytest.fail(f"The shared face set is missing at {FACES_DIR} (set KYC_FACES_DIR).")
    return FACES_DIR


def store_images_in(settings, folder: Path) -> None:
    """Encrypted image files in `folder` (Django resets default_storage on the change)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "kyc.storage.EncryptedStorage",
            "OPTIONS": {
                "inner": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(folder)},
                }
            },
        },
    }


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Every test writes encrypted images into its own folder."""
    store_images_in(settings, tmp_path / "media")


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
