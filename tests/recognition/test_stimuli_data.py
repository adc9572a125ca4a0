"""--dataset stimuli: a lab's `python -m stimuli build` manifest as training data (the paper's Table 2)."""
import csv

import numpy as np
import pytest
import torch
from PIL import Image

from recognition.data import STIMULUS_EMOTIONS, DataError, MissingSplitError, load_faceset

from .stimuli_fixture import write_manifest


def test_emotions_are_the_stimulus_builders_in_the_same_order():
    from halfface.schema import EMOTIONS  # what stimuli writes (halfface is stdlib only: on every machine)

    assert tuple(STIMULUS_EMOTIONS) == EMOTIONS


def test_manifest_rows_become_rgb_images_with_emotion_labels_and_photo_groups(tmp_path):
    manifest = write_manifest(tmp_path, photos_per_emotion=2, size=64)
    fs = load_faceset("stimuli", manifest, "train", channels=3)
    assert tuple(fs.images.shape) == (28, 3, 64, 64) and fs.images.dtype == torch.uint8
    rows = list(csv.DictReader(open(manifest)))
    for i, r in enumerate(rows):  # same order, pixels exactly as on disk, labels from the emotion column
        png = np.array(Image.open(tmp_path / r["stimulus"]).convert("RGB")).transpose(2, 0, 1).copy()
        assert torch.equal(fs.images[i], torch.from_numpy(png))
        assert fs.class_names[int(fs.labels[i])] == r["emotion"] and fs.groups[i] == r["photo_id"]
        # nose x sits on the split: columns < midline_x lie left of it
        assert float(fs.nose_xy[i, 0]) == pytest.approx(int(r["midline_x"]) - 0.5)
    assert fs.info["premasked"] is True


def test_half_selects_visible_half_and_side_resizes_once_at_load(tmp_path):
    manifest = write_manifest(tmp_path, photos_per_emotion=1, size=64)
    left = load_faceset("stimuli", manifest, "train", channels=1, half="left", side=32)
    assert tuple(left.images.shape) == (7, 32, 32) and len(set(left.groups)) == 7
    # poser's left half of a non-mirrored photo: image-left part white
    assert (left.images[:, :, :12] == 255).all() and not (left.images[:, :, 20:] == 255).all()
    rows = [r for r in csv.DictReader(open(manifest)) if r["visible_half"] == "left"]
    assert left.nose_xy[:, 0].tolist() == pytest.approx([int(r["midline_x"]) * 32 / 64 - 0.5 for r in rows])


def test_mirror_copies_are_left_out_unless_asked_for(tmp_path):
    manifest = write_manifest(tmp_path, photos_per_emotion=1, size=48, mirrored_copies=True)
    assert len(list(csv.DictReader(open(manifest)))) == 28  # 7 photos × (2 halves + 2 mirror images)
    paper = load_faceset("stimuli", manifest, "train", channels=3)
    assert len(paper) == 14 and all(n.count(g) == 2 for n in [paper.groups] for g in set(paper.groups))
    everything = load_faceset("stimuli", manifest, "train", channels=3, rows="all")
    assert len(everything) == 28
    # a manifest from before the mirror_copy column: the copies are the rows on the half's other image side
    rows = list(csv.DictReader(open(manifest)))
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[c for c in rows[0] if c != "mirror_copy"], extrasaction="ignore")
        w.writeheader()
        w.writerows(dict(r, mirrored=0) for r in rows)
    old = load_faceset("stimuli", manifest, "train", channels=3)
    assert len(old) == 14 and torch.equal(old.images, paper.images)


@pytest.mark.parametrize("column,value,message", [
    ("emotion", "joy", r"row 3: emotion 'joy' is not one of happiness"),
    ("visible_half", "middle", r"row 3: visible_half 'middle'"),
    ("stimulus", "stimuli/missing.png", r"row 3: stimulus 'stimuli/missing.png' not found"),
])
def test_bad_manifest_rows_name_the_row_and_value(tmp_path, column, value, message):
    manifest = write_manifest(tmp_path, photos_per_emotion=1, size=32)
    rows = list(csv.DictReader(open(manifest)))
    rows[1][column] = value
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(DataError, match=message):
        load_faceset("stimuli", manifest, "train", channels=3)


def test_missing_manifest_says_how_to_build_one_and_stimuli_have_no_val_split(tmp_path):
    with pytest.raises(DataError, match="python -m stimuli build"):
        load_faceset("stimuli", tmp_path / "manifest.csv", "train")
    manifest = write_manifest(tmp_path, photos_per_emotion=1, size=32)
    with pytest.raises(MissingSplitError, match="--folds"):
        load_faceset("stimuli", manifest, "val")


def test_duplicate_photo_ids_are_refused(tmp_path):
    manifest = write_manifest(tmp_path, photos_per_emotion=1, size=32)
    rows = list(csv.DictReader(open(manifest)))
    rows[2]["photo_id"] = rows[0]["photo_id"]
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(DataError, match="rows 2 and 4: two as-shot stimuli of photo"):
        load_faceset("stimuli", manifest, "train", channels=3)
