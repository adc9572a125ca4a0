"""recognition.landmarks: dlib nose tips and the midline cache train/evaluate read."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recognition.landmarks import (MidlineError, build_command, default_cache_path, fingerprint, load_found,
                                   load_midlines, main, nose_tips, save_midlines)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def astronaut():
    """Gray astronaut photo (public domain, NASA; shipped by scikit-image) and dlib's own nose tip on it."""
    skd = pytest.importorskip("skimage.data")
    dlib = pytest.importorskip("dlib")
    from recognition.landmarks import predictor_path
    gray = (skd.astronaut() @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
    rect = dlib.get_frontal_face_detector()(gray, 0)[0]
    nose = dlib.shape_predictor(str(predictor_path()))(gray, rect).part(30)
    return gray, rect, np.array([nose.x, nose.y], float)


def face_crop(gray, rect, side, margin=1.3):
    """A FER2013-like tight square crop around the face, downscaled to side×side, and its origin/size."""
    cx, cy = (rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2
    half = margin * max(rect.width(), rect.height()) / 2
    x0, y0, s = int(round(cx - half)), int(round(cy - half)), int(round(2 * half))
    crop = torch.from_numpy(gray[y0:y0 + s, x0:x0 + s].astype(np.float32))[None, None]
    small = F.interpolate(crop, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return small[0, 0].round().clamp(0, 255).to(torch.uint8).numpy(), (x0, y0), s


def test_nose_tip_on_a_full_size_photo_matches_dlib(astronaut):
    gray, _, ref = astronaut
    nose, found = nose_tips(gray[None])
    assert found.tolist() == [True]
    assert np.abs(nose[0] - ref).max() <= 2.0  # full resolution, 512 px image


@pytest.mark.parametrize("side", [48, 96])
def test_nose_tip_on_a_small_face_crop_matches_the_full_size_landmark_scaled_down(astronaut, side):
    gray, rect, ref = astronaut
    small, (x0, y0), s = face_crop(gray, rect, side)
    expected = (ref - (x0, y0) + 0.5) * side / s - 0.5  # pixel-centre convention
    nose, found = nose_tips(np.stack([small, small[:, ::-1]]))
    assert found.all()
    assert abs(nose[0, 0] - expected[0]) < 0.05 * side and abs(nose[0, 1] - expected[1]) < 0.06 * side
    # the mirrored face's nose is mirrored too
    assert abs(nose[1, 0] - (side - 1 - expected[0])) < 0.05 * side


def test_faces_dlib_cannot_find_get_the_image_centre_and_are_flagged():
    pytest.importorskip("dlib")
    blank = np.full((2, 48, 40), 128, np.uint8)
    nose, found = nose_tips(blank)
    assert not found.any()
    np.testing.assert_allclose(nose, [[19.5, 23.5]] * 2)
    with pytest.raises(ValueError, match="uint8"):
        nose_tips(blank.astype(np.float32))


def test_cache_round_trip_keeps_other_splits(tmp_path):
    rng = np.random.default_rng(0)
    tr, va = rng.integers(0, 256, (5, 8, 8), dtype=np.uint8), rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    path = tmp_path / "m.npz"
    save_midlines(path, {"train": (tr, rng.random((5, 2)) * 8, [True, False, True, True, True])})
    save_midlines(path, {"val": (va, np.full((3, 2), 3.5), [False] * 3)})
    assert load_midlines(path, "train", torch.from_numpy(tr)).shape == (5, 2)
    np.testing.assert_allclose(load_midlines(path, "val", va), 3.5)
    assert load_found(path, "train").tolist() == [True, False, True, True, True]
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_stale_or_missing_cache_errors_name_the_build_command(tmp_path):
    imgs = np.zeros((2, 8, 8), np.uint8)
    path = tmp_path / "m.npz"
    with pytest.raises(MidlineError, match=r"not found.*python -m recognition\.landmarks --dataset fer2013 "
                                           r"--data /d/fer\.csv --out"):
        load_midlines(path, "train", imgs, dataset="fer2013", data="/d/fer.csv")
    save_midlines(path, {"train": (imgs, np.zeros((2, 2)), [True, True])})
    other = imgs.copy()
    other[0, 0, 0] = 1
    with pytest.raises(MidlineError, match=r"fingerprint mismatch.*python -m recognition\.landmarks"):
        load_midlines(path, "train", other)
    with pytest.raises(MidlineError, match=r"no midlines for split 'val'.*recognition\.landmarks"):
        load_midlines(path, "val", imgs)
    assert fingerprint(imgs) != fingerprint(other)
    assert build_command("rafdb", "/r") == "python -m recognition.landmarks --dataset rafdb --data /r"


def test_default_cache_sits_in_the_data_files_folder(tmp_path):
    assert default_cache_path(tmp_path / "fer2013.csv") == tmp_path.resolve() / "hsaw_midlines.npz"


def test_cli_builds_a_cache_train_can_read_and_keeps_it_on_rerun(tmp_path, capsys):
    pytest.importorskip("dlib")
    from recognition.data import load_faceset
    out = tmp_path / "mid.npz"
    spec = "n=6,size=48,classes=2,seed=1"
    assert main(["--dataset", "synthetic", "--data", spec, "--out", str(out), "--splits", "train,val,nope"]) == 0
    err = capsys.readouterr().err
    assert "train: 6 faces, dlib found 0 (0.0%)" in err and "nope: not in the data, skipped" in err
    fs = load_faceset("synthetic", spec, "val")
    np.testing.assert_allclose(load_midlines(out, "val", fs.images), 23.5)  # generated noise: no face found
    assert main(["--dataset", "synthetic", "--data", spec, "--out", str(out), "--splits", "train"]) == 0
    assert "already in" in capsys.readouterr().err


def test_cli_reports_bad_data_in_one_line_and_exits_non_zero(tmp_path, capsys):
    code = main(["--dataset", "fer2013", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "missing.csv" in err and err.count("\n") == 1


def test_worker_processes_give_the_same_nose_tips_in_the_same_order(astronaut):
    gray, rect, _ = astronaut
    small, _, _ = face_crop(gray, rect, 48)
    batch = np.stack([small, np.full((48, 48), 90, np.uint8), small[:, ::-1]])
    one = nose_tips(batch)
    two = nose_tips(batch, workers=2, chunk=1)
    assert one[1].tolist() == two[1].tolist() == [True, False, True]
    np.testing.assert_array_equal(one[0], two[0])
