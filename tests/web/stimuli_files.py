"""Generated half-face stand-ins (PIL) and manifests in the stimuli builder's format, for the online tests."""

import csv
from pathlib import Path

from PIL import Image, ImageDraw

from halfface.schema import EMOTIONS, MANIFEST_COLUMNS


def make_manifest(folder, n_photos=4, prefix="photo", size=(120, 160), with_mirrored=False) -> Path:
    """``n_photos`` photos x 2 halves as PNGs plus ``manifest.csv``; returns the manifest path.

    A grey oval 'face' whose covered image half is pure white, like the builder's
    output, so a screenshot shows which half is on screen. Emotions cycle through
    the seven categories. ``with_mirrored`` adds each half's mirror image, as
    ``python -m stimuli build --with-mirrored`` does (the crossed design).
    """
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    w, h = size
    rows = []
    for i in range(n_photos):
        photo = f"{prefix}{i:02d}"
        for half in ("left", "right"):
            image_side = "right" if half == "left" else "left"  # a non-mirrored photo
            im = Image.new("RGB", size, (255, 255, 255))
            draw = ImageDraw.Draw(im)
            shade = 110 + 7 * (i % 16)
            draw.ellipse((6, 6, w - 6, h - 6), fill=(shade, shade, shade))
            draw.ellipse((w * 0.3, h * 0.35, w * 0.4, h * 0.45), fill=(30, 30, 200))
            draw.ellipse((w * 0.6, h * 0.35, w * 0.7, h * 0.45), fill=(30, 30, 200))
            draw.line((w * 0.3, h * 0.72, w * 0.7, h * 0.72), fill=(200, 40, 40), width=4)
            covered = (w // 2, 0, w, h) if image_side == "left" else (0, 0, w // 2, h)
            draw.rectangle(covered, fill=(255, 255, 255))
            name = f"images/{photo}_visible-{half}.png"
            im.save(folder / name)
            row = {"stimulus": name, "source": f"{photo}.jpg", "photo_id": photo,
                   "emotion": EMOTIONS[(i // 2) % len(EMOTIONS)], "gender": "female", "identity": photo,
                   "visible_half": half, "visible_image_side": image_side, "midline_x": w // 2,
                   "mirrored": 0, "landmarks_file": "", "mirror_copy": 0}
            rows.append(row)
            if with_mirrored:
                mirror = f"images/{photo}_visible-{half}_mirror.png"
                im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / mirror)
                rows.append(dict(row, stimulus=mirror, visible_image_side=half, mirrored=1, mirror_copy=1))
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest
