"""How a dataset frames its faces, so a checkpoint can crop new photos the way it was trained (pure numpy).

A framing is a plain dict stored in every checkpoint's config:

    {"source": "fer2013", "face_size": 48, "channels": 1, "eye_distance": 0.3675, "eye_line": 0.396}

``face_size`` is the side of the face image the data holds (FER2013: 48 px; a lab's stimuli: the side they
were loaded at), ``channels`` 1 (gray) or 3 (RGB); ``eye_distance`` is the inter-ocular distance and
``eye_line`` the height of the eye line (pixel centres), both as fractions of the side, with the eyes level
and centred in x. ``recognition.predict`` crops photos with exactly these numbers. ``eye_distance`` is None
when the framing could not be measured (no landmarks, no dlib): such a checkpoint takes ready-made crops only.
"""
from __future__ import annotations

import numpy as np

# FER2013, measured as medians over 313 dlib-detected Training faces: inter-ocular distance is 0.3675 of the
# image side and the eye line sits at 0.396 of the height (pixel centres), centred in x.
FER_EYE_DISTANCE = 0.3675
FER_EYE_LINE = 0.396
EYE_IMAGE_LEFT, EYE_IMAGE_RIGHT = slice(36, 42), slice(42, 48)  # dlib 68-point scheme


def framing(source: str, face_size: int, channels: int, eye_distance=None, eye_line=None, measured_on=None) -> dict:
    return {"source": source, "face_size": int(face_size), "channels": int(channels),
            "eye_distance": None if eye_distance is None else float(eye_distance),
            "eye_line": None if eye_line is None else float(eye_line), "measured_on": measured_on}


def fer2013_framing(channels: int = 1) -> dict:
    return framing("fer2013", 48, channels, FER_EYE_DISTANCE, FER_EYE_LINE, "313 dlib-detected Training faces")


def from_landmarks(points: np.ndarray, side: float, source: str, face_size: int, channels: int) -> dict:
    """Median framing of faces whose 68 landmarks ``points`` [N,68,2] are in pixels of ``side``-px images."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 68, 2)
    if len(points) == 0:
        return framing(source, face_size, channels)
    left, right = points[:, EYE_IMAGE_LEFT].mean(1), points[:, EYE_IMAGE_RIGHT].mean(1)
    distance = np.hypot(*(right - left).T) / side
    line = ((left[:, 1] + right[:, 1]) / 2 + 0.5) / side  # continuous coordinates, as FER_EYE_LINE
    return framing(source, face_size, channels, float(np.median(distance)), float(np.median(line)),
                   f"{len(points)} faces' landmarks")


def legacy_framing(config: dict) -> dict | None:
    """Framing of a checkpoint written before framings were stored: FER2013's when it was trained on FER2013."""
    if config.get("framing"):
        return config["framing"]
    if config.get("dataset", "fer2013") == "fer2013":
        return fer2013_framing()
    return None
