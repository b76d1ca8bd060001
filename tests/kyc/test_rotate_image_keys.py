"""`manage.py rotate_image_keys`: every stored image moves to the newest master key (DESIGN §9)."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from kyc import crypto
from kyc.crypto import DecryptionError, generate_master_key_entry
from kyc.models import ImagePair
from kyc.storage import EncryptedStorage
from tests.conftest import face_bytes
from tests.factories import ImagePairFactory, store_images

pytestmark = pytest.mark.django_db

KEY_A = generate_master_key_entry("key-a")
KEY_B = generate_master_key_entry("key-b")
KEY_C = generate_master_key_entry("key-c")
PHOTOS = [
    "df_img5.jpg",
    "fr_obama.jpg",
    "fr_biden.jpg",
    "df_img25.jpg",
    "fr_obama2.jpg",
    "df_img1.jpg",
]


@pytest.fixture(autouse=True)
def _key_a(settings) -> None:
    settings.KYC_ENCRYPTION_KEYS = KEY_A


def _pairs(number: int) -> tuple[list[ImagePair], dict[str, bytes]]:
    """`number` pairs saved under the current key, and the original bytes by stored name."""
    pairs, originals = [], {}
    for index in range(number):
        selfie, reference = face_bytes(PHOTOS[2 * index]), face_bytes(PHOTOS[2 * index + 1])
        pair = store_images(ImagePairFactory(), selfie, reference)
        pairs.append(pair)
        originals[pair.selfie.name] = selfie
        originals[pair.reference.name] = reference
    return pairs, originals


def _rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_image_keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _encrypted() -> EncryptedStorage:
    assert isinstance(default_storage, EncryptedStorage)
    return default_storage


def _raw(name: str) -> bytes:
    return _encrypted().read_raw(name)


def _plain(name: str) -> bytes:
    with default_storage.open(name) as handle:
        data: bytes = handle.read()
    return data


def test_rotation_rewraps_every_image_under_the_newest_key(settings) -> None:
    _, originals = _pairs(3)
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    output = _rotate("--batch-size", "2")

    assert "re-wrapped 6, already on key-b 0, missing 0, failed 0" in output
    assert {name: crypto.key_id(_raw(name)) for name in originals} == dict.fromkeys(
        originals, "key-b"
    )
    assert {name: _plain(name) for name in originals} == originals


def test_rotated_images_stay_readable_once_the_old_key_is_removed(settings) -> None:
    _, originals = _pairs(2)
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    _rotate()

    settings.KYC_ENCRYPTION_KEYS = KEY_B

    assert {name: _plain(name) for name in originals} == originals


def test_without_rotation_the_images_are_lost_once_the_old_key_is_removed(settings) -> None:
    _, originals = _pairs(1)

    settings.KYC_ENCRYPTION_KEYS = KEY_B

    for name in originals:
        with pytest.raises(DecryptionError, match="key-a"):
            _plain(name)


def test_rotation_keeps_every_stored_name(settings) -> None:
    pairs, _ = _pairs(2)
    names = [(p.selfie.name, p.reference.name) for p in pairs]
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    _rotate()

    assert [(p.selfie.name, p.reference.name) for p in ImagePair.objects.order_by("pk")] == names


def test_a_dry_run_counts_but_changes_nothing(settings) -> None:
    _, originals = _pairs(2)
    before = {name: _raw(name) for name in originals}
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    output = _rotate("--dry-run")

    assert "would re-wrap 4, already on key-b 0, missing 0, failed 0" in output
    assert "dry run" in output
    assert {name: _raw(name) for name in originals} == before


def test_files_already_on_the_newest_key_are_left_byte_for_byte(settings) -> None:
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    _, originals = _pairs(1)
    before = {name: _raw(name) for name in originals}

    output = _rotate()

    assert "re-wrapped 0, already on key-b 2, missing 0, failed 0" in output
    assert {name: _raw(name) for name in originals} == before


def test_a_second_run_finds_everything_current(settings) -> None:
    _pairs(2)
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    _rotate()

    assert "re-wrapped 0, already on key-b 4" in _rotate()


def test_purged_and_blank_pairs_are_skipped_and_a_lost_file_is_counted_missing(settings) -> None:
    purged, _kept, lost = _pairs(3)[0]
    default_storage.delete(purged.selfie.name)
    default_storage.delete(purged.reference.name)
    ImagePair.objects.filter(pk=purged.pk).update(
        selfie="", reference="", images_purged_at=timezone.now()
    )
    default_storage.delete(lost.selfie.name)
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    output = _rotate()

    assert "re-wrapped 3, already on key-b 0, missing 1, failed 0" in output


def test_a_file_under_an_unlisted_key_fails_the_run_but_not_the_others(settings) -> None:
    settings.KYC_ENCRYPTION_KEYS = KEY_C
    stranger = store_images(
        ImagePairFactory(), face_bytes("df_img5.jpg"), face_bytes("fr_obama.jpg")
    )
    settings.KYC_ENCRYPTION_KEYS = KEY_A
    _, originals = _pairs(1)
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="2 image"):
        call_command("rotate_image_keys", stdout=out, stderr=err)

    assert "re-wrapped 2, already on key-b 0, missing 0, failed 2" in out.getvalue()
    assert stranger.selfie.name in err.getvalue()
    assert "key-c" in err.getvalue()
    assert {name: crypto.key_id(_raw(name)) for name in originals} == dict.fromkeys(
        originals, "key-b"
    )


def test_an_altered_file_fails_the_run_and_is_left_as_it_was(settings) -> None:
    pair = _pairs(1)[0][0]
    altered = bytearray(_raw(pair.selfie.name))
    altered[-1] ^= 0x01
    _encrypted().replace_raw(pair.selfie.name, bytes(altered))
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    with pytest.raises(CommandError):
        _rotate()

    assert _raw(pair.selfie.name) == bytes(altered)
    assert crypto.key_id(_raw(pair.reference.name)) == "key-b"


def _purge_just_before_the_write(monkeypatch, pair: ImagePair, *, put: bool) -> None:
    """The retention job wins the race: files deleted and the row marked just before we write.

    With `put`, the write then goes straight to the name, as one S3 PUT would; without, it is
    the real replace_raw on local disk.
    """
    replace_raw = EncryptedStorage.replace_raw

    def purge_first(self: EncryptedStorage, name: str, blob: bytes) -> None:
        for stored in (pair.selfie.name, pair.reference.name):
            self.delete(stored)
        ImagePair.objects.filter(pk=pair.pk).update(
            selfie="", reference="", images_purged_at=timezone.now()
        )
        if put:
            self.inner._save(name, ContentFile(blob))  # type: ignore[attr-defined]
        else:
            replace_raw(self, name, blob)

    monkeypatch.setattr(EncryptedStorage, "replace_raw", purge_first)


@pytest.mark.parametrize("put", [False, True], ids=["local disk", "object store"])
def test_an_image_purged_during_rotation_is_not_written_back(
    settings, monkeypatch, put: bool
) -> None:
    pair = _pairs(1)[0][0]
    settings.KYC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    _purge_just_before_the_write(monkeypatch, pair, put=put)

    output = _rotate()

    assert "re-wrapped 0, already on key-b 0, missing 2, failed 0" in output
    assert not default_storage.exists(pair.selfie.name)
    assert not default_storage.exists(pair.reference.name)
