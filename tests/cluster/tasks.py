"""Task functions the tests send to worker processes (module level, so that a worker can import them)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def draw(key, seed, scale=1.0):
    """A result that depends on the seed only: three normal draws and the seed itself."""
    rng = np.random.default_rng(seed)
    return {"key": list(key), "seed": seed, "x": (scale * rng.normal(size=3)).tolist()}


def fail_on_odd(key, seed, marker_dir):
    """Fails for odd keys; counts its calls in marker_dir (one file per call) to see the retries."""
    (Path(marker_dir) / f"{key[0]}-{os.getpid()}-{time.monotonic_ns()}").touch()
    if key[0] % 2:
        raise ValueError(f"odd key {key[0]}: the model did not converge")
    return {"value": key[0]}


def slow_draw(key, seed, seconds, marker_dir=None):
    """draw() after a pause; leaves a marker file per call when asked (to count the computations)."""
    if marker_dir is not None:
        (Path(marker_dir) / f"{'_'.join(map(str, key))}-{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(seconds)
    return draw(key, seed)


class Mistake(Exception):
    """Stands for a user's mistake (a missing file): it stops the whole run."""


def mistake_at(key, seed, bad, marker_dir, seconds=0.0):
    (Path(marker_dir) / f"{key[0]}-{os.getpid()}").touch()
    time.sleep(seconds)
    if key[0] == bad:
        raise Mistake(f"data file for {key[0]} is missing: run the build first")
    return {"value": key[0]}
