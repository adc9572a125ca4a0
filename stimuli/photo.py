"""One photo in, two half-face stimuli out (called once per photo, in workers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from halfface.schema import SIDES, STIMULUS_DIR, stimulus_name
from stimuli.contact_sheet import caption_tile
from stimuli.geometry import alignment_matrix, midline_column, transform_points
from stimuli.halves import cover_half, image_side_of_half
from stimuli.label_file import PhotoLabel
from stimuli.labels import other_side
from stimuli.manifest import LANDMARK_COLUMNS, landmark_rows, write_table

LANDMARK_DIR = "landmarks"
THUMB_SIZE = 160


@dataclass
class PhotoOutcome:
    """Manifest rows and contact-sheet tiles for a photo, or why it failed."""

    label: PhotoLabel
    rows: list[dict] = field(default_factory=list)
    tiles: list[np.ndarray] = field(default_factory=list)  # contact-sheet tiles, one per row
    note: str | None = None
    failure: str | None = None


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int, margin: float):
    """Aligned square crop, landmarks in its frame, the 2x3 matrix, and midline_x."""
    matrix = alignment_matrix(landmarks, size, margin)
    # Replicating the border keeps a face near the photo's edge from getting
    # a black wedge that would read as part of the face.
    # Bicubic only pays off when enlarging a lot (small photos); it costs 2-3x.
    zoom = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    flags = cv2.INTER_CUBIC if zoom > 1.5 else cv2.INTER_LINEAR
    aligned = cv2.warpAffine(image, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    aligned_pts = transform_points(matrix, landmarks)
    return aligned, aligned_pts, matrix, midline_column(aligned_pts, size)


def mirror_copy_row(row: dict, rel: str, size: int) -> dict:
    """Manifest row of the left-right mirror image of a half-face stimulus.

    The poser's half stays the same, so ``visible_half`` is unchanged; it now
    lies on the other side of the image, the image is mirror-reversed relative
    to the original photo (``mirrored`` flips), and the split column moves
    to ``size - midline_x`` (columns ``< midline_x`` are still the image-left part).
    """
    return dict(row, stimulus=rel, visible_image_side=other_side(row["visible_image_side"]),
                mirrored=1 - int(row["mirrored"]), midline_x=size - int(row["midline_x"]), mirror_copy=1)


def process_photo(label: PhotoLabel, photos_dir: Path, out_dir: Path, size: int, margin: float, landmarker,
                  with_mirrored: bool = False) -> PhotoOutcome:
    """Detect, align, split, and write ``<out_dir>/stimuli/<photo_id>_visible-<half>.png``.

    ``with_mirrored``: also ``..._visible-<half>_mirror.png``, the same half-face
    mirrored, i.e. shown on the other side of the image.
    """
    outcome = PhotoOutcome(label=label)
    path = Path(photos_dir) / label.file
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        outcome.failure = "cannot read image (not a supported image file)"
        return outcome
    if hasattr(landmarker, "find_in_file"):
        face = landmarker.find_in_file(path)
    else:
        face = landmarker.find(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    if face is None:
        outcome.failure = f"no face found by {landmarker.name} (image {image.shape[1]}x{image.shape[0]} px)"
        return outcome
    if face.n_faces > 1:
        l, t, r, b = face.box
        outcome.note = f"{label.file}: {face.n_faces} faces found, using the largest ({r - l:.0f}x{b - t:.0f} px)"

    aligned, aligned_pts, _matrix, midline_x = align_face(image, face.landmarks, size, margin)
    landmarks_file = f"{LANDMARK_DIR}/{label.photo_id}.csv"
    write_table(Path(out_dir) / landmarks_file, LANDMARK_COLUMNS, landmark_rows(face.landmarks, aligned_pts))
    thumb = cv2.cvtColor(cv2.resize(aligned, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    for half in SIDES:
        image_side = image_side_of_half(half, label.mirrored)
        stimulus = cover_half(aligned, midline_x, image_side)
        rel = f"{STIMULUS_DIR}/{stimulus_name(label.photo_id, half)}"
        if not cv2.imwrite(str(Path(out_dir) / rel), stimulus):
            raise OSError(f"could not write {Path(out_dir) / rel}")
        outcome.rows.append(
            {
                "stimulus": rel,
                "source": label.file,
                "photo_id": label.photo_id,
                "emotion": label.emotion,
                "gender": label.gender,
                "identity": label.identity,
                "visible_half": half,
                "visible_image_side": image_side,
                "midline_x": midline_x,
                "mirrored": int(label.mirrored),
                "landmarks_file": landmarks_file,
                "detector": landmarker.name,
                "mirror_copy": 0,
            }
        )
        covered_thumb = cover_half(thumb, max(1, min(THUMB_SIZE - 1, round(midline_x * THUMB_SIZE / size))), image_side)
        outcome.tiles.append(caption_tile(covered_thumb, outcome.rows[-1]))
        if with_mirrored:
            rel = f"{STIMULUS_DIR}/{stimulus_name(label.photo_id, half, mirror_copy=True)}"
            if not cv2.imwrite(str(Path(out_dir) / rel), np.ascontiguousarray(stimulus[:, ::-1])):
                raise OSError(f"could not write {Path(out_dir) / rel}")
            outcome.rows.append(mirror_copy_row(outcome.rows[-1], rel, size))
            outcome.tiles.append(caption_tile(np.ascontiguousarray(covered_thumb[:, ::-1]), outcome.rows[-1]))
    return outcome
