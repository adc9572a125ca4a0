"""Contact sheet layout and captions (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from stimuli.contact_sheet import CAPTION_LINES, LINE_HEIGHT, PAD, caption, caption_tile, contact_sheet

ROW = dict(photo_id="p1", emotion="fear", gender="male", mirrored="1", visible_half="left", visible_image_side="left")


def test_caption_says_which_half_shows_where():
    assert caption(ROW) == ["p1", "fear / male / mirrored", "poser left -> img left"]
    assert caption(dict(ROW, mirrored=0))[1] == "fear / male"


def test_tile_keeps_the_thumbnail_and_adds_caption_lines():
    thumb = np.zeros((40, 30, 3), np.uint8)
    tile = caption_tile(thumb, ROW)
    assert tile.shape == (40 + CAPTION_LINES * LINE_HEIGHT + 1, 30, 3)
    assert (tile[:40] == 0).all()
    assert (tile[40:] < 100).any()  # black caption text on grey


def test_sheet_places_tiles_row_by_row():
    tiles = [np.full((10, 20, 3), k * 20, np.uint8) for k in range(1, 11)]
    sheet = np.asarray(contact_sheet(tiles, columns=4))
    assert sheet.shape == (3 * (10 + PAD) + PAD, 4 * (20 + PAD) + PAD, 3)
    for k, tile in enumerate(tiles):
        y, x = PAD + (k // 4) * (10 + PAD), PAD + (k % 4) * (20 + PAD)
        assert (sheet[y : y + 10, x : x + 20] == tile).all()
    with pytest.raises(ValueError):
        contact_sheet([])
