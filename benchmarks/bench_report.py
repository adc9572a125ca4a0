"""Time `python -m analysis.report` on 18 × 140 simulated trials (mixed models included).

    python benchmarks/bench_report.py [--participants 18] [--repeats 3]

Each repeat runs the report CLI in a fresh interpreter (imports included, as a
user would run it) and prints its wall-clock seconds; the target is ≤ 10 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=18)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed (exit 1 if the median exceeds it)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        logs, out = Path(tmp) / "logs", Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "analysis.simulate", "--participants", str(args.participants),
                        "--out", str(logs), "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        times, cpus = [], []
        for _ in range(args.repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "analysis.report", str(logs), "--out", str(out),
                            "--include-simulated"], check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU seconds do not grow when other jobs share the cores; wall time does.
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    times.sort()
    median = times[len(times) // 2]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"report for {args.participants} x 140 trials: " + ", ".join(f"{t:.2f}" for t in times)
          + f" s wall (median {median:.2f} s, limit {args.limit:.0f} s); CPU "
          + ", ".join(f"{c:.2f}" for c in cpus) + f" s; {os.cpu_count()} CPUs, load avg {load:.2f}")
    return 0 if median <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
