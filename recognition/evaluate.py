"""Evaluate a trained checkpoint: accuracy, per-class accuracy, confusion matrix, mean w_left/w_right per class.

    python -m recognition.evaluate RUN/checkpoint_best.pt --dataset fer2013 --data /data/fer2013.csv --split val

Writes ``eval_<split>.json``, ``confusion_<split>.csv`` and ``confusion_<split>.png`` next to the checkpoint
(or into ``--out``). The computation (``evaluate_model``, ``summarize``) is separate from the files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from recognition.augment import views
from recognition.data import DataError, FaceSet, load_faceset


def input_views(images_u8, nose_xy, config: dict, *, train: bool, generator=None):
    """(whole, left, right) model inputs for a batch, following the run's config (image size, half mode, half)."""
    whole, left, right = views(
        images_u8, nose_xy, size=int(config["image_size"]), train=train, half_mode=config.get("half_mode", "mask"),
        rotation=float(config.get("rotation", 20.0)), erase_p=float(config.get("erase_p", 0.5)),
        mean=tuple(config["mean"]), std=tuple(config["std"]), generator=generator)
    half = config.get("half")
    if half:  # Tables 2–3: a plain classifier that sees one half only
        return (left if half == "left" else right), None, None
    if config.get("variant") == "baseline":
        return whole, None, None
    return whole, left, right


@torch.no_grad()
def evaluate_model(model, faceset: FaceSet, config: dict, device, batch_size: int = 256) -> dict:
    """Device tensors: ``confusion`` [n,n] (rows true, cols predicted), ``w_left``/``w_right`` sums per true
    class (zeros when the variant has no attention), ``count`` per true class. No host sync inside."""
    n = len(faceset.class_names)
    model.eval()
    images = faceset.images.to(device)
    labels = faceset.labels.to(device)
    nose = faceset.nose_xy.to(device)
    confusion = torch.zeros(n * n, dtype=torch.long, device=device)
    w_left = torch.zeros(n, device=device)
    w_right = torch.zeros(n, device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if torch.device(device).type == "cuda" else _null()
    for start in range(0, len(faceset), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        whole, left, right = input_views(x, nose[start:start + batch_size], config, train=False)
        if torch.device(device).type == "cuda":
            whole, left, right = (None if t is None else t.contiguous(memory_format=torch.channels_last)
                                  for t in (whole, left, right))
        with amp:
            out = model(whole, left, right)
        pred = out["logits"].float().argmax(1)
        confusion += torch.bincount(y * n + pred, minlength=n * n)
        if out["w_left"] is not None:
            w_left.index_add_(0, y, out["w_left"].float())
            w_right.index_add_(0, y, out["w_right"].float())
    return {"confusion": confusion.view(n, n), "w_left": w_left, "w_right": w_right,
            "count": torch.bincount(labels, minlength=n)}


def summarize(result: dict, class_names: list[str], has_weights: bool) -> dict:
    """Plain numbers from ``evaluate_model``'s tensors (one host transfer)."""
    confusion = result["confusion"].cpu().numpy()
    count = result["count"].cpu().numpy()
    correct = np.diag(confusion)
    per_class = {c: (float(correct[k] / count[k]) if count[k] else None) for k, c in enumerate(class_names)}
    out = {
        "n": int(count.sum()),
        "accuracy": float(correct.sum() / max(1, count.sum())),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
        "class_names": list(class_names),
    }
    if has_weights:
        wl, wr = result["w_left"].cpu().numpy(), result["w_right"].cpu().numpy()
        out["mean_w_left"] = {c: (float(wl[k] / count[k]) if count[k] else None) for k, c in enumerate(class_names)}
        out["mean_w_right"] = {c: (float(wr[k] / count[k]) if count[k] else None) for k, c in enumerate(class_names)}
        out["mean_w_left_all"] = float(wl.sum() / max(1, count.sum()))
        out["mean_w_right_all"] = float(wr.sum() / max(1, count.sum()))
    return out


def write_confusion(out_dir: Path, stem: str, summary: dict, title: str = "") -> None:
    """``<stem>.csv`` and ``<stem>.png`` (row-normalised colours, counts printed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = summary["class_names"]
    cm = np.asarray(summary["confusion"])
    header = "true\\pred," + ",".join(names)
    rows = [f"{names[i]}," + ",".join(str(v) for v in cm[i]) for i in range(len(names))]
    (out_dir / f"{stem}.csv").write_text("\n".join([header, *rows]) + "\n")
    norm = cm / np.maximum(1, cm.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.7 * len(names)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title or f"accuracy {summary['accuracy']:.3f} (n={summary['n']})")
    fig.tight_layout()
    fig.savefig(out_dir / f"{stem}.png", dpi=120)
    plt.close(fig)


def format_summary(summary: dict) -> str:
    lines = [f"accuracy {summary['accuracy']:.4f}  (n = {summary['n']})", "class          acc    w_left  w_right"]
    for c in summary["class_names"]:
        acc = summary["per_class_accuracy"][c]
        wl = summary.get("mean_w_left", {}).get(c)
        wr = summary.get("mean_w_right", {}).get(c)
        f = lambda v: "   -  " if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"{c:12s}  {f(acc)}  {f(wl)}   {f(wr)}")
    return "\n".join(lines)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main(argv=None) -> int:
    from recognition.train import UserError, attach_midlines, load_checkpoint

    ap = argparse.ArgumentParser(
        prog="python -m recognition.evaluate", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint_best.pt or checkpoint_last.pt from recognition.train")
    ap.add_argument("--dataset", required=True, choices=["fer2013", "rafdb", "folder", "synthetic"])
    ap.add_argument("--data", required=True, help="dataset file/folder (synthetic: a spec like n=256,size=48)")
    ap.add_argument("--split", default="val", help="train, val or test (default val)")
    ap.add_argument("--midlines", help="nose-tip cache (.npz) from python -m recognition.landmarks")
    ap.add_argument("--midline", choices=["center"], help="split every face at the image centre instead")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--out", help="folder for the outputs (default: the checkpoint's folder)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    try:
        model, config, _ = load_checkpoint(args.checkpoint, map_location="cpu")
        faceset = load_faceset(args.dataset, args.data, args.split)
        if faceset.class_names != config["class_names"]:
            raise UserError(f"{args.data}: classes {faceset.class_names} differ from the checkpoint's "
                            f"{config['class_names']}")
        midline_source = attach_midlines(faceset, args.dataset, args.data, args.split, args.midlines, args.midline)
        model.to(args.device)
        result = evaluate_model(model, faceset, config, args.device, args.batch_size)
    except (DataError, UserError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = summarize(result, faceset.class_names, model.attention is not None)
    summary.update(checkpoint=str(args.checkpoint), dataset=args.dataset, split=args.split,
                   midlines=midline_source, variant=config.get("variant"), half=config.get("half"))
    out_dir = Path(args.out) if args.out else Path(args.checkpoint).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"eval_{args.split}.json").write_text(json.dumps(summary, indent=2))
    write_confusion(out_dir, f"confusion_{args.split}", summary)
    print(format_summary(summary))
    print(f"wrote {out_dir / f'eval_{args.split}.json'}, confusion_{args.split}.csv/.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
