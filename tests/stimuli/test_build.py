"""Building stimuli from the shipped portrait and photos generated from it (dlib)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from halfface.schema import MANIFEST_COLUMNS
from stimuli.build import build
from stimuli.demo import variant
from stimuli.manifest import read_landmarks

from .conftest import read_manifest, write_labels, write_photos

SIZE = 256


@pytest.fixture(scope="module")
def built(tmp_path_factory, portrait):
    """One build: the portrait, its mirror image (flagged), and a rolled, zoomed variant."""
    root = tmp_path_factory.mktemp("build")
    photos = {
        "plain.png": portrait,
        "flipped.png": portrait[:, ::-1].copy(),
        "rolled.jpg": variant(portrait, zoom=1.1, angle=9.0, gain=1.1, mirror=False, size=400),
    }
    write_photos(root / "photos", photos)
    labels = write_labels(
        root / "labels.csv",
        [
            dict(file="plain.png", emotion="happiness", gender="female", identity="p1", mirrored=0),
            dict(file="flipped.png", emotion="happiness", gender="female", identity="p1", mirrored=1),
            dict(file="rolled.jpg", emotion="sadness", gender="male", identity="p2", mirrored=""),
        ],
    )
    notes = []
    summary = build(root / "photos", labels, root / "out", size=SIZE, workers=1, progress=False, log=notes.append)
    rows = read_manifest(root / "out" / "manifest.csv")
    return dict(root=root, out=root / "out", rows=rows, summary=summary, photos=photos, notes=notes)


def _stimulus(built, photo_id, half):
    row = next(r for r in built["rows"] if r["photo_id"] == photo_id and r["visible_half"] == half)
    img = cv2.imread(str(built["out"] / row["stimulus"]), cv2.IMREAD_COLOR)
    return row, img


def test_two_stimuli_per_photo_with_shared_manifest_columns(built):
    rows = built["rows"]
    assert list(rows[0].keys()) == list(MANIFEST_COLUMNS)
    assert len(rows) == 6 and built["summary"].n_stimuli == 6
    assert sorted((r["photo_id"], r["visible_half"]) for r in rows) == sorted(
        (p, h) for p in ("plain", "flipped", "rolled") for h in ("left", "right")
    )
    for r in rows:
        img = cv2.imread(str(built["out"] / r["stimulus"]), cv2.IMREAD_UNCHANGED)
        assert img.shape == (SIZE, SIZE, 3)
        assert (built["out"] / r["landmarks_file"]).is_file()
    sheet = cv2.imread(str(built["out"] / "contact_sheet.png"))
    assert sheet.shape[0] > 160 and sheet.shape[1] >= 6 * 160
    assert not (built["out"] / "undetected.csv").exists()
    assert [p.name for p in built["root"].iterdir() if p.name.startswith(".")] == []  # no temp leftovers


@pytest.mark.parametrize("photo_id", ["plain", "flipped", "rolled"])
def test_covered_half_is_pure_white_and_opposite_the_visible_half(built, photo_id):
    for half in ("left", "right"):
        row, img = _stimulus(built, photo_id, half)
        mirrored = row["mirrored"] == "1"
        expected_image_side = half if mirrored else ("right" if half == "left" else "left")
        assert row["visible_image_side"] == expected_image_side
        m = int(row["midline_x"])
        visible, covered = (img[:, :m], img[:, m:]) if expected_image_side == "left" else (img[:, m:], img[:, :m])
        assert (covered == 255).all()
        assert (visible < 250).mean() > 0.9  # the face, not white
        # the split is exactly at midline_x: the column next to it is face
        edge = img[:, m - 1] if expected_image_side == "left" else img[:, m]
        assert (edge < 255).any()


def test_mirroring_a_photo_swaps_the_image_sides(built):
    plain_left, img_plain_left = _stimulus(built, "plain", "left")
    flipped_left, img_flipped_left = _stimulus(built, "flipped", "left")
    _, img_plain_right = _stimulus(built, "plain", "right")
    assert (plain_left["visible_image_side"], flipped_left["visible_image_side"]) == ("right", "left")
    # The poser's left half in the mirrored photo is the mirror image of the
    # same half in the plain photo, not of the other half.
    g = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY).astype(float).ravel()
    same = np.corrcoef(g(img_flipped_left), g(img_plain_left[:, ::-1]))[0, 1]
    other = np.corrcoef(g(img_flipped_left), g(img_plain_right[:, ::-1]))[0, 1]
    assert same > 0.95 and other < 0.2, (same, other)
    # and the midline moves to the mirrored column (within 2 px: landmarks are per-pixel)
    assert abs(int(flipped_left["midline_x"]) - (SIZE - int(plain_left["midline_x"]))) <= 2


@pytest.mark.parametrize("photo_id", ["plain", "flipped", "rolled"])
def test_midline_x_lies_at_the_detected_nose_tip(built, photo_id):
    row, _ = _stimulus(built, photo_id, "left")
    photo_pts, stim_pts = read_landmarks(built["out"] / row["landmarks_file"])
    assert photo_pts.shape == (68, 2)
    # The saved stimulus-frame points are a similarity transform of the photo's.
    m, _ = cv2.estimateAffinePartial2D(photo_pts.astype(np.float32), stim_pts.astype(np.float32))
    nose = photo_pts[30] @ m[:, :2].T + m[:, 2]
    assert abs(int(row["midline_x"]) - nose[0]) <= 1.0
    assert abs(stim_pts[30, 0] - nose[0]) < 0.05
    # ... which levels the eyes (landmarks 36-41 and 42-47).
    left_eye, right_eye = stim_pts[36:42].mean(axis=0), stim_pts[42:48].mean(axis=0)
    assert abs(left_eye[1] - right_eye[1]) < 0.05
    assert left_eye[0] < int(row["midline_x"]) < right_eye[0]


def test_photo_landmarks_match_a_plain_dlib_run(built, dlib_models):
    detector, predictor = dlib_models
    gray = cv2.cvtColor(built["photos"]["plain.png"], cv2.COLOR_BGR2GRAY)
    row, _ = _stimulus(built, "plain", "left")
    saved, _ = read_landmarks(built["out"] / row["landmarks_file"])
    # (at full resolution dlib also reports a false face on the suit's patch)
    x, y = saved[30]
    rects = [r for r in detector(gray, 0) if r.left() < x < r.right() and r.top() < y < r.bottom()]
    assert len(rects) == 1
    shape = predictor(gray, rects[0])
    direct = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
    assert np.abs(saved - direct).max() < 4.0  # px in a 512 px photo; different detector scale
    assert np.linalg.norm(saved[30] - direct[30]) < 2.5


def _roll(points):
    d = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    return math.degrees(math.atan2(d[1], d[0]))


def test_rolled_photo_is_detected_rolled_and_straightened(built):
    plain, _ = read_landmarks(built["out"] / _stimulus(built, "plain", "left")[0]["landmarks_file"])
    rolled, rolled_stim = read_landmarks(built["out"] / _stimulus(built, "rolled", "left")[0]["landmarks_file"])
    # variant() turned the photo 9 degrees counter-clockwise: in image
    # coordinates (y down) the eye line tilts by -9 degrees more.
    assert _roll(rolled) - _roll(plain) == pytest.approx(-9.0, abs=1.5)
    assert abs(_roll(rolled_stim)) < 0.01


def test_manifest_loads_as_psychopy_conditions_file(built):
    from psychopy.data import importConditions

    conditions = importConditions(str(built["out"] / "manifest.csv"))
    assert len(conditions) == 6
    assert set(MANIFEST_COLUMNS) <= set(conditions[0])
    for c in conditions:
        assert (built["out"] / c["stimulus"]).is_file()
        assert c["visible_half"] in ("left", "right") and c["visible_image_side"] in ("left", "right")
        assert 0 < int(c["midline_x"]) < SIZE


def test_with_mirrored_adds_each_half_mirrored_onto_the_other_image_side(tmp_path, portrait):
    """--with-mirrored: the poser's half stays, its image side flips; pixels are the exact mirror image."""
    write_photos(tmp_path / "photos", {"plain.png": portrait, "flipped.png": portrait[:, ::-1].copy()})
    labels = write_labels(tmp_path / "labels.csv", [
        dict(file="plain.png", emotion="happiness", gender="female", identity="p1", mirrored=0),
        dict(file="flipped.png", emotion="happiness", gender="female", identity="p1", mirrored=1)])
    build(tmp_path / "photos", labels, tmp_path / "out", size=SIZE, workers=1, progress=False,
          with_mirrored=True, log=lambda _: None)
    rows = read_manifest(tmp_path / "out" / "manifest.csv")
    assert len(rows) == 8
    for photo_id in ("plain", "flipped"):
        cells = {(r["visible_half"], r["visible_image_side"]) for r in rows if r["photo_id"] == photo_id}
        assert cells == {("left", "left"), ("left", "right"), ("right", "left"), ("right", "right")}
    for copy in (r for r in rows if r["mirror_copy"] == "1"):
        original = next(r for r in rows if r["photo_id"] == copy["photo_id"] and r["mirror_copy"] == "0"
                        and r["visible_half"] == copy["visible_half"])
        assert copy["visible_image_side"] != original["visible_image_side"]
        assert int(copy["mirrored"]) == 1 - int(original["mirrored"])
        assert int(copy["midline_x"]) == SIZE - int(original["midline_x"])
        a = cv2.imread(str(tmp_path / "out" / original["stimulus"]))
        b = cv2.imread(str(tmp_path / "out" / copy["stimulus"]))
        assert (b == a[:, ::-1]).all()
        # the covered side of the copy is white from its midline_x, on the side opposite its image side
        m = int(copy["midline_x"])
        covered = b[:, m:] if copy["visible_image_side"] == "left" else b[:, :m]
        assert (covered == 255).all()
    sheet = cv2.imread(str(tmp_path / "out" / "contact_sheet.png"))
    assert sheet.shape[1] >= 8 * 160
