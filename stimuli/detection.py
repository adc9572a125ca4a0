"""What every face detector backend returns (pure data, no backend imports)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceFound:
    """The face chosen in one photo, in the photo's own pixel coordinates."""

    landmarks: np.ndarray                 # (68, 2) x, y; dlib / iBUG 300-W numbering
    box: tuple[float, float, float, float]  # left, top, right, bottom
    n_faces: int                           # how many faces the detector saw (largest is used)
