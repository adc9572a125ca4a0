"""``python -m stimuli demo``: a small photo set for trying the pipeline.

Every photo is a variant of one public-domain NASA portrait (see
demo_photos/LICENSE.md): zoom, small rotation, brightness, and some are
mirrored. The emotion/gender/identity labels in the generated labels.csv
are FICTITIOUS and only demonstrate the data flow; never analyse them.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from halfface.schema import EMOTIONS
from stimuli.errors import StimulusError

DEMO_PHOTO = "astronaut.jpg"
# Face centre and size in the shipped 512x512 photo (dlib's box: 179..266, 83..170).
FACE_CENTRE = (222.0, 135.0)
FACE_SIZE = 88.0

README_TEXT = """Demo photo set made by `python -m stimuli demo`.

All photos are variants of one public-domain NASA portrait (Eileen Collins),
shipped as stimuli/demo_photos/astronaut.jpg; see the LICENSE.md next to it.
The emotion, gender and identity labels in labels.csv are FICTITIOUS: they
only exist to demonstrate the pipeline. Do not analyse them.
Rows with mirrored=1 are horizontally flipped copies.
"""


def demo_photo_path() -> Path:
    """Path of the shipped demo photo."""
    path = Path(str(resources.files("stimuli") / "demo_photos" / DEMO_PHOTO))
    if not path.is_file():
        raise StimulusError(f"{path}: demo photo missing from the installation; reinstall the package")
    return path


def demo_practice_manifest() -> Path:
    """The shipped practice stimuli's manifest (built from the demo portrait; see demo_practice/README.md)."""
    path = Path(__file__).resolve().parent / "demo_practice" / "manifest.csv"
    if not path.is_file():
        raise StimulusError(f"{path}: demo practice stimuli missing from the installation; reinstall the package")
    return path


def variant(photo: np.ndarray, *, zoom: float, angle: float, gain: float, mirror: bool, size: int) -> np.ndarray:
    """A ``size``-px square portrait: face zoomed, rotated, brightness scaled, maybe flipped."""
    # Crop window side: the face takes 1/zoom of it; rotation about the face centre.
    side = FACE_SIZE * 3.0 / zoom
    k = size / side
    m = cv2.getRotationMatrix2D(FACE_CENTRE, angle, k)
    m[:, 2] += np.array([size / 2, size / 2]) - np.array(FACE_CENTRE)
    out = cv2.warpAffine(photo, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return out[:, ::-1].copy() if mirror else out


def plan(photos_per_emotion: int) -> list[dict]:
    """Which variant gets which (fictitious) label; deterministic."""
    rows = []
    n = 0
    for e, emotion in enumerate(EMOTIONS):
        for i in range(photos_per_emotion):
            female = i % 2 == 0  # half female, half male, as in the paper's design
            rows.append(
                dict(
                    file=f"demo_{emotion}_{i + 1:02d}.jpg",
                    emotion=emotion,
                    gender="female" if female else "male",
                    identity=f"fictitious_{'f' if female else 'm'}{i // 2 + 1}",
                    mirrored=int(n % 3 == 2),
                    zoom=1.0 + 0.15 * ((n * 7) % 5) / 4,
                    angle=(((n * 5) % 9) - 4) * 2.0,
                    gain=0.85 + 0.3 * ((n * 3) % 7) / 6,
                )
            )
            n += 1
    return rows


def plan_practice() -> list[dict]:
    """Two practice photos, variants the test set never uses (own ids, zoom and angle); labels FICTITIOUS.

    Built into stimuli/demo_practice/ (see its README.md): the experiment's
    practice must never show a test photo.
    """
    return [
        dict(file="practice_surprise_01.jpg", emotion="surprise", gender="female", identity="fictitious_practice1",
             mirrored=0, zoom=0.9, angle=3.0, gain=1.05),
        dict(file="practice_disgust_01.jpg", emotion="disgust", gender="female", identity="fictitious_practice2",
             mirrored=1, zoom=0.95, angle=-3.0, gain=0.95),
    ]


def write_demo(out_dir: Path, photos_per_emotion: int = 2, size: int = 512, practice: bool = False) -> Path:
    """Write OUT_DIR/*.jpg, OUT_DIR/labels.csv and OUT_DIR/README.txt; return labels.csv.

    ``practice``: the practice photos of :func:`plan_practice` instead of the test set.
    """
    if photos_per_emotion < 1:
        raise StimulusError(f"--photos-per-emotion {photos_per_emotion}: use 1 or more")
    if size < 64:
        raise StimulusError(f"--size {size}: demo photos need at least 64 px")
    photos = Path(out_dir)
    if photos.exists() and any(photos.iterdir()):
        raise StimulusError(f"{photos}: already holds files; choose a new demo folder")
    photos.mkdir(parents=True, exist_ok=True)
    photo = cv2.imread(str(demo_photo_path()), cv2.IMREAD_COLOR)
    rows = plan_practice() if practice else plan(photos_per_emotion)
    for r in rows:
        img = variant(photo, zoom=r["zoom"], angle=r["angle"], gain=r["gain"], mirror=bool(r["mirrored"]), size=size)
        cv2.imwrite(str(photos / r["file"]), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    labels = photos / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "emotion", "gender", "identity", "mirrored"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    (photos / "README.txt").write_text(README_TEXT, encoding="utf-8")
    return labels
