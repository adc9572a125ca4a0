"""Throughput of ``python -m stimuli build`` on 512 px portrait photos.

Generates N demo photos (variants of the shipped public-domain portrait,
512x512 px) in a temporary folder, then times ``stimuli.build.build`` on
them; photo generation is not timed. Prints photos/s for the whole build
(including worker start-up and model loading) and for the steady state
(the build time minus a 1-photo build with the same worker count, which
holds the fixed costs).

    python benchmarks/bench_stimuli.py --photos 140 --workers 2 --cpu
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from halfface.schema import EMOTIONS  # noqa: E402
from stimuli.build import build  # noqa: E402
from stimuli.demo import write_demo  # noqa: E402


def timed_build(photos: Path, labels: Path, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    build(photos, labels, out, size=512, workers=workers, progress=False, log=lambda _m: None)
    return time.perf_counter() - t0


def cpu_seconds_per_photo(photos: Path, labels: Path, out: Path, n: int) -> float:
    """CPU time of an in-process (1 worker) build, minus the 1-photo build's.

    On a shared machine wall time depends on the neighbours; CPU time per
    photo does not, and 2 / it is what 2 idle cores can reach at best.
    """
    one = labels.with_name("one_cpu.csv")
    one.write_text("\n".join(labels.read_text().splitlines()[:2]) + "\n")
    t0 = time.process_time()
    build(photos, one, out.with_name(out.name + "_1"), size=512, workers=1, progress=False, log=lambda _m: None)
    t1 = time.process_time()
    build(photos, labels, out, size=512, workers=1, progress=False, log=lambda _m: None)
    t2 = time.process_time()
    return ((t2 - t1) - (t1 - t0)) / (n - 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=140, help="number of photos (default 140, the paper's 7x10x2 stimuli)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--cpu", action="store_true", help="also measure CPU seconds per photo (in-process build)")
    args = p.parse_args()
    per_emotion = max(1, -(-args.photos // len(EMOTIONS)))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        labels = write_demo(tmp / "demo", per_emotion, size=512)
        n = per_emotion * len(EMOTIONS)
        one = tmp / "one.csv"
        one.write_text("\n".join(labels.read_text().splitlines()[:2]) + "\n")
        fixed = timed_build(labels.parent, one, tmp / "out1", args.workers)
        total = timed_build(labels.parent, labels, tmp / "out", args.workers)
        cpu = cpu_seconds_per_photo(labels.parent, labels, tmp / "cpu", n) if args.cpu else None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{n} photos of 512x512 px, {args.workers} workers, {cpus} CPUs visible")
    print(f"build wall time: {total:.2f} s -> {n / total:.1f} photos/s (including start-up)")
    print(f"fixed start-up (1-photo build): {fixed:.2f} s -> steady state {n / max(total - fixed, 1e-9):.1f} photos/s")
    if cpu is not None:
        print(f"CPU time per photo: {cpu * 1000:.1f} ms -> at most {2 / cpu:.1f} photos/s on 2 idle cores")
    try:
        print(f"load average during the run: {os.getloadavg()[0]:.2f} (other processes slow wall times)")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
