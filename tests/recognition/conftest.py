"""Shared fixtures for the recognition tests: tiny generated data, one thread, one small trained run.

Everything here is sized for CI (2 cores, no GPU): 48 px synthetic faces, a few dozen samples.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
# A torch hub cache with no ImageNet weights (never created), for the in-process tiny_run and every
# subprocess alike: a machine with resnet18 weights cached would otherwise start only the subprocesses
# from them (and another schedule), and the SIGKILL resume could not match tiny_run.
EMPTY_TORCH_HOME = Path(tempfile.gettempdir()) / "halfface-tests-empty-torch-home"
# The reference run and the resumed run must see the same float reductions: one thread everywhere.
SUBPROCESS_ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(REPO),
                      CUDA_VISIBLE_DEVICES="", TORCH_HOME=str(EMPTY_TORCH_HOME))
TINY_TRAIN_ARGS = ["--dataset", "synthetic", "--data", "n=32,size=48,classes=4,seed=1", "--variant", "hsaw",
                   "--image-size", "48", "--batch-size", "8", "--epochs", "2", "--relabel-start", "2",
                   "--seed", "3", "--no-compile", "--eval-batch-size", "64"]


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_module(module: str, args: list[str], env_extra: dict | None = None, timeout: int = 300):
    """Run ``python -m module args`` from the repository root; returns the CompletedProcess."""
    env = dict(SUBPROCESS_ENV, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished 2-epoch HSAW run on synthetic data (train → evaluate → predict chains start here).

    Trained in this process (the end-to-end ``python -m recognition.train`` runs are test_train.py's SIGKILL test,
    whose resumed run must match this one, and test_bare_torch.py); one thread, as the subprocesses use; no
    ImageNet weights in the torch hub cache (an empty TORCH_HOME), so it is from scratch on every machine.

    The run folder as it stood after epoch 1 (what a SIGKILL then leaves) is kept beside it,
    ``tiny_run_after_epoch(tiny_run, 1)``: the resume tests continue a copy instead of training epoch 1 again."""
    from recognition import runio

    root = tmp_path_factory.mktemp("recog")
    out = root / "run"
    hook = runio.test_kill_hook

    def snapshot(epoch: int) -> None:  # called after every write of the epoch, where a kill would stop the run
        if epoch == 1:
            shutil.copytree(out, tiny_run_after_epoch(out, epoch))
        hook(epoch)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # session fixtures are set up before the function-scoped _one_thread
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TORCH_HOME", str(EMPTY_TORCH_HOME))
            mp.setattr(runio, "test_kill_hook", snapshot)
            assert train_main([*TINY_TRAIN_ARGS, "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(before)
    assert json.loads((out / "summary.json").read_text())["epochs"] == 2
    return out


def tiny_run_after_epoch(tiny_run: Path, epoch: int) -> Path:
    """Where the tiny_run fixture keeps its run folder as it stood after ``epoch`` (read-only: copy it)."""
    return tiny_run.parent / f"after_epoch{epoch}"


@pytest.fixture(scope="session")
def stimuli_set(tmp_path_factory):
    """``stimuli_set(**write_manifest_params)`` -> manifest path: each stimulus set is built once per session and
    shared, so a test that only reads it must not write into its folder."""
    from .stimuli_fixture import write_manifest

    built = {}

    def get(**params) -> Path:
        key = tuple(sorted(params.items()))
        if key not in built:
            built[key] = write_manifest(tmp_path_factory.mktemp("stim"), **params)
        return built[key]
    return get


def train_main(argv: list[str]) -> int:
    """``python -m recognition.train ARGV`` in this process (train.py's ``__main__`` passes run_all the same way)."""
    from recognition import train, train_cli

    return train_cli.main(train.run_all, argv)


class Killed(BaseException):
    """A simulated SIGKILL (BaseException: no ``except Exception`` of the code under test catches it)."""


def train_until_killed(argv: list[str], epoch: int, monkeypatch) -> None:
    """``HSAW_TEST_KILL_AFTER_EPOCH=epoch python -m recognition.train ARGV`` in this process: the run stops where
    the kill hook would SIGKILL it, after every write of that epoch (test_train.py keeps one real SIGKILL)."""
    from recognition import runio

    hook = runio.test_kill_hook

    def kill(e: int) -> None:
        if e == epoch:
            raise Killed
    monkeypatch.setattr(runio, "test_kill_hook", kill)
    try:
        with pytest.raises(Killed):
            train_main(argv)
    finally:
        monkeypatch.setattr(runio, "test_kill_hook", hook)
