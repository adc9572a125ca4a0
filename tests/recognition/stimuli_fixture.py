"""A small stimulus set laid out exactly like ``python -m stimuli build`` writes it (generated, no dlib).

Each "photo" is a colour face-like image whose emotion is drawn as a class-specific pattern on both halves;
the two stimuli per photo cover one half with white at ``midline_x`` (columns < midline_x are image-left),
named by the poser's ``visible_half`` (non-mirrored: poser's left = image right). Landmark files hold 68
points in stimulus pixels with the eyes level.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from halfface import schema

EMOTIONS = list(schema.EMOTIONS)
COLUMNS = list(schema.MANIFEST_COLUMNS)


def landmarks(size: int, midline_x: int) -> np.ndarray:
    """68 plausible points: eyes level at 0.40·size, 0.36·size apart, nose tip (30) at the midline."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(0.25 * size, 0.75 * size, (68, 2))
    pts[36:42] = (midline_x - 0.18 * size, 0.40 * size)
    pts[42:48] = (midline_x + 0.18 * size, 0.40 * size)
    pts[30] = (midline_x - 0.5, 0.55 * size)
    return pts


def photo(emotion_index: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(90, 140, (size, size, 3)).astype(np.uint8)
    k = emotion_index
    img[size // 4: 3 * size // 4, :, k % 3] = 200 + 8 * k  # class-specific colour band
    img[(k * size) // 8: (k * size) // 8 + size // 8, :, :] = 30  # and a class-specific dark stripe
    return img


def write_manifest(out: Path, photos_per_emotion: int = 2, size: int = 64, mirrored_copies: bool = False,
                   emotions=EMOTIONS, identities: int | None = None) -> Path:
    """Build OUT/manifest.csv + OUT/stimuli/*.png + OUT/landmarks/*.csv; returns the manifest path.

    Photo i of every emotion is posed by ``id{i % identities}`` (default: one poser per photo index, so each
    poser shows every emotion); ``identities=0`` leaves the identity column empty."""
    (out / "stimuli").mkdir(parents=True, exist_ok=True)
    (out / "landmarks").mkdir(exist_ok=True)
    rows = []
    for e, emotion in enumerate(emotions):
        for i in range(photos_per_emotion):
            pid = f"p_{emotion}_{i + 1:02d}"
            mid = size // 2 + (i % 3) - 1
            img = photo(EMOTIONS.index(emotion), size, seed=100 * e + i)
            with open(out / "landmarks" / f"{pid}.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["point", "x_photo", "y_photo", "x_stimulus", "y_stimulus"])
                for k, (x, y) in enumerate(landmarks(size, mid)):
                    w.writerow([k, x, y, round(x, 2), round(y, 2)])
            variants = [("left", "right", img, mid), ("right", "left", img, mid)]
            if mirrored_copies:  # mirror images: the visible half then lies on the other image side
                variants += [("left", "left", img[:, ::-1], size - mid), ("right", "right", img[:, ::-1], size - mid)]
            for half, side, pic, m in variants:
                stim = pic.copy()
                if side == "right":
                    stim[:, :m] = 255
                else:
                    stim[:, m:] = 255
                copy = int((half, side) not in (("left", "right"), ("right", "left")))
                name = f"stimuli/{pid}_visible-{half}{'_mirror' if copy else ''}.png"
                Image.fromarray(stim).save(out / name)
                rows.append(dict(stimulus=name, source=f"{pid}.jpg", photo_id=pid, emotion=emotion, gender="female",
                                 identity="" if identities == 0 else f"id{i % (identities or photos_per_emotion)}", visible_half=half, visible_image_side=side, midline_x=m,
                                 mirrored=copy, landmarks_file=f"landmarks/{pid}.csv", detector="test",
                                 mirror_copy=copy))  # as stimuli build --with-mirrored writes them
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return out / "manifest.csv"
