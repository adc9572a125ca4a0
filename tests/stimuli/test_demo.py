"""The shipped demo photo and `python -m stimuli demo`."""

from __future__ import annotations

import csv

import cv2

from halfface.schema import EMOTIONS
from stimuli.cli import main
from stimuli.demo import demo_photo_path, write_demo
from stimuli.label_file import read_label_file

from .conftest import read_manifest


def test_demo_photo_is_small_and_licensed():
    path = demo_photo_path()
    assert path.stat().st_size < 300_000
    licence = (path.parent / "LICENSE.md").read_text()
    assert "public domain" in licence and "Eileen Collins" in licence and "fictitious" in licence.lower()


def test_demo_writes_valid_labels_for_all_emotions_with_fictitious_note(tmp_path):
    labels_csv = write_demo(tmp_path / "demo", photos_per_emotion=2, size=256)
    assert labels_csv == tmp_path / "demo" / "labels.csv"
    labels = read_label_file(labels_csv, tmp_path / "demo")
    assert len(labels) == 14
    assert sorted({l.emotion for l in labels}) == sorted(EMOTIONS)
    assert [l.gender for l in labels].count("female") == 7
    assert 0 < sum(l.mirrored for l in labels) < 14
    assert "FICTITIOUS" in (tmp_path / "demo" / "README.txt").read_text()
    img = cv2.imread(str(tmp_path / "demo" / labels[0].file))
    assert img.shape == (256, 256, 3)


def test_demo_build_makes_two_stimuli_per_photo(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "d"), "--photos-per-emotion", "1", "--size", "192", "--build", str(tmp_path / "s")]) == 0
    rows = read_manifest(tmp_path / "s" / "manifest.csv")
    assert len(rows) == 14
    with (tmp_path / "d" / "labels.csv").open() as fh:
        mirrored = {r["file"]: r["mirrored"] for r in csv.DictReader(fh)}
    for r in rows:
        assert r["mirrored"] == mirrored[r["source"]]
        assert (r["visible_image_side"] == r["visible_half"]) == (r["mirrored"] == "1")
    assert "manifest" in capsys.readouterr().out


def test_demo_refuses_to_overwrite_existing_photos(tmp_path, capsys):
    write_demo(tmp_path / "d", photos_per_emotion=1, size=64)
    assert main(["demo", str(tmp_path / "d")]) == 2
    assert "already holds files" in capsys.readouterr().err


def test_shipped_practice_stimuli_are_rebuilt_exactly_from_the_demo_portrait(tmp_path):
    """stimuli/demo_practice is what its README's two commands build: not stale, not hand-edited."""
    import numpy as np

    from stimuli.demo import demo_practice_manifest, plan

    shipped = demo_practice_manifest()
    photos = tmp_path / "practice_photos"
    assert main(["demo", str(photos), "--practice"]) == 0
    assert main(["build", str(photos), "--labels", str(photos / "labels.csv"), "--out", str(tmp_path / "built"),
                 "--size", "256", "--with-mirrored", "--no-progress"]) == 0
    ours, built = read_manifest(shipped), read_manifest(tmp_path / "built" / "manifest.csv")
    assert ours == built
    assert len(ours) == 8 and sum(r["mirror_copy"] == "1" for r in ours) == 4
    for row in ours:
        a = cv2.imread(str(shipped.parent / row["stimulus"])).astype(int)
        b = cv2.imread(str(tmp_path / "built" / row["stimulus"])).astype(int)
        assert np.abs(a - b).max() <= 2, row["stimulus"]
    # practice photos are never test photos: other ids and source files than the demo's test set
    test_files = {r["file"] for r in plan(10)}
    assert not {r["source"] for r in ours} & test_files
    assert all(r["photo_id"].startswith("practice_") for r in ours)
