"""The local face engine against the shared labelled faces (LOCAL-ENGINE.md §4, §6, §7).

Accuracy is asserted only in aggregate over pairs.csv: the set is small and one genuine pair
(df_img3/df_img12) sits right on dlib's 0.6 line (§4), so no single borderline pair is checked.
"""

from __future__ import annotations

import csv
import functools
import itertools
import threading

import numpy as np
import pytest

from tests.conftest import FACES_DIR, face_bytes
from vendors.local import consts
from vendors.local.engine import (
    ANCHORS,
    FaceAnalysis,
    distance,
    get_engine,
    model_dir,
    similarity,
)


@functools.cache
def analysis(name: str) -> FaceAnalysis:
    """Each image is embedded once per test run (about 0.1-0.3 s each, §5)."""
    return get_engine().analyze_bytes(face_bytes(name))


def pair_scores() -> tuple[np.ndarray, np.ndarray]:
    scores, labels = [], []
    with (FACES_DIR / "pairs.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            a, b = analysis(row["img_a"]), analysis(row["img_b"])
            assert a.faces and b.faces, f"no face in {row['img_a']} or {row['img_b']}"
            scores.append(similarity(distance(a.faces[0].descriptor, b.faces[0].descriptor)))
            labels.append(int(row["same"]))
    return np.array(scores), np.array(labels)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney: the chance a random same-person pair outscores a random different pair."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positives) * len(negatives)))


# --- accuracy ------------------------------------------------------------------------------------


def test_pairs_are_classified_correctly_at_score_60_at_least_97_percent_of_the_time(faces_dir):
    scores, labels = pair_scores()
    accuracy = float(((scores >= 60) == (labels == 1)).mean())
    assert len(labels) == 224
    assert accuracy >= 0.97, f"accuracy {accuracy:.3f}"


def test_same_person_pairs_outrank_different_people_with_roc_auc_of_at_least_099(faces_dir):
    scores, labels = pair_scores()
    assert roc_auc(scores, labels) >= 0.99


def test_every_labelled_photo_gives_a_face(faces_dir):
    names = [row["file"] for row in csv.DictReader((FACES_DIR / "labels.csv").open(newline=""))]
    missing = [name for name in names if not analysis(name).faces]
    assert missing == []


def test_a_descriptor_has_128_finite_values(faces_dir):
    descriptor = analysis("df_img1.jpg").faces[0].descriptor
    assert descriptor.shape == (128,)
    assert np.isfinite(descriptor).all()


# --- awkward inputs (shared/faces/bad, §6) -------------------------------------------------------


def test_two_faces_are_both_reported_largest_first(faces_dir):
    faces = analysis("bad/two_faces.jpg").faces
    assert len(faces) == 2
    assert faces[0].box[2] * faces[0].box[3] >= faces[1].box[2] * faces[1].box[3]


def test_a_group_selfie_reports_at_least_three_faces_largest_first(faces_dir):
    faces = analysis("bad/many_faces.jpg").faces
    areas = [face.box[2] * face.box[3] for face in faces]
    assert len(faces) >= 3
    assert areas == sorted(areas, reverse=True)


@pytest.mark.parametrize("name", ["bad/no_face_landscape.jpg", "bad/huge_5000x5000.jpg"])
def test_an_image_without_a_face_reports_no_face(faces_dir, name):
    assert analysis(name).faces == ()


def test_located_faces_have_the_analysis_boxes_and_two_eye_centres_inside_left_first(faces_dir):
    for name in ("df_img1.jpg", "bad/two_faces.jpg", "bad/exif_rotated.jpg"):
        located = get_engine().locate_bytes(face_bytes(name))
        assert [face.box for face in located] == [face.box for face in analysis(name).faces]
        for face in located:
            left, top, width, height = face.box
            (x0, y0), (x1, y1) = face.eyes
            assert x0 < x1
            assert all(left <= x <= left + width for x in (x0, x1))
            assert all(top <= y <= top + height / 2 for y in (y0, y1))  # upper half of the face


def test_locating_faces_in_an_unreadable_file_is_a_value_error(faces_dir):
    with pytest.raises(ValueError, match="not an image"):
        get_engine().locate_bytes(face_bytes("bad/not_an_image.jpg"))


def test_a_huge_image_keeps_its_full_size_but_is_detected_at_1024_px(faces_dir):
    result = analysis("bad/huge_5000x5000.jpg")
    assert (result.width, result.height) == (5000, 5000)
    assert max(result.detection_width, result.detection_height) == consts.MAX_SIDE


def test_an_exif_rotated_photo_is_turned_upright_and_matches_its_source(faces_dir):
    rotated, source = analysis("bad/exif_rotated.jpg"), analysis("df_img5.jpg")
    assert (rotated.width, rotated.height) == (source.width, source.height)
    assert len(rotated.faces) == 1
    assert distance(rotated.faces[0].descriptor, source.faces[0].descriptor) < 0.3


def test_a_tiny_image_gives_a_small_face_found_only_by_upsampling(faces_dir):
    faces = analysis("bad/tiny_100x100.jpg").faces
    assert len(faces) == 1
    assert faces[0].detected_size < consts.MIN_FACE_PX
    assert faces[0].upsample == 1


@pytest.mark.parametrize("name", ["bad/grayscale.jpg", "bad/cmyk.jpg", "bad/face_rgba.png"])
def test_grayscale_cmyk_and_transparent_images_give_one_face(faces_dir, name):
    assert len(analysis(name).faces) == 1


@pytest.mark.parametrize("name", ["bad/not_an_image.jpg", "bad/empty.jpg", "bad/truncated.jpg"])
def test_unreadable_bytes_raise_value_error(faces_dir, name):
    with pytest.raises(ValueError, match=r"\w"):
        get_engine().analyze_bytes(face_bytes(name))


def test_an_image_over_the_pixel_limit_is_refused_before_decoding():
    from io import BytesIO

    from PIL import Image

    # A 1-bit PNG of 8000x8000 is a few KB on disk and 64 Mpx once decoded.
    buffer = BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, format="PNG")
    with pytest.raises(ValueError, match="pixels"):
        get_engine().analyze_bytes(buffer.getvalue())


def test_face_boxes_lie_inside_the_decoded_image_in_its_pixels(faces_dir):
    result = analysis("df_img1.jpg")  # 1382x1868, detected at 758x1024
    left, top, width, height = result.faces[0].box
    assert (result.width, result.height) == (1382, 1868)
    assert left >= 0 and top >= 0 and left + width <= result.width and top + height <= result.height
    assert width > result.faces[0].detected_size  # scaled back up from the 1024 px image


def test_analyze_accepts_a_pil_image_and_agrees_with_analyze_bytes(faces_dir):
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(face_bytes("df_img5.jpg")))
    direct = get_engine().analyze(image)
    assert distance(direct.faces[0].descriptor, analysis("df_img5.jpg").faces[0].descriptor) < 0.05


# --- the score curve (§7) ------------------------------------------------------------------------


@pytest.mark.parametrize(("d", "score"), list(ANCHORS))
def test_the_similarity_curve_passes_through_every_anchor_of_section_7(d, score):
    assert similarity(d) == pytest.approx(score)


def test_the_similarity_curve_interpolates_linearly_between_anchors():
    assert similarity(0.575) == pytest.approx(65.0)
    assert similarity(0.39) == pytest.approx(90.25)


def test_the_similarity_curve_is_clamped_to_0_and_100():
    assert similarity(-0.1) == 100.0
    assert similarity(1.5) == 0.0


def test_the_similarity_curve_never_rises_as_distance_grows():
    values = [similarity(d) for d in np.linspace(0.0, 1.2, 1201)]
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert values[0] == 100.0 and values[-1] == 0.0


def test_distance_is_euclidean():
    assert distance([0.0, 3.0], [4.0, 0.0]) == pytest.approx(5.0)


# --- loading -------------------------------------------------------------------------------------


def test_the_engine_is_loaded_once_and_shared():
    assert get_engine() is get_engine()


def test_threads_asking_at_once_get_the_same_engine():
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(get_engine())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(engine) for engine in seen}) == 1


def test_concurrent_analyses_give_the_same_descriptors_as_one_at_a_time(faces_dir):
    names = ["df_img1.jpg", "df_img5.jpg", "fr_obama.jpg", "df_img25.jpg"]
    results: dict[str, np.ndarray] = {}

    def work(name: str) -> None:
        results[name] = get_engine().analyze_bytes(face_bytes(name)).faces[0].descriptor

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        assert distance(results[name], analysis(name).faces[0].descriptor) == pytest.approx(0.0)


def test_the_models_are_found_without_importing_face_recognition_models():
    import sys

    assert (model_dir() / consts.RECOGNITION_MODEL_FILE).is_file()
    assert (model_dir() / consts.SHAPE_PREDICTOR_FILE).is_file()
    assert "face_recognition_models" not in sys.modules
