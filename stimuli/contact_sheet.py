"""A single PNG with every stimulus and its label, for visual QA of a build."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAPTION_LINES = 3
LINE_HEIGHT = 13


def caption(row: dict) -> list[str]:
    """Three short lines: photo, emotion/gender, which half shows where."""
    return [
        str(row["photo_id"])[:24],
        f"{row['emotion']} / {row['gender']}" + (" / mirrored" if int(row["mirrored"]) else ""),
        f"poser {row['visible_half']} -> img {row['visible_image_side']}",
    ]


def contact_sheet(thumbnails: Sequence[np.ndarray], rows: Sequence[dict], columns: int = 8) -> Image.Image:
    """Grid of RGB thumbnails with captions (order as given)."""
    if len(thumbnails) != len(rows):
        raise ValueError("one caption row per thumbnail")
    if not thumbnails:
        raise ValueError("no stimuli to show")
    th, tw = thumbnails[0].shape[:2]
    pad = 6
    cell_w, cell_h = tw + pad, th + CAPTION_LINES * LINE_HEIGHT + pad
    columns = min(columns, len(thumbnails))
    n_rows = -(-len(thumbnails) // columns)
    sheet = Image.new("RGB", (columns * cell_w + pad, n_rows * cell_h + pad), (200, 200, 200))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (thumb, row) in enumerate(zip(thumbnails, rows)):
        x = pad + (i % columns) * cell_w
        y = pad + (i // columns) * cell_h
        sheet.paste(Image.fromarray(thumb), (x, y))
        for j, text in enumerate(caption(row)):
            draw.text((x, y + th + 1 + j * LINE_HEIGHT), text, fill=(0, 0, 0), font=font)
    return sheet


def write_contact_sheet(path: Path, thumbnails: Sequence[np.ndarray], rows: Sequence[dict]) -> None:
    contact_sheet(thumbnails, rows).save(path)
