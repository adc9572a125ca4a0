"""Power (and the layer) on a real Dask cluster of two workers on 127.0.0.1: the same numbers as a local run,
a worker killed mid-run loses and duplicates nothing, a killed run resumes with only the missing tasks."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from analysis import power
from analysis.simulate import simulate_trials, write_logs
from halfface.execution import Backend, TaskStore, run_tasks

from .loopback import ROOT, LoopbackCluster, project_env
from .tasks import slow_draw

pytest.importorskip("distributed")
# one cluster and one reference run for the module: `make test` (--dist loadfile) keeps the file on one worker,
# and the group does so under --dist loadgroup
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("loopback_cluster")]

# Small data sets: what is asserted (bit-identical p values wherever they are computed, none lost or
# duplicated, a resume computes only the missing ones) does not depend on their size. Twelve of them keep
# the kills below well inside the run.
SIZES = ["--participants", "6,8", "--sims", "6", "--photos", "12", "--include-simulated", "--no-progress"]
N_TASKS = 12


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LoopbackCluster(tmp_path_factory.mktemp("dask"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    logs = tmp_path_factory.mktemp("pilot") / "logs"
    write_logs(simulate_trials(6, effect=1.0, seed=4), logs)
    return logs


@pytest.fixture(scope="module")
def local_run(pilot):
    """The reference: every data set in this process (--jobs 1)."""
    out = pilot.parent / "local"
    assert power.main([str(pilot), *SIZES, "--jobs", "1", "--out", str(out)]) == 0
    return out


def _records(out):
    lines = (out / "power_tasks.jsonl").read_text().splitlines()[1:]
    return [json.loads(line) for line in lines]


def _when(condition, timeout=300):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_power_on_two_dask_workers_gives_the_same_p_values_as_one_and_two_local_processes(cluster, pilot,
                                                                                         local_run, tmp_path):
    outs = {"jobs2": ["--jobs", "2"], "dask": ["--scheduler", cluster.address]}
    for name, where in outs.items():
        assert power.main([str(pilot), *SIZES, *where, "--out", str(tmp_path / name)]) == 0
        # bit-identical p values of every simulated data set, and so the same power table
        for file in ("power_pvalues.csv", "power.csv"):
            assert (tmp_path / name / file).read_bytes() == (local_run / file).read_bytes(), (name, file)
    # the cluster run really ran on both workers, neither of them this process
    pids = {r["where"].rsplit(":", 1)[1] for r in _records(tmp_path / "dask")}
    assert len(pids) == 2 and str(os.getpid()) not in pids
    assert {r["where"].rsplit(":", 1)[1] for r in _records(local_run)} == {str(os.getpid())}


def test_power_survives_a_worker_killed_mid_run_with_nothing_lost_or_duplicated(cluster, pilot, local_run, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "analysis.power", str(pilot), *SIZES, "--scheduler", cluster.address,
                             "--out", str(out)], cwd=ROOT, env=project_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _when(lambda: (out / "power_tasks.jsonl").exists() and len(_records(out)) >= 2)
        cluster.kill_worker(1)
        done_at_kill = len(_records(out))
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert done_at_kill < N_TASKS  # the kill came mid-run
    assert proc.returncode == 0, stderr[-2000:]
    assert f"{N_TASKS} task(s): {N_TASKS} computed" in stderr and "0 failed" in stderr
    keys = [tuple(r["key"]) for r in _records(out)]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == N_TASKS  # each data set once
    assert (out / "power_pvalues.csv").read_bytes() == (local_run / "power_pvalues.csv").read_bytes()
    cluster.workers[1] = cluster.add_worker()  # the next test gets two workers again
    cluster.wait_for_workers(2)


def test_layer_tasks_keep_their_results_when_a_worker_dies_mid_task(cluster, tmp_path):
    keys = [(k,) for k in range(16)]
    reference = run_tasks(slow_draw, keys, base_seed=9, args=(0.0,), backend=Backend(progress=False))
    store = TaskStore(tmp_path / "tasks.jsonl", {"test": "kill"})
    calls = tmp_path / "calls"
    calls.mkdir()

    def kill_when_busy():
        _when(lambda: len(store.ok) >= 3)
        cluster.kill_worker(0)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    outcome = run_tasks(slow_draw, keys, base_seed=9, args=(0.4, str(calls)), store=store,
                        backend=Backend(scheduler=cluster.address, progress=False))
    killer.join()
    assert outcome.results == reference.results and not outcome.failures
    assert len(store.ok) == len(keys)
    lines = (tmp_path / "tasks.jsonl").read_text().splitlines()[1:]
    assert len(lines) == len(keys)  # a task re-run after the loss is still written once
    cluster.workers[0] = cluster.add_worker()
    cluster.wait_for_workers(2)


def test_a_killed_power_run_resumed_with_the_same_out_computes_only_the_missing_data_sets(pilot, local_run, tmp_path,
                                                                                          capsys):
    out = tmp_path / "resumed"
    proc = subprocess.Popen([sys.executable, "-m", "analysis.power", str(pilot), *SIZES, "--jobs", "1",
                             "--out", str(out)], cwd=ROOT, env=project_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _when(lambda: (out / "power_tasks.jsonl").exists() and len(_records(out)) >= 3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    done = len(_records(out))
    assert 3 <= done < N_TASKS
    capsys.readouterr()
    assert power.main([str(pilot), *SIZES, "--jobs", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{done} of {N_TASKS} task(s) already in" in err and f"computing the other {N_TASKS - done}" in err
    assert f"{N_TASKS - done} computed" in err
    keys = [tuple(r["key"]) for r in _records(out)]
    assert len(keys) == len(set(keys)) == N_TASKS
    assert (out / "power_pvalues.csv").read_bytes() == (local_run / "power_pvalues.csv").read_bytes()
    # a rerun of a finished plan computes nothing
    assert power.main([str(pilot), *SIZES, "--out", str(out)]) == 0
    assert f"{N_TASKS} of {N_TASKS} task(s) already in" in capsys.readouterr().err


def test_calibration_studies_on_the_cluster_give_the_same_p_values_as_here(cluster, tmp_path):
    from analysis import calibration

    # without the glmer sensitivity refits (calibration.one_study): the other tests' p values are compared,
    # at 40 % of the time; where a study runs does not depend on which of its models are fitted
    calibration.run("null", 2, calibration.NULL, tmp_path / "here", first_seed=500, glmer_sensitivity=False)
    there = calibration.run("null", 2, calibration.NULL, tmp_path / "there", first_seed=500,
                            backend=Backend(scheduler=cluster.address, progress=False), glmer_sensitivity=False)
    assert list(there["seed"]) == [500, 501]
    assert (tmp_path / "there" / "pvalues_null.csv").read_bytes() == (tmp_path / "here" / "pvalues_null.csv").read_bytes()


def test_table2_on_two_dask_workers_and_two_processes_gives_the_same_accuracies_and_predictions_as_one_process(
        cluster, tmp_path):
    from recognition import table2

    from ..recognition.stimuli_fixture import write_manifest

    manifest = write_manifest(tmp_path / "stim", photos_per_emotion=2, size=48)
    argv = ["--data", str(manifest), "--arch", "resnet18", "--folds", "2", "--seeds", "2", "--epochs", "1",
            "--image-size", "32", "--batch-size", "8", "--device", "cpu"]
    assert table2.main([*argv, "--out", str(tmp_path / "local")]) == 0
    assert table2.main([*argv, "--out", str(tmp_path / "jobs2"), "--jobs", "2"]) == 0
    assert table2.main([*argv, "--out", str(tmp_path / "dask"), "--scheduler", cluster.address]) == 0
    assert "8 network(s): 8 trained on Dask cluster" in (tmp_path / "dask" / "table2.log").read_text()
    # every network's accuracy and every out-of-fold prediction (probabilities to 6 decimals) are the same
    for other in ("jobs2", "dask"):
        for file in ("runs.csv", "predictions.csv"):
            assert (tmp_path / other / file).read_bytes() == (tmp_path / "local" / file).read_bytes(), (other, file)
