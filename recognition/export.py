"""Export a checkpoint to ONNX and check it against PyTorch.

    python -m recognition.export runs/hsaw/checkpoint_best.pt --onnx hsaw.onnx
    python -m recognition.export runs/t2/alexnet/left/fold1_seed0/checkpoint_last.pt --onnx alexnet_left.onnx

HSAW (three views) takes ``whole``, ``left``, ``right`` (float [B,3,S,S], ImageNet-normalised, as
``recognition.inputs.input_views`` makes them) and returns ``P`` (class scores, softmax for probabilities),
``w_left`` and ``w_right`` (§4.3; variants without attention return P only). A one-view network (plain
AlexNet/ResNet18, HSAW ``baseline`` or a ``--half`` model) takes ``image`` and returns ``P``. The batch
dimension is dynamic. The preprocessing (crop, views, normalisation) stays outside the graph: see the
checkpoint's config (``framing``, ``image_size``, ``mean``, ``std``, ``half``), which is also stored in the
ONNX metadata as JSON under ``halfface_config``.

Uses ``torch.onnx.export`` (the TorchDynamo exporter, torch ≥ 2.9 default, which needs ``onnxscript``) and
checks the file with ``onnxruntime`` on a random batch: the largest absolute difference to PyTorch must be
below ``--atol`` (1e-4). Install with ``pip install -e '.[export]'`` (onnx, onnxscript, onnxruntime).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from halfface.cli import UserError, run_main
from recognition.runio import load_checkpoint


class _Graph(torch.nn.Module):
    """The model with its dict output flattened to the tuple ONNX needs."""

    def __init__(self, model, views: int, weights: bool):
        super().__init__()
        self.model, self.views, self.weights = model, views, weights

    def forward(self, whole, left=None, right=None):
        out = self.model(whole, left, right)
        return (out["logits"], out["w_left"], out["w_right"]) if self.weights else (out["logits"],)


def io_names(config: dict, model) -> tuple[list[str], list[str]]:
    from recognition.inputs import input_views

    probe = torch.zeros(1, 8, 8, dtype=torch.uint8)
    views = input_views(probe, torch.full((1, 2), 3.5), dict(config, image_size=33), train=False)
    three = views[1] is not None
    weights = three and getattr(model, "attention", None) is not None
    return (["whole", "left", "right"] if three else ["image"]), (["P", "w_left", "w_right"] if weights else ["P"])


def export(checkpoint, onnx_path, *, batch: int = 2, atol: float = 1e-4, seed: int = 0) -> dict:
    """Write ``onnx_path`` and compare onnxruntime with PyTorch; returns the check's numbers."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError as e:
        raise UserError(f"ONNX export needs onnx, onnxscript and onnxruntime ({e}): pip install -e '.[export]'") from None
    model, config, _ = load_checkpoint(checkpoint, map_location="cpu")
    model.eval()
    inputs, outputs = io_names(config, model)
    graph = _Graph(model, len(inputs), len(outputs) == 3).eval()
    size = int(config["image_size"])
    g = torch.Generator().manual_seed(seed)
    x = tuple(torch.randn(batch, 3, size, size, generator=g) for _ in inputs)
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    batch_dim = torch.export.Dim("batch", min=1)
    dims = {name: {0: batch_dim} for name in ("whole", "left", "right")[:len(inputs)]}
    try:
        program = torch.onnx.export(graph, x, dynamo=True, input_names=inputs, output_names=outputs,
                                    dynamic_shapes=dims, external_data=False)
        program.save(str(onnx_path), external_data=False)
    except ImportError as e:  # the dynamo exporter imports onnxscript lazily
        raise UserError(f"ONNX export needs onnxscript ({e}): pip install -e '.[export]'") from None
    proto = onnx.load(str(onnx_path))
    meta = proto.metadata_props.add()
    meta.key, meta.value = "halfface_config", json.dumps(config, default=str)
    onnx.save(proto, str(onnx_path))
    onnx.checker.check_model(str(onnx_path))

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    diff = 0.0
    for xs in (x, tuple(torch.randn(batch + 1, 3, size, size, generator=g) for _ in inputs)):  # batch is dynamic
        with torch.no_grad():
            want = [t.numpy() for t in graph(*xs)]
        try:
            got = session.run(outputs, {n: t.numpy() for n, t in zip(inputs, xs)})
        except Exception as e:  # noqa: BLE001 - onnxruntime's own error types
            raise UserError(f"{onnx_path}: onnxruntime cannot run a batch of {len(xs[0])} ({str(e)[:160]})") from None
        diff = max(diff, *(float(abs(a - b).max()) for a, b in zip(want, got)))
    result = {"onnx": str(onnx_path), "inputs": inputs, "outputs": outputs, "batch": batch, "image_size": size,
              "max_abs_diff": diff, "atol": atol, "ok": diff <= atol}
    if not result["ok"]:
        raise UserError(f"{onnx_path}: onnxruntime differs from PyTorch by {diff:.2e} > {atol:g}")
    return result


@run_main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recognition.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint_best.pt / checkpoint_last.pt from recognition.train")
    ap.add_argument("--onnx", required=True, help="the .onnx file to write")
    ap.add_argument("--batch", type=int, default=2, help="batch of the PyTorch/onnxruntime check (default 2)")
    ap.add_argument("--atol", type=float, default=1e-4)
    args = ap.parse_args(argv)
    r = export(args.checkpoint, args.onnx, batch=args.batch, atol=args.atol)
    print(f"wrote {r['onnx']}: inputs {', '.join(r['inputs'])} → outputs {', '.join(r['outputs'])}; "
          f"onnxruntime vs PyTorch max |diff| {r['max_abs_diff']:.2e} (≤ {r['atol']:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
