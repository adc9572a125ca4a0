"""python -m recognition.export: ONNX of the three-view model (P, w_left, w_right) and of a plain network, checked
against PyTorch with onnxruntime (the `export` extra)."""
import json

import numpy as np
import pytest
import torch

from recognition.augment import IMAGENET_MEAN, IMAGENET_STD
from recognition.model import build_model
from recognition.runio import load_checkpoint

onnx = pytest.importorskip("onnx", reason="pip install -e '.[export]'")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[export]'")
pytest.importorskip("onnxscript", reason="pip install -e '.[export]'")

from recognition import export  # noqa: E402

pytestmark = pytest.mark.slow


def test_hsaw_exports_with_three_views_and_half_weights_matching_pytorch(tiny_run, tmp_path, capsys):
    path = tmp_path / "hsaw.onnx"
    assert export.main([str(tiny_run / "checkpoint_best.pt"), "--onnx", str(path)]) == 0
    assert "max |diff|" in capsys.readouterr().out
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["whole", "left", "right"]
    assert [o.name for o in session.get_outputs()] == ["P", "w_left", "w_right"]
    model, config, _ = load_checkpoint(tiny_run / "checkpoint_best.pt")
    model.eval()
    x = [torch.randn(5, 3, 48, 48, generator=torch.Generator().manual_seed(k)) for k in range(3)]  # another batch
    with torch.no_grad():
        want = model(*x)
    got = session.run(None, {n: t.numpy() for n, t in zip(("whole", "left", "right"), x)})
    for name, value in zip(("logits", "w_left", "w_right"), got):
        np.testing.assert_allclose(value, want[name].numpy(), atol=1e-4, rtol=0)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["halfface_config"])["class_names"] == config["class_names"]


def test_a_plain_network_exports_one_image_input(tmp_path):
    config = {"arch": "alexnet", "num_classes": 7, "image_size": 64, "class_names": list("abcdefg"),
              "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "half": "left", "premasked": True}
    torch.manual_seed(0)
    ckpt = tmp_path / "alexnet.pt"
    torch.save({"model": build_model(config).state_dict(), "config": config}, ckpt)
    r = export.export(ckpt, tmp_path / "alexnet.onnx")
    assert r["inputs"] == ["image"] and r["outputs"] == ["P"] and r["max_abs_diff"] <= 1e-4


def test_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert export.main([str(tmp_path / "none.pt"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
