"""Pre-flight face checks on the client's original images, before any paid call."""

from __future__ import annotations

from tests.conftest import face_bytes
from vendors.base import ErrorCode
from vendors.local.preflight import run_preflight


def test_a_normal_pair_passes_with_one_face_on_each_side(faces_dir):
    result = run_preflight(face_bytes("df_img1.jpg"), face_bytes("df_img2.jpg"))
    assert result.passed is True
    assert result.error_code is None
    assert (result.reason, result.which) == ("", "")
    assert (result.selfie_faces, result.reference_faces) == (1, 1)
    assert result.latency_ms >= 0


def test_a_selfie_without_a_face_fails_with_no_face_naming_the_selfie(faces_dir):
    result = run_preflight(face_bytes("bad/no_face_landscape.jpg"), face_bytes("df_img1.jpg"))
    assert result.passed is False
    assert result.error_code == ErrorCode.NO_FACE
    assert (result.reason, result.which) == ("no_face", "selfie")
    assert (result.selfie_faces, result.reference_faces) == (0, 1)


def test_a_reference_without_a_face_fails_naming_the_reference(faces_dir):
    result = run_preflight(face_bytes("df_img1.jpg"), face_bytes("bad/no_face_landscape.jpg"))
    assert (result.passed, result.reason, result.which) == (False, "no_face", "reference")


def test_two_faces_fail_with_multiple_faces_and_the_count(faces_dir):
    result = run_preflight(face_bytes("df_img1.jpg"), face_bytes("bad/two_faces.jpg"))
    assert result.passed is False
    assert result.error_code == ErrorCode.MULTIPLE_FACES
    assert (result.reason, result.which) == ("multiple_faces", "reference")
    assert (result.selfie_faces, result.reference_faces) == (1, 2)


def test_two_faces_pass_when_several_are_allowed(faces_dir):
    result = run_preflight(
        face_bytes("df_img1.jpg"), face_bytes("bad/two_faces.jpg"), refuse_multiple=False
    )
    assert result.passed is True
    assert result.reference_faces == 2


def test_the_selfies_problem_is_reported_before_the_references(faces_dir):
    result = run_preflight(face_bytes("bad/two_faces.jpg"), face_bytes("bad/no_face_landscape.jpg"))
    assert (result.reason, result.which) == ("multiple_faces", "selfie")
    assert (result.selfie_faces, result.reference_faces) == (2, 0)


def test_an_unreadable_image_fails_as_invalid_image(faces_dir):
    result = run_preflight(face_bytes("bad/truncated.jpg"), face_bytes("df_img1.jpg"))
    assert result.passed is False
    assert result.error_code == ErrorCode.INVALID_IMAGE
    assert (result.reason, result.which) == ("invalid_image", "selfie")


def test_an_exif_rotated_selfie_passes(faces_dir):
    result = run_preflight(face_bytes("bad/exif_rotated.jpg"), face_bytes("df_img5.jpg"))
    assert result.passed is True
