"""Evaluate a trained checkpoint: accuracy, per-class accuracy, mean class accuracy, macro-F1, confusion matrix,
mean w_left/w_right per class.

    python -m recognition.evaluate RUN/checkpoint_best.pt --dataset fer2013 --data /data/fer2013.csv --split val
    python -m recognition.evaluate RUN/checkpoint_last.pt --dataset stimuli --data OUT/manifest.csv --split train

Writes ``eval_<split>.json``, ``confusion_<split>.csv`` (and ``.png`` when matplotlib is installed) next to the
checkpoint (or into ``--out``). The computation (``evaluate_model``, ``summarize``) is separate from the files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from halfface.cli import UserError, run_main
from recognition.data import DATASETS, FaceSet, load_faceset
from recognition.inputs import input_views
from recognition.plots import write_confusion
from recognition.prepare import attach_midlines
from recognition.runio import load_checkpoint


@torch.no_grad()
def evaluate_model(model, faceset: FaceSet, config: dict, device, batch_size: int = 256) -> dict:
    """Device tensors: ``confusion`` [n,n] (rows true, cols predicted), ``w_left``/``w_right`` sums per true
    class (zeros when the model has no attention), ``count`` per true class. No host sync inside."""
    n = len(faceset.class_names)
    model.eval()
    images = faceset.images.to(device)
    labels = faceset.labels.to(device)
    nose = faceset.nose_xy.to(device)
    confusion = torch.zeros(n * n, dtype=torch.long, device=device)
    w_left = torch.zeros(n, device=device)
    w_right = torch.zeros(n, device=device)
    cuda = torch.device(device).type == "cuda"
    for start in range(0, len(faceset), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        whole, left, right = input_views(x, nose[start:start + batch_size], config, train=False)
        if cuda:
            whole, left, right = (None if t is None else t.contiguous(memory_format=torch.channels_last)
                                  for t in (whole, left, right))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = model(whole, left, right)
        pred = out["logits"].float().argmax(1)
        confusion += torch.bincount(y * n + pred, minlength=n * n)
        if out["w_left"] is not None:
            w_left.index_add_(0, y, out["w_left"].float())
            w_right.index_add_(0, y, out["w_right"].float())
    return {"confusion": confusion.view(n, n), "w_left": w_left, "w_right": w_right,
            "count": torch.bincount(labels, minlength=n)}


@torch.no_grad()
def predict_probabilities(model, faceset: FaceSet, config: dict, device, batch_size: int = 256) -> torch.Tensor:
    """Softmax probabilities [N, n_classes] (float32, on the CPU) of every sample, in the set's order."""
    model.eval()
    images, nose = faceset.images.to(device), faceset.nose_xy.to(device)
    cuda = torch.device(device).type == "cuda"
    out = []
    for start in range(0, len(faceset), batch_size):
        views = input_views(images[start:start + batch_size], nose[start:start + batch_size], config, train=False)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out.append(model(*views)["logits"].float().softmax(1).cpu())
    return torch.cat(out) if out else torch.zeros(0, len(faceset.class_names))


def prediction_rows(faceset: FaceSet, probabilities, **fixed) -> list[dict]:
    """One dict per sample: ``fixed`` columns (run facts), index, the set's text columns (stimulus, photo_id,
    identity when the loader has them), true and predicted class names, and p_<class> for every class."""
    p = np.asarray(probabilities, dtype=float)
    names = faceset.class_names
    rows = []
    for i, (y, pi) in enumerate(zip(faceset.labels.tolist(), p)):
        row = dict(fixed, index=i, **{k: v[i] for k, v in faceset.columns.items()})
        row.update(true=names[y], predicted=names[int(pi.argmax())],
                   **{f"p_{c}": round(float(v), 6) for c, v in zip(names, pi)})
        rows.append(row)
    return rows


def classification_metrics(confusion: np.ndarray, class_names: list[str]) -> dict:
    """Accuracy, per-class accuracy (recall), mean class accuracy and macro-F1 from a confusion matrix.

    mean class accuracy = (1/K) Σ_k TP_k / n_k over the K classes present in the data (unweighted average
    recall: a model that always answers the majority class scores 1/K, not the majority rate);
    F1_k = 2·TP_k / (2·TP_k + FP_k + FN_k); macro-F1 averages F1_k over classes that occur in the data or
    the predictions (as scikit-learn's ``f1_score(average="macro")``; a class predicted but absent counts 0).
    """
    cm = np.asarray(confusion, dtype=np.int64)
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    recall = {c: (float(tp[k] / support[k]) if support[k] else None) for k, c in enumerate(class_names)}
    denom = 2 * tp + (predicted - tp) + (support - tp)
    f1 = {c: (float(2 * tp[k] / denom[k]) if denom[k] else None) for k, c in enumerate(class_names)}
    present = support > 0
    used = present | (predicted > 0)
    return {
        "n": int(support.sum()),
        "accuracy": float(tp.sum() / max(1, support.sum())),
        "per_class_accuracy": recall,
        "mean_class_accuracy": float(np.mean(tp[present] / support[present])) if present.any() else None,
        "per_class_f1": f1,
        "macro_f1": float(np.mean([f1[c] or 0.0 for k, c in enumerate(class_names) if used[k]])) if used.any() else None,
    }


def summarize(result: dict, class_names: list[str], has_weights: bool) -> dict:
    """Plain numbers from ``evaluate_model``'s tensors (one host transfer)."""
    confusion = result["confusion"].cpu().numpy()
    count = result["count"].cpu().numpy()
    out = classification_metrics(confusion, class_names)
    out.update(confusion=confusion.tolist(), class_names=list(class_names))
    if has_weights:
        wl, wr = result["w_left"].cpu().numpy(), result["w_right"].cpu().numpy()
        out["mean_w_left"] = {c: (float(wl[k] / count[k]) if count[k] else None) for k, c in enumerate(class_names)}
        out["mean_w_right"] = {c: (float(wr[k] / count[k]) if count[k] else None) for k, c in enumerate(class_names)}
        out["mean_w_left_all"] = float(wl.sum() / max(1, count.sum()))
        out["mean_w_right_all"] = float(wr.sum() / max(1, count.sum()))
    return out


def format_summary(summary: dict) -> str:
    f = lambda v: "   -  " if v is None else f"{v:.3f}"  # noqa: E731
    lines = [f"accuracy {summary['accuracy']:.4f}  mean class accuracy {f(summary['mean_class_accuracy'])}  "
             f"macro-F1 {f(summary['macro_f1'])}  (n = {summary['n']})",
             "class          acc     F1    w_left  w_right"]
    for c in summary["class_names"]:
        wl = summary.get("mean_w_left", {}).get(c)
        wr = summary.get("mean_w_right", {}).get(c)
        lines.append(f"{c:12s}  {f(summary['per_class_accuracy'][c])}  {f(summary['per_class_f1'][c])}  "
                     f"{f(wl)}   {f(wr)}")
    return "\n".join(lines)


@run_main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m recognition.evaluate", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint_best.pt or checkpoint_last.pt from recognition.train")
    ap.add_argument("--dataset", required=True, choices=DATASETS)
    ap.add_argument("--data", required=True, help="dataset file/folder (synthetic: a spec like n=256,size=48)")
    ap.add_argument("--split", help="train, val or test (default val; stimuli: train, their only split)")
    ap.add_argument("--midlines", help="nose-tip cache (.npz) from python -m recognition.landmarks")
    ap.add_argument("--midline", choices=["center"], help="split every face at the image centre instead "
                    "(default: as the checkpoint was trained)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--out", help="folder for the outputs (default: the checkpoint's folder)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    args.split = args.split or ("train" if args.dataset == "stimuli" else "val")
    model, config, _ = load_checkpoint(args.checkpoint, map_location="cpu")
    options = {}
    if args.dataset == "stimuli":  # the rows and size the model was trained on
        options = dict(half=config.get("half"), rows=config.get("stimulus_rows", "as-shot"),
                       side=int(config["image_size"]))
    faceset = load_faceset(args.dataset, args.data, args.split, channels=int(config.get("channels", 1)),
                           **options)
    if faceset.class_names != config["class_names"]:
        raise UserError(f"{args.data}: classes {faceset.class_names} differ from the checkpoint's "
                        f"{config['class_names']}")
    # a model trained with --midline center is evaluated on the same centre split unless told otherwise
    midline = args.midline or (None if args.midlines else config.get("midline"))
    midline_source = attach_midlines(faceset, args.dataset, args.data, args.split, args.midlines, midline)
    model.to(args.device)
    result = evaluate_model(model, faceset, config, args.device, args.batch_size)
    summary = summarize(result, faceset.class_names, model.attention is not None)
    summary.update(checkpoint=str(args.checkpoint), dataset=args.dataset, split=args.split,
                   midlines=midline_source, arch=config.get("arch", "hsaw"), variant=config.get("variant"),
                   half=config.get("half"))
    out_dir = Path(args.out) if args.out else Path(args.checkpoint).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"eval_{args.split}.json").write_text(json.dumps(summary, indent=2))
    note = write_confusion(out_dir, f"confusion_{args.split}", summary,
                           f"{summary['arch']} on {args.dataset} {args.split} split: accuracy "
                           f"{summary['accuracy']:.3f} (n={summary['n']})")
    print(format_summary(summary))
    print(f"wrote {out_dir / f'eval_{args.split}.json'}, confusion_{args.split}.csv" +
          ("/.png" if note is None else f" ({note})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
