"""Load test of ``python -m experiment serve``: N simulated participants posting rows at once, on loopback.

    python benchmarks/bench_server_load.py [--participants 200] [--trials 20] [--duration 120]
        [--resend 0.05] [--idle 500] [--think 0.0]

Builds a small site (40 photos x 2 halves), starts the real server command on
127.0.0.1 (never another address) in its own process, and runs N participants
at once, each on its own keep-alive connection: start, then up to ``--trials``
rows, each row re-sent with probability ``--resend`` (as a page does when a
reply is lost) and stopped at ``--duration`` seconds whatever is left. Then it
compares what the server acknowledged with what is on disk, counts duplicate
(participant, trial) rows in the logs, and reports p50/p99/max save latency
(request sent -> acknowledgement received) and the server's peak memory (VmHWM).
``--idle K`` also opens K connections that send nothing and counts how many the
server has closed after its keep-alive timeout (they must not pile up).

Prints a Markdown table (benchmarks/RESULTS.md). Exit 1 if acknowledged != on
disk or any duplicate is found. Numbers depend on the machine and on other jobs.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiment.logfile import read_rows  # noqa: E402
from experiment.web.build import build_site  # noqa: E402
from tests.web.api_client import ApiParticipant  # noqa: E402
from tests.web.stimuli_files import make_manifest  # noqa: E402


def memory_kb(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            fields[key] = int(value.split()[0])
    return fields


def start_server(site: Path, logs: Path):
    proc = subprocess.Popen([sys.executable, "-m", "experiment", "serve", str(site), "--logs", str(logs),
                             "--host", "127.0.0.1", "--port", "0", "--quiet",
                             "--rate-limit", "100000", "--start-limit", "1000000"],  # every client is 127.0.0.1
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if " at " not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    return proc, line.split(" at ", 1)[1].split()[0].rstrip("/")


def run(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="halfface-load-"))
    site, logs = tmp / "site", tmp / "logs"
    build_site(make_manifest(tmp / "stim", 40, size=(24, 32)), site, cb_numbers=8, max_trials=args.trials)
    design = json.loads((site / "design.json").read_text())
    proc, base = start_server(site, logs)
    acked, latencies, failures, resent = {}, [], [], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + args.duration
    barrier = threading.Barrier(args.participants)

    def participant(k):
        rng = random.Random(k)
        client = ApiParticipant(base, design, f"L{k:04d}", seed=k)
        try:
            barrier.wait(timeout=60)  # everybody starts at once
            status, reply = client.start()
            if status != 200:
                raise RuntimeError(f"start {status} {reply}")
            for n in range(1, len(reply["trials"]) + 1):
                if time.monotonic() > stop_at:
                    break
                row = client.row(n)
                for attempt in range(2 if rng.random() < args.resend else 1):
                    t0 = time.perf_counter()
                    status, reply = client.send(row)
                    dt = time.perf_counter() - t0
                    if status != 200:
                        raise RuntimeError(f"trial {n}: {status} {reply}")
                    with lock:
                        latencies.append(dt)
                        if attempt:
                            resent[0] += 1
                with lock:
                    acked[(client.participant, str(n))] = client.stem
                if args.think:
                    time.sleep(rng.uniform(0, 2 * args.think))
        except Exception as err:  # counted and reported
            with lock:
                failures.append(f"L{k:04d}: {err!r}"[:200])
        finally:
            client.close()

    idle = []
    for _ in range(args.idle):
        s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        idle.append(s)
    threads = [threading.Thread(target=participant, args=(k,)) for k in range(1, args.participants + 1)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    peak = {}
    while any(t.is_alive() for t in threads):
        m = memory_kb(proc.pid)
        peak = {k: max(v, peak.get(k, 0)) for k, v in m.items()}
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    closed = 0
    if idle:
        time.sleep(7)  # past the server's 5 s keep-alive timeout
        for s in idle:
            s.settimeout(0.5)
            try:
                closed += s.recv(1) == b""
            except (socket.timeout, OSError):
                pass
            s.close()
    mem = memory_kb(proc.pid)
    proc.terminate()
    proc.wait(timeout=30)

    on_disk, keys = 0, []
    for csv in logs.glob("*.csv"):
        if csv.stem.endswith(("_order", "_practice")):
            continue
        rows = read_rows(csv)
        on_disk += len(rows)
        keys += [(r["participant"], str(r["trial"])) for r in rows]
    duplicates = len(keys) - len(set(keys))
    missing = len(set(acked) - set(keys))
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"participants": args.participants, "trials": args.trials, "duration_limit_s": args.duration,
            "wall_s": wall, "requests": len(latencies), "resent": resent[0], "acknowledged": len(acked),
            "on_disk": on_disk, "missing": missing, "duplicates": duplicates, "failures": failures,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": 1000 * q[98], "max_ms": 1000 * max(latencies, default=float("nan")),
            "rows_per_s": len(acked) / wall, "peak_rss_mb": max(peak.get("VmHWM", 0), mem.get("VmHWM", 0)) / 1024,
            "peak_threads": peak.get("Threads", 0), "idle": args.idle, "idle_closed": closed}


def table(r: dict) -> str:
    rows = [("participants at once", r["participants"]), ("rows per participant (max)", r["trials"]),
            ("wall time", f"{r['wall_s']:.1f} s (limit {r['duration_limit_s']:g} s)"),
            ("rows acknowledged", r["acknowledged"]), ("rows on disk", r["on_disk"]),
            ("acknowledged but missing", r["missing"]), ("duplicate rows", r["duplicates"]),
            ("re-sent rows (answered as duplicates)", r["resent"]), ("failed participants", len(r["failures"])),
            ("save latency p50 / p99 / max", f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} / {r['max_ms']:.1f} ms"),
            ("throughput", f"{r['rows_per_s']:.0f} rows/s"),
            ("server peak memory (VmHWM)", f"{r['peak_rss_mb']:.0f} MB"),
            ("server threads (peak)", r["peak_threads"]),
            ("idle connections closed after 7 s", f"{r['idle_closed']} of {r['idle']}")]
    return "| measure | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--trials", type=int, default=20, help="rows per participant (default 20)")
    parser.add_argument("--duration", type=float, default=120, help="stop sending after this many seconds")
    parser.add_argument("--resend", type=float, default=0.05, help="share of rows sent twice (lost replies)")
    parser.add_argument("--idle", type=int, default=500, help="idle connections opened alongside")
    parser.add_argument("--think", type=float, default=0.0, help="mean pause between a participant's rows (s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    result = run(args)
    print(table(result))
    for failure in result["failures"][:5]:
        print(f"failure: {failure}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = result["acknowledged"] == result["on_disk"] and not result["duplicates"] and not result["missing"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
