"""One execution layer: a pure task function mapped over task keys, here, on local processes or on Dask.

    outcome = run_tasks(simulate_one, keys, base_seed=0, args=(models,), store=TaskStore(path, settings),
                        backend=backend_from_args(args))

Used by ``analysis.power`` (one task = one simulated data set), ``analysis.calibration`` (one simulated
study) and ``recognition.table2`` (one network). The rules that make the answers the same everywhere:

1. A task is ``fn(key, seed, *args) -> dict``: a pure function of its key, its seed and shared read-only
   arguments; ``fn`` is a module-level function, so that another process (or machine) can import it.
2. Its seed comes from (base seed, key) alone (``task_seed``: NumPy's ``SeedSequence`` over the base seed
   and the SHA-256 of the key's canonical JSON; never Python's ``hash()``, which is salted per process),
   so it does not depend on which worker runs the task, in which order, or how many tasks there are.
3. Every task runs with ``threads`` BLAS/OpenMP (and torch) threads, 1 by default: a multi-threaded
   reduction may sum in another order and change the last bits of a result.
4. Results are collected by key and returned in the order of the keys given, whatever order they finish in.

Where the tasks run (``Backend``; the ``--jobs/--scheduler/--cluster`` options of ``add_arguments``):

- ``--jobs 1`` (default): one after the other in this process; nothing to install.
- ``--jobs N``: N local worker processes (``concurrent.futures.ProcessPoolExecutor``; forkserver, else spawn).
- ``--scheduler tcp://HOST:PORT`` (or the ``DASK_SCHEDULER_ADDRESS`` variable): an existing Dask cluster
  (``dask scheduler`` + ``dask worker`` on any machines that can import this toolkit).
- ``--cluster slurm --cluster-jobs N``: dask-jobqueue submits N batch jobs, each running Dask workers
  (also pbs, sge, lsf); ``python -m halfface.execution job-script`` prints the script it would submit.

Dask (``pip install 'halfface[cluster]'``) is imported only for the last two, so this module imports with
the standard library alone (the GPU machines of ``recognition`` have no Dask).

Failures and resuming: a task that raises (or whose worker dies) is tried again, ``retries`` times, then
recorded as failed with its reason; ``Outcome.failures`` counts them. With a ``TaskStore`` every finished
task is appended to a JSON-lines file as it arrives (flushed and fsynced), so a run that is killed and
started again with the same output folder computes only the tasks missing there (failed ones are tried
again); a store made with other settings is refused rather than mixed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from halfface.cli import UserError, run_main

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# --cluster NAME -> the dask-jobqueue class that submits the workers as batch jobs
CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
SUBMIT = {"slurm": "sbatch", "pbs": "qsub", "sge": "qsub", "lsf": "bsub"}  # the command each one submits with
CONNECT_TIMEOUT = "20s"  # how long to wait for a --scheduler to answer
INSTALL_HINT = "pip install 'halfface[cluster]' (dask[distributed], dask-jobqueue)"


class ExecutionError(UserError):
    """A mistake in how to run (no scheduler there, an output folder of other settings): one line for the user."""


# ----------------------------------------------------------------------------------------------------------
# keys and seeds

Key = tuple


def as_key(key) -> Key:
    """A task key as a tuple of str/int/bool/None (JSON turns tuples into lists; this turns them back)."""
    key = tuple(key) if isinstance(key, (list, tuple)) else (key,)
    for part in key:
        if not (part is None or isinstance(part, (str, int, bool))):
            raise TypeError(f"task key {key!r}: parts must be str, int, bool or None, not {type(part).__name__}")
    return key


def canonical_key(key) -> str:
    """The key as compact JSON: the same text on every machine, process and Python version."""
    return json.dumps(list(as_key(key)), separators=(",", ":"), ensure_ascii=True)


def task_seed(base_seed: int, key) -> int:
    """A 64-bit seed for the task ``key`` of a run with ``base_seed``.

    ``SeedSequence([base_seed, w0, w1, w2, w3])`` with w = the first 16 bytes of SHA-256(canonical key) as
    four 32-bit words; the SeedSequence mixes them into well-separated streams (NumPy, "Parallel random
    number generation"). Depends on nothing but the two arguments.
    """
    import numpy as np  # numpy is a dependency of every package here; not needed to import this module

    if int(base_seed) < 0:
        raise ValueError(f"base seed {base_seed}: must be >= 0")
    digest = hashlib.sha256(canonical_key(key).encode("ascii")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return int(np.random.SeedSequence([int(base_seed), *words]).generate_state(1, np.uint64)[0])


# ----------------------------------------------------------------------------------------------------------
# the store: one JSON line per finished task

def _json_default(obj):
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)  # paths, devices: as their text, like the run folders' JSON files


def _normalised(value: dict) -> dict:
    return json.loads(json.dumps(value, default=_json_default))  # key order kept: it is a table's column order


class TaskStore:
    """``path``: a JSON-lines file; line 1 ``{"settings": ...}``, then one record per finished task.

    A record is ``{"key": [...], "ok": true, "result": {...}, "seconds": s, "where": "host:pid"}`` or
    ``{"key": [...], "ok": false, "error": "...", ...}``. Floats are written with ``repr`` (JSON), so a
    result read back is bit-identical to the one computed. A line cut off by a kill is dropped on opening.
    """

    def __init__(self, path, settings: dict):
        self.path = Path(path)
        self.settings = _normalised(settings)
        self.ok: dict[str, dict] = {}
        self.failed: dict[str, str] = {}
        if self.path.exists() and self.path.stat().st_size:
            self._read()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._append({"settings": self.settings})

    def _read(self):
        raw = self.path.read_bytes()
        if not raw.endswith(b"\n"):  # the run was killed while writing a line: that task is not done
            raw = raw[: raw.rfind(b"\n") + 1]
            with open(self.path, "r+b") as f:
                f.truncate(len(raw))
        lines = raw.decode("utf-8").splitlines()
        try:
            header = json.loads(lines[0])["settings"] if lines else None
        except (ValueError, KeyError, TypeError):
            raise ExecutionError(f"{self.path}: not a task file of this toolkit (line 1 has no settings); "
                                 "choose another output folder") from None
        if header is None:
            self._append({"settings": self.settings})
            return
        if header != self.settings:
            diff = [f"{k}={json.dumps(header.get(k))} there, {json.dumps(self.settings.get(k))} now"
                    for k in sorted(set(header) | set(self.settings)) if header.get(k) != self.settings.get(k)]
            raise ExecutionError(f"{self.path}: its tasks were computed with other settings "
                                 f"({'; '.join(diff)[:300]}); rerun with those settings or choose another output folder")
        for number, line in enumerate(lines[1:], 2):
            try:
                rec = json.loads(line)
                key = canonical_key(rec["key"])
            except (ValueError, KeyError, TypeError):
                raise ExecutionError(f"{self.path}, line {number}: not a task record; remove the line or choose "
                                     "another output folder") from None
            if rec.get("ok"):
                self.ok.setdefault(key, rec["result"])  # the first result wins; a key is never computed twice
                self.failed.pop(key, None)
            elif key not in self.ok:
                self.failed[key] = rec.get("error", "")

    def _append(self, record: dict):
        line = json.dumps(record, default=_json_default, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())  # a finished task survives a kill -9 of this process or the machine

    def add(self, key, ok: bool, value, timing: dict | None, where: str | None):
        """``timing``: {"seconds": wall time, "cpu_seconds": CPU time of the task's process} as measured on the worker."""
        timing = timing or {}
        rec = {"key": list(as_key(key)), "ok": ok, **({"result": value} if ok else {"error": value}),
               **{k: (None if timing.get(k) is None else round(timing[k], 3)) for k in ("seconds", "cpu_seconds")},
               "where": where}
        self._append(rec)
        ck = canonical_key(key)
        if ok:
            self.ok[ck] = _normalised(value)
            self.failed.pop(ck, None)
        else:
            self.failed[ck] = value


# ----------------------------------------------------------------------------------------------------------
# where tasks run

@dataclass(frozen=True)
class Backend:
    """Where the tasks run: ``jobs`` local processes, or a Dask ``scheduler`` address, or a batch ``cluster``."""

    jobs: int = 1
    scheduler: str | None = None
    cluster: str | None = None
    cluster_jobs: int = 1
    cluster_options: tuple = ()        # (name, value) pairs for the dask-jobqueue class
    retries: int = 2
    progress: bool = True
    threads: int = 1                   # BLAS/OpenMP/torch threads per task

    @property
    def uses_dask(self) -> bool:
        return bool(self.scheduler or self.cluster)

    def describe(self) -> str:
        if self.cluster:
            return f"{self.cluster} cluster of {self.cluster_jobs} batch job(s) (dask-jobqueue)"
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        return "this process" if self.jobs == 1 else f"{self.jobs} local processes"


@dataclass
class Outcome:
    """Results by key (in the order the keys were given), failures by key, and what was computed now."""

    results: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)
    computed: int = 0
    reused: int = 0
    seconds: float = 0.0
    where: str = ""

    def summary(self) -> str:
        n = len(self.results) + len(self.failures)
        text = (f"{n} task(s): {self.computed} computed on {self.where} in {self.seconds:.1f} s, "
                f"{self.reused} kept from an earlier run, {len(self.failures)} failed")
        if self.failures:
            key, reason = next(iter(self.failures.items()))
            text += f" (e.g. {canonical_key(key)}: {reason.splitlines()[-1] if reason else '?'})"
        return text


def _where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _call(fn: Callable, key: Key, seed: int, args: tuple, threads: int) -> tuple[Any, dict, str]:
    """Run one task with ``threads`` threads; returns (result, timing, where). Runs on the worker."""
    start, cpu = time.perf_counter(), time.process_time()  # CPU time: the cost on a core of its own
    torch = sys.modules.get("torch")  # only if the task's module already uses torch; never import it here
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # optional: without it, the worker's environment (OMP_NUM_THREADS) decides
            result = fn(key, seed, *args)
        else:
            with threadpool_limits(threads):
                result = fn(key, seed, *args)
    except Exception as exc:
        # where it went wrong, computed here: a traceback does not survive the trip back from a worker
        exc.halfface_reason = f"{_reason(exc)} on {_where()}"
        raise
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)
    return result, {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}, _where()


def _reason(exc: BaseException) -> str:
    if getattr(exc, "halfface_reason", None):
        return exc.halfface_reason
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{at}"


# A runner yields (key, ok, result or exception, seconds, where) as tasks finish; a failure comes after retries.

def _run_here(fn, todo, seeds, args, backend, fatal) -> Iterator[tuple]:
    for key in todo:
        for attempt in range(backend.retries + 1):
            try:
                value, secs, where = _call(fn, key, seeds[key], args[key], backend.threads)
            except fatal:
                raise
            except Exception as exc:  # noqa: BLE001 - a task's failure is recorded, not fatal to the run
                if attempt == backend.retries:
                    yield key, False, exc, None, _where()
                continue
            yield key, True, value, secs, where
            break


def _run_pool(fn, todo, seeds, args, backend, fatal) -> Iterator[tuple]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # Not fork: a worker must not inherit this process's threads (torch's) or state, like a Dask worker.
    # forkserver (Python 3.14's default on Linux) forks each worker from a fresh server process that has
    # imported the task's module once, so N workers do not each import pandas, scipy or torch again
    # (about 2 s of CPU apiece); spawn, a fresh interpreter per worker, where there is no forkserver.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        if fn.__module__ != "__main__":  # preloading only takes effect before the server first starts
            context.set_forkserver_preload([fn.__module__])
    else:
        context = multiprocessing.get_context("spawn")
    attempts = dict.fromkeys(todo, 0)
    queue = list(todo)
    while queue:
        pool = ProcessPoolExecutor(backend.jobs, mp_context=context)
        try:
            running = {pool.submit(_call, fn, key, seeds[key], args[key], backend.threads): key for key in queue}
            queue, broken = [], False
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = running.pop(fut)
                    try:
                        value, secs, where = fut.result()
                    except BrokenProcessPool as exc:  # a worker died (killed, out of memory): new pool, try again
                        broken = True
                        attempts[key] += 1
                        if attempts[key] > backend.retries:
                            yield key, False, RuntimeError(f"its worker process died ({exc})"), None, None
                        else:
                            queue.append(key)
                    except fatal:
                        raise
                    except Exception as exc:  # noqa: BLE001
                        attempts[key] += 1
                        if attempts[key] > backend.retries:
                            yield key, False, exc, None, None
                        elif not broken:
                            running[pool.submit(_call, fn, key, seeds[key], args[key], backend.threads)] = key
                        else:
                            queue.append(key)
                    else:
                        yield key, True, value, secs, where
        finally:  # also when the caller stops early (a fatal error, Ctrl-C): queued tasks are dropped
            pool.shutdown(wait=True, cancel_futures=True)
        # keep the given order for what is left (results never depend on it; logs read better)
        queue.sort(key=todo.index)


def dask_client(backend: Backend, log=None):
    """A ``dask.distributed.Client`` for ``--scheduler`` or ``--cluster`` (workers started by dask-jobqueue)."""
    log = log or _stderr
    try:
        from dask.distributed import Client
    except ImportError:
        raise ExecutionError(f"--scheduler/--cluster need Dask, which is not installed: {INSTALL_HINT}") from None
    if backend.cluster:
        import shutil
        if shutil.which(SUBMIT[backend.cluster]) is None:
            raise ExecutionError(f"--cluster {backend.cluster}: `{SUBMIT[backend.cluster]}` is not on this machine; run "
                                 "the command on the cluster's login node (docs/cluster.md)")
        cluster = jobqueue_cluster(backend)
        cluster.scale(jobs=backend.cluster_jobs)
        client = Client(cluster)
        log(f"submitted {backend.cluster_jobs} {backend.cluster} job(s) for Dask workers; tasks start as they begin")
    else:
        try:
            client = Client(backend.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutionError(f"--scheduler {backend.scheduler}: no Dask scheduler answered ({exc}); start one with "
                                 "`dask scheduler` and give its tcp://HOST:PORT") from None
    try:
        log(f"Dask dashboard: {client.dashboard_link}")
    except Exception:  # noqa: BLE001 - a scheduler started with --no-dashboard
        log("Dask dashboard: none (the scheduler runs without one)")
    return client


def _check_workers_import(client, module: str):
    def can_import(name):
        import importlib
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"
        return None

    problems = {w: e for w, e in client.run(can_import, module).items() if e}
    if problems:
        worker, error = next(iter(problems.items()))
        raise ExecutionError(f"Dask worker {worker} cannot import {module} ({error}); install this toolkit "
                             "(pip install -e .) in the workers' environment")


def _run_dask(fn, todo, seeds, args, backend, log, fatal) -> Iterator[tuple]:
    from dask.distributed import as_completed

    client = dask_client(backend, log)
    try:
        _check_workers_import(client, fn.__module__)
        run_id = uuid.uuid4().hex[:8]  # task names unique per run: never a stale result of another run
        futures = {}
        for key in todo:
            name = f"{fn.__name__}-{canonical_key(key)}-{run_id}"
            fut = client.submit(_call, fn, key, seeds[key], args[key], backend.threads, key=name,
                                retries=backend.retries, pure=False)
            futures[fut] = key
        for fut in as_completed(futures):
            key = futures.pop(fut)
            if fut.status == "finished":
                value, secs, where = fut.result()
                yield key, True, value, secs, where
            else:  # raised after every retry, its workers kept dying (KilledWorker), or cancelled
                try:
                    exc = fut.exception()
                except BaseException as cancelled:  # noqa: BLE001 - a cancelled future raises CancelledError here
                    exc = RuntimeError(f"cancelled by the scheduler ({type(cancelled).__name__})")
                if isinstance(exc, fatal):
                    raise exc
                yield key, False, exc if exc is not None else RuntimeError(fut.status), None, None
            fut.release()  # the scheduler can forget it: it is in the store now
    finally:  # closing the client cancels what is still queued (a fatal error, Ctrl-C)
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and backend.cluster:
            cluster.close()


def _stderr(msg: str):
    print(msg, file=sys.stderr, flush=True)


class _Progress:
    def __init__(self, total: int, desc: str, enabled: bool):
        self.bar, self.total, self.done, self.desc = None, total, 0, desc
        self.enabled = enabled and total > 0
        if self.enabled and sys.stderr.isatty():  # in a log file (a batch job's), a line every tenth instead
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=desc, unit="task", dynamic_ncols=True)
            except ImportError:  # tqdm is optional
                pass

    def update(self):
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled and (self.done == self.total or self.done % max(1, self.total // 10) == 0):
            _stderr(f"{self.desc}: {self.done}/{self.total} tasks finished")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_tasks(fn: Callable, keys: Sequence, *, base_seed: int = 0, args: tuple = (), store: TaskStore | None = None,
              backend: Backend | None = None, desc: str = "tasks", log=None, per_task: dict | None = None,
              fatal: tuple = ()) -> Outcome:
    """Run ``fn(key, task_seed(base_seed, key), *per_task[key], *args)`` for every key not already in ``store``.

    ``args`` go to every task; ``per_task`` (optional) maps a key to the arguments of that task alone.
    An exception of a type in ``fatal`` (a user's mistake, such as a missing data file) is not a task's
    failure: it stops the run, drops the queued tasks and is raised here.

    Returns an ``Outcome`` whose ``results`` hold every successful task of ``keys`` (computed now or read
    from the store) in the order of ``keys``; ``failures`` the tasks that failed after the retries.
    """
    backend = backend or Backend()
    log = log or _stderr
    keys = [as_key(k) for k in keys]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    done = {ck: v for ck, v in (store.ok.items() if store else [])}
    todo = [k for k in keys if canonical_key(k) not in done]
    seeds = {k: task_seed(base_seed, k) for k in todo}
    per_task = {as_key(k): tuple(v) for k, v in (per_task or {}).items()}
    call_args = {k: (*per_task.get(k, ()), *args) for k in todo}
    out = Outcome(reused=len(keys) - len(todo), where=backend.describe())
    if out.reused:
        log(f"{out.reused} of {len(keys)} task(s) already in {store.path}: computing the other {len(todo)}")
    fresh, failures = {}, {}
    start = time.perf_counter()
    if todo:
        if backend.uses_dask:
            runner = _run_dask(fn, todo, seeds, call_args, backend, log, tuple(fatal))
        elif backend.jobs > 1 and len(todo) > 1:
            runner = _run_pool(fn, todo, seeds, call_args, backend, tuple(fatal))
        else:
            runner, out.where = _run_here(fn, todo, seeds, call_args, backend, tuple(fatal)), "this process"
        bar = _Progress(len(todo), desc, backend.progress)
        try:
            for key, ok, value, secs, where in runner:
                if not ok:
                    value = _reason(value)
                if store is not None:
                    store.add(key, ok, value, secs, where)
                if ok:
                    # as JSON would give it back: the same types whether computed now or read from a store
                    fresh[canonical_key(key)] = _normalised(value)
                else:
                    failures[key] = value
                bar.update()
        finally:
            bar.close()
            runner.close()  # stops a pool or a Dask client even when a fatal error ends the loop
    out.seconds = time.perf_counter() - start
    out.computed = len(fresh)
    for key in keys:
        ck = canonical_key(key)
        if ck in fresh or ck in done:
            out.results[key] = fresh[ck] if ck in fresh else done[ck]
    out.failures = failures
    return out


# ----------------------------------------------------------------------------------------------------------
# command-line options shared by the CLIs

def add_arguments(parser: argparse.ArgumentParser, jobs_default: int | None = 1, what: str = "tasks") -> None:
    """``--jobs``, ``--scheduler``, ``--cluster``, ``--cluster-jobs``, ``--cluster-option``, ``--retries``."""
    g = parser.add_argument_group("where to run (docs/cluster.md)")
    g.add_argument("--jobs", type=int, default=None,
                   help=f"local worker processes (default {jobs_default or 'all cores'}); the {what} give the "
                        "same results with any number")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help=f"run the {what} on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 "
                        f"(default: ${SCHEDULER_ENV} when set and --jobs is not given)")
    g.add_argument("--cluster", choices=sorted(CLUSTERS), default=None,
                   help="start Dask workers as batch jobs with dask-jobqueue (SLURM, PBS, SGE, LSF)")
    g.add_argument("--cluster-jobs", type=int, default=None, help="batch jobs to submit with --cluster (default 1)")
    g.add_argument("--cluster-option", action="append", default=[], metavar="NAME=VALUE",
                   help="an option of the dask-jobqueue cluster, e.g. queue=short, walltime=02:00:00, memory=4GiB, "
                        "account=lab (repeat; JSON values such as lists are parsed)")
    g.add_argument("--retries", type=int, default=2, help="tries again a failing task this many times (default 2)")
    parser.set_defaults(_jobs_default=jobs_default)


def _option_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def backend_from_args(args: argparse.Namespace, progress: bool = True) -> Backend:
    """The ``Backend`` the options of ``add_arguments`` ask for; ``ExecutionError`` on a bad combination."""
    jobs = args.jobs if args.jobs is not None else (getattr(args, "_jobs_default", 1) or os.cpu_count() or 1)
    scheduler = args.scheduler
    if scheduler is None and args.cluster is None and args.jobs is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if jobs < 1 or args.retries < 0:
        raise ExecutionError("--jobs must be >= 1 and --retries >= 0")
    if args.scheduler and args.cluster:
        raise ExecutionError("--scheduler and --cluster exclude each other: use a running cluster or start one")
    if args.cluster_jobs is not None and not args.cluster:
        raise ExecutionError("--cluster-jobs needs --cluster (e.g. --cluster slurm)")
    if args.cluster_option and not args.cluster:
        raise ExecutionError("--cluster-option needs --cluster (e.g. --cluster slurm)")
    cluster_jobs = args.cluster_jobs if args.cluster_jobs is not None else 1
    if cluster_jobs < 1:
        raise ExecutionError("--cluster-jobs must be >= 1")
    if scheduler or args.cluster:  # say it now, not after the pilot models are fitted
        import importlib.util
        for module in ("distributed", "dask_jobqueue") if args.cluster else ("distributed",):
            if importlib.util.find_spec(module) is None:
                raise ExecutionError(f"--scheduler/--cluster need Dask, which is not installed: {INSTALL_HINT}")
    options = []
    for item in args.cluster_option:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ExecutionError(f"--cluster-option {item}: use NAME=VALUE, e.g. queue=short")
        options.append((name.strip().replace("-", "_"), _option_value(value)))
    return Backend(jobs=jobs, scheduler=scheduler, cluster=args.cluster, cluster_jobs=cluster_jobs,
                   cluster_options=tuple(options), retries=args.retries, progress=progress)


# ----------------------------------------------------------------------------------------------------------
# batch clusters (dask-jobqueue)

# One single-threaded worker process per core: the tasks are single-threaded by design (rule 3 above).
CLUSTER_DEFAULTS = {"cores": 1, "processes": 1, "memory": "4GiB", "walltime": "04:00:00"}


def jobqueue_cluster(backend: Backend):
    """The dask-jobqueue cluster object of ``--cluster`` (submits nothing until it is scaled).

    Options not given with ``--cluster-option`` come from dask-jobqueue's configuration
    (``~/.config/dask/jobqueue.yaml``), else from ``CLUSTER_DEFAULTS``.
    """
    try:
        import dask
        import dask_jobqueue
    except ImportError:
        raise ExecutionError(f"--cluster needs dask-jobqueue, which is not installed: {INSTALL_HINT}") from None
    cls = getattr(dask_jobqueue, CLUSTERS[backend.cluster])
    options = dict(backend.cluster_options)
    for name, default in CLUSTER_DEFAULTS.items():
        if name not in options and dask.config.get(f"jobqueue.{backend.cluster}.{name}", None) is None:
            options[name] = default
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise ExecutionError(f"--cluster {backend.cluster}: {exc}; see --cluster-option in docs/cluster.md") from None


@run_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m halfface.execution",
        description="Print the batch script that --cluster would submit for each group of Dask workers "
                    "(nothing is submitted).",
        epilog="example: python -m halfface.execution job-script --cluster slurm --cluster-option queue=short "
               "--cluster-option walltime=02:00:00")
    sub = parser.add_subparsers(dest="command", required=True)
    script = sub.add_parser("job-script", help="print the job script of --cluster")
    add_arguments(script)
    args = parser.parse_args(argv)
    if not args.cluster:
        raise ExecutionError("job-script needs --cluster (e.g. --cluster slurm)")
    cluster = jobqueue_cluster(backend_from_args(args, progress=False))
    try:
        print(cluster.job_script())
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
