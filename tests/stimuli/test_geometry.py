"""Alignment/crop maths on synthetic landmark sets (no dlib)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stimuli.geometry import (
    NOSE_TIP,
    alignment_matrix,
    detection_scales,
    eye_angle,
    eye_centres,
    largest_box,
    midline_column,
    transform_points,
)


def template_face(seed: int = 0) -> np.ndarray:
    """68 points with level eyes: eyes at y=0, x=+-30, nose tip at (4, 35)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform([-60, -30], [60, 90], size=(68, 2))
    pts[36:42] = np.array([-30, 0]) + rng.normal(0, 3, (6, 2))
    pts[36:42] -= pts[36:42].mean(axis=0) - np.array([-30, 0])
    pts[42:48] = np.array([30, 0]) + rng.normal(0, 3, (6, 2))
    pts[42:48] -= pts[42:48].mean(axis=0) - np.array([30, 0])
    pts[NOSE_TIP] = (4, 35)
    return pts


def rotate(pts: np.ndarray, degrees: float, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    a = math.radians(degrees)
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return scale * pts @ r.T + np.asarray(shift)


@pytest.mark.parametrize("degrees", [-25.0, -7.5, 0.0, 12.0, 30.0])
def test_alignment_levels_the_eyes_whatever_the_head_roll(degrees):
    pts = rotate(template_face(), degrees, scale=1.7, shift=(300, 210))
    assert math.degrees(eye_angle(pts)) == pytest.approx(degrees, abs=1e-9)
    out = transform_points(alignment_matrix(pts, 512, 0.25), pts)
    left, right = eye_centres(out)
    assert abs(left[1] - right[1]) < 1e-9
    assert left[0] < right[0]


def test_alignment_undoes_rotation_scale_and_shift():
    face = template_face(3)
    reference = transform_points(alignment_matrix(face, 256, 0.3), face)
    moved = rotate(face, 17.0, scale=0.4, shift=(-50, 900))
    aligned = transform_points(alignment_matrix(moved, 256, 0.3), moved)
    np.testing.assert_allclose(aligned, reference, atol=1e-9)


@pytest.mark.parametrize("size, margin", [(512, 0.25), (300, 0.0), (128, 0.5)])
def test_crop_fits_landmark_box_plus_margin_into_square(size, margin):
    face = template_face(1)
    out = transform_points(alignment_matrix(face, size, margin), face)
    extent = out.max(axis=0) - out.min(axis=0)
    assert extent.max() == pytest.approx(size / (1 + 2 * margin))
    centre_x = (out.max(axis=0)[0] + out.min(axis=0)[0]) / 2
    assert centre_x == pytest.approx(size / 2)
    assert out.min() >= -1e-9 and out.max() <= size + 1e-9


def test_matrix_is_a_similarity():
    m = alignment_matrix(rotate(template_face(), 9.0, 2.0, (5, 5)), 512, 0.25)
    a = m[:, :2]
    np.testing.assert_allclose(a @ a.T, np.eye(2) * (a[0, 0] ** 2 + a[0, 1] ** 2), atol=1e-12)


def test_bad_size_or_margin_rejected():
    with pytest.raises(ValueError):
        alignment_matrix(template_face(), 4, 0.25)
    with pytest.raises(ValueError):
        alignment_matrix(template_face(), 512, -0.1)


def test_midline_is_rounded_nose_tip_x_and_clipped():
    pts = np.zeros((68, 2))
    pts[NOSE_TIP] = (250.4, 0)
    assert midline_column(pts, 512) == 250
    pts[NOSE_TIP] = (250.6, 0)
    assert midline_column(pts, 512) == 251
    pts[NOSE_TIP] = (-3.0, 0)
    assert midline_column(pts, 512) == 1
    pts[NOSE_TIP] = (900.0, 0)
    assert midline_column(pts, 512) == 511


def test_largest_box_wins():
    assert largest_box([(0, 0, 10, 10), (5, 5, 40, 30), (0, 0, 20, 20)]) == 1
    with pytest.raises(ValueError):
        largest_box([])


def test_detection_scales_downscale_portraits_and_upsample_tiny_images():
    s512 = detection_scales(512, 512)
    assert s512[0] * 512 == pytest.approx(320)
    assert s512 == sorted(s512) and s512[-1] * 512 <= 2048
    s48 = detection_scales(48, 48)
    # dlib's HOG detector needs faces of ~80 px: a 48 px crop must be enlarged first
    assert s48[0] * 48 >= 200
    big = detection_scales(4000, 3000)
    assert all(s * 4000 <= 2048 for s in big) and big[0] * 4000 == pytest.approx(320)
