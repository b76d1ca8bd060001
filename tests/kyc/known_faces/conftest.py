from __future__ import annotations

import pytest

from kyc.known_faces import gallery
from kyc.known_faces.models import KnownFaceCheck, KnownFacePolicy
from kyc.known_faces.services import check_pair
from kyc.models import ApiClient, PairStatus
from kyc.services.faces import locate_faces
from tests.conftest import face_bytes
from tests.factories import ApiClientFactory, ApplicantFactory, ImagePairFactory, store_images
from tests.reviews.cases import opened_case


@pytest.fixture(autouse=True)
def _fresh_galleries():
    gallery.forget_all()
    yield
    gallery.forget_all()


@pytest.fixture
def client_on():
    """A client with the known-face check on."""
    client = ApiClientFactory()
    enable_policy(client)
    return client


def enable_policy(client: ApiClient, **fields) -> KnownFacePolicy:
    policy, _ = KnownFacePolicy.objects.get_or_create(client=client)
    for name, value in {"enabled": True, **fields}.items():
        setattr(policy, name, value)
    policy.save()
    client.refresh_from_db()
    return policy


PENDING = {"status": "pending", "reasons": [], "matched_applicant_refs": []}


def matched_review_case():
    """Bob's case, whose selfie is the face Alice (approved earlier) showed."""
    client = ApiClientFactory()
    enable_policy(client)
    alice = store_images(
        ImagePairFactory(
            applicant=ApplicantFactory(client=client, external_ref="alice"),
            status=PairStatus.APPROVED,
            known_face=PENDING,
        ),
        face_bytes("fr_obama.jpg"),
        face_bytes("fr_obama2.jpg"),
    )
    KnownFaceCheck.objects.create(pair=alice)
    check_pair(alice.pk)
    case = opened_case(
        applicant=ApplicantFactory(client=client, external_ref="bob"),
        images=(face_bytes("fr_obama3.jpg"), face_bytes("fr_obama2.jpg")),
        faces={},  # no vendor box: the local engine finds these real faces
    )
    case.pair.known_face = PENDING
    case.pair.save()
    KnownFaceCheck.objects.create(pair=case.pair)
    assert check_pair(case.pair.pk) == "matched"
    locate_faces(alice.pk)
    locate_faces(case.pair.pk)
    case.refresh_from_db()
    return case, alice
