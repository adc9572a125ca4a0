"""Covering one half-face with white, and naming the halves (pure numpy).

Naming (one name per concept, see stimuli/labels.py):
``visible_half`` is the poser's own side that stays visible;
``visible_image_side`` is where that half lies in the image as shown. In a
normal (non-mirrored) photo the camera faces the poser, so the poser's left
half is on the image's right. A mirrored photo (selfie cameras, some
databases) swaps that.
"""

from __future__ import annotations

import numpy as np

from halfface.schema import SIDES
from stimuli.labels import other_side

WHITE = 255


def image_side_of_half(half: str, mirrored: bool) -> str:
    """Image side ('left'/'right') on which the poser's ``half`` appears."""
    return half if mirrored else other_side(half)


def half_on_image_side(image_side: str, mirrored: bool) -> str:
    """Poser's half that appears on ``image_side`` (inverse of image_side_of_half)."""
    return image_side if mirrored else other_side(image_side)


def cover_half(image: np.ndarray, midline_x: int, visible_image_side: str) -> np.ndarray:
    """Copy of ``image`` with everything on the other side of ``midline_x`` set to 255.

    Columns ``< midline_x`` form the image-left part, ``>= midline_x`` the
    image-right part; the covered part is white to the image edge.
    """
    if visible_image_side not in SIDES:
        raise ValueError(f"visible_image_side must be 'left' or 'right', got {visible_image_side!r}")
    width = image.shape[1]
    if not 0 < midline_x < width:
        raise ValueError(f"midline_x={midline_x} is outside the image (width {width})")
    out = np.array(image, copy=True)
    if visible_image_side == "left":
        out[:, midline_x:] = WHITE
    else:
        out[:, :midline_x] = WHITE
    return out
