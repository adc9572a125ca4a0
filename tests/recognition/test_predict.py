"""recognition.predict: photo -> aligned face -> three views -> probabilities and half weights."""
import json

import numpy as np
import pytest
import torch

torch.set_num_threads(1)
dlib = pytest.importorskip("dlib")
skd = pytest.importorskip("skimage.data")

from recognition import predict  # noqa: E402
from recognition.data import FER2013_CLASSES  # noqa: E402
from recognition.framing import fer2013_framing  # noqa: E402
from recognition.landmarks import DlibFaces  # noqa: E402
from recognition.model import build_model  # noqa: E402


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory):
    from PIL import Image
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(skd.astronaut()).save(path)  # public domain (NASA), shipped by scikit-image
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny untrained HSAW checkpoint in recognition.train's format (interface 4)."""
    torch.manual_seed(0)
    config = {"variant": "hsaw", "image_size": 64, "num_classes": 7, "class_names": list(FER2013_CLASSES),
              "shared_backbone": True, "half_mode": "mask", "half": None,
              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    path = tmp_path_factory.mktemp("run") / "checkpoint_best.pt"
    torch.save({"model": build_model(config).state_dict(), "config": config, "epoch": 1}, path)
    return path


def test_prediction_on_a_photo_has_seven_probabilities_and_half_weights(checkpoint, astronaut_png, capsys):
    assert predict.main([str(checkpoint), str(astronaut_png), "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    probs = r["probabilities"]
    assert list(probs) == list(FER2013_CLASSES)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5) and all(0 < p < 1 for p in probs.values())
    assert r["emotion"] == max(probs, key=probs.get)
    assert 0 < r["w_left"] < 1 and 0 < r["w_right"] < 1
    # FER2013 framing: the nose sits near the middle column, below the centre
    assert abs(r["nose_xy"][0] - 23.5) < 4 and 24 < r["nose_xy"][1] < 36


def test_aligned_crop_levels_the_eyes_of_a_tilted_face():
    gray = (skd.astronaut() @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
    tilted = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(gray).rotate(12, fillcolor=255))
    faces = DlibFaces()
    pts = predict.find_landmarks(tilted, faces)
    before = pts[42:48].mean(0) - pts[36:42].mean(0)
    assert abs(np.degrees(np.arctan2(before[1], before[0]))) > 8  # really tilted
    face, nose = predict.align_face(tilted, pts, fer2013_framing(), 96)
    again = predict.find_landmarks(face.numpy(), faces)
    after = again[42:48].mean(0) - again[36:42].mean(0)
    assert abs(np.degrees(np.arctan2(after[1], after[0]))) < 3
    assert np.abs(again[30] - nose).max() < 3  # the carried-over nose tip is where dlib finds it in the crop


def test_a_non_face_image_gets_a_one_line_error_and_a_non_zero_exit(checkpoint, astronaut_png, tmp_path, capsys):
    from PIL import Image
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160), 200, np.uint8)).save(blank)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    code = predict.main([str(checkpoint), str(blank), str(astronaut_png), str(broken)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"error: {blank}: no face found (dlib)" in err and f"error: {broken}: cannot read image" in err
    assert err.count("\n") == 2
    [line] = out.splitlines()  # the good image is still predicted
    assert line.startswith(f"{astronaut_png}: face found (dlib) | ") and "w_left" in line


def test_crops_without_detection_fall_back_to_the_centre_and_say_so(checkpoint, tmp_path, capsys):
    from PIL import Image
    crop = tmp_path / "crop.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)).save(crop)
    assert predict.main([str(checkpoint), str(crop), "--detector", "none", "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert r["nose_found"] is False and r["nose_xy"] == [23.5, 23.5] and r["face_found"] is False
    assert predict.main([str(checkpoint), str(crop), "--detector", "none"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{crop}: no face detection (--detector none: taken as a face crop)")


def test_a_missing_checkpoint_is_a_user_error(tmp_path, astronaut_png, capsys):
    assert predict.main([str(tmp_path / "nope.pt"), str(astronaut_png)]) == 2
    assert "nope.pt" in capsys.readouterr().err


def test_predict_reads_a_checkpoint_written_by_train(tiny_run, astronaut_png, tmp_path, capsys):
    # synthetic faces have no measurable face framing: photos are refused in one line, crops are predicted
    ckpt = str(tiny_run / "checkpoint_best.pt")
    assert predict.main([ckpt, str(astronaut_png)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "records no face framing" in err and "--detector none" in err
    from PIL import Image
    crop = tmp_path / "crop.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 48), dtype=np.uint8)).save(crop)
    assert predict.main([ckpt, str(crop), "--detector", "none", "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    config = json.loads((tiny_run / "config.json").read_text())
    assert list(r["probabilities"]) == config["class_names"]
    assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert 0 < r["w_left"] < 1 and 0 < r["w_right"] < 1
