"""A Django storage that encrypts on save and decrypts on open, over any other storage.

The wrapped backend (local disk, S3 through django-storages) only ever receives ciphertext.
Names, existence checks and deletion pass straight through.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.module_loading import import_string

from kyc import crypto


@deconstructible
class EncryptedStorage(Storage):
    def __init__(self, inner: dict[str, Any] | None = None) -> None:
        inner = inner or {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        self.inner_config = inner
        self.inner: Storage = import_string(inner["BACKEND"])(**inner.get("OPTIONS", {}))

    def _save(self, name: str, content: File) -> str:
        content.seek(0)
        blob = crypto.encrypt(content.read())
        return self.inner.save(name, ContentFile(blob))

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode:
            raise ValueError("Encrypted files are written with save(), never opened for writing.")
        with self.inner.open(name, "rb") as handle:
            blob = handle.read()
        return ContentFile(crypto.decrypt(blob), name=name)

    def read_raw(self, name: str) -> bytes:
        """The stored ciphertext, as the backend holds it (key rotation, tests)."""
        with self.inner.open(name, "rb") as handle:
            data: bytes = handle.read()
        return data

    def replace_raw(self, name: str, blob: bytes) -> None:
        """Overwrite a file's ciphertext in place under the same name (key rotation).

        Never delete-then-save: a crash or a failed upload in between would lose the only copy
        of a biometric image. Every step below leaves either the old file or the new one.
        """
        path: Path | None
        try:
            path = Path(self.inner.path(name))
        except NotImplementedError:
            path = None
        if path is None:
            # Object stores (S3 and the other django-storages backends) replace a key with one
            # PUT. `_save` writes to the exact key; `save` would pick a fresh name because the
            # old object is still there.
            saved = self.inner._save(name, ContentFile(blob))  # type: ignore[attr-defined]
            if saved != name:  # pragma: no cover - _save does not rename
                raise RuntimeError(f"Storage renamed {name!r} to {saved!r} while rewriting it.")
            return
        # Local disk: write a sibling and rename it over the original, which POSIX makes atomic.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            shutil.copymode(path, temporary)  # mkstemp makes 0600; keep the storage's mode
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.inner.listdir(path)

    def size(self, name: str) -> int:
        return self.inner.size(name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.inner.get_available_name(name, max_length)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Images are only served through the audited image view.")

    def path(self, name: str) -> str:
        raise NotImplementedError("Encrypted files have no plaintext path.")
