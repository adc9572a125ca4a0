"""Every recognition command in one interpreter whose optional libraries are blocked (a bare torch machine).

    python tests/recognition/blocked_imports.py tests.recognition.bare_session OUT_DIR

Run by tests/recognition/test_bare_torch.py: one subprocess instead of one per command (each new interpreter
re-imports torch). Each command runs as ``python -m`` would run it (``runpy``, ``__main__``, ``sys.argv``);
its exit code, stdout and stderr go to OUT_DIR/results.json for the test to check. A killed training run is
simulated by the kill hook raising after epoch 1 (the files on disk are those a SIGKILL leaves: every write
of the epoch is done, nothing of the run's end).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import runpy
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from recognition import runio
from tests.recognition.stimuli_fixture import write_manifest

# conftest.TINY_TRAIN_ARGS (not imported: conftest imports pytest) on half the faces: the training is most of this
# session's CPU time, and what is checked here (each command finishes, writes its files and its notes) needs no more
DATA = "n=16,size=48,classes=4,seed=1"
TINY = ["--dataset", "synthetic", "--data", DATA, "--variant", "hsaw", "--image-size", "48", "--batch-size", "8",
        "--epochs", "2", "--relabel-start", "2", "--seed", "3", "--no-compile", "--eval-batch-size", "64"]


class Killed(BaseException):
    """The simulated SIGKILL (a BaseException: no ``except Exception`` of the code under test catches it)."""


def command(module: str, *args) -> dict:
    """``python -m module args`` in this interpreter: exit code, stdout, stderr."""
    out, err, code = io.StringIO(), io.StringIO(), 0
    argv = sys.argv
    sys.argv = [module, *map(str, args)]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_module(module, run_name="__main__", alter_sys=False)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Killed:
        code = "killed"
    finally:
        sys.argv = argv
    return {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def blocked(name: str) -> str:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        return str(e)
    return ""


def main(tmp: Path) -> dict:
    r = {"blocked": {name: blocked(name) for name in ("pandas", "matplotlib", "dlib", "scipy", "stimuli")},
         "menu": command("recognition")}
    run = tmp / "run"

    def kill_after_first(epoch: int) -> None:
        if epoch == 1:
            raise Killed
    hook, runio.test_kill_hook = runio.test_kill_hook, kill_after_first
    r["killed"] = command("recognition.train", *TINY, "--out", run)
    runio.test_kill_hook = hook
    r["resumed"] = command("recognition.train", "--resume", run)  # the old code died here again (confusion PNG)

    # FER2013's csv is read without pandas
    rng = np.random.default_rng(0)
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{'Training' if i < 28 else 'PublicTest'}"
            for i in range(35)]
    (tmp / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    r["fer"] = command("recognition.train", "--dataset", "fer2013", "--data", tmp / "fer2013.csv", "--midline",
                       "center", "--half", "left", "--image-size", "48", "--epochs", "1", "--batch-size", "14",
                       "--no-compile", "--out", tmp / "fer")
    r["evaluate"] = command("recognition.evaluate", run / "checkpoint_last.pt", "--dataset", "synthetic", "--data", DATA,
                            "--out", tmp / "eval")
    crop = tmp / "crop.png"
    Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(crop)
    r["predict_crop"] = command("recognition.predict", run / "checkpoint_last.pt", crop, "--detector", "none", "--json")
    r["predict_photo"] = command("recognition.predict", run / "checkpoint_last.pt", crop)  # photos need dlib
    r["bench"] = command("recognition.bench", "--image-size", "48", "--reduced-size", "0", "--steps", "1", "--warmup",
                         "0", "--batch-size", "2", "--naive-batch-size", "2", "--workers", "0", "--device", "cpu")
    manifest = write_manifest(tmp / "stim", photos_per_emotion=1, size=40, identities=0)
    r["table2"] = command("recognition.table2", "--data", manifest, "--arch", "resnet18", "--folds", "2", "--seeds",
                          "1", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--device", "cpu", "--out",
                          tmp / "t2")
    r["export"] = command("recognition.export", run / "checkpoint_last.pt", "--onnx", tmp / "m.onnx")
    r["loaded_blocked"] = sorted({m.split(".")[0] for m in sys.modules} & {"pandas", "matplotlib", "scipy", "tqdm"})
    return r


if __name__ == "__main__":
    out = Path(sys.argv[1])
    (out / "results.json").write_text(json.dumps(main(out)))
