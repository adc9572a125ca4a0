"""Throughput of ``python -m stimuli build`` on 512 px portrait photos.

Generates N demo photos (variants of the shipped public-domain portrait,
512x512 px) in a temporary folder, then times ``stimuli.build.build`` on
them; photo generation is not timed. Prints photos/s for the whole build
(including worker start-up and model loading) and for the steady state
(the build time minus a 1-photo build with the same worker count, which
holds the fixed costs).

    python benchmarks/bench_stimuli.py --photos 200 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stimuli.build import build  # noqa: E402
from stimuli.demo import write_demo  # noqa: E402
from stimuli.labels import EMOTIONS  # noqa: E402


def timed_build(photos: Path, labels: Path, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    build(photos, labels, out, size=512, workers=workers, progress=False, log=lambda _m: None)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=140, help="number of photos (default 140, the paper's 7x10x2 stimuli)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = p.parse_args()
    per_emotion = max(1, -(-args.photos // len(EMOTIONS)))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        labels = write_demo(tmp / "demo", per_emotion, size=512)
        n = per_emotion * len(EMOTIONS)
        one = tmp / "one.csv"
        one.write_text("\n".join(labels.read_text().splitlines()[:2]) + "\n")
        fixed = timed_build(labels.parent / "photos", one, tmp / "out1", args.workers)
        total = timed_build(labels.parent / "photos", labels, tmp / "out", args.workers)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{n} photos of 512x512 px, {args.workers} workers, {cpus} CPUs visible")
    print(f"build wall time: {total:.2f} s -> {n / total:.1f} photos/s (including start-up)")
    print(f"fixed start-up (1-photo build): {fixed:.2f} s -> steady state {n / max(total - fixed, 1e-9):.1f} photos/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
