"""--detector py-feat: fails fast when py-feat or its models are missing.

py-feat itself is not installed in CI; these tests simulate its absence,
a py-feat install without cached models, and one with models (a stand-in
Detectorv1 that checks how it is called).
"""

from __future__ import annotations

import os
import sys
import textwrap
import time

import numpy as np
import pytest

from stimuli import detect_pyfeat
from stimuli.cli import main
from stimuli.errors import StimulusError

from .conftest import write_labels, write_photos


def _fake_feat(root, *, with_models: bool, importable: bool = True):
    """A package called `feat` at root/feat; optionally with a cached model layout."""
    pkg = root / "feat"
    pkg.mkdir(parents=True)
    if importable:
        (pkg / "__init__.py").write_text("")
        (pkg / "detector.py").write_text(textwrap.dedent('''
            import os
            import pandas as pd
            CALLS = []

            class Detectorv1:
                def __init__(self, **kwargs):
                    CALLS.append(dict(kwargs, offline=os.environ.get("HF_HUB_OFFLINE")))

                def detect(self, inputs, data_type="image", progress_bar=True):
                    rows = []
                    for k, (x0, size) in enumerate([(10.0, 40.0), (100.0, 90.0)]):
                        row = dict(FaceRectX=x0, FaceRectY=20.0, FaceRectWidth=size, FaceRectHeight=size)
                        for i in range(68):
                            row[f"x_{i}"] = x0 + i
                            row[f"y_{i}"] = 20.0 + i / 2
                        rows.append(row)
                    return pd.DataFrame(rows)
        '''))
    else:
        # importing this package would be a bug: the check must not construct anything
        (pkg / "__init__.py").write_text("raise RuntimeError('feat was imported')\n")
    if with_models:
        for repo, filename in detect_pyfeat.REQUIRED_MODELS:
            snap = pkg / "resources" / f"models--{repo.replace('/', '--')}" / "snapshots" / "abc123"
            snap.mkdir(parents=True, exist_ok=True)
            (snap / filename).write_bytes(b"weights")
    return pkg


@pytest.fixture
def no_feat_modules(monkeypatch):
    for name in [m for m in sys.modules if m == "feat" or m.startswith("feat.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield
    for name in [m for m in sys.modules if m == "feat" or m.startswith("feat.")]:
        del sys.modules[name]


def test_missing_pyfeat_says_how_to_install(monkeypatch, no_feat_modules):
    real = detect_pyfeat.importlib.util.find_spec
    monkeypatch.setattr(detect_pyfeat.importlib.util, "find_spec", lambda n, *a: None if n == "feat" else real(n, *a))
    with pytest.raises(StimulusError) as err:
        detect_pyfeat.check_pyfeat_ready()
    assert "pip install py-feat" in str(err.value) and "--detector dlib" in str(err.value)


def test_missing_models_fail_fast_without_importing_pyfeat(tmp_path, monkeypatch, no_feat_modules):
    _fake_feat(tmp_path, with_models=False, importable=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    t0 = time.perf_counter()
    with pytest.raises(StimulusError) as err:
        detect_pyfeat.PyFeatLandmarker()
    assert time.perf_counter() - t0 < 1.0
    message = str(err.value)
    assert "py-feat/retinaface/mobilenet0.25_Final.pth" in message
    assert "py-feat/mobilefacenet/mobilefacenet_model_best.pth.tar" in message
    assert str(tmp_path / "feat" / "resources") in message and "Detectorv1" in message
    assert "feat" not in sys.modules


def test_cli_with_pyfeat_but_no_models_exits_2_before_any_work(tmp_path, monkeypatch, portrait, capsys, no_feat_modules):
    _fake_feat(tmp_path / "site", with_models=False, importable=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    write_photos(tmp_path / "photos", {"a.png": portrait})
    labels = write_labels(tmp_path / "labels.csv", [dict(file="a.png", emotion="fear")])
    code = main(["build", str(tmp_path / "photos"), "--labels", str(labels), "--out", str(tmp_path / "out"),
                 "--detector", "py-feat", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: py-feat models not found offline") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_cached_models_are_used_offline_with_68_point_landmarks(tmp_path, monkeypatch, no_feat_modules):
    _fake_feat(tmp_path, with_models=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert detect_pyfeat.missing_models(tmp_path / "feat" / "resources") == []
    landmarker = detect_pyfeat.PyFeatLandmarker()
    from feat.detector import CALLS

    assert CALLS[0]["offline"] == "1"
    assert CALLS[0]["landmark_model"] == "mobilefacenet" and CALLS[0]["face_model"] == "retinaface"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    face = landmarker.find_in_file(tmp_path / "any.jpg")
    assert face.n_faces == 2
    assert face.box == (100.0, 20.0, 190.0, 110.0)  # the larger face
    np.testing.assert_allclose(face.landmarks[30], (130.0, 35.0))
    assert face.landmarks.shape == (68, 2)
