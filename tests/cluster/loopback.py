"""A real Dask cluster on 127.0.0.1: `dask scheduler` and `dask worker` as separate processes, as on several machines."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project_env(**extra) -> dict:
    """This checkout first on the path (workers import the task functions from it), one thread per process."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", **extra}


class LoopbackCluster:
    def __init__(self, folder: Path, workers: int = 2):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.file = self.folder / "scheduler.json"
        self.logs = []
        self.scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                                   "--dashboard-address", "127.0.0.1:0", "--scheduler-file",
                                                   str(self.file)])
        deadline = time.time() + 60
        while not (self.file.exists() and self.file.stat().st_size):
            if time.time() > deadline or self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler did not start: {self.log_tail()}")
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [self.add_worker() for _ in range(workers)]
        self.wait_for_workers(workers)

    def _start(self, name, args):
        log = open(self.folder / f"{name}-{len(self.logs)}.log", "w")
        self.logs.append(log)
        # its own session: the tests end exactly these processes, by id
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=ROOT, env=project_env(),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def add_worker(self) -> subprocess.Popen:
        # no nanny: the worker is this one process, so killing it loses the worker (a machine gone)
        return self._start("worker", ["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                      "--death-timeout", "60", "--name", f"w{len(self.logs)}"])

    def wait_for_workers(self, n: int, timeout: float = 90):
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=timeout)

    def kill_worker(self, index: int):
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait(30)

    def log_tail(self) -> str:
        for log in self.logs:
            log.flush()
        return " | ".join(Path(log.name).read_text()[-400:] for log in self.logs)

    def close(self):
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        for log in self.logs:
            log.close()
