"""CLI behaviour: exit codes, undetected faces, all-or-nothing output."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from stimuli.cli import main
from stimuli.demo import variant

from .conftest import read_manifest, write_labels, write_photos


@pytest.fixture
def photo_set(tmp_path, portrait):
    """Two good photos and a blank one (no face)."""
    photos = {
        "good1.jpg": variant(portrait, zoom=1.0, angle=3.0, gain=1.0, mirror=False, size=320),
        "good2.jpg": variant(portrait, zoom=1.1, angle=-4.0, gain=0.9, mirror=False, size=320),
        "blank.png": np.full((320, 320, 3), 180, np.uint8),
    }
    write_photos(tmp_path / "photos", photos)
    labels = write_labels(
        tmp_path / "labels.csv",
        [dict(file=f, emotion=e) for f, e in [("good1.jpg", "fear"), ("blank.png", "anger"), ("good2.jpg", "others")]],
    )
    return tmp_path, labels


def _build_args(root, labels, *extra):
    return ["build", str(root / "photos"), "--labels", str(labels), "--out", str(root / "out"),
            "--size", "160", "--no-progress", *extra]


def test_blank_photo_fails_the_build_and_writes_only_undetected_csv(photo_set, capsys):
    root, labels = photo_set
    assert main(_build_args(root, labels)) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "blank.png" in err and "--skip-undetected" in err
    assert sorted(p.name for p in (root / "out").iterdir()) == ["undetected.csv"]
    with (root / "out" / "undetected.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == ["blank.png"]
    assert rows[0]["reason"].startswith("no face found")
    assert not [p for p in root.iterdir() if p.name.startswith(".out.partial")]


def test_skip_undetected_builds_the_rest_into_the_same_folder(photo_set, capsys):
    root, labels = photo_set
    assert main(_build_args(root, labels)) == 1  # a failed run first: its report may be replaced
    assert main(_build_args(root, labels, "--skip-undetected")) == 0
    out = capsys.readouterr()
    assert "skipped blank.png" in out.err
    rows = read_manifest(root / "out" / "manifest.csv")
    assert [r["source"] for r in rows] == ["good1.jpg", "good1.jpg", "good2.jpg", "good2.jpg"]
    assert len(list((root / "out" / "stimuli").glob("*.png"))) == 4
    with (root / "out" / "undetected.csv").open() as fh:
        assert [r["file"] for r in csv.DictReader(fh)] == ["blank.png"]


def test_non_empty_output_folder_is_refused_untouched(photo_set, capsys):
    root, labels = photo_set
    (root / "out").mkdir()
    (root / "out" / "keep.txt").write_text("mine")
    assert main(_build_args(root, labels, "--skip-undetected")) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in (root / "out").iterdir()] == ["keep.txt"]


def test_label_error_exits_2_with_one_line_and_writes_nothing(photo_set, capsys):
    root, _ = photo_set
    bad = write_labels(root / "bad.csv", [dict(file="good1.jpg", emotion="joy")])
    assert main(_build_args(root, bad)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 2" in err and "'joy'" in err and "Traceback" not in err
    assert not (root / "out").exists()


def test_mirrored_input_flag_puts_each_half_on_its_own_image_side(photo_set):
    root, labels = photo_set
    assert main(_build_args(root, labels, "--skip-undetected", "--mirrored-input")) == 0
    rows = read_manifest(root / "out" / "manifest.csv")
    assert all(r["visible_image_side"] == r["visible_half"] and r["mirrored"] == "1" for r in rows)


def test_bad_size_and_margin_are_usage_errors(photo_set, capsys):
    root, labels = photo_set
    assert main(_build_args(root, labels)[:-3] + ["--size", "8", "--no-progress"]) == 2
    assert main(_build_args(root, labels, "--margin", "-1")) == 2
    err = capsys.readouterr().err
    assert "--size 8" in err and "--margin -1" in err


def test_missing_required_option_is_an_argparse_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["build", str(tmp_path)])
    assert exc.value.code == 2


def test_help_runs_without_loading_dlib():
    code = "import sys, runpy; sys.argv=['stimuli','--help']\ntry: runpy.run_module('stimuli', run_name='__main__')\nexcept SystemExit as e: print('EXIT', e.code, 'dlib' in sys.modules, 'cv2' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "python -m stimuli build" in res.stdout
    assert res.stdout.strip().endswith("EXIT 0 False False")
    res = subprocess.run([sys.executable, "-m", "stimuli", "build", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "example:" in res.stdout and "--skip-undetected" in res.stdout


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_worker_pool_gives_the_same_build_as_one_process(photo_set):
    root, labels = photo_set
    args = _build_args(root, labels, "--skip-undetected")
    assert main(args) == 0
    serial = read_manifest(root / "out" / "manifest.csv")
    pooled_out = root / "pooled"
    args[args.index("--out") + 1] = str(pooled_out)
    assert main(args + ["--workers", "2"]) == 0
    assert read_manifest(pooled_out / "manifest.csv") == serial
    for row in serial:
        a = (root / "out" / row["stimulus"]).read_bytes()
        assert a == (pooled_out / row["stimulus"]).read_bytes()


def test_skip_undetected_with_no_face_anywhere_still_fails_with_report(tmp_path, capsys):
    write_photos(tmp_path / "photos", {"blank.png": np.full((200, 200, 3), 90, np.uint8)})
    labels = write_labels(tmp_path / "labels.csv", [dict(file="blank.png", emotion="fear")])
    assert main(_build_args(tmp_path, labels, "--skip-undetected")) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["undetected.csv"]
    assert "blank.png" in capsys.readouterr().err
