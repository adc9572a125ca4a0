"""Shared fixtures for the recognition tests: tiny generated data, one thread, one small trained run.

Everything here is sized for CI (2 cores, no GPU): 48 px synthetic faces, a few dozen samples.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
# The reference run and the resumed run must see the same float reductions: one thread everywhere.
SUBPROCESS_ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(REPO),
                      CUDA_VISIBLE_DEVICES="")
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
    """A finished 2-epoch HSAW run on synthetic data (train → evaluate → predict chains start here)."""
    out = tmp_path_factory.mktemp("recog") / "run"
    proc = run_module("recognition.train", [*TINY_TRAIN_ARGS, "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["epochs"] == 2
    return out


def train_main(argv: list[str]) -> int:
    """``python -m recognition.train ARGV`` in this process (train.py's ``__main__`` passes run_all the same way)."""
    from recognition import train, train_cli

    return train_cli.main(train.run_all, argv)
