"""A single PNG with every stimulus and its label, for visual QA of a build.

Tiles (thumbnail + caption) are drawn per photo in the workers; the sheet
itself only pastes them, so it stays cheap for large sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAPTION_LINES = 3
LINE_HEIGHT = 13
PAD = 6
BACKGROUND = (200, 200, 200)


def caption(row: dict) -> list[str]:
    """Three short lines: photo, emotion/gender, which half shows where."""
    return [
        str(row["photo_id"])[:24],
        f"{row['emotion']} / {row['gender']}" + (" / mirrored" if int(row["mirrored"]) else ""),
        f"poser {row['visible_half']} -> img {row['visible_image_side']}"
        + (" (copy)" if int(row.get("mirror_copy", 0)) else ""),
    ]


def caption_tile(thumbnail: np.ndarray, row: dict) -> np.ndarray:
    """RGB thumbnail with its caption underneath, on the sheet's grey."""
    th, tw = thumbnail.shape[:2]
    tile = Image.new("RGB", (tw, th + CAPTION_LINES * LINE_HEIGHT + 1), BACKGROUND)
    tile.paste(Image.fromarray(thumbnail), (0, 0))
    draw = ImageDraw.Draw(tile)
    font = ImageFont.load_default()
    for j, text in enumerate(caption(row)):
        draw.text((0, th + 1 + j * LINE_HEIGHT), text, fill=(0, 0, 0), font=font)
    return np.asarray(tile)


def contact_sheet(tiles: Sequence[np.ndarray], columns: int = 8) -> Image.Image:
    """Grid of equally sized RGB tiles, in the given order."""
    if not tiles:
        raise ValueError("no stimuli to show")
    th, tw = tiles[0].shape[:2]
    columns = min(columns, len(tiles))
    n_rows = -(-len(tiles) // columns)
    sheet = np.empty((n_rows * (th + PAD) + PAD, columns * (tw + PAD) + PAD, 3), np.uint8)
    sheet[:] = BACKGROUND
    for i, tile in enumerate(tiles):
        y = PAD + (i // columns) * (th + PAD)
        x = PAD + (i % columns) * (tw + PAD)
        sheet[y : y + th, x : x + tw] = tile
    return Image.fromarray(sheet)


def write_contact_sheet(path: Path, tiles: Sequence[np.ndarray]) -> None:
    # a QA picture: fast compression matters more than a few hundred KB
    contact_sheet(tiles).save(path, compress_level=1)
