"""Alignment and crop maths on 68-point landmarks (pure numpy, no dlib).

Landmark numbering is the iBUG 300-W / dlib 68-point scheme: points 36-41
outline the eye on the image's left, 42-47 the eye on the image's right,
and point 30 is the nose tip where the HSAW paper splits the face (§3.1.1).
"""

from __future__ import annotations

import math

import numpy as np

EYE_IMAGE_LEFT = slice(36, 42)
EYE_IMAGE_RIGHT = slice(42, 48)
NOSE_TIP = 30

# The 68 points stop at the brows; moving the crop centre up by this fraction
# of the landmark height keeps the forehead in the square.
FOREHEAD_SHIFT = 0.10


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the image-left and image-right eye (each the mean of 6 points)."""
    pts = np.asarray(landmarks, dtype=float)
    return pts[EYE_IMAGE_LEFT].mean(axis=0), pts[EYE_IMAGE_RIGHT].mean(axis=0)


def eye_angle(landmarks: np.ndarray) -> float:
    """Angle (radians, image coordinates, y down) of the line from the image-left to the image-right eye."""
    left, right = eye_centres(landmarks)
    d = right - left
    return math.atan2(d[1], d[0])


def alignment_matrix(landmarks: np.ndarray, size: int, margin: float) -> np.ndarray:
    """2x3 similarity transform from photo pixels to the ``size`` x ``size`` output.

    It rotates about the eye midpoint so the eyes are level, then scales and
    shifts so the landmark box plus ``margin`` (a fraction of the larger box
    side, added on every side) fills the square, centred on the box and moved
    up by FOREHEAD_SHIFT of the box height (less if the
    chin would otherwise leave the square).
    """
    if size < 8:
        raise ValueError(f"size must be at least 8 px, got {size}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    pts = np.asarray(landmarks, dtype=float)
    left, right = eye_centres(pts)
    centre_eyes = (left + right) / 2
    a = eye_angle(pts)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    rotated = (pts - centre_eyes) @ rot.T
    lo, hi = rotated.min(axis=0), rotated.max(axis=0)
    w, h = hi - lo
    side = max(w, h) * (1 + 2 * margin)
    if side <= 0:
        raise ValueError("landmarks are degenerate (zero extent)")
    # never shift so far that the chin leaves the square
    shift = min(FOREHEAD_SHIFT * h, (side - h) / 2)
    box_centre = (lo + hi) / 2 - np.array([0.0, shift])
    k = size / side
    lin = k * rot
    offset = -lin @ centre_eyes - k * box_centre + size / 2
    return np.hstack([lin, offset[:, None]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to an (n, 2) array of points."""
    pts = np.asarray(points, dtype=float)
    return pts @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]


def midline_column(aligned_landmarks: np.ndarray, size: int) -> int:
    """Pixel column of the split: the nose tip's x after alignment, rounded.

    Columns ``< midline_x`` are the image-left part, ``>= midline_x`` the
    image-right part. Clipped to [1, size-1] so neither part is empty.
    """
    x = float(np.asarray(aligned_landmarks)[NOSE_TIP, 0])
    return int(min(max(round(x), 1), size - 1))


def largest_box(boxes: list[tuple[float, float, float, float]]) -> int:
    """Index of the box (left, top, right, bottom) with the largest area."""
    if not boxes:
        raise ValueError("no boxes")
    areas = [max(0.0, r - l) * max(0.0, b - t) for l, t, r, b in boxes]
    return int(np.argmax(areas))


def detection_scales(
    height: int, width: int, fast_long_side: int = 320, min_long_side: int = 200, max_long_side: int = 2048
) -> list[float]:
    """Resize factors to try, cheapest first, when looking for a face.

    dlib's HOG detector only finds faces of roughly 80 px and up, and it costs
    time in proportion to the pixel count. So: first a copy whose long side is
    ``fast_long_side`` (a portrait's face is found there), or small images
    (e.g. 48 px crops) upsampled to ``min_long_side``; then doubling, up to
    2x the first try's resolution (or 2x native), never above ``max_long_side``.
    """
    long_side = max(height, width)
    if long_side <= 0:
        raise ValueError("empty image")
    scale = min(fast_long_side, max(long_side, min_long_side)) / long_side
    stop = 2 * max(1.0, min_long_side / long_side)
    scales = []
    while long_side * scale <= max_long_side:
        scales.append(scale)
        if scale >= stop - 1e-9:
            break
        scale *= 2
    return scales or [max_long_side / long_side]
