"""The S3 path of the encrypted storage, over real HTTP against moto's server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.core.files.base import ContentFile
from moto.server import ThreadedMotoServer

from kyc import crypto
from kyc.crypto import DecryptionError, generate_master_key_entry
from kyc.storage import EncryptedStorage
from tests.conftest import face_bytes

BUCKET = "kyc-images"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_url: str, monkeypatch, tmp_path, settings) -> Iterator[Any]:
    """A fresh bucket, with dummy credentials and no way for boto to reach a real AWS."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    settings.KYC_ENCRYPTION_KEYS = generate_master_key_entry("s3-key")
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def storage(s3: Any, moto_url: str) -> EncryptedStorage:
    return EncryptedStorage(
        inner={
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": moto_url,
                "region_name": REGION,
                "location": "images",
                "file_overwrite": False,
                "default_acl": None,
            },
        }
    )


def _object(s3: Any, name: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=f"images/{name}")["Body"].read()
    return body


def test_the_object_in_the_bucket_is_ciphertext_not_the_image(
    s3: Any, storage: EncryptedStorage
) -> None:
    image = face_bytes("df_img5.jpg")

    name = storage.save("pairs/ab/photo.bin", ContentFile(image))

    stored = _object(s3, name)
    assert stored.startswith(b"KYC1")
    assert stored != image
    assert image[:4096] not in stored
    assert crypto.key_id(stored) == "s3-key"


def test_opening_an_s3_file_returns_the_exact_image(storage: EncryptedStorage) -> None:
    image = face_bytes("fr_obama.jpg")
    name = storage.save("pairs/ab/photo.bin", ContentFile(image))

    with storage.open(name) as handle:
        assert handle.read() == image


def test_a_second_save_under_the_same_name_gets_its_own_object(
    s3: Any, storage: EncryptedStorage
) -> None:
    first = storage.save("pairs/ab/photo.bin", ContentFile(b"first"))
    second = storage.save("pairs/ab/photo.bin", ContentFile(b"second"))

    assert first != second
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"


def test_a_flipped_byte_written_to_the_bucket_is_refused(
    s3: Any, storage: EncryptedStorage
) -> None:
    name = storage.save("pairs/ab/photo.bin", ContentFile(face_bytes("df_img5.jpg")))
    stored = bytearray(_object(s3, name))
    stored[len(stored) // 2] ^= 0x01

    s3.put_object(Bucket=BUCKET, Key=f"images/{name}", Body=bytes(stored))

    with pytest.raises(DecryptionError):
        storage.open(name)


def test_delete_removes_the_object_from_the_bucket(s3: Any, storage: EncryptedStorage) -> None:
    name = storage.save("pairs/ab/photo.bin", ContentFile(face_bytes("df_img5.jpg")))
    assert storage.exists(name)

    storage.delete(name)

    assert not storage.exists(name)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_replace_raw_overwrites_the_same_key_in_the_bucket(
    s3: Any, storage: EncryptedStorage
) -> None:
    image = face_bytes("df_img5.jpg")
    name = storage.save("pairs/ab/photo.bin", ContentFile(image))
    newer = generate_master_key_entry("newer")
    current = crypto.master_keys()
    rewrapped = crypto.rewrap(storage.read_raw(name), crypto.parse_master_keys(newer) + current)

    storage.replace_raw(name, rewrapped)

    assert _object(s3, name) == rewrapped
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [
        f"images/{name}"
    ]
    assert crypto.decrypt(_object(s3, name), crypto.parse_master_keys(newer)) == image
