"""Images at rest: encrypted through the default storage, refused when altered (DESIGN §9)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kyc import crypto
from kyc.crypto import DecryptionError, generate_master_key_entry
from kyc.storage import EncryptedStorage
from tests.conftest import REPO, face_bytes

KEY_A = generate_master_key_entry("key-a")
KEY_B = generate_master_key_entry("key-b")


@pytest.fixture(autouse=True)
def _key_a(settings) -> None:
    settings.KYC_ENCRYPTION_KEYS = KEY_A


@pytest.fixture
def media_dir(settings) -> Path:
    """Where the autouse conftest fixture points the default storage's inner FileSystemStorage."""
    return Path(settings.STORAGES["default"]["OPTIONS"]["inner"]["OPTIONS"]["location"])


def _encrypted() -> EncryptedStorage:
    assert isinstance(default_storage, EncryptedStorage)
    return default_storage


def _save(data: bytes) -> str:
    return default_storage.save("pairs/photo.bin", ContentFile(data))


def _read(name: str) -> bytes:
    with default_storage.open(name) as handle:
        data: bytes = handle.read()
    return data


def _flip(blob: bytes, position: int) -> bytes:
    return blob[:position] + bytes([blob[position] ^ 0x01]) + blob[position + 1 :]


def _regions(blob: bytes) -> dict[str, int]:
    """One byte offset inside each part of the file layout documented in kyc/crypto.py."""
    kid_len = blob[4]
    wrap_nonce = 5 + kid_len
    wrapped_key = wrap_nonce + crypto.NONCE
    data_nonce = wrapped_key + crypto.WRAPPED_KEY
    ciphertext = data_nonce + crypto.NONCE
    return {
        "magic": 0,
        "key id length": 4,
        "key id": 5,
        "wrap nonce": wrap_nonce,
        "wrapped key": wrapped_key + 7,
        "wrapped key tag": data_nonce - 1,
        "data nonce": data_nonce,
        "ciphertext start": ciphertext,
        "ciphertext middle": (ciphertext + len(blob)) // 2,
        "tag": len(blob) - 1,
    }


# --- what the disk holds ----------------------------------------------------------------------


def test_the_file_on_disk_is_ciphertext_not_the_image(media_dir: Path) -> None:
    image = face_bytes("df_img5.jpg")

    name = _save(image)

    on_disk = (media_dir / name).read_bytes()
    assert on_disk.startswith(crypto.MAGIC)
    assert not on_disk.startswith(b"\xff\xd8")
    assert on_disk != image
    assert image not in on_disk
    # No run of the picture survives either (any 32-byte window would be a 2**-256 accident).
    assert not any(image[i : i + 32] in on_disk for i in range(0, len(image) - 32, 4096))
    assert _encrypted().read_raw(name) == on_disk


def test_a_saved_image_reads_back_byte_for_byte() -> None:
    image = face_bytes("fr_alex-lacamoire.png")

    assert _read(_save(image)) == image


def test_the_same_image_saved_twice_gives_two_different_ciphertexts() -> None:
    image = face_bytes("df_img5.jpg")

    first, second = _save(image), _save(image)

    assert first != second
    first_raw, second_raw = _encrypted().read_raw(first), _encrypted().read_raw(second)
    assert first_raw != second_raw
    header = len(crypto.MAGIC) + 1 + len("key-a")  # magic, key id length, key id
    assert first_raw[:header] == second_raw[:header]
    body = header + 2 * crypto.NONCE + crypto.WRAPPED_KEY  # the encrypted picture itself
    assert first_raw[body:] != second_raw[body:]  # a fresh data key and nonce per file
    assert _read(first) == _read(second) == image


def test_the_size_a_storage_reports_is_the_stored_ciphertext_size() -> None:
    name = _save(face_bytes("df_img5.jpg"))

    assert default_storage.size(name) == len(_encrypted().read_raw(name))


def test_a_stored_image_cannot_be_opened_for_writing() -> None:
    name = _save(face_bytes("df_img5.jpg"))

    with pytest.raises(ValueError, match="save"):
        default_storage.open(name, "wb")


# --- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "region",
    [
        "magic",
        "key id length",
        "key id",
        "wrap nonce",
        "wrapped key",
        "wrapped key tag",
        "data nonce",
        "ciphertext start",
        "ciphertext middle",
        "tag",
    ],
)
def test_a_flipped_byte_in_any_part_of_the_file_is_refused(media_dir: Path, region: str) -> None:
    name = _save(face_bytes("df_img5.jpg"))
    path = media_dir / name
    blob = path.read_bytes()

    path.write_bytes(_flip(blob, _regions(blob)[region]))

    with pytest.raises(DecryptionError):
        _read(name)


def test_a_flipped_bit_at_every_position_of_a_small_file_is_refused() -> None:
    blob = crypto.encrypt(b"a small picture")

    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            altered = blob[:position] + bytes([blob[position] ^ bit]) + blob[position + 1 :]
            with pytest.raises(DecryptionError):
                crypto.decrypt(altered)


@pytest.mark.parametrize("cut", [0, 3, 5, 40, -1])
def test_a_cut_short_file_is_refused(cut: int) -> None:
    blob = crypto.encrypt(b"a small picture")

    with pytest.raises(DecryptionError):
        crypto.decrypt(blob[:cut])


def test_a_plain_unencrypted_file_in_the_storage_is_refused(media_dir: Path) -> None:
    name = _save(b"placeholder")
    (media_dir / name).write_bytes(face_bytes("df_img5.jpg"))

    with pytest.raises(DecryptionError, match="Not an encrypted"):
        _read(name)


# --- master keys ------------------------------------------------------------------------------


def test_a_file_from_an_unknown_key_id_is_refused(settings) -> None:
    settings.KYC_ENCRYPTION_KEYS = KEY_B
    name = _save(face_bytes("df_img5.jpg"))
    settings.KYC_ENCRYPTION_KEYS = KEY_A

    with pytest.raises(DecryptionError, match="key-b"):
        _read(name)


def test_a_file_under_a_different_key_with_the_same_id_is_refused(settings) -> None:
    name = _save(face_bytes("df_img5.jpg"))
    settings.KYC_ENCRYPTION_KEYS = generate_master_key_entry("key-a")  # same id, new secret

    with pytest.raises(DecryptionError):
        _read(name)


def test_new_files_use_the_first_listed_key(settings) -> None:
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    name = _save(face_bytes("df_img5.jpg"))

    assert crypto.key_id(_encrypted().read_raw(name)) == "key-b"


def test_an_old_key_file_stays_readable_while_its_key_is_listed(settings) -> None:
    image = face_bytes("df_img5.jpg")
    old_name = _save(image)
    assert crypto.key_id(_encrypted().read_raw(old_name)) == "key-a"

    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    new_name = _save(image)

    assert _read(old_name) == image
    assert _read(new_name) == image

    settings.KYC_ENCRYPTION_KEYS = KEY_B
    assert _read(new_name) == image
    with pytest.raises(DecryptionError, match="key-a"):
        _read(old_name)


def test_rewrap_moves_a_file_to_the_newest_key_without_touching_the_picture(settings) -> None:
    blob = crypto.encrypt(b"picture")
    keys = crypto.parse_master_keys(f"{KEY_B},{KEY_A}")

    rewrapped = crypto.rewrap(blob, keys)

    assert crypto.key_id(rewrapped) == "key-b"
    assert crypto.decrypt(rewrapped, crypto.parse_master_keys(KEY_B)) == b"picture"


def test_replace_raw_keeps_the_name_and_the_file_mode(media_dir: Path) -> None:
    name = _save(face_bytes("df_img5.jpg"))
    path = media_dir / name
    mode = path.stat().st_mode
    replacement = crypto.encrypt(b"replacement")

    _encrypted().replace_raw(name, replacement)

    assert path.read_bytes() == replacement
    assert path.stat().st_mode == mode
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_a_key_list_that_names_no_key_is_a_configuration_error(settings) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.KYC_ENCRYPTION_KEYS = ","

    with pytest.raises(ImproperlyConfigured, match="KYC_ENCRYPTION_KEYS"):
        crypto.master_keys()


def test_a_changed_key_list_applies_at_once_though_each_process_parses_it_once(settings) -> None:
    """The parsed list is kept per value of the setting, never past a change of it: a key that
    was removed stops working on the next read, and the new newest key encrypts the next write."""
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_A}"
    under_a = crypto.encrypt(b"picture")
    assert crypto.decrypt(under_a) == b"picture"

    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B}"

    with pytest.raises(crypto.DecryptionError, match="not in KYC_ENCRYPTION_KEYS"):
        crypto.decrypt(under_a)
    assert crypto.key_id(crypto.encrypt(b"picture")) == KEY_B.partition(":")[0]


def test_a_bad_key_list_fails_every_read_until_it_is_fixed(settings) -> None:
    """A refused value is not remembered as if it were good, nor is the good one it replaced."""
    from django.core.exceptions import ImproperlyConfigured

    settings.KYC_ENCRYPTION_KEYS = f"{KEY_A}"
    blob = crypto.encrypt(b"picture")
    settings.KYC_ENCRYPTION_KEYS = "a:not-base64!"

    for _ in range(2):
        with pytest.raises(ImproperlyConfigured, match="not base64"):
            crypto.decrypt(blob)

    settings.KYC_ENCRYPTION_KEYS = f"{KEY_A}"
    assert crypto.decrypt(blob) == b"picture"


# --- production start-up (subprocesses: settings are read once per process) -------------------


def _production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "KYC_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "DEBUG"}
        # set by the browser tests for their own process; a real deployment never has it
        and name != "DJANGO_ALLOW_ASYNC_UNSAFE"
        and not name.startswith("SECURE_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kyc.settings",
        DJANGO_ENV="production",
        KYC_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(REPO),
    )
    env.update(variables)
    return env


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _python(env, "-c", "import django; django.setup()")


def _python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Python run with `args` in the repository, with the environment `env`."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "SECRET_KEY"),
        ({"KYC_ENCRYPTION_KEYS": KEY_A, "ALLOWED_HOSTS": "example.org"}, "SECRET_KEY"),
        (
            {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "example.org"},
            "KYC_ENCRYPTION_KEYS",
        ),
        ({"SECRET_KEY": secrets.token_urlsafe(50), "KYC_ENCRYPTION_KEYS": KEY_A}, "ALLOWED_HOSTS"),
    ],
    ids=["nothing set", "no secret key", "no encryption keys", "no allowed hosts"],
)
def test_production_refuses_to_start_without_a_required_variable(
    tmp_path: Path, given: dict[str, str], missing: str
) -> None:
    result = _setup(_production_env(tmp_path, **given))

    assert result.returncode != 0
    assert missing in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_starts_with_a_secret_key_encryption_keys_and_allowed_hosts(
    tmp_path: Path,
) -> None:
    env = _production_env(
        tmp_path,
        SECRET_KEY=secrets.token_urlsafe(50),
        KYC_ENCRYPTION_KEYS=KEY_A,
        ALLOWED_HOSTS="example.org",
    )

    result = _setup(env)

    assert result.returncode == 0, result.stderr


def test_the_deployment_checklist_passes_in_production(tmp_path: Path) -> None:
    env = _production_env(
        tmp_path,
        SECRET_KEY=secrets.token_urlsafe(50),
        KYC_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}",
        ALLOWED_HOSTS="example.org",
    )

    result = _python(env, "manage.py", "check", "--deploy")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output
    assert "no issues" in output, output


def test_replace_raw_does_not_recreate_a_file_deleted_in_the_meantime(media_dir: Path) -> None:
    name = _save(face_bytes("df_img5.jpg"))
    default_storage.delete(name)

    with pytest.raises(FileNotFoundError):
        _encrypted().replace_raw(name, crypto.encrypt(b"replacement"))

    assert not (media_dir / name).exists()
    assert list((media_dir / name).parent.iterdir()) == []  # no temporary left either
