"""How the report's time grows with the number of participants, beside R's lme4 + blme.

    python benchmarks/bench_report_scaling.py                      # 18 and 200 participants × 140 trials
    python benchmarks/bench_report_scaling.py --large 60 --repeats 3 --no-r

Simulates session logs for both sizes (``python -m analysis.simulate``, seed 1), runs
``python -m analysis.report`` on each in a fresh interpreter (imports included, as a
user runs it) and prints wall-clock and CPU seconds and the large/small ratios, all in
one run so that both sizes see the same machine. The goal (issue 17) is a ratio of at
most ``--limit`` (6); the exit code is 1 when the CPU ratio exceeds it (CPU seconds do
not grow when other jobs share the cores; wall time does). When ``Rscript`` with lme4,
lmerTest and blme is installed, ``benchmarks/bench_report_lme4.R`` fits the report's
five models (and the two glmer sensitivity fits) on the same logs and its times are
printed beside ours (``--no-r`` skips it).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def simulate(n: int, folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "analysis.simulate", "--participants", str(n), "--out", str(folder),
                    "--seed", "1"], check=True, stdout=subprocess.DEVNULL)


def time_report(logs: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``python -m analysis.report`` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis.report", str(logs), "--out", str(out), "--include-simulated"],
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def time_r(logs: Path) -> dict[str, tuple[float, float]] | None:
    """(CPU, wall) seconds per model from the R script, or None when R (or a package) is missing."""
    if shutil.which("Rscript") is None:
        return None
    run = subprocess.run(["Rscript", str(HERE / "bench_report_lme4.R"), str(logs)], capture_output=True, text=True)
    if run.returncode != 0:
        print(f"R benchmark skipped: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode}")
        return None
    return {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"^R (.+): ([\d.]+) s \(([\d.]+) s elapsed\)$", run.stdout, re.M)}


def median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=18, help="participants of the small study (default 18)")
    parser.add_argument("--large", type=int, default=200, help="participants of the large study (default 200)")
    parser.add_argument("--repeats", type=int, default=1, help="report runs per size; the median is used")
    parser.add_argument("--limit", type=float, default=6.0, help="largest acceptable large/small ratio (default 6)")
    parser.add_argument("--no-r", action="store_true", help="do not time R even when it is installed")
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.large):
            logs = Path(tmp) / f"logs{n}"
            simulate(n, logs)
            runs = [time_report(logs, Path(tmp) / f"out{n}") for _ in range(args.repeats)]
            rows[n] = {"wall": median([w for w, _ in runs]), "cpu": median([c for _, c in runs]),
                       "r": None if args.no_r else time_r(logs)}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python -m analysis.report, {os.cpu_count()} CPUs, load average {load:.2f} at the end:")
    for n, r in rows.items():
        line = f"  {n:>4} participants x 140 trials: {r['wall']:7.2f} s wall, {r['cpu']:7.2f} s CPU"
        if r["r"] and "five models" in r["r"] and "glmer sensitivity fits" in r["r"]:
            (c5, w5), (cg, wg) = r["r"]["five models"], r["r"]["glmer sensitivity fits"]
            line += (f"   | R lme4+blme, the five models: {w5:7.2f} s wall, {c5:7.2f} s CPU"
                     f" (+ the two glmer sensitivity fits: {wg:.2f} s wall, {cg:.2f} s CPU)")
        print(line)
    s, big = rows[args.small], rows[args.large]
    ratio_wall, ratio_cpu = big["wall"] / s["wall"], big["cpu"] / s["cpu"]
    print(f"  ratio {args.large}/{args.small}: {ratio_wall:.2f}x wall, {ratio_cpu:.2f}x CPU (limit {args.limit:g}x)")
    if s["r"] and big["r"] and "five models" in s["r"] and "five models" in big["r"]:
        (c_small, w_small), (c_big, w_big) = s["r"]["five models"], big["r"]["five models"]
        print(f"  R ratio {args.large}/{args.small}: {w_big / w_small:.2f}x wall, {c_big / c_small:.2f}x CPU "
              "(the five models)")
    return 0 if ratio_cpu <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
