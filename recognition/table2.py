"""The paper's Table 2 on a lab's own stimuli (and Table 3 on FER2013): left- vs right-half accuracy.

    python -m recognition.table2 --data OUT/manifest.csv --arch alexnet,resnet18 --folds 10 --seeds 5 --out runs/t2
    python -m recognition.table2 --dataset fer2013 --data data/fer2013.csv --arch resnet18 --seeds 3 --out runs/t3

Table 2 (Huang & Yang 2024): plain AlexNet and ResNet trained on the 140 half-face stimuli of the behavioural
experiment, 10-fold cross-validation: left halves 77.6 % / 84.7 %, right halves 73.7 % / 79.3 %. Here, for
each architecture and each half, one network per (fold, seed) is trained on that half's stimuli of the
training photos and tested on the same half of the held-out photos (folds stratified by emotion and grouped
by photo; each seed draws a new partition and new initial weights: repeated k-fold CV). A fold's accuracy is
that of the final epoch (``--select last``) or of the epoch chosen on a nested inner split
(``--select inner``), never the best epoch on the fold itself.

Reported per architecture and half: mean ± sd over seeds of the cross-validated accuracy (correct / total
over all folds of a seed), beside the paper's number; and left vs right paired over the same folds and seeds:
the exact sign test (and a paired t-test when scipy is installed). Table 3 (``--dataset fer2013``): one
network per seed on all / left / right faces (Training → PublicTest), paired over seeds.

Writes ``DIR/table2.md``, ``table2.csv`` (one row per architecture and condition), ``runs.csv`` (every run's
accuracy), ``table2.json`` and ``fig4.png`` (matplotlib optional), and one folder per run
(``DIR/<arch>/<condition>/fold<k>_seed<s>/``, or ``seed<s>/`` without folds: config, metrics, summary; no
checkpoints unless ``--keep-checkpoints``). Rerunning with the same ``--out`` keeps finished runs (more seeds
may be added); other settings there are a one-line error.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

from recognition import runio, stats
from recognition.config import complete
from recognition.data import DATASETS, STIMULUS_ROWS
from recognition.errors import UserError
from recognition.model import ARCHS
from recognition.plots import halves_figure
from recognition.train import run_all

# accuracy (%) in Huang & Yang (2024): Table 2 (the lab's stimuli, 10-fold CV) and Table 3 (FER2013)
PAPER = {"stimuli": {"alexnet": {"left": 77.6, "right": 73.7}, "resnet18": {"left": 84.7, "right": 79.3}},
         "fer2013": {"resnet18": {"all": 67.2, "left": 65.7, "right": 60.4}}}
CONDITIONS = ("all", "left", "right")


def run_table(args, log) -> dict:
    """Train every (architecture, condition, fold, seed) and collect the accuracies (resumable)."""
    results = {}
    for arch in args.arch:
        for cond in args.conditions:
            cfg = complete(dict(
                dataset=args.dataset, data=args.data, arch=arch, half=None if cond == "all" else cond,
                folds=args.folds, seeds=args.seeds, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                lr=args.lr, image_size=args.image_size, channels=args.channels, select=args.select,
                stimulus_rows=args.stimulus_rows, pretrained=args.pretrained.get(arch), midline=args.midline,
                midlines=args.midlines, device=args.device, save="final" if args.keep_checkpoints else "none",
                lean=True, max_steps=args.max_steps))
            t0 = time.time()
            log(f"{arch}, {cond}: {cfg['folds']} fold(s) × {cfg['seeds']} seed(s), {cfg['epochs']} epochs, "
                f"{cfg['image_size']} px, {'RGB' if cfg['channels'] == 3 else 'gray'}, select {cfg['select']}")
            summary = run_all(cfg, args.out / arch / cond, resume=True, subruns=True)  # one seed: seed<s>/ too
            results[(arch, cond)] = dict(summary, seconds=time.time() - t0)
    return results


def table_rows(results: dict, dataset: str) -> list[dict]:
    rows = []
    for (arch, cond), s in results.items():
        mean, sd = stats.mean_sd(s["accuracy_per_seed"])
        rows.append({"arch": arch, "condition": cond, "mean": 100 * mean, "sd": 100 * sd,
                     "seeds": len(s["accuracy_per_seed"]), "folds": s["folds"], "runs": s["runs"],
                     "selection": s["selection"], "paper": PAPER.get(dataset, {}).get(arch, {}).get(cond),
                     "seconds": s.get("seconds")})
    return rows


def comparisons(results: dict) -> list[dict]:
    """Left vs right per architecture, paired over the same (fold, seed)."""
    out = []
    for arch in dict.fromkeys(a for a, _ in results):
        if (arch, "left") not in results or (arch, "right") not in results:
            continue
        key = lambda r: (r["fold"], r["seed"])  # noqa: E731
        left = {key(r): r["accuracy"] for r in results[(arch, "left")]["per_run"]}
        right = {key(r): r["accuracy"] for r in results[(arch, "right")]["per_run"]}
        pairs = sorted(set(left) & set(right), key=lambda k: (k[1], -1 if k[0] is None else k[0]))
        a, b = [left[k] for k in pairs], [right[k] for k in pairs]
        out.append({"arch": arch, "pairs": len(pairs), "left_minus_right_mean": 100 * stats.mean_sd(
            [x - y for x, y in zip(a, b)])[0] if pairs else None, "sign": stats.sign_test(a, b),
            "t": stats.paired_t(a, b)})
    return out


def render_markdown(rows, comps, args, seconds) -> str:
    dataset = args.dataset
    name = "Table 2 (a lab's half-face stimuli)" if dataset == "stimuli" else f"Table 3 ({dataset})"
    unit = (f"{args.folds}-fold CV, grouped by photo" if args.folds > 1 else "train → val split")
    lines = [f"# {name}: accuracy (%) by half-face", "",
             f"Data: `{args.data}`; {unit}; {args.seeds} seed(s); {args.epochs} epochs; "
             f"{rows[0]['selection'] if rows else ''} (never the best epoch on the evaluated fold); "
             f"mean ± sd over seeds of each seed's accuracy{' pooled over folds' if args.folds > 1 else ''}. "
             f"Wall time {seconds / 60:.1f} min on {args.device}.", "",
             "| architecture | condition | ours: mean ± sd (%) | paper (%) | seeds | runs |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        paper = "–" if r["paper"] is None else f"{r['paper']:.1f}"
        lines.append(f"| {r['arch']} | {r['condition']} | {r['mean']:.1f} ± {r['sd']:.1f} | {paper} | "
                     f"{r['seeds']} | {r['runs']} |")
    if comps:
        lines += ["", "Left vs right, paired over the same folds and seeds:", "",
                  "| architecture | pairs | left − right (points) | left > right / < / ties | sign test p | "
                  "paired t | p (t) |", "|---|---:|---:|---|---:|---:|---:|"]
        for c in comps:
            s, t = c["sign"], c["t"]
            diff = "–" if c["left_minus_right_mean"] is None else f"{c['left_minus_right_mean']:+.1f}"
            tt = "–" if t["t"] is None else f"t({t['df']}) = {t['t']:.2f}"
            tp = "–" if t["p"] is None else f"{t['p']:.3g}"
            lines.append(f"| {c['arch']} | {c['pairs']} | {diff} | {s['a_greater']} / {s['b_greater']} / "
                         f"{s['ties']} | {s['p']:.3g} | {tt} | {tp} |")
        lines += ["", "The sign test is exact and two-sided" + ("; pairs share photos across seeds, so they are not "
                  "independent and p is optimistic" if args.seeds > 1 else "") +
                  ". Left/right is the poser's anatomical half (visible_half)."]
    if any(r["paper"] is not None for r in rows):
        lines += ["", "Paper: Huang & Yang (2024), Applied Sciences, Table 2 (stimuli) / Table 3 (FER2013). Our "
                  "networks start from " + ("the given --pretrained weights." if args.pretrained else
                                            "scratch unless torchvision's ImageNet files are in the torch hub cache "
                                            "(each run's summary.json says which).")]
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, rows, comps, results, args, seconds) -> list[str]:
    notes = []
    with open(out / "table2.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["arch", "condition", "mean", "sd", "paper", "seeds", "folds", "runs",
                                          "selection", "seconds"])
        w.writeheader()
        w.writerows({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch", "condition", "fold", "seed", "accuracy", "correct", "n", "mean_class_accuracy",
                    "macro_f1", "epoch"])
        for (arch, cond), s in results.items():
            for r in s["per_run"]:
                w.writerow([arch, cond, r["fold"], r["seed"], r["accuracy"], r["correct"], r["n_evaluated"],
                            r["mean_class_accuracy"], r["macro_f1"], r["accuracy_epoch"]])
    (out / "table2.md").write_text(render_markdown(rows, comps, args, seconds))
    runio.write_json(out / "table2.json", {"rows": rows, "comparisons": comps, "seconds": seconds,
                                           "settings": {k: str(v) for k, v in vars(args).items()}})
    title = ("Table 2: half-face stimuli" if args.dataset == "stimuli" else f"Table 3: {args.dataset}") + \
        f", {args.folds}-fold × {args.seeds} seed(s), {args.epochs} epochs\n(bars: ours, mean ± sd over seeds; " \
        "black ticks: the paper)"
    chance = 100 / 7 if args.dataset in ("stimuli", "fer2013", "rafdb") else None  # seven emotion classes
    note = halves_figure(out / "fig4.png", rows, title, chance)
    if note:
        notes.append(note)
    return notes


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m recognition.table2", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=DATASETS, default="stimuli")
    ap.add_argument("--data", required=True, help="stimuli: OUT/manifest.csv from python -m stimuli build")
    ap.add_argument("--arch", default="alexnet,resnet18", help="comma-separated: alexnet, resnet18, hsaw")
    ap.add_argument("--conditions", help="comma-separated of all,left,right (default: left,right for stimuli, "
                    "all,left,right otherwise)")
    ap.add_argument("--folds", type=int, help="k-fold CV (default 10 for stimuli, 1 = the val split otherwise)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, help="default: the paper's 0.01 for the plain networks (§3.2)")
    ap.add_argument("--image-size", type=int, help="default 100 for stimuli (Table 1), 224 otherwise")
    ap.add_argument("--channels", type=int, choices=[1, 3], help="default 3 (RGB) for stimuli, 1 otherwise")
    ap.add_argument("--select", choices=["last", "inner"], default="last")
    ap.add_argument("--stimulus-rows", choices=STIMULUS_ROWS, default="as-shot")
    ap.add_argument("--pretrained", action="append", default=[], metavar="ARCH=PATH",
                    help="torchvision ImageNet weights for an architecture, e.g. resnet18=resnet18-f37072fd.pth")
    ap.add_argument("--midline", choices=["center"])
    ap.add_argument("--midlines")
    ap.add_argument("--max-steps", type=int, help="cap steps per epoch (smoke runs)")
    ap.add_argument("--keep-checkpoints", action="store_true", help="keep each run's final checkpoint")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="runs/table2", help="output folder (default runs/table2)")
    a = ap.parse_args(argv)
    a.arch = [s.strip() for s in a.arch.split(",") if s.strip()]
    bad = [x for x in a.arch if x not in ARCHS]
    if bad or not a.arch:
        raise UserError(f"--arch {','.join(bad) or '(empty)'}: choose from {', '.join(ARCHS)}")
    a.conditions = [s.strip() for s in (a.conditions or ("left,right" if a.dataset == "stimuli" else
                                                         "all,left,right")).split(",") if s.strip()]
    if any(c not in CONDITIONS for c in a.conditions):
        raise UserError(f"--conditions {','.join(a.conditions)}: use all, left, right")
    if a.folds is None:
        a.folds = 10 if a.dataset == "stimuli" else 1
    if a.seeds < 1 or a.epochs < 1:
        raise UserError("--seeds and --epochs must be at least 1")
    pretrained = {}
    for item in a.pretrained:
        arch, _, path = item.partition("=")
        if arch not in ARCHS or not path:
            raise UserError(f"--pretrained {item}: use ARCH=PATH with ARCH one of {', '.join(ARCHS)}")
        pretrained[arch] = path
    a.pretrained = pretrained
    a.out = Path(a.out)
    return a


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        args.out.mkdir(parents=True, exist_ok=True)
        log = runio.logger(args.out / "table2.log")
        t0 = time.time()
        results = run_table(args, log)
        seconds = time.time() - t0
        rows, comps = table_rows(results, args.dataset), comparisons(results)
        for note in write_outputs(args.out, rows, comps, results, args, seconds):
            log(f"note: {note}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print((args.out / "table2.md").read_text())
    print(f"wrote {args.out}/table2.md, table2.csv, runs.csv, table2.json"
          + ("" if not (args.out / "fig4.png").exists() else ", fig4.png") + f" ({seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
