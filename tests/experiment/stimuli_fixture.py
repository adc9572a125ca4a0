"""Generated half-face stand-ins (PIL) and a manifest in the shared stimuli format."""

import csv
from pathlib import Path

from PIL import Image, ImageDraw

from halfface.schema import EMOTIONS as EMOTION_CYCLE, MANIFEST_COLUMNS


def make_stimuli(folder, n_photos=4, size=(120, 160), with_mirrored=False, prefix="photo", shade=120,
                 photos_per_emotion=2) -> Path:
    """``n_photos`` photos x 2 halves as PNGs plus ``manifest.csv``; returns the manifest path.

    Each image is a grey oval 'face' whose non-visible image half is covered with
    white, like the stimuli builder's output, so a screenshot shows which half is on screen.
    ``with_mirrored`` adds each half's mirror image (on the other image side,
    ``mirror_copy=1``) as ``python -m stimuli build --with-mirrored`` does. Emotions follow
    ``halfface.schema.EMOTIONS``, ``photos_per_emotion`` photos each.
    """
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    w, h = size
    for i in range(n_photos):
        for half in ("left", "right"):
            image_side = "right" if half == "left" else "left"  # non-mirrored photo
            im = Image.new("RGB", size, (255, 255, 255))
            draw = ImageDraw.Draw(im)
            grey = shade + 10 * (i % 8)  # grey, never near white
            draw.ellipse((10, 10, w - 10, h - 10), fill=(grey, grey, grey))
            draw.ellipse((w * 0.3, h * 0.35, w * 0.4, h * 0.45), fill=(30, 30, 200))
            draw.ellipse((w * 0.6, h * 0.35, w * 0.7, h * 0.45), fill=(30, 30, 200))
            draw.line((w * 0.3, h * 0.72, w * 0.7, h * 0.72), fill=(200, 40, 40), width=5)
            if image_side == "left":
                draw.rectangle((w // 2, 0, w, h), fill=(255, 255, 255))
            else:
                draw.rectangle((0, 0, w // 2, h), fill=(255, 255, 255))
            name = f"images/{prefix}{i:02d}_{half}.png"
            im.save(folder / name)
            rows.append({"stimulus": name, "source": f"{prefix}{i:02d}.jpg", "photo_id": f"{prefix}{i:02d}",
                         "emotion": EMOTION_CYCLE[(i // photos_per_emotion) % len(EMOTION_CYCLE)], "gender": "female",
                         "identity": f"id{i:02d}", "visible_half": half, "visible_image_side": image_side,
                         "midline_x": w // 2, "mirrored": 0, "landmarks_file": "", "mirror_copy": 0})
            if with_mirrored:
                copy = f"images/{prefix}{i:02d}_{half}_mirror.png"
                im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / copy)
                rows.append(dict(rows[-1], stimulus=copy, visible_image_side=half, mirrored=1,
                                 midline_x=w - w // 2, mirror_copy=1))
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest
