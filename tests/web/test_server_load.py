"""A bounded load test of the server on loopback: many participants posting at once lose and mix up nothing."""

import json
import statistics
import threading
import time

import pytest

from experiment.logfile import read_rows
from experiment.web.build import build_site

from .api_client import ApiParticipant
from .running_server import serve_in_thread
from .stimuli_files import make_manifest

PARTICIPANTS = 16  # a lab room or a burst of online starts, on 2 CPU cores
# Complete sessions of a 14-photo design (2 per emotion): what is asserted (nothing lost, nothing mixed up,
# every session completed) is about concurrent participants, not session length, and 16 x 28 rows cost a
# fifth of the CPU of 16 x 140. The paper's 140-trial sessions under load: benchmarks/bench_server_load.py.
PHOTOS = 14
TRIALS = 2 * PHOTOS


@pytest.mark.slow
def test_sixteen_full_sessions_at_once(tmp_path):
    site = tmp_path / "site"
    build_site(make_manifest(tmp_path / "stim", PHOTOS, size=(24, 32)), site, cb_numbers=PARTICIPANTS)
    design = json.loads((site / "design.json").read_text())
    server, thread = serve_in_thread(site, tmp_path / "logs")  # binds 127.0.0.1 only
    base = f"http://127.0.0.1:{server.server_address[1]}"
    latencies, failures, stems, sent = [], [], {}, {}
    lock = threading.Lock()

    def participant(k):
        client = ApiParticipant(base, design, f"L{k:02d}", seed=k)
        try:
            status, reply = client.start()
            if status != 200:
                raise AssertionError(reply)
            rows = []
            for n in range(1, TRIALS + 1):
                row = client.row(n)
                t0 = time.perf_counter()
                status, reply = client.send(row)
                dt = time.perf_counter() - t0
                if status != 200:
                    raise AssertionError(f"L{k:02d} trial {n}: {status} {reply}")
                rows.append(row)
                with lock:
                    latencies.append(dt)
            client.end()
            with lock:
                stems[k], sent[k] = client.stem, rows
        except Exception as err:  # collected and asserted below
            with lock:
                failures.append(repr(err))
        finally:
            client.close()

    threads = [threading.Thread(target=participant, args=(k,)) for k in range(1, PARTICIPANTS + 1)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - t0
    server.shutdown()
    server.server_close()

    assert not failures, failures[:3]
    assert len(latencies) == PARTICIPANTS * TRIALS
    for k, stem in stems.items():
        on_disk = read_rows(tmp_path / "logs" / f"{stem}.csv")
        assert on_disk == sent[k], f"L{k:02d}: the log differs from what was sent"
        meta = json.loads((tmp_path / "logs" / f"{stem}.json").read_text())
        assert meta["completed"] is True and meta["n_trials_done"] == TRIALS
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"\nload: {PARTICIPANTS} sessions x {TRIALS} trials = {len(latencies)} rows in {wall:.1f} s "
          f"({len(latencies) / wall:.0f} rows/s); latency median {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    # Speed is the benchmark's business (benchmarks/bench_server_load.py, issue 18): on a shared machine a
    # latency bound here would fail for reasons that are not the server's. This test guards correctness only.
