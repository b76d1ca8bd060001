"""Templates and the blocklist over their life: gallery loading, erasure, retention, legal hold,
blocklist add / match / four-eyes removal, and the evidence pack's one line about them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from kyc import crypto
from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from kyc.known_faces import gallery
from kyc.known_faces.models import (
    BlocklistEntry,
    FaceTemplate,
    KnownFaceCheck,
    KnownFacePolicy,
    unseal,
)
from kyc.known_faces.services import (
    BlocklistError,
    add_to_blocklist,
    approve_removal,
    check_pair,
    request_removal,
)
from kyc.models import ImagePair, PairStatus
from kyc.services.erasure import erase_applicant
from kyc.services.retention import purge_expired_images
from reviews.reporting.exports import evidence_pack
from tests.conftest import face_bytes
from tests.factories import (
    ApplicantFactory,
    ImagePairFactory,
    UserFactory,
    store_images,
)
from tests.kyc.known_faces.conftest import enable_policy

pytestmark = pytest.mark.django_db

OBAMA, OBAMA_2, OBAMA_3 = "fr_obama.jpg", "fr_obama2.jpg", "fr_obama3.jpg"
BIDEN = "fr_biden.jpg"


def checked(client, ref: str, selfie: str, **pair_fields) -> ImagePair:
    """A pair of `client`'s applicant `ref` whose known-face check has run."""
    applicant = ApplicantFactory(client=client, external_ref=ref)
    pair = store_images(
        ImagePairFactory(
            client=client,
            applicant=applicant,
            known_face={
                "status": "pending",
                "reasons": [],
                "matched_applicant_refs": [],
                "blocklist_action": KnownFacePolicy.objects.get(client=client).blocklist_action,
            },
            **pair_fields,
        ),
        face_bytes(selfie),
        face_bytes(OBAMA_2),
    )
    KnownFaceCheck.objects.create(pair=pair)
    check_pair(pair.pk)
    pair.refresh_from_db()
    return pair


def test_a_gallery_that_starts_late_loads_every_template_and_drops_purged_ones(client_on):
    early = gallery.ClientGallery(client_on.pk)
    early.refresh()
    first = checked(client_on, "alice", OBAMA)
    checked(client_on, "bob", BIDEN)

    late = gallery.ClientGallery(client_on.pk)  # another worker, on another host, starting now
    late.refresh()
    early.refresh()
    assert len(late) == len(early) == 2
    assert late.watermark == early.watermark == FaceTemplate.objects.latest("pk").pk

    erase_applicant(first.applicant, Actor.system("test"))
    early.refresh()
    assert len(early) == 1 and first.pk not in early.pairs
    query = unseal(FaceTemplate.objects.get(pair__applicant__external_ref="bob").sealed)
    assert early.search(query, threshold=70, exclude_applicant=None)[0].applicant_id != (
        first.applicant_id
    )


@pytest.mark.parametrize("approximate_from", [10**6, 1], ids=["exact", "index"])
def test_a_template_committed_after_a_higher_id_was_read_is_loaded_all_the_same(
    client_on, monkeypatch, approximate_from
):
    alice = checked(client_on, "alice", OBAMA)
    checked(client_on, "bob", BIDEN)
    monkeypatch.setattr(gallery, "APPROXIMATE_FROM", approximate_from)
    # Alice's insert drew the lower id but commits after Bob's was read.
    row = FaceTemplate.objects.get(pair=alice)
    FaceTemplate.objects.filter(pk=row.pk).delete()
    g = gallery.ClientGallery(client_on.pk)
    g.refresh()
    assert len(g) == 1 and g.watermark > row.pk

    row.save(force_insert=True)
    g.refresh()

    assert list(g.ids) == sorted(FaceTemplate.objects.values_list("pk", flat=True))
    hits = g.search(unseal(row.sealed), threshold=70, exclude_applicant=None)
    assert [hit.pair_id for hit in hits] == [alice.pk]


def test_the_approximate_index_finds_what_exact_search_finds(client_on, monkeypatch):
    monkeypatch.setattr(gallery, "APPROXIMATE_FROM", 2)
    alice = checked(client_on, "alice", OBAMA)
    checked(client_on, "bob", BIDEN)
    g = gallery.ClientGallery(client_on.pk)
    g.refresh()
    assert g.index is not None
    query = unseal(FaceTemplate.objects.get(pair=alice).sealed)
    hits = g.search(query, threshold=70, exclude_applicant=None)
    assert [hit.pair_id for hit in hits] == [alice.pk]


def test_erasure_purges_the_template_with_the_images(client_on):
    pair = checked(client_on, "alice", OBAMA)
    template = FaceTemplate.objects.get(pair=pair)
    assert template.purged_at is None and len(bytes(template.sealed)) > 128 * 4

    erase_applicant(pair.applicant, Actor.system("test"))

    template.refresh_from_db()
    assert template.purged_at is not None and bytes(template.sealed) == b""
    pack = evidence_pack(pair, exported_by="auditor")
    assert pack["face_template"] == {
        "check": "clear",
        "existed": True,
        "purged_at": template.purged_at.isoformat(),
    }


def test_retention_purges_templates_but_legal_hold_keeps_them(client_on):
    decided = timezone.now() - timedelta(days=400)
    gone = checked(client_on, "alice", OBAMA, status=PairStatus.APPROVED, decided_at=decided)
    held = checked(client_on, "bob", BIDEN, status=PairStatus.APPROVED, decided_at=decided)
    held.applicant.legal_hold = True
    held.applicant.save()

    purge_expired_images()

    assert FaceTemplate.objects.get(pair=gone).purged_at is not None
    kept = FaceTemplate.objects.get(pair=held)
    assert kept.purged_at is None and unseal(kept.sealed).shape == (128,)


def test_blocklist_add_match_and_four_eyes_removal(client_on):
    adder, second = UserFactory(), UserFactory()
    banned = checked(client_on, "alice", OBAMA)
    entry = add_to_blocklist(banned, "fraud_ring", adder)
    # The entry has its own sealed copy: it outlives the applicant's erasure.
    erase_applicant(banned.applicant, Actor.system("test"))
    entry.refresh_from_db()
    assert entry.removed_at is None and unseal(entry.sealed).shape == (128,)

    back = checked(client_on, "new-name", OBAMA_3)
    check = KnownFaceCheck.objects.get(pair=back)
    assert check.reasons == ["face_blocklisted"]  # the erased applicant's template is gone
    assert list(check.matched_entries.all()) == [entry]

    request_removal(entry, adder)
    with pytest.raises(BlocklistError):
        approve_removal(entry, adder)  # four eyes: not the person who asked
    approve_removal(entry, second)
    entry.refresh_from_db()
    assert entry.removed_at is not None and bytes(entry.sealed) == b""
    assert list(
        AuditEvent.objects.filter(subject_type="blocklist_entry").values_list(
            "event_type", flat=True
        )
    ) == ["blocklist.removal_requested", "blocklist.removed"]
    # Off the blocklist; still the face "new-name" showed, so only seen before.
    assert checked(client_on, "third", OBAMA_3).known_face["reasons"] == ["face_seen_before"]


def test_the_database_refuses_a_removal_approved_by_its_requester(client_on):
    user = UserFactory()
    entry = add_to_blocklist(checked(client_on, "alice", OBAMA), "fraud_ring", user)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlocklistEntry.objects.filter(pk=entry.pk).update(
            removal_requested_by=user, removal_approved_by=user
        )


def test_a_blocklisted_face_is_rejected_when_the_client_says_so(client_on):
    enable_policy(client_on, blocklist_action="reject")
    add_to_blocklist(checked(client_on, "alice", OBAMA), "banned", UserFactory())
    back = checked(client_on, "bob", OBAMA_3, status=PairStatus.APPROVED, decision_source="auto")
    assert back.status == PairStatus.REJECTED and back.status_reason == "face_blocklisted"


def test_rotating_the_master_keys_rewraps_templates_and_blocklisted_faces(client_on, settings):
    old, new = crypto.generate_master_key_entry("old"), crypto.generate_master_key_entry("new")
    settings.KYC_ENCRYPTION_KEYS = old
    banned = checked(client_on, "alice", OBAMA)
    add_to_blocklist(banned, "fraud_ring", UserFactory())
    settings.KYC_ENCRYPTION_KEYS = f"{new},{old}"
    out = io.StringIO()

    call_command("rotate_image_keys", stdout=out, stderr=io.StringIO())

    assert "face templates: re-wrapped 1, already on new 0, failed 0" in out.getvalue()
    assert "blocklisted faces: re-wrapped 1, already on new 0, failed 0" in out.getvalue()
    settings.KYC_ENCRYPTION_KEYS = new  # the old key dropped: both still open, and still match
    for sealed in (
        FaceTemplate.objects.get(pair=banned).sealed,
        BlocklistEntry.objects.get().sealed,
    ):
        assert crypto.key_id(bytes(sealed)) == "new"
        assert unseal(sealed).shape == (128,)
    gallery.forget_all()
    back = checked(client_on, "new-name", OBAMA_3)
    assert KnownFaceCheck.objects.get(pair=back).reasons == ["face_blocklisted", "face_seen_before"]
