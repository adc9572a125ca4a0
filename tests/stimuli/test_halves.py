"""Covering a half with white and the poser-side/image-side mapping (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from stimuli.halves import cover_half, half_on_image_side, image_side_of_half


def _image(h=20, w=30):
    rng = np.random.default_rng(0)
    return rng.integers(0, 250, size=(h, w, 3), dtype=np.uint8)


def test_visible_left_whitens_columns_from_midline_to_right_edge():
    img = _image()
    out = cover_half(img, 12, "left")
    assert (out[:, 12:] == 255).all()
    np.testing.assert_array_equal(out[:, :12], img[:, :12])
    assert not (img == 255).any()  # the input is untouched


def test_visible_right_whitens_columns_left_of_midline():
    img = _image()
    out = cover_half(img, 12, "right")
    assert (out[:, :12] == 255).all()
    np.testing.assert_array_equal(out[:, 12:], img[:, 12:])


@pytest.mark.parametrize("midline", [0, 30, -1])
def test_midline_outside_image_is_rejected(midline):
    with pytest.raises(ValueError):
        cover_half(_image(), midline, "left")


def test_unknown_side_is_rejected():
    with pytest.raises(ValueError):
        cover_half(_image(), 5, "top")


def test_non_mirrored_photo_shows_poser_left_on_image_right():
    assert image_side_of_half("left", mirrored=False) == "right"
    assert image_side_of_half("right", mirrored=False) == "left"


def test_mirrored_photo_shows_poser_left_on_image_left():
    assert image_side_of_half("left", mirrored=True) == "left"
    assert image_side_of_half("right", mirrored=True) == "right"


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("half", ["left", "right"])
def test_side_mapping_round_trips(half, mirrored):
    assert half_on_image_side(image_side_of_half(half, mirrored), mirrored) == half
