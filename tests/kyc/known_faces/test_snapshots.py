"""The gallery's encrypted snapshot (kyc.known_faces.snapshots): one worker builds the index,
the others load it and read only the templates after its watermark; a purge deletes it and a
purged template never matches after a reload; the file at rest is ciphertext."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.utils import timezone

from kyc import crypto
from kyc.audit.chain import Actor
from kyc.known_faces import gallery
from kyc.known_faces.models import FaceTemplate, GallerySnapshot, unseal
from kyc.services.erasure import erase_applicant
from tests.kyc.known_faces.test_lifecycle import BIDEN, OBAMA, OBAMA_3, checked

pytestmark = pytest.mark.django_db

MIRANDA = "fr_lin-manuel-miranda.png"


@pytest.fixture
def indexed(client_on, monkeypatch):
    """A client whose gallery is searched through the approximate index from two templates."""
    monkeypatch.setattr(gallery, "APPROXIMATE_FROM", 2)
    monkeypatch.setattr(gallery, "SNAPSHOT_MIN_NEW", 1)
    return client_on


def template_of(pair) -> np.ndarray:
    return unseal(FaceTemplate.objects.get(pair=pair).sealed)


def no_building(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("this worker must load the snapshot, not build the index")

    monkeypatch.setattr(gallery.ivf, "build_index", refuse)


def test_the_builder_saves_a_snapshot_with_the_watermark_it_covers(indexed):
    checked(indexed, "alice", OBAMA)
    bob = checked(indexed, "bob", BIDEN)

    builder = gallery.ClientGallery(indexed.pk)
    builder.refresh()

    snapshot = GallerySnapshot.objects.get(client=indexed)
    assert builder.index is not None and len(builder.vectors) == 0
    assert snapshot.watermark == FaceTemplate.objects.get(pair=bob).pk
    assert snapshot.templates == 2
    assert default_storage.exists(snapshot.name)


def test_a_second_worker_loads_the_snapshot_and_finds_a_template_added_after_it(
    indexed, monkeypatch
):
    checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    gallery.ClientGallery(indexed.pk).refresh()
    covered = GallerySnapshot.objects.get(client=indexed).watermark
    later = checked(indexed, "carol", MIRANDA)
    assert FaceTemplate.objects.get(pair=later).pk > covered

    no_building(monkeypatch)
    second = gallery.ClientGallery(indexed.pk)  # another process, maybe on another host
    second.refresh()

    assert second.index is not None and len(second) == 3
    assert second.watermark == FaceTemplate.objects.get(pair=later).pk
    hits = second.search(template_of(later), threshold=70, exclude_applicant=None)
    assert [hit.pair_id for hit in hits] == [later.pk]


def test_a_purge_deletes_the_snapshot_and_a_purged_template_never_matches_after_reload(
    indexed, monkeypatch, django_capture_on_commit_callbacks
):
    alice = checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    warm = gallery.ClientGallery(indexed.pk)
    warm.refresh()
    old_file = GallerySnapshot.objects.get(client=indexed).name
    alice_face = template_of(alice)
    assert [hit.pair_id for hit in warm.search(alice_face, threshold=70, exclude_applicant=None)]

    with django_capture_on_commit_callbacks(execute=True):
        erase_applicant(alice.applicant, Actor.system("test"))

    assert not GallerySnapshot.objects.filter(client=indexed).exists()
    assert not default_storage.exists(old_file)
    # Even before it refreshes, the warm worker's index no longer answers with her.
    assert warm.search(alice_face, threshold=70, exclude_applicant=None) == []
    with django_capture_on_commit_callbacks(execute=True):
        warm.refresh()  # drops her and saves a snapshot without her
    assert GallerySnapshot.objects.get(client=indexed).templates == 1

    no_building(monkeypatch)
    reloaded = gallery.ClientGallery(indexed.pk)
    reloaded.refresh()
    assert len(reloaded) == 1 and alice.pk not in reloaded.pairs
    assert reloaded.search(alice_face, threshold=50, exclude_applicant=None) == []


def test_a_snapshot_saved_before_a_purge_loads_without_the_purged_template(indexed, monkeypatch):
    """A snapshot still holding a template a racing transaction purged: the loader drops it."""
    alice = checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    gallery.ClientGallery(indexed.pk).refresh()
    alice_face = template_of(alice)
    FaceTemplate.objects.filter(pair=alice).update(sealed=b"", purged_at=timezone.now())
    assert GallerySnapshot.objects.get(client=indexed).templates == 2  # not discarded

    no_building(monkeypatch)
    reloaded = gallery.ClientGallery(indexed.pk)
    reloaded.refresh()
    assert alice.pk not in reloaded.pairs
    assert reloaded.search(alice_face, threshold=50, exclude_applicant=None) == []


def test_the_snapshot_file_at_rest_holds_no_plaintext_template(indexed):
    alice = checked(indexed, "alice", OBAMA)
    bob = checked(indexed, "bob", BIDEN)
    gallery.ClientGallery(indexed.pk).refresh()
    name = GallerySnapshot.objects.get(client=indexed).name

    raw = default_storage.read_raw(name)
    opened = crypto.decrypt(raw)
    for pair in (alice, bob):
        face = template_of(pair).astype("<f4").tobytes()
        assert face in opened  # the index keeps the templates whole...
        assert face not in raw  # ...and only the sealed file reaches the disk
        assert face[:64] not in raw
    assert raw.startswith(crypto.MAGIC)


def test_while_another_worker_builds_the_index_a_worker_searches_exactly(indexed):
    alice = checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    cache.add(f"known-faces:index-lock:{indexed.pk}", 1)  # another worker is building it
    waiting = gallery.ClientGallery(indexed.pk)
    waiting.refresh()
    assert waiting.index is None and not GallerySnapshot.objects.exists()
    hits = waiting.search(template_of(alice), threshold=70, exclude_applicant=None)
    assert [hit.pair_id for hit in hits] == [alice.pk]

    cache.delete(f"known-faces:index-lock:{indexed.pk}")
    builder = gallery.ClientGallery(indexed.pk)
    builder.refresh()
    waiting.refresh()  # finds the builder's snapshot and takes its index
    assert waiting.index is not None and len(waiting) == 2
    assert [
        hit.pair_id
        for hit in waiting.search(template_of(alice), threshold=70, exclude_applicant=None)
    ] == [alice.pk]


def test_the_same_face_twice_is_one_match_through_the_index(indexed):
    alice = checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    gallery.ClientGallery(indexed.pk).refresh()
    again = checked(indexed, "mallory", OBAMA_3)
    assert again.known_face["reasons"] == ["face_seen_before"]
    assert again.known_face["matched_applicant_refs"] == [alice.applicant.external_ref]


def test_an_unreadable_snapshot_is_replaced_by_a_fresh_build(indexed, caplog):
    alice = checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    gallery.ClientGallery(indexed.pk).refresh()
    broken = GallerySnapshot.objects.get(client=indexed)
    # Sealed under a master key since retired, or damaged: it no longer opens.
    default_storage.replace_raw(broken.name, crypto.MAGIC + b"\x03old" + bytes(200))

    rebuilt = gallery.ClientGallery(indexed.pk)
    rebuilt.refresh()

    assert rebuilt.index is not None and len(rebuilt) == 2
    hits = rebuilt.search(template_of(alice), threshold=70, exclude_applicant=None)
    assert [hit.pair_id for hit in hits] == [alice.pk]
    fresh = GallerySnapshot.objects.get(client=indexed)
    assert fresh.name != broken.name and not default_storage.exists(broken.name)
    assert "unreadable" in caplog.text


def test_after_a_purge_one_worker_saves_the_new_snapshot_and_the_others_do_not(
    indexed, monkeypatch, django_capture_on_commit_callbacks
):
    alice = checked(indexed, "alice", OBAMA)
    checked(indexed, "bob", BIDEN)
    gallery.ClientGallery(indexed.pk).refresh()
    first, second = gallery.ClientGallery(indexed.pk), gallery.ClientGallery(indexed.pk)
    first.refresh()
    second.refresh()
    with django_capture_on_commit_callbacks(execute=True):
        erase_applicant(alice.applicant, Actor.system("test"))
    second.refresh()  # drops Alice, finds no snapshot and saves one
    saved = GallerySnapshot.objects.get(client=indexed)
    assert saved.templates == 1

    def refuse(snapshot):
        raise AssertionError("the snapshot is already up to date")

    monkeypatch.setattr(gallery.snapshots, "save", refuse)
    first.refresh()  # this one also drops her, and finds the new one there
    first._save_snapshot()  # even when it decided to save before the other one had
    assert GallerySnapshot.objects.get(client=indexed).name == saved.name
