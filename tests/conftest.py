from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

# Fixtures every folder may use: the vendor sandboxes, the pipeline run in-process, and the
# OpenID Connect provider single sign-on is tested against.
pytest_plugins = ["tests.sandboxes", "tests.kyc.pipeline.harness", "tests.oidc_provider.fixtures"]

#: The repository's root folder.
REPO = Path(__file__).resolve().parents[1]
#: The shared face set (never copied into the repository).
FACES_DIR = Path(os.environ.get("KYC_FACES_DIR", REPO.parent / "shared" / "faces"))
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


def database_url() -> str:
    """The test database as a DATABASE_URL, for the processes a test starts (workers, gunicorn)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


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


@pytest.fixture(autouse=True)
def _qa_rules_read_again():
    """The QA draw's copy of the sampling rules (reviews.qa.sampling) is per process; a test's
    rules are rolled back without the signal that forgets them."""
    from reviews.qa.sampling import forget_rules

    forget_rules()


@pytest.fixture(autouse=True)
def _access_rules(settings):
    """The sign-in lockout, the API's key guard and single sign-on as the tests expect them,
    whatever the environment says. Clients signed in with `force_login` never meet the lockout
    (axes' backend answers only a sign-in with credentials)."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.KYC_PROXY_COUNT = 0
    settings.KYC_API_KEY_FAILURE_LIMIT = 10
    settings.KYC_API_KEY_FAILURE_WINDOW_SECONDS = 600
    settings.KYC_API_KEY_COOLOFF_SECONDS = 900
    settings.OIDC_RP_CLIENT_ID = ""  # single sign-on off; tests/oidc_provider turns it on


@pytest.fixture
def client():
    """pytest-django's client, past the second factor once it signs in (tests/staff.py)."""
    from tests.staff import StaffClient

    return StaffClient()


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin_client, past the second factor like every administrator's."""
    from tests.staff import StaffClient

    client = StaffClient()
    client.force_login(admin_user)
    return client


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


@pytest.fixture
def frozen():
    """The clock stopped at the "now" of the hand-checked data set (tests/seed.py)."""
    from tests.seed import HAND_CHECKED_NOW

    with time_machine.travel(HAND_CHECKED_NOW, tick=False):
        yield HAND_CHECKED_NOW


@pytest.fixture
def known_data(db, frozen):
    """The small data set whose every dashboard and metrics figure is worked out by hand."""
    from tests.seed import hand_checked

    return hand_checked()
