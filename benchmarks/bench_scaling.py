"""The same analysis.power grid with --jobs 1, --jobs 2 and a 2-worker Dask cluster on loopback; projection.

    python benchmarks/bench_scaling.py --out out/bench_scaling                     # 4 sizes x 8 simulations
    python benchmarks/bench_scaling.py --participants 12,24 --sims 20 --out out/bench_scaling

Steps: simulate pilot logs (``analysis.simulate``), then run ``python -m analysis.power`` three times on
them, one after the other, into fresh output folders: in one process, in two local processes, and through
``--scheduler`` to a ``dask scheduler`` with two ``dask worker`` processes (one thread each) started here on
127.0.0.1. It checks that the three ``power_pvalues.csv`` are byte-identical, prints wall times, their
ratios and the load average around each run, and projects the full planning grid (``--plan-sizes`` ×
``--plan-effects`` × ``--plan-sims``) on N workers from (a) the CPU time of one simulated data set (the
execution layer records each task's CPU time on its worker; mean over the sizes, as the plan weighs them
equally), which does not depend on what else runs on the machine, plus (b) Dask's own cost per task,
measured with ``--overhead-tasks`` empty tasks on the same loopback cluster.

The wall times include each command's start-up and pilot fit (the same in all three); ``compute`` is the time
the execution layer reports for the tasks alone. On a machine shared with other jobs the wall-time ratios are
noisy (the load average shows how shared it was): run it on a quiet one for ratios to quote.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, **kw)


def start_cluster(folder: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    """`dask scheduler` and `dask worker --nthreads 1` processes on 127.0.0.1, as a user would start them."""
    file = folder / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(file)],
                              cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    deadline = time.time() + 60
    while not (file.exists() and file.stat().st_size):
        if time.time() > deadline:
            raise RuntimeError("the dask scheduler did not start in 60 s")
        time.sleep(0.2)
    address = json.loads(file.read_text())["address"]
    for i in range(workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                                       "--no-dashboard", "--name", f"bench-{i}"], cwd=ROOT, env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def noop(key, seed):
    """An empty task: what is left of its time on a cluster is Dask's cost per task."""
    return {"seed": seed}


def dask_overhead(address: str, n: int) -> float:
    """Seconds per empty task through the scheduler, both workers busy."""
    from halfface.execution import Backend, run_tasks

    backend = Backend(scheduler=address, progress=False)
    run_tasks(noop, [("warm", i) for i in range(20)], backend=backend, log=lambda m: None)
    out = run_tasks(noop, [("noop", i) for i in range(n)], backend=backend, log=lambda m: None)
    return out.seconds / n


def power_run(logs: Path, out: Path, grid: list[str], where: list[str]) -> dict:
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = run([sys.executable, "-m", "analysis.power", str(logs), *grid, "--include-simulated", "--no-progress",
               "--out", str(out), *where])
    wall = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"analysis.power {' '.join(where)} failed: {res.stderr[-1500:]}")
    m = re.search(r"(\d+) task\(s\): (\d+) computed on .* in ([\d.]+) s", res.stderr)
    records = [json.loads(line) for line in (out / "power_tasks.jsonl").read_text().splitlines()[1:]]
    return {"wall_s": wall, "compute_s": float(m.group(3)), "tasks": int(m.group(1)),
            "task_s": [r["seconds"] for r in records if r["ok"]],
            "cpu_s_by_size": _by_size(records, "cpu_seconds"),
            "load": (load_before, os.getloadavg()[0])}


def _by_size(records, field) -> dict:
    sizes = {}
    for r in records:
        if r["ok"]:
            sizes.setdefault(r["key"][0], []).append(r[field])
    return {n: statistics.mean(v) for n, v in sorted(sizes.items())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--participants", default="12,18,24,36", help="sizes of the benchmark grid (default 12,18,24,36)")
    ap.add_argument("--sims", type=int, default=8, help="simulations per size in the benchmark grid (default 8)")
    ap.add_argument("--pilot", type=int, default=18, help="participants of the simulated pilot (default 18)")
    ap.add_argument("--workers", type=int, default=2, help="Dask workers on loopback (default 2)")
    ap.add_argument("--overhead-tasks", type=int, default=200, help="empty tasks to time Dask's cost per task")
    ap.add_argument("--plan-sizes", type=int, default=4)
    ap.add_argument("--plan-effects", type=int, default=3)
    ap.add_argument("--plan-sims", type=int, default=1000)
    ap.add_argument("--out", default="out/bench_scaling")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} is not empty (each mode must start from nothing)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    res = run([sys.executable, "-m", "analysis.simulate", "--participants", str(args.pilot), "--out", str(out / "logs"),
               "--seed", "1"])
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        return 1
    grid = ["--participants", args.participants, "--sims", str(args.sims)]
    results = {}
    results["--jobs 1"] = power_run(out / "logs", out / "jobs1", grid, ["--jobs", "1"])
    results["--jobs 2"] = power_run(out / "logs", out / "jobs2", grid, ["--jobs", "2"])
    address, procs = start_cluster(out, args.workers)
    try:
        results[f"--scheduler ({args.workers} workers)"] = power_run(out / "logs", out / "dask", grid,
                                                                     ["--scheduler", address])
        overhead = dask_overhead(address, args.overhead_tasks) * args.workers  # per task and worker
    finally:
        for p in reversed(procs):  # only the processes started above, by id
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
    ref = (out / "jobs1" / "power_pvalues.csv").read_bytes()
    same = all((out / d / "power_pvalues.csv").read_bytes() == ref for d in ("jobs2", "dask"))
    base = results["--jobs 1"]
    n_tasks = base["tasks"]
    lines = [f"Grid: --participants {args.participants} --sims {args.sims} ({n_tasks} simulated data sets) on a "
             f"{args.pilot}-participant simulated pilot; {os.cpu_count()} CPU cores. p values identical in all three "
             f"runs: {'yes' if same else 'NO'}.", "",
             "| how | wall (s) | speed-up vs --jobs 1 | compute (s) | speed-up | mean task wall (s) | load average "
             "before → after |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['wall_s']:.1f} | {base['wall_s'] / r['wall_s']:.2f}x | {r['compute_s']:.1f} | "
                     f"{base['compute_s'] / r['compute_s']:.2f}x | {statistics.mean(r['task_s']):.2f} | "
                     f"{r['load'][0]:.1f} → {r['load'][1]:.1f} |")
    cpu = {n: statistics.mean([results[k]["cpu_s_by_size"][n] for k in results]) for n in base["cpu_s_by_size"]}
    per_task = statistics.mean(cpu.values())  # the plan weighs every size equally
    plan = args.plan_sizes * args.plan_effects * args.plan_sims
    lines += ["", f"Per-task cost (CPU time of one simulated data set, one thread, mean of the three runs; by size "
                  f"{', '.join(f'N={n}: {s:.2f} s' for n, s in cpu.items())}): {per_task:.2f} s. Dask's own cost: "
                  f"{overhead * 1000:.0f} ms per task and worker ({args.overhead_tasks} empty tasks on the same "
                  "cluster).", "",
              f"Projected compute for the full planning grid ({args.plan_sizes} sizes × {args.plan_effects} effects × "
              f"{args.plan_sims:,} simulations = {plan:,} data sets), assuming each effect costs what the observed one "
              "did and each worker is one single-threaded core like these:", "",
              "| workers | projected time |", "|---:|---:|"]
    for n in (1, 2, 8, 32, 64, 128, 256):
        secs = plan * (per_task + overhead) / n
        lines.append(f"| {n} | {secs / 3600:.2f} h ({secs / 60:.0f} min) |")
    text = "\n".join(lines) + "\n"
    (out / "scaling.md").write_text(text)
    (out / "scaling.json").write_text(json.dumps({"results": results, "identical": same, "per_task_cpu_s": per_task,
                                                  "dask_overhead_s": overhead}, indent=1))
    print(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
