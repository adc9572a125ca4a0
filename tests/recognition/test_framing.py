"""A checkpoint records the crop it was trained on (face size, eye framing, channels); predict crops with it,
and loads dlib once per process."""
import json

import numpy as np
import pytest
import torch

from recognition import framing as framings
from recognition import predict
from recognition.augment import IMAGENET_MEAN, IMAGENET_STD
from recognition.model import build_model

from .stimuli_fixture import write_manifest

skd = pytest.importorskip("skimage.data")
pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory):
    from PIL import Image
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(skd.astronaut()).save(path)  # public domain (NASA), shipped by scikit-image
    return path


def _checkpoint(path, **config):
    config = dict({"arch": "hsaw", "variant": "hsaw", "image_size": 48, "num_classes": 7, "shared_backbone": True,
                   "half": None, "class_names": [f"c{k}" for k in range(7)], "mean": list(IMAGENET_MEAN),
                   "std": list(IMAGENET_STD), "dataset": "rafdb"}, **config)
    torch.manual_seed(0)
    torch.save({"model": build_model(config).state_dict(), "config": config, "epoch": 1}, path)
    return path


def _eyes(face_u8):
    gray = predict._gray(face_u8.numpy())
    pts = predict.find_landmarks(gray, predict.load_dlib(True))
    left, right = pts[36:42].mean(0), pts[42:48].mean(0)
    return float(np.hypot(*(right - left))), float((left[1] + right[1]) / 2 + 0.5)


@pytest.mark.parametrize("eye_distance,eye_line", [(0.3675, 0.396), (0.25, 0.45)])
def test_the_crop_follows_the_recorded_framing(astronaut_png, eye_distance, eye_line):
    image = predict.read_image(astronaut_png, 3)
    pts = predict.find_landmarks(predict._gray(image), predict.load_dlib(True))
    fr = framings.framing("test", 160, 3, eye_distance, eye_line)
    face, nose = predict.align_face(image, pts, fr)
    assert tuple(face.shape) == (3, 160, 160)
    distance, line = _eyes(face)  # dlib on the crop finds the eyes where the framing put them
    assert distance / 160 == pytest.approx(eye_distance, abs=0.03)
    assert line / 160 == pytest.approx(eye_line, abs=0.03)


def test_predict_uses_the_checkpoints_face_size_and_colour(astronaut_png, tmp_path, capsys, monkeypatch):
    fr = framings.framing("rafdb", 100, 3, 0.30, 0.42)
    ckpt = _checkpoint(tmp_path / "c.pt", framing=fr, channels=3)
    seen = []
    real = predict.predict_face
    monkeypatch.setattr(predict, "predict_face", lambda m, c, face, nose, **k: seen.append(face) or real(m, c, face, nose, **k))
    assert predict.main([str(ckpt), str(astronaut_png), "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert tuple(seen[0].shape) == (3, 100, 100)  # RGB at the recorded 100 px, not FER2013's 48 px gray
    assert not torch.equal(seen[0][0], seen[0][1])
    assert 40 < r["nose_xy"][0] < 60 and 50 < r["nose_xy"][1] < 80


def test_a_checkpoint_without_a_measurable_framing_takes_crops_only(astronaut_png, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "c.pt", framing=framings.framing("folder", 48, 1))
    assert predict.main([str(ckpt), str(astronaut_png)]) == 2
    assert "records no face framing" in capsys.readouterr().err


def test_dlib_loads_once_for_many_crops(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from recognition import landmarks
    calls = []
    real_init = landmarks.DlibFaces.__init__
    monkeypatch.setattr(landmarks, "_WORKER", None)
    monkeypatch.setattr(landmarks.DlibFaces, "__init__", lambda self: calls.append(1) or real_init(self))
    ckpt = _checkpoint(tmp_path / "c.pt", framing=framings.fer2013_framing())
    crops = []
    for k in range(3):
        crops.append(tmp_path / f"crop{k}.png")
        Image.fromarray(np.random.default_rng(k).integers(0, 256, (48, 48), dtype=np.uint8)).save(crops[-1])
    assert predict.main([str(ckpt), *map(str, crops), "--detector", "none", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert len(calls) == 1  # was once per image plus once at start


def test_a_plain_model_on_ready_crops_needs_no_dlib(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from recognition import landmarks
    monkeypatch.setattr(landmarks, "_WORKER", None)
    monkeypatch.setattr(landmarks.DlibFaces, "__init__", lambda self: pytest.fail("dlib loaded"))
    ckpt = _checkpoint(tmp_path / "c.pt", arch="resnet18", variant=None, image_size=32,
                       framing=framings.framing("folder", 32, 1))
    crop = tmp_path / "crop.png"
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(crop)
    assert predict.main([str(ckpt), str(crop), "--detector", "none", "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert r["w_left"] is None and sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_a_model_trained_on_stimuli_sees_a_photo_covered_like_a_stimulus(astronaut_png, tmp_path):
    """Framing from the builder's landmark files; the trained half is cut at the nose, the other half white."""
    from recognition.config import complete
    from recognition.prepare import run_data
    manifest = write_manifest(tmp_path / "stim", photos_per_emotion=1, size=64, identities=0)  # folds by photo
    cfg = complete(dict(dataset="stimuli", data=str(manifest), half="left", image_size=32, folds=2, device="cpu"))
    data = run_data(cfg, fold=0)
    fr = data.framing
    assert fr["source"] == "stimuli" and fr["face_size"] == 32 and fr["channels"] == 3
    assert fr["eye_distance"] == pytest.approx(0.36, abs=1e-6) and fr["eye_line"] == pytest.approx(0.40 + 0.5 / 64)
    config = dict(cfg, arch="resnet18", num_classes=7, class_names=data.train.class_names, premasked=True,
                  mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD), framing=fr)
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, whole, left=None, right=None):
            seen.append((whole, left))
            return {"logits": torch.zeros(1, 7), "w_left": None, "w_right": None}

    image = predict.read_image(astronaut_png, 3)
    face, nose = predict.align_face(image, predict.find_landmarks(predict._gray(image), predict.load_dlib(True)), fr)
    predict.predict_face(Spy(), config, face, nose, premasked=False)
    whole, left = seen[0]
    assert left is None
    white = (1.0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    cut = int(round((nose[0] + 0.5) * 32 / 32))
    assert torch.allclose(whole[0, :, :, :cut - 1], white.view(3, 1, 1).expand(3, 32, cut - 1), atol=1e-5)
    assert not torch.allclose(whole[0, :, :, cut + 1:], white.view(3, 1, 1).expand(3, 32, 31 - cut), atol=1e-2)
