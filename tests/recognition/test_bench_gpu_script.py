"""benchmarks/gpu_fer2013.sh and collect_results.py: the one-go GPU reproduction, smoke-run on CPU."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def collect():
    spec = importlib.util.spec_from_file_location("collect_results", ROOT / "benchmarks" / "collect_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_run(out, name, acc, params=1234, wall=(10.0, 70.5), rc=0, **extra):
    run = out / "runs" / name
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"best_val_acc": acc, "best_epoch": 3, "parameters": params,
                                                  "from_scratch": True, "midlines": "dlib nose tips from x",
                                                  **extra}))
    (out / "runs" / f"{name}.time").write_text(json.dumps({"start": wall[0], "end": wall[1], "exit_code": rc}))


def test_results_table_puts_our_accuracy_beside_the_papers(tmp_path):
    cr = collect()
    write_run(tmp_path, "hsaw", 0.6543, final_val_acc=0.632)
    write_run(tmp_path, "left", 0.61)
    (tmp_path / "runs" / "right.time").write_text(json.dumps({"start": 0, "end": 5, "exit_code": 1}))
    md = cr.render(tmp_path)
    assert "| HSAW (both) | 65.4 | 71.1 | 3 | 63.2 | 1,234 | 60 |" in md
    assert "| left half only (poser's left) | 61.0 | 65.7 |" in md
    assert "| right half only (poser's right) | failed | 60.4 |" in md
    assert "| plain ResNet18, whole face | not run | 67.2 |" in md
    assert "| baseline (ResNet18, whole face) | not run | 66.7 |" in md
    assert "Throughput: not measured" in md and "from scratch" in md


def test_results_script_rejects_a_missing_folder(tmp_path, capsys):
    assert collect().main([str(tmp_path / "nope")]) == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.slow
def test_gpu_script_runs_end_to_end_on_a_tiny_fer_csv(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{'Training' if i < 42 else 'PublicTest'}"
            for i in range(56)]
    (data / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable, DATA_DIR=str(data), MIDLINE="center", IMAGE_SIZE="64",
               EPOCHS="1", BATCH="14", RUNS="left", PARALLEL="1", OMP_NUM_THREADS="1",
               BENCH_ARGS="--image-size 64 --reduced-size 0 --batch-size 2 --naive-batch-size 2 --steps 1 "
                          "--warmup 0 --workers 0 --device cpu")
    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_fer2013.sh"), str(out)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    settings = json.loads((out / "env.json").read_text())
    assert settings["image_size"] == 64 and settings["epochs"] == 1 and settings["parallel"] is True
    assert json.loads((out / "bench.json").read_text())["ours"]["faces_per_s"] > 0
    summary = json.loads((out / "runs" / "left" / "summary.json").read_text())
    assert summary["epochs"] == 1 and summary["half"] == "left"
    md = (out / "results.md").read_text()
    assert "| HSAW (both) | not run |" in md
    left_row = next(line for line in md.splitlines() if line.startswith("| left half only"))
    assert 0 <= float(left_row.split("|")[2]) <= 100 and "center" in md
    # a second call keeps what is finished
    p2 = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_fer2013.sh"), str(out)], env=env,
                        capture_output=True, text=True, timeout=300)
    assert p2.returncode == 0 and "bench.json exists, kept" in p2.stdout and "finished earlier" in p2.stdout


def test_a_run_stopped_at_the_deadline_shows_its_best_epoch_so_far(tmp_path):
    cr = collect()
    run = tmp_path / "runs" / "attention"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"epochs": 12}))
    (run / "metrics.csv").write_text("epoch,loss,val_acc\n1,2.0,0.41\n2,1.8,0.47\n3,1.7,0.45\n")
    (tmp_path / "runs" / "attention.time").write_text(json.dumps({"start": 0, "end": 30, "exit_code": 124}))
    md = cr.render(tmp_path)
    assert "| + self-attention weights & fusion | 47.0 (partial: 3/12 epochs) | 69.4 | 2 |" in md
