"""Writing the build's tables: manifest.csv, undetected.csv, landmark files.

manifest.csv is the PsychoPy conditions file the experiment reads; its
columns are the shared convention, ``halfface.schema.MANIFEST_COLUMNS``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

UNDETECTED_COLUMNS = ("file", "reason")
LANDMARK_COLUMNS = ("point", "x_photo", "y_photo", "x_stimulus", "y_stimulus")


def write_table(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, object]]) -> None:
    """CSV with a fixed column order (extra keys in a row are an error)."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def landmark_rows(photo_points: np.ndarray, stimulus_points: np.ndarray) -> list[dict[str, object]]:
    """One row per landmark, coordinates rounded to 0.01 px."""
    return [
        {
            "point": i,
            "x_photo": round(float(p[0]), 2),
            "y_photo": round(float(p[1]), 2),
            "x_stimulus": round(float(s[0]), 2),
            "y_stimulus": round(float(s[1]), 2),
        }
        for i, (p, s) in enumerate(zip(photo_points, stimulus_points))
    ]


def read_landmarks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(photo_points, stimulus_points), each (68, 2), from a landmarks CSV."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    photo = np.array([(float(r["x_photo"]), float(r["y_photo"])) for r in rows])
    stim = np.array([(float(r["x_stimulus"]), float(r["y_stimulus"])) for r in rows])
    return photo, stim
