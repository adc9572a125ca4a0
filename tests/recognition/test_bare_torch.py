"""The recognition package trains, evaluates, predicts, benchmarks and runs Table 2 with only torch, torchvision
and numpy: pandas, matplotlib, tqdm, tensorboard, dlib, OpenCV, scipy and the other toolkit packages are made
unimportable in a subprocess (tests/recognition/blocked_imports.py); each missing extra is one note line."""
import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from .conftest import REPO, SUBPROCESS_ENV, TINY_TRAIN_ARGS
from .stimuli_fixture import write_manifest

pytestmark = pytest.mark.slow
BLOCKER = str(REPO / "tests" / "recognition" / "blocked_imports.py")


def bare(module, *args, env=None, timeout=300):
    return subprocess.run([sys.executable, BLOCKER, module, *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=dict(SUBPROCESS_ENV, **(env or {})))


def test_the_blocker_really_blocks():
    for name in ("pandas", "matplotlib", "dlib", "scipy", "stimuli"):
        p = bare(name)
        assert p.returncode != 0 and f"No module named {name}" in p.stderr, name
    p = bare("recognition.__main__")
    assert p.returncode == 0 and "table2" in p.stdout and "export" in p.stdout


def test_train_resume_evaluate_predict_bench_and_table2_without_the_optional_libraries(tmp_path):
    run = tmp_path / "run"
    killed = bare("recognition.train", *TINY_TRAIN_ARGS, "--out", run, env={"HSAW_TEST_KILL_AFTER_EPOCH": "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    resumed = bare("recognition.train", "--resume", run)  # the old code died here again (confusion PNG)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 2 and 0 <= summary["accuracy"] <= 1 and "macro_f1" in summary
    log = (run / "train.log").read_text()
    assert "tensorboard is not installed" in log and "matplotlib is not installed" in log
    assert (run / "confusion_matrix.csv").is_file() and not (run / "confusion_matrix.png").exists()

    # FER2013's csv is read without pandas
    rng = np.random.default_rng(0)
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{'Training' if i < 28 else 'PublicTest'}"
            for i in range(35)]
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    fer = bare("recognition.train", "--dataset", "fer2013", "--data", tmp_path / "fer2013.csv", "--midline",
               "center", "--half", "left", "--image-size", "48", "--epochs", "1", "--batch-size", "14",
               "--no-compile", "--out", tmp_path / "fer")
    assert fer.returncode == 0, fer.stderr[-3000:]
    assert json.loads((tmp_path / "fer" / "summary.json").read_text())["n_evaluated"] == 7

    ev = bare("recognition.evaluate", run / "checkpoint_last.pt", "--dataset", "synthetic", "--data",
              "n=32,size=48,classes=4,seed=1", "--out", tmp_path / "eval")
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert json.loads((tmp_path / "eval" / "eval_val.json").read_text())["accuracy"] == pytest.approx(
        summary["accuracy"])
    assert "matplotlib is not installed" in ev.stdout

    crop = tmp_path / "crop.png"
    Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(crop)
    pr = bare("recognition.predict", run / "checkpoint_last.pt", crop, "--detector", "none", "--json")
    assert pr.returncode == 0, pr.stderr[-3000:]
    [r] = json.loads(pr.stdout)
    assert r["nose_found"] is False and sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert "note: dlib not available" in pr.stderr and pr.stderr.count("\n") == 1
    photo = bare("recognition.predict", run / "checkpoint_last.pt", crop)  # photos need dlib: one line
    assert photo.returncode == 2 and photo.stderr.count("\n") == 1

    bench = bare("recognition.bench", "--image-size", "48", "--reduced-size", "0", "--steps", "1", "--warmup", "0",
                 "--batch-size", "2", "--naive-batch-size", "2", "--workers", "0", "--device", "cpu")
    assert bench.returncode == 0, bench.stderr[-3000:]
    assert "speed-up" in bench.stdout

    manifest = write_manifest(tmp_path / "stim", photos_per_emotion=1, size=40, identities=0)
    t2 = bare("recognition.table2", "--data", manifest, "--arch", "resnet18", "--folds", "2", "--seeds", "1",
              "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--device", "cpu", "--out", tmp_path / "t2")
    assert t2.returncode == 0, t2.stderr[-3000:]
    assert (tmp_path / "t2" / "table2.md").is_file() and not (tmp_path / "t2" / "fig4.png").exists()
    assert "fig4.png not drawn" in (tmp_path / "t2" / "table2.log").read_text()
    # the statistics need no scipy: McNemar by math.comb, the t's p by the closed form
    [comp] = json.loads((tmp_path / "t2" / "table2.json").read_text())["comparisons"]
    assert comp["photos"] == 7 and 0 <= comp["mcnemar"]["p"] <= 1
    assert "grouped by photo: the identity column is empty" in (tmp_path / "t2" / "table2.md").read_text()
    assert len((tmp_path / "t2" / "predictions.csv").read_text().splitlines()) == 1 + 14

    ex = bare("recognition.export", run / "checkpoint_last.pt", "--onnx", tmp_path / "m.onnx")
    assert ex.returncode == 2 and "pip install -e '.[export]'" in ex.stderr and ex.stderr.count("\n") == 1
