"""dlib detection edge cases: tiny images, several faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stimuli.detect_dlib import DlibLandmarker
from stimuli.photo import process_photo
from stimuli.label_file import PhotoLabel

# dlib's box around the face in the shipped 512 px portrait
FACE = (179, 83, 266, 170)


@pytest.fixture(scope="module")
def landmarker():
    return DlibLandmarker()


def test_face_in_a_48px_crop_is_found_by_upsampling(portrait, landmarker):
    l, t, r, b = FACE
    pad = 15
    crop = portrait[t - pad : b + pad, l - pad : r + pad]
    small = cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA)
    assert landmarker._detector(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), 0).__len__() == 0  # plain dlib fails
    face = landmarker.find(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
    assert face is not None and face.n_faces == 1
    # nose tip lands where it is in the big photo, scaled to the crop
    big = landmarker.find(cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY))
    expected = (big.landmarks[30] - (l - pad, t - pad)) * 48 / crop.shape[0]
    assert np.linalg.norm(face.landmarks[30] - expected) < 2.0


def test_blank_image_has_no_face(landmarker):
    assert landmarker.find(np.full((300, 300), 128, np.uint8)) is None


def test_largest_of_several_faces_is_used_and_reported(portrait, landmarker, tmp_path):
    canvas = np.full((512, 820, 3), 120, np.uint8)
    small = cv2.resize(portrait[40:220, 130:320], None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    canvas[:, 300:812] = portrait  # the big face, in the right part
    canvas[250 : 250 + small.shape[0], 10 : 10 + small.shape[1]] = small  # a smaller face, bottom left
    face = landmarker.find(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
    assert face.n_faces == 2
    assert face.box[0] > 300 and 300 + FACE[0] - 20 < face.landmarks[30][0] < 300 + FACE[2]

    cv2.imwrite(str(tmp_path / "two.png"), canvas)
    for sub in ("stimuli", "landmarks"):
        (tmp_path / sub).mkdir()
    label = PhotoLabel("two.png", "two", "fear", "unknown", "unknown", False, 2)
    outcome = process_photo(label, tmp_path, tmp_path, 128, 0.25, landmarker)
    assert outcome.note.startswith("two.png: 2 faces found, using the largest")
    assert len(outcome.rows) == 2


def test_unreadable_file_is_a_failure_not_a_crash(landmarker, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"not an image")
    label = PhotoLabel("x.jpg", "x", "fear", "unknown", "unknown", False, 2)
    outcome = process_photo(label, tmp_path, tmp_path, 128, 0.25, landmarker)
    assert outcome.rows == [] and outcome.failure.startswith("cannot read image")
