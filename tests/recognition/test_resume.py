"""--resume continues the run that was started: its schedule, lr and weights choice, its data — or says in one
line why it cannot (never a traceback, never a rewritten config.json)."""
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet18

from .conftest import tiny_run_after_epoch, train_main, train_until_killed


def _hub_with_resnet18(root):
    """A torch hub cache holding a torchvision ResNet18 file, as on a machine that downloaded it later."""
    ckpt = root / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(resnet18(weights=None).state_dict(), ckpt / "resnet18-f37072fd.pth")
    return root


def test_resume_keeps_the_saved_schedule_when_pretrained_weights_appear_later(tiny_run, tmp_path, monkeypatch,
                                                                             capsys):
    # the run killed after epoch 1 is tiny_run's folder as it stood then (started with an empty TORCH_HOME: no
    # weights when the run starts); a copy, so the session's tiny_run is untouched
    out = tmp_path / "killed"
    shutil.copytree(tiny_run_after_epoch(tiny_run, 1), out)
    assert len((out / "metrics.csv").read_text().splitlines()) == 2 and not (out / "summary.json").exists()
    config_before = (out / "config.json").read_text()
    assert json.loads(config_before)["schedule_used"] == "onecycle"  # from scratch
    home = _hub_with_resnet18(tmp_path / "torch_home")
    monkeypatch.setenv("TORCH_HOME", str(home))
    assert train_main(["--resume", str(out)]) == 0, capsys.readouterr().err[-2000:]
    assert (out / "config.json").read_text() == config_before
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schedule"] == "onecycle" and summary["from_scratch"] is True
    ref = json.loads((tiny_run / "summary.json").read_text())
    assert summary["accuracy"] == ref["accuracy"] and summary["train_weights_sha1"] == ref["train_weights_sha1"]


def _folder(root, n=8, size=40):
    rng = np.random.default_rng(0)
    for k in range(n):
        path = root / ("a" if k % 2 else "b") / f"{k}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(path)
    return root


ONE_EPOCH = ["--dataset", "folder", "--arch", "resnet18", "--image-size", "40", "--batch-size", "4", "--epochs", "1",
             "--midline", "center", "--no-compile", "--device", "cpu", "--val-fraction", "0.25"]


def _started_run(tmp_path, *extra):
    """A one-epoch folder-dataset run (resuming it goes through every check a half-finished run meets)."""
    data, out = _folder(tmp_path / "data"), tmp_path / "run"
    assert train_main([*ONE_EPOCH, *extra, "--data", str(data), "--out", str(out)]) == 0
    return data, out


@pytest.fixture(scope="module")
def started_copy(tmp_path_factory):
    """``started_copy(tmp_path, *extra)`` -> a copy of ``_started_run(..., *extra)`` in tmp_path/run.

    Each started run is trained once per module and copied for every test that resumes or edits it: the run
    folder is all a resume reads, besides the data (shared, read-only: a test that changes the data trains its
    own run)."""
    built = {}

    def get(tmp_path, *extra):
        if extra not in built:
            built[extra] = _started_run(tmp_path_factory.mktemp("started"), *extra)[1]
        out = tmp_path / "run"
        shutil.copytree(built[extra], out)
        return out
    return get


def test_resume_on_changed_data_is_refused_in_one_line(tmp_path, capsys):
    data, out = _started_run(tmp_path)
    config_before = (out / "config.json").read_text()
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(data / "a" / "1.png")  # one image replaced
    capsys.readouterr()
    assert train_main(["--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume") and "is not the data this run started with" in err
    assert err.count("\n") == 1 and (out / "config.json").read_text() == config_before


def test_a_checkpoint_that_does_not_fit_the_saved_schedule_is_a_one_line_error(tmp_path, capsys, started_copy):
    out = started_copy(tmp_path, "--schedule", "onecycle")
    cfg = json.loads((out / "config.json").read_text())
    cfg["schedule_used"] = "paper"  # the checkpoint holds OneCycle's state (the old bug: KeyError 'lr_lambdas')
    (out / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert train_main(["--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume") and "does not fit the run's saved config" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_resume_of_a_run_without_its_schedule_in_config_is_refused(tmp_path, capsys, started_copy):
    out = started_copy(tmp_path)
    cfg = json.loads((out / "config.json").read_text())
    del cfg["schedule_used"]
    (out / "config.json").write_text(json.dumps(cfg))
    assert train_main(["--resume", str(out)]) == 2
    assert "lacks schedule_used" in capsys.readouterr().err


def test_a_run_started_from_imagenet_weights_resumes_after_the_weights_file_is_gone(tmp_path, capsys):
    weights = tmp_path / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), weights)
    _, out = _started_run(tmp_path, "--pretrained", str(weights))
    assert json.loads((out / "config.json").read_text())["pretrained_used"] == str(weights)
    weights.unlink()
    assert train_main(["--resume", str(out)]) == 0, capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["pretrained"] == str(weights)


def test_resume_continues_a_killed_cross_validation(tmp_path, monkeypatch, capsys):
    # --resume RUN_DIR of a --folds run used to stop with "no config.json there (not a run folder)"
    out = tmp_path / "cv"
    args = ["--dataset", "synthetic", "--data", "n=32,size=48,classes=4,seed=1", "--arch", "resnet18",
            "--image-size", "32", "--batch-size", "8", "--epochs", "2", "--folds", "2", "--no-compile",
            "--device", "cpu", "--out", str(out)]
    train_until_killed(args, 1, monkeypatch)
    assert (out / "fold1_seed0" / "checkpoint_last.pt").is_file() and not (out / "summary.json").exists()
    capsys.readouterr()
    assert train_main(["--resume", str(out), "--device", "cpu"]) == 0, capsys.readouterr().err[-2000:]
    assert "resumed from" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 2 and summary["folds"] == 2
    assert [r["accuracy_epoch"] for r in summary["per_run"]] == [2, 2]
    assert sum(r["n_evaluated"] for r in summary["per_run"]) == 32  # each sample held out once


def test_resume_with_a_changed_learning_rate_is_refused_in_one_line_naming_both_values(tmp_path, capsys,
                                                                                       started_copy):
    out = started_copy(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    capsys.readouterr()
    assert train_main(["--resume", str(out), "--epochs", "1", "--lr", "0.5", "--batch-size", "4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --resume {out}: --lr 0.5 differs from the run's lr=0.01") and err.count("\n") == 1
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # nothing trained or rewritten
    assert train_main(["--resume", str(out), "--batch-size", "8"]) == 2
    assert "--batch-size 8 differs from the run's batch_size=4" in capsys.readouterr().err
    # the flags that are the run's own values, or describe this machine, are fine
    assert train_main(["--resume", str(out), "--lr", "0.01", "--batch-size", "4", "--device", "cpu"]) == 0


def test_resume_with_more_epochs_continues_a_constant_schedule_run_and_refuses_fewer(tmp_path, capsys,
                                                                                    started_copy):
    out = started_copy(tmp_path)
    first = (out / "metrics.csv").read_text().splitlines()
    assert train_main(["--resume", str(out), "--epochs", "2"]) == 0
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[1] == first[1]  # epoch 1 kept, epoch 2 trained on top
    assert json.loads((out / "summary.json").read_text())["accuracy_epoch"] == 2
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    assert "continuing the run beyond its 1 epochs" in (out / "train.log").read_text()
    capsys.readouterr()
    assert train_main(["--resume", str(out), "--epochs", "1"]) == 2
    assert "fewer epochs" in capsys.readouterr().err


def test_more_epochs_on_a_onecycle_run_is_refused_because_its_schedule_depends_on_them(tmp_path, capsys,
                                                                                       started_copy):
    out = started_copy(tmp_path, "--schedule", "onecycle")
    capsys.readouterr()
    assert train_main(["--resume", str(out), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "onecycle schedule was laid out for 1 epochs" in err and err.count("\n") == 1


def test_resume_of_a_cross_validation_with_more_seeds_adds_them_and_keeps_the_finished_ones(tmp_path, capsys):
    out = tmp_path / "cv"
    args = ["--dataset", "synthetic", "--data", "n=24,size=40,classes=3,seed=1", "--arch", "resnet18",
            "--image-size", "32", "--batch-size", "8", "--epochs", "1", "--folds", "2", "--no-compile",
            "--device", "cpu", "--out", str(out)]
    assert train_main(args) == 0
    stamp = (out / "fold1_seed0" / "summary.json").stat().st_mtime_ns
    assert train_main(["--resume", str(out), "--seeds", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == 2 and summary["runs"] == 4 and len(summary["accuracy_per_seed"]) == 2
    assert (out / "fold2_seed1" / "summary.json").is_file()
    assert (out / "fold1_seed0" / "summary.json").stat().st_mtime_ns == stamp  # reused, not retrained
    assert json.loads((out / "config.json").read_text())["seeds"] == 2
    capsys.readouterr()
    assert train_main(["--resume", str(out), "--seeds", "1"]) == 2
    assert "finished seeds are never dropped" in capsys.readouterr().err
    assert train_main(["--resume", str(out), "--folds", "3"]) == 2
    assert "re-partition" in capsys.readouterr().err
