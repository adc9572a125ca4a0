"""Shared helpers for the stimuli tests: photos made from the shipped portrait."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from stimuli.demo import demo_photo_path

LABEL_HEADER = ("file", "emotion", "gender", "identity", "mirrored")


@pytest.fixture(scope="session")
def portrait() -> np.ndarray:
    """The shipped public-domain portrait as a BGR array (512x512)."""
    img = cv2.imread(str(demo_photo_path()), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (512, 512, 3)
    return img


@pytest.fixture(scope="session")
def dlib_models():
    """dlib's own HOG detector and 68-point predictor, loaded once (about 1 s)."""
    import dlib

    from stimuli.detect_dlib import predictor_path

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(predictor_path()))


def write_photos(folder: Path, photos: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, img in photos.items():
        assert cv2.imwrite(str(folder / name), img)


def write_labels(path: Path, rows: list[dict], header=LABEL_HEADER) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def read_manifest(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))
