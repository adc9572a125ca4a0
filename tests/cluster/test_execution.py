"""halfface.execution: the same results wherever and in whatever order tasks run; failures recorded; runs resume."""
import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from halfface import execution
from halfface.execution import Backend, ExecutionError, TaskStore, run_tasks, task_seed

from .tasks import draw, fail_on_odd

ROOT = Path(__file__).resolve().parents[2]
KEYS = [(n, i) for n in (12, 24) for i in range(4)]


def _env(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def test_task_seeds_depend_on_base_seed_and_key_only_not_on_the_process_hash_salt():
    seeds = {k: task_seed(7, k) for k in KEYS}
    assert len(set(seeds.values())) == len(KEYS)  # one stream per task
    assert task_seed(8, KEYS[0]) != seeds[KEYS[0]]
    assert task_seed(7, list(KEYS[0])) == seeds[KEYS[0]]  # a key read back from JSON is the same key
    code = "from halfface.execution import task_seed; print([task_seed(7, (n, i)) for n in (12, 24) for i in range(4)])"
    for salt in ("1", "2"):  # Python's hash() would differ between these two processes
        out = subprocess.run([sys.executable, "-c", code], env=_env(PYTHONHASHSEED=salt), capture_output=True,
                             text=True, check=True).stdout
        assert json.loads(out) == [seeds[k] for k in KEYS]


def test_results_do_not_depend_on_order_or_on_local_processes():
    here = run_tasks(draw, KEYS, base_seed=3, backend=Backend(progress=False))
    shuffled = KEYS[3:] + KEYS[:3]
    pool = run_tasks(draw, shuffled, base_seed=3, backend=Backend(jobs=2, progress=False))
    assert list(here.results) == KEYS and list(pool.results) == shuffled  # in the order asked for
    assert {k: pool.results[k] for k in KEYS} == here.results
    assert here.computed == pool.computed == len(KEYS) and not here.failures
    # a task's draws come from its own seed: asking for fewer tasks changes none of them
    fewer = run_tasks(draw, KEYS[:2], base_seed=3, backend=Backend(progress=False))
    assert fewer.results == {k: here.results[k] for k in KEYS[:2]}


@pytest.mark.parametrize("jobs", [1, 2])
def test_failing_tasks_are_retried_then_recorded_with_their_reason(tmp_path, jobs):
    keys = [(k,) for k in range(4)]
    store = TaskStore(tmp_path / "tasks.jsonl", {"what": "test"})
    calls = tmp_path / "calls"
    calls.mkdir()
    out = run_tasks(fail_on_odd, keys, args=(str(calls),), store=store, backend=Backend(jobs=jobs, retries=1,
                                                                                         progress=False))
    assert list(out.results) == [(0,), (2,)] and set(out.failures) == {(1,), (3,)}
    assert "ValueError: odd key 1: the model did not converge" in out.failures[(1,)]
    assert "2 failed" in out.summary()
    tries = sorted(p.name.split("-")[0] for p in calls.iterdir())
    assert tries == ["0", "1", "1", "2", "3", "3"]  # one retry per failing task, none for the others
    records = [json.loads(line) for line in (tmp_path / "tasks.jsonl").read_text().splitlines()[1:]]
    assert [(r["key"], r["ok"]) for r in records if not r["ok"]] in ([([1], False), ([3], False)],
                                                                      [([3], False), ([1], False)])
    # a rerun keeps the successes and tries the failed tasks again
    for p in calls.iterdir():
        p.unlink()
    again = run_tasks(fail_on_odd, keys, args=(str(calls),), store=TaskStore(tmp_path / "tasks.jsonl", {"what": "test"}),
                      backend=Backend(retries=0, progress=False))
    assert again.reused == 2 and sorted(p.name.split("-")[0] for p in calls.iterdir()) == ["1", "3"]


def test_a_task_in_a_labs_own_script_runs_on_workers_that_start_clean(tmp_path):
    # A lab's script defines its task next to its `if __name__ == "__main__":` block. The workers find the
    # function there, and start from a clean process: what the script set up before the run (here a global)
    # is not in them, as it would be in a plain fork of the caller.
    script = tmp_path / "my_analysis.py"
    script.write_text(textwrap.dedent("""
        import json, os
        from halfface.execution import Backend, run_tasks

        STATE = {}

        def square(key, seed):
            return {"value": key[0] ** 2, "pid": os.getpid(), "state": STATE.get("set_by_main")}

        if __name__ == "__main__":
            STATE["set_by_main"] = "yes"
            runs = {jobs: run_tasks(square, [(k,) for k in range(6)], backend=Backend(jobs=jobs, progress=False))
                    for jobs in (1, 2)}
            print(json.dumps({jobs: list(out.results.values()) for jobs, out in runs.items()}))
    """))
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    here, pool = (json.loads(p.stdout.splitlines()[-1])[j] for j in ("1", "2"))
    assert [r["value"] for r in here] == [r["value"] for r in pool] == [k * k for k in range(6)]
    assert {r["state"] for r in here} == {"yes"} and {r["state"] for r in pool} == {None}
    assert len({r["pid"] for r in here}) == 1 and not {r["pid"] for r in here} & {r["pid"] for r in pool}


def test_a_resumed_run_computes_only_the_missing_tasks_and_gives_the_same_results(tmp_path):
    path = tmp_path / "tasks.jsonl"
    full = run_tasks(draw, KEYS, base_seed=5, backend=Backend(progress=False))
    first = run_tasks(draw, KEYS[:3], base_seed=5, store=TaskStore(path, {"seed": 5}), backend=Backend(progress=False))
    assert first.computed == 3
    # a kill while writing leaves half a line: that task counts as not done
    with open(path, "a") as f:
        f.write('{"key": [24, 3], "ok": tr')
    resumed = run_tasks(draw, KEYS, base_seed=5, store=TaskStore(path, {"seed": 5}),
                        backend=Backend(jobs=2, progress=False))
    assert (resumed.reused, resumed.computed) == (3, len(KEYS) - 3)
    assert resumed.results == full.results  # bit-identical: floats go through JSON as repr
    keys = [tuple(json.loads(line)["key"]) for line in path.read_text().splitlines()[1:]]
    assert sorted(keys) == sorted(KEYS)  # every task once: nothing lost, nothing twice
    done = run_tasks(draw, KEYS, base_seed=5, store=TaskStore(path, {"seed": 5}), backend=Backend(progress=False))
    assert done.computed == 0 and done.reused == len(KEYS) and done.results == full.results


def test_a_task_file_of_other_settings_is_refused_in_one_line(tmp_path):
    TaskStore(tmp_path / "tasks.jsonl", {"seed": 5, "n_photos": 70})
    with pytest.raises(ExecutionError) as err:
        TaskStore(tmp_path / "tasks.jsonl", {"seed": 6, "n_photos": 70})
    msg = str(err.value)
    assert "seed=5 there, 6 now" in msg and "n_photos" not in msg and "\n" not in msg


def _options(argv, jobs_default=1):
    parser = argparse.ArgumentParser()
    execution.add_arguments(parser, jobs_default=jobs_default)
    return parser.parse_args(argv)


def test_options_choose_where_tasks_run(monkeypatch):
    monkeypatch.delenv(execution.SCHEDULER_ENV, raising=False)
    assert execution.backend_from_args(_options([])) == Backend(jobs=1)
    assert execution.backend_from_args(_options([], jobs_default=None)).jobs == (os.cpu_count() or 1)
    assert execution.backend_from_args(_options(["--scheduler", "tcp://10.0.0.5:8786"])).scheduler == \
        "tcp://10.0.0.5:8786"
    monkeypatch.setenv(execution.SCHEDULER_ENV, "tcp://10.0.0.7:8786")
    assert execution.backend_from_args(_options([])).scheduler == "tcp://10.0.0.7:8786"
    assert execution.backend_from_args(_options(["--jobs", "2"])) == Backend(jobs=2)  # --jobs: stay local
    b = execution.backend_from_args(_options(["--cluster", "slurm", "--cluster-jobs", "4", "--cluster-option",
                                              "queue=short", "--cluster-option", 'job_extra_directives=["--gres=x"]']))
    assert (b.cluster, b.cluster_jobs, b.uses_dask) == ("slurm", 4, True)
    assert dict(b.cluster_options) == {"queue": "short", "job_extra_directives": ["--gres=x"]}
    for bad in (["--scheduler", "tcp://a:1", "--cluster", "slurm"], ["--cluster-jobs", "3"], ["--jobs", "0"],
                ["--cluster", "pbs", "--cluster-option", "queue"]):
        with pytest.raises(ExecutionError):
            execution.backend_from_args(_options(bad))


@pytest.mark.slow  # imports torch and the statistics stack in a fresh process
def test_the_toolkit_imports_without_dask_and_says_how_to_get_it(tmp_path):
    # Dask is an extra: nothing imports it unless --scheduler/--cluster is given (the GPU machines lack it)
    # one fresh process for both (the imports are the cost): what the toolkit imported, then Dask made
    # unimportable and a command asked for a scheduler
    code = ("import sys; import halfface.execution, analysis.power, analysis.calibration, recognition.table2; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'dask_jobqueue')), "
            "flush=True); sys.modules['dask'] = None; sys.modules['distributed'] = None; "
            f"sys.exit(analysis.power.main([{str(tmp_path)!r}, '--scheduler', 'tcp://127.0.0.1:1']))")
    res = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True)
    assert res.stdout.strip() == "[]", res.stderr
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines()[-1] == ("error: --scheduler/--cluster need Dask, which is not installed: "
                                                   + execution.INSTALL_HINT)


def test_a_scheduler_that_does_not_answer_is_one_line_not_a_traceback(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(execution, "CONNECT_TIMEOUT", "2s")
    backend = Backend(scheduler="tcp://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(ExecutionError, match="no Dask scheduler answered"):
        run_tasks(draw, KEYS[:1], backend=backend)


def test_slurm_job_script_runs_one_single_threaded_worker_per_job_with_the_options_given():
    pytest.importorskip("dask_jobqueue")
    res = subprocess.run([sys.executable, "-m", "halfface.execution", "job-script", "--cluster", "slurm",
                          "--cluster-option", "queue=short", "--cluster-option", "walltime=00:30:00",
                          "--cluster-option", "account=lab"], env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    script = res.stdout
    assert script.startswith("#!/") and "#SBATCH -p short" in script and "#SBATCH -t 00:30:00" in script
    assert "#SBATCH -A lab" in script and "#SBATCH --cpus-per-task=1" in script
    assert "--nthreads 1" in script and sys.executable in script  # the same Python (environment) as here
    res = subprocess.run([sys.executable, "-m", "halfface.execution", "job-script"], env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and res.stderr.startswith("error: job-script needs --cluster")


def test_cluster_off_a_login_node_says_where_to_run_it(monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", "")  # no sbatch here
    with pytest.raises(ExecutionError, match="`sbatch` is not on this machine; run the command on the cluster's login"):
        run_tasks(draw, KEYS[:1], backend=Backend(cluster="slurm", cluster_jobs=2, progress=False))


def test_per_task_arguments_reach_only_their_task():
    keys = KEYS[:3]
    base = run_tasks(draw, keys, base_seed=1, backend=Backend(progress=False))
    scaled = run_tasks(draw, keys, base_seed=1, per_task={keys[1]: (10.0,)}, backend=Backend(jobs=2, progress=False))
    assert scaled.results[keys[0]] == base.results[keys[0]] and scaled.results[keys[2]] == base.results[keys[2]]
    assert scaled.results[keys[1]]["x"] == pytest.approx([10 * x for x in base.results[keys[1]]["x"]])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_users_mistake_stops_the_run_instead_of_being_retried_as_a_failure(tmp_path, jobs):
    from .tasks import Mistake, mistake_at

    keys = [(k,) for k in range(12)]
    with pytest.raises(Mistake, match="data file for 1 is missing"):
        run_tasks(mistake_at, keys, args=(1, str(tmp_path), 0.2), fatal=(Mistake,),
                  backend=Backend(jobs=jobs, retries=2, progress=False))
    started = [p.name.split("-")[0] for p in tmp_path.iterdir()]
    assert started.count("1") == 1  # not retried
    assert len(started) < len(keys)  # the queued tasks were dropped
