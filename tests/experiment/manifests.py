"""70-photo manifests whose photo names follow the patterns that used to unbalance the halves.

``cycling``: ph00 = happiness, ph01 = fear, ... through the seven emotions (the
usual identity-by-emotion naming); ``sorted``: names sorted by emotion
(ph00-ph09 happiness, ...); ``random``: random hexadecimal IDs. Images are 4x4
PNGs: the manifest check decodes every file, the design never looks at pixels.
"""

import csv
import random
from pathlib import Path

from PIL import Image

from halfface.schema import EMOTIONS as EMOTION_CYCLE, MANIFEST_COLUMNS

NAMINGS = ("cycling", "sorted", "random")


def photo_names(naming, n_photos=70, seed=0) -> list[tuple[str, str]]:
    """[(photo_id, emotion), ...] in manifest order."""
    if naming == "cycling":
        return [(f"ph{i:02d}", EMOTION_CYCLE[i % 7]) for i in range(n_photos)]
    if naming == "sorted":
        return [(f"ph{i:02d}", EMOTION_CYCLE[i * 7 // n_photos]) for i in range(n_photos)]
    if naming == "random":
        rng = random.Random(seed)
        return [(f"{rng.getrandbits(48):012x}", EMOTION_CYCLE[i % 7]) for i in range(n_photos)]
    raise ValueError(naming)


def manifest_rows(photos, crossed=False) -> list[dict]:
    rows = []
    for photo_id, emotion in photos:
        for half in ("left", "right"):
            side = "right" if half == "left" else "left"
            base = {"stimulus": f"images/{photo_id}_{half}.png", "source": f"{photo_id}.jpg", "photo_id": photo_id,
                    "emotion": emotion, "gender": "female", "identity": photo_id, "visible_half": half,
                    "visible_image_side": side, "midline_x": 2, "mirrored": 0, "landmarks_file": "",
                    "mirror_copy": 0}
            rows.append(base)
            if crossed:
                rows.append(dict(base, stimulus=f"images/{photo_id}_{half}_mirror.png", visible_image_side=half,
                                 mirrored=1, mirror_copy=1))
    return rows


def write_manifest(folder, photos, crossed=False) -> Path:
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = manifest_rows(photos, crossed)
    for k, row in enumerate(rows):
        Image.new("L", (4, 4), k % 250).save(folder / row["stimulus"])
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest
