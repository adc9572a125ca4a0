#!/usr/bin/env python3
"""Turn a ``benchmarks/gpu_fer2013.sh`` output folder into the markdown tables of RESULTS.md.

    python benchmarks/collect_results.py OUT_DIR > OUT_DIR/results.md

Reads OUT_DIR/env.json (settings, card), OUT_DIR/bench.json (recognition.bench) and
OUT_DIR/runs/<name>/summary.json (+ runs/<name>.time, the script's wall clock) and prints our
PublicTest accuracies beside the paper's (Huang & Yang 2024, FER2013: Table 6 ablation, Table 3
halves). Missing pieces are shown as "not run" rather than left out. Standard library only.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

# Paper, FER2013 accuracy (%): Table 6 (ablation) and Table 3 (one half-face only).
PAPER_TABLE6 = {"baseline": 66.7, "attention": 69.4, "relabel": 65.9, "hsaw": 71.1}
PAPER_TABLE3 = {"all": 67.2, "left": 65.7, "right": 60.4}
LABELS = {"baseline": "baseline (ResNet18, whole face)", "attention": "+ self-attention weights & fusion",
          "relabel": "+ re-labelling", "hsaw": "HSAW (both)", "all": "plain ResNet18, whole face",
          "left": "left half only (poser's left)", "right": "right half only (poser's right)"}


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _pct(acc) -> float | None:
    if acc is None:
        return None
    return 100.0 * acc if acc <= 1.0 else float(acc)


def run_row(out: Path, name: str) -> dict:
    """One run's numbers (None where it has not finished)."""
    summary = _load(out / "runs" / name / "summary.json") or {}
    timing = _load(out / "runs" / f"{name}.time") or {}
    wall = timing["end"] - timing["start"] if "end" in timing and "start" in timing else None
    partial = None
    if not summary:  # stopped before the end: the best epoch so far, from metrics.csv
        summary, partial = _partial(out / "runs" / name)
    return {"name": name, "acc": _pct(summary.get("best_val_acc")), "epoch": summary.get("best_epoch"),
            "final": _pct(summary.get("final_val_acc")), "partial": partial,
            "params": summary.get("parameters"), "wall_s": wall,
            "train_s": summary.get("wall_time_s_this_session"), "from_scratch": summary.get("from_scratch"),
            "midlines": summary.get("midlines"), "relabeled": summary.get("labels_changed_total"),
            "exit_code": timing.get("exit_code")}


def _partial(run: Path) -> tuple[dict, str | None]:
    try:
        with open(run / "metrics.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("val_acc")]
        config = _load(run / "config.json") or {}
    except OSError:
        return {}, None
    if not rows:
        return {}, None
    best = max(rows, key=lambda r: float(r["val_acc"]))
    return ({"best_val_acc": float(best["val_acc"]), "best_epoch": int(best["epoch"])},
            f"partial: {rows[-1]['epoch']}/{config.get('epochs', '?')} epochs")


def _num(v, fmt: str, missing: str = "not run") -> str:
    return missing if v is None else format(v, fmt)


def table(out: Path, names: list[str], paper: dict[str, float]) -> list[str]:
    lines = ["| run | ours: PublicTest acc. (%) | paper (%) | best epoch | final epoch acc. (%) | parameters | "
             "wall time (s) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        r = run_row(out, name)
        missing = "failed" if r["exit_code"] not in (None, 0) else "not run"
        acc = _num(r["acc"], ".1f", missing) + (f" ({r['partial']})" if r["partial"] else "")
        lines.append(f"| {LABELS[name]} | {acc} | {paper[name]:.1f} | {_num(r['epoch'], 'd', '')} | "
                     f"{_num(r['final'], '.1f', '')} | {_num(r['params'], ',d', '')} | {_num(r['wall_s'], '.0f', '')} |")
    return lines


def bench_lines(bench: dict | None) -> list[str]:
    if not bench:
        return ["Throughput: not measured (no bench.json)."]
    lines = [f"Throughput on {bench['device_name']} (torch {bench['torch']}), HSAW training step, faces/s:", "",
             "| input | naive (fp32 eager, CPU DataLoader) | ours (device augment, bf16, channels_last"
             f"{', compile' if bench['ours'].get('compile') else ''}) | speed-up | peak memory naive / ours (GiB) |",
             "|---|---:|---:|---:|---:|"]
    for block in (bench, bench.get("reduced")):
        if not block:
            continue
        n, o = block["naive"], block["ours"]
        lines.append(f"| {block['image_size']} px | {n['faces_per_s']:,.0f} (batch {n['batch_size']}) | "
                     f"{o['faces_per_s']:,.0f} (batch {o['batch_size']}) | {block['ratio']:.2f}× | "
                     f"{n['peak_memory_bytes'] / 2**30:.1f} / {o['peak_memory_bytes'] / 2**30:.1f} |")
    return lines


def render(out: Path) -> str:
    env = _load(out / "env.json") or {}
    lines = [f"# FER2013 results from `{out.name}`", ""]
    if env:
        lines += [f"Card: {env.get('device')}; torch {env.get('torch')}; commit {env.get('commit')}; mode "
                  f"{env.get('mode')}: {env.get('image_size')} px, {env.get('epochs')} epochs, batch "
                  f"{env.get('batch_size')}, re-labelling from epoch {env.get('relabel_start')}, compile "
                  f"{env.get('compile')}, runs {'concurrent on one GPU' if env.get('parallel') else 'one at a time'}.",
                  ""]
    lines += bench_lines(_load(out / "bench.json")) + [""]
    lines += ["Table 6 (ablation), FER2013 Training → PublicTest (model selection and score on PublicTest, "
              "as in the paper; best epoch — optimistic, since the epoch is chosen on the split it is scored on; "
              "the final epoch's accuracy beside it):", ""]
    lines += table(out, list(PAPER_TABLE6), PAPER_TABLE6) + [""]
    lines += ["Table 3 (one half-face only, plain pooled ResNet18; `all` = whole face, not in the default RUNS):", ""]
    lines += table(out, list(PAPER_TABLE3), PAPER_TABLE3) + [""]
    notes = {run_row(out, n)["from_scratch"] for n in LABELS} - {None}
    if True in notes:
        lines.append("Weights: ResNet18 trained from scratch (no ImageNet weights on the machine); the paper "
                     "fine-tunes ImageNet weights.")
    mids = {run_row(out, n)["midlines"] for n in LABELS} - {None}
    if mids:
        lines.append(f"Midlines: {'; '.join(sorted(mids))}.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python benchmarks/collect_results.py OUT_DIR  (the folder gpu_fer2013.sh wrote)",
              file=sys.stderr)
        return 2
    sys.stdout.write(render(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
