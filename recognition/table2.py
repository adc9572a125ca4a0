"""The paper's Table 2 on a lab's own stimuli (and Table 3 on FER2013): left- vs right-half accuracy.

    python -m recognition.table2 --data OUT/manifest.csv --arch alexnet,resnet18 --folds 10 --seeds 5 --out runs/t2
    python -m recognition.table2 --dataset fer2013 --data data/fer2013.csv --arch resnet18 --seeds 3 --out runs/t3

Table 2 (Huang & Yang 2024): plain AlexNet and ResNet trained on the 140 half-face stimuli of the behavioural
experiment, 10-fold cross-validation: left halves 77.6 % / 84.7 %, right halves 73.7 % / 79.3 %. Here, for
each architecture and each half, one network per (fold, seed) is trained on that half's stimuli of the
training photos and tested on the same half of the held-out photos (folds stratified by emotion and grouped
by the poser's ``identity`` when the manifest names posers, else by photo; each seed draws a new partition and
new initial weights: repeated k-fold CV). A fold's accuracy is that of the final epoch (``--select last``) or
of the epoch chosen on a nested inner split (``--select inner``), never the best epoch on the fold itself.

Reported per architecture and half: accuracy and balanced accuracy (mean ± sd over seeds, each seed pooled
over its folds; sd "–" for one seed) beside chance and the paper's number, with the runs that collapsed to
one class or stayed within noise of chance counted. Left vs right: the exact McNemar test over photos (each
half of a photo counted recognised when most seeds recognised it) is the inference; the Nadeau–Bengio
corrected resampled t over the (fold, seed) pairs is the fold-level alternative. Table 3
(``--dataset fer2013``): one network per seed on all / left / right faces (Training → PublicTest).

Writes ``DIR/table2.md``, ``table2.csv`` (one row per architecture and condition), ``runs.csv`` (every run:
accuracy, balanced accuracy, chance, collapsed, near_chance), ``predictions.csv`` (every run's out-of-fold
prediction per stimulus: photo_id, identity, half, seed, fold, true, predicted, probabilities),
``table2.json`` and ``fig4.png`` (matplotlib optional), and one folder per run
(``DIR/<arch>/<condition>/fold<k>_seed<s>/``, or ``seed<s>/`` without folds: config, metrics, summary,
predictions; no checkpoints unless ``--keep-checkpoints``). Rerunning with the same ``--out`` keeps finished
runs (more seeds may be added); other settings there are a one-line error.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

from halfface import execution
from halfface.cli import UserError, run_main
from recognition import runio, stats
from recognition.config import complete
from recognition.data import DATASETS, STIMULUS_ROWS
from recognition.model import ARCHS
from recognition.plots import halves_figure
from recognition.train import finished_run, run, subrun_dir

# accuracy (%) in Huang & Yang (2024): Table 2 (the lab's stimuli, 10-fold CV) and Table 3 (FER2013)
PAPER = {"stimuli": {"alexnet": {"left": 77.6, "right": 73.7}, "resnet18": {"left": 84.7, "right": 79.3}},
         "fer2013": {"resnet18": {"all": 67.2, "left": 65.7, "right": 60.4}}}
CONDITIONS = ("all", "left", "right")


# ----------------------------------------------------------------------------------------------------------
# the networks: a list of independent tasks, each a call of train_network

def plan(args) -> list[dict]:
    """One task per network, (architecture, condition, seed, fold) order: the keyword arguments of
    ``train_network`` plus ``arch``/``condition`` for the table. Pure: plain values only."""
    tasks = []
    for arch in args.arch:
        for cond in args.conditions:
            cfg = group_config(args, arch, cond)
            for k in range(cfg["seeds"]):
                for fold in (range(cfg["folds"]) if cfg["folds"] > 1 else [None]):
                    seed = cfg["seed"] + k
                    tasks.append({"arch": arch, "condition": cond, "fold": fold, "cfg": dict(cfg, seed=seed),
                                  "out": str(subrun_dir(args.out / arch / cond, fold, seed))})
    return tasks


def group_config(args, arch: str, cond: str) -> dict:
    return complete(dict(
        dataset=args.dataset, data=args.data, arch=arch, half=None if cond == "all" else cond,
        folds=args.folds, seeds=args.seeds, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, image_size=args.image_size, channels=args.channels, select=args.select,
        stimulus_rows=args.stimulus_rows, pretrained=args.pretrained.get(arch), midline=args.midline,
        midlines=args.midlines, device=args.device, save="final" if args.keep_checkpoints else "none",
        lean=True, max_steps=args.max_steps))


def train_network(cfg: dict, out: str, fold: int | None) -> dict:
    """Train one network (one architecture, half, fold and seed) into ``out``, or reuse the finished run there.

    Plain arguments in, plain values out (picklable: a task for a process pool or a cluster queue). Writes
    ``out/summary.json`` and ``out/predictions.csv``; returns the summary with ``predictions`` (the
    out-of-fold rows of predictions.csv, as strings) and ``reused`` (True: the finished run was kept, not
    trained; the execution layer counts the task as computed either way, so run_table counts these).
    """
    out = Path(out)
    summary = finished_run(cfg, out)  # what run_or_reuse does, telling reuse from training
    reused = summary is not None
    if not reused:
        summary = run(cfg, out, fold=fold, resume=True)
    path = out / "predictions.csv"
    if not path.is_file():
        raise UserError(f"{out}: a finished run without predictions.csv (written by an older version); "
                        "use another --out")
    with open(path, newline="") as f:
        return dict(summary, predictions=list(csv.DictReader(f)), reused=reused)


def run_table(args, log) -> tuple[list[dict], list[dict]]:
    """Every network of the table (resumable): (tasks, their results), in the same order."""
    tasks = plan(args)
    for arch in args.arch:
        for cond in args.conditions:
            cfg = group_config(args, arch, cond)
            (args.out / arch / cond).mkdir(parents=True, exist_ok=True)
            runio.write_json(args.out / arch / cond / "config.json", cfg)  # --resume of train.py continues it
            log(f"{arch}, {cond}: {cfg['folds']} fold(s) × {cfg['seeds']} seed(s), {cfg['epochs']} epochs, "
                f"{cfg['image_size']} px, {'RGB' if cfg['channels'] == 3 else 'gray'}, select {cfg['select']}")
    # every network is one task of halfface.execution: here, in --jobs processes or on a Dask cluster
    keys = [task_key(t) for t in tasks]
    try:
        outcome = execution.run_tasks(network_task, keys, per_task={k: (t["cfg"], t["out"], t["fold"])
                                                                    for k, t in zip(keys, tasks)},
                                      backend=args.backend, desc="networks", log=log, fatal=(UserError,))
    except execution.ExecutionError as exc:  # no scheduler there, workers without this toolkit
        raise UserError(str(exc)) from None
    log(network_counts(outcome, keys, args.out))
    if outcome.failures:
        key, reason = next(iter(outcome.failures.items()))
        raise UserError(f"{len(outcome.failures)} of {len(keys)} network(s) failed after {args.backend.retries} "
                        f"retries, e.g. {'/'.join(map(str, key))}: {reason}; rerun with the same --out to try them "
                        "again (finished runs are kept)")
    return tasks, [outcome.results[k] for k in keys]


def network_counts(outcome, keys, out) -> str:
    """The run's one-line count. The execution layer's summary counts a network that train_network reused
    from a finished run in --out as computed (the reuse happens inside the task): this line tells them apart."""
    reused = sum(1 for k in keys if k in outcome.results and outcome.results[k].get("reused"))
    trained = outcome.computed - reused
    line = (f"{len(keys)} network(s): {trained} trained on {outcome.where} in {outcome.seconds:.1f} s, "
            f"{reused} reused finished networks in {out}, {len(outcome.failures)} failed")
    if outcome.reused:  # results read back from an execution store (none today: table2 passes no store)
        line += f", {outcome.reused} kept from an earlier run's store"
    return line


def task_key(task: dict) -> tuple:
    """(architecture, condition, fold, seed): names one network, wherever it is trained."""
    return task["arch"], task["condition"], task["fold"], task["cfg"]["seed"]


def network_task(key, _seed: int, cfg: dict, out: str, fold: int | None) -> dict:
    """One network as a task of ``halfface.execution``. Its seed is ``cfg['seed']`` (``--seed`` + k, part of its
    key), as in a local run. On CPU, torch's deterministic algorithms (and the layer's one thread per task) make
    a network's accuracy the same in this process, in a local worker or on a cluster worker."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    if str(cfg.get("device", "cpu")).startswith("cpu"):
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return train_network(cfg, out, fold)
    finally:
        torch.use_deterministic_algorithms(deterministic)


# ----------------------------------------------------------------------------------------------------------
# the numbers: pure functions of the runs' summaries and predictions

def collect(tasks: list[dict], results: list[dict]) -> tuple[list[dict], list[dict]]:
    """(one row per run for runs.csv, one row per out-of-fold prediction for predictions.csv)."""
    runs, preds = [], []
    for t, r in zip(tasks, results):
        p = r["predictions"]
        flags = stats.chance_flags([x["true"] for x in p], [x["predicted"] for x in p])
        runs.append({"arch": t["arch"], "condition": t["condition"],
                     "fold": "" if t["fold"] is None else t["fold"] + 1, "seed": t["cfg"]["seed"],
                     "accuracy": r["accuracy"], "balanced_accuracy": flags["balanced_accuracy"],
                     "chance": flags["chance"], "collapsed": int(flags["collapsed"]),
                     "near_chance": int(flags["near_chance"]), "correct": r["correct"], "n": r["n_evaluated"],
                     "n_trained": r.get("n_trained"), "macro_f1": r["macro_f1"], "epoch": r["accuracy_epoch"],
                     "grouping": r.get("grouping", "")})
        preds += [{"arch": t["arch"], "condition": t["condition"], **{k: v for k, v in x.items() if k != "arch"}}
                  for x in p]
    return runs, preds


def table_rows(runs: list[dict], preds: list[dict], dataset: str) -> list[dict]:
    """Per (architecture, condition): mean ± sd over seeds of accuracy and balanced accuracy (each seed pooled
    over its folds), chance (1/K classes present), and how many runs collapsed or stayed near chance."""
    rows = []
    for arch, cond in dict.fromkeys((r["arch"], r["condition"]) for r in runs):
        mine = [r for r in runs if (r["arch"], r["condition"]) == (arch, cond)]
        p = [x for x in preds if (x["arch"], x["condition"]) == (arch, cond)]
        seeds = sorted({r["seed"] for r in mine})
        acc, bacc = [], []
        for s in seeds:
            ps = [x for x in p if int(x["seed"]) == s]
            acc.append(sum(x["true"] == x["predicted"] for x in ps) / max(1, len(ps)))
            bacc.append(stats.chance_flags([x["true"] for x in ps], [x["predicted"] for x in ps])["balanced_accuracy"])
        (mean, sd), (bmean, bsd) = stats.mean_sd(acc), stats.mean_sd(bacc)
        pct = lambda v: None if v is None else 100 * v  # noqa: E731
        rows.append({"arch": arch, "condition": cond, "mean": pct(mean), "sd": pct(sd), "balanced_mean": pct(bmean),
                     "balanced_sd": pct(bsd), "chance": 100 / len({x["true"] for x in p}),
                     "paper": PAPER.get(dataset, {}).get(arch, {}).get(cond), "seeds": len(seeds),
                     "folds": max(1, len({r["fold"] for r in mine})), "runs": len(mine),
                     "collapsed": sum(r["collapsed"] for r in mine), "near_chance": sum(r["near_chance"] for r in mine)})
    return rows


def comparisons(runs: list[dict], preds: list[dict]) -> list[dict]:
    """Left vs right per architecture.

    Inference, per photo: each photo's left and right half count as recognised when most seeds recognised
    them (``stats.majority``), then the exact McNemar test over photos (``stats.mcnemar_exact``). Photos are
    what the table generalises over; seeds re-measure the same photos, so they are pooled, not counted.
    Fold-level alternative: Nadeau & Bengio's corrected resampled t over the (fold, seed) accuracy differences,
    with n_test/n_train from the runs (``stats.corrected_resampled_t``).
    """
    out = []
    for arch in dict.fromkeys(r["arch"] for r in runs):
        by = {c: [x for x in preds if x["arch"] == arch and x["condition"] == c] for c in ("left", "right")}
        if not by["left"] or not by["right"]:
            continue
        photo = "photo_id" if "photo_id" in by["left"][0] else "index"
        correct = {}
        for c, rows in by.items():
            for x in rows:
                correct.setdefault(c, {}).setdefault(x[photo], []).append(x["true"] == x["predicted"])
        photos = sorted(set(correct["left"]) & set(correct["right"]))
        mc = stats.mcnemar_exact([stats.majority(correct["left"][k]) for k in photos],
                                 [stats.majority(correct["right"][k]) for k in photos])
        key = lambda r: (r["fold"], r["seed"])  # noqa: E731
        left = {key(r): r for r in runs if r["arch"] == arch and r["condition"] == "left"}
        right = {key(r): r for r in runs if r["arch"] == arch and r["condition"] == "right"}
        pairs = sorted(set(left) & set(right), key=lambda k: (k[1], str(k[0])))
        n_test = sum(left[k]["n"] for k in pairs)
        n_train = sum(left[k]["n_trained"] or 0 for k in pairs)
        nb = stats.corrected_resampled_t([left[k]["accuracy"] - right[k]["accuracy"] for k in pairs],
                                         n_test / n_train if n_train else float("nan"))
        out.append({"arch": arch, "photos": len(photos), "photo_key": photo, "pairs": len(pairs),
                    "seeds": len({k[1] for k in pairs}), "mcnemar": mc, "nadeau_bengio": nb,
                    "inference": "mcnemar"})
    return out


# ----------------------------------------------------------------------------------------------------------
# the files

def _pm(mean, sd) -> str:
    return f"{mean:.1f} ± {'–' if sd is None else f'{sd:.1f}'}"


def render_markdown(rows, comps, args, seconds, grouping: str = "") -> str:
    dataset = args.dataset
    name = "Table 2 (a lab's half-face stimuli)" if dataset == "stimuli" else f"Table 3 ({dataset})"
    unit = (f"{args.folds}-fold CV, {grouping or 'grouped by photo'}" if args.folds > 1 else "train → val split")
    lines = [f"# {name}: accuracy (%) by half-face", "",
             f"Data: `{args.data}`; {unit}; {args.seeds} seed(s); {args.epochs} epochs; "
             f"{'final epoch' if args.select == 'last' else 'epoch chosen on an inner split (nested)'} (never the "
             f"best epoch on the evaluated fold); mean ± sd over seeds of each seed's "
             f"{'out-of-fold ' if args.folds > 1 else ''}accuracy (– : one seed, no spread measured). "
             f"Wall time {seconds / 60:.1f} min on {args.device}.", "",
             "| architecture | condition | accuracy | balanced accuracy | chance | paper | seeds | runs | "
             "collapsed | near chance |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        paper = "–" if r["paper"] is None else f"{r['paper']:.1f}"
        lines.append(f"| {r['arch']} | {r['condition']} | {_pm(r['mean'], r['sd'])} | "
                     f"{_pm(r['balanced_mean'], r['balanced_sd'])} | {r['chance']:.1f} | {paper} | {r['seeds']} | "
                     f"{r['runs']} | {r['collapsed']} | {r['near_chance']} |")
    flagged = {}
    for r in rows:
        f = flagged.setdefault(r["arch"], [0, 0, 0])
        f[0], f[1], f[2] = f[0] + r["collapsed"], f[1] + r["near_chance"], f[2] + r["runs"]
    lines += ["", "Collapsed: every prediction one class. Near chance: balanced accuracy within two binomial "
              "standard errors of chance on the run's test fold. Per architecture: " + "; ".join(
                  f"{a} {c} of {n} runs collapsed, {nc} of {n} near chance" for a, (c, nc, n) in flagged.items())
              + "."]
    if any(r["collapsed"] or r["near_chance"] for r in rows):
        lines += ["", "**Runs at chance are not evidence about the halves**: train longer, or larger images, "
                  "before reading the left/right difference."]
    if comps:
        lines += ["", "Left vs right (inference: exact McNemar over photos):", "",
                  "| architecture | photos | left recognised | right recognised | left only / right only | "
                  "McNemar exact p (inference) | corrected resampled t | p (t) |",
                  "|---|---:|---:|---:|---|---:|---:|---:|"]
        for c in comps:
            m, t = c["mcnemar"], c["nadeau_bengio"]
            tt = "–" if t["t"] is None else f"t({t['df']}) = {t['t']:.2f}"
            tp = "–" if t["p"] is None else f"{t['p']:.3g}"
            la = "–" if m["accuracy_a"] is None else f"{100 * m['accuracy_a']:.1f} %"
            ra = "–" if m["accuracy_b"] is None else f"{100 * m['accuracy_b']:.1f} %"
            lines.append(f"| {c['arch']} | {c['photos']} | {la} | {ra} | {m['a_only']} / {m['b_only']} | "
                         f"{m['p']:.3g} | {tt} | {tp} |")
        lines += ["", "Inference: the exact McNemar test over photos; a photo's half counts as recognised when "
                  "more than half of the seeds recognised it (a tie, possible with an even number of seeds, "
                  "counts as not recognised). The corrected resampled t (Nadeau & Bengio 2003) over the "
                  f"{comps[0]['pairs']} (fold, seed) accuracy differences is the fold-level alternative; the runs "
                  "share training photos, so a plain paired t over folds would overstate the evidence and is not "
                  "reported. Left/right is the poser's anatomical half (visible_half)."]
    if any(r["paper"] is not None for r in rows):
        lines += ["", "Paper: Huang & Yang (2024), Applied Sciences, Table 2 (stimuli) / Table 3 (FER2013). Our "
                  "networks start from " + ("the given --pretrained weights." if args.pretrained else
                                            "scratch unless torchvision's ImageNet files are in the torch hub cache "
                                            "(each run's summary.json says which).")]
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: ("" if v is None else round(v, 6) if isinstance(v, float) else v) for k, v in r.items()}
                    for r in rows)


def write_outputs(out: Path, rows, comps, runs, preds, args, seconds, grouping) -> list[str]:
    notes = []
    _write_csv(out / "table2.csv", rows)
    _write_csv(out / "runs.csv", runs)
    _write_csv(out / "predictions.csv", preds)
    (out / "table2.md").write_text(render_markdown(rows, comps, args, seconds, grouping))
    runio.write_json(out / "table2.json", {"rows": rows, "comparisons": comps, "seconds": seconds,
                                           "grouping": grouping,
                                           "settings": {k: str(v) for k, v in vars(args).items()}})
    title = ("Table 2: half-face stimuli" if args.dataset == "stimuli" else f"Table 3: {args.dataset}") + \
        f", {args.folds}-fold × {args.seeds} seed(s), {args.epochs} epochs\n(bars: ours, mean ± sd over seeds; " \
        "black ticks: the paper)"
    chance = rows[0]["chance"] if rows else None
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
    execution.add_arguments(ap, jobs_default=1, what="networks")  # on a cluster: --data, --out on a shared disk
    a = ap.parse_args(argv)
    try:
        a.backend = execution.backend_from_args(a)
    except execution.ExecutionError as exc:
        raise UserError(str(exc)) from None
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
    a.out = Path(a.out).absolute()  # a worker in another folder writes the same run folders
    runio.check_out_folder(a.out)
    return a


@run_main
def main(argv=None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    log = runio.logger(args.out / "table2.log")
    t0 = time.time()
    tasks, results = run_table(args, log)
    seconds = time.time() - t0
    runs, preds = collect(tasks, results)
    grouping = next((r["grouping"] for r in runs if r["grouping"]), "")
    if grouping:
        log(f"folds {grouping}")
    rows, comps = table_rows(runs, preds, args.dataset), comparisons(runs, preds)
    for note in write_outputs(args.out, rows, comps, runs, preds, args, seconds, grouping):
        log(f"note: {note}")
    print((args.out / "table2.md").read_text())
    print(f"wrote {args.out}/table2.md, table2.csv, runs.csv, predictions.csv, table2.json"
          + ("" if not (args.out / "fig4.png").exists() else ", fig4.png") + f" ({seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
