"""Honest cross-validation on a lab's stimuli: a fold's accuracy is its final epoch (or the epoch a nested inner
split chose), measured once on photos the network never saw; both halves of a photo share a fold."""
import csv

import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from recognition.evaluate import evaluate_model, summarize
from recognition.prepare import run_data
from recognition.runio import load_checkpoint, read_json

from .conftest import train_main
from .stimuli_fixture import write_manifest

ARGS = ["--dataset", "stimuli", "--arch", "resnet18", "--image-size", "32", "--batch-size", "8", "--epochs", "3",
        "--no-compile", "--device", "cpu"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_manifest(tmp_path_factory.mktemp("stim"), photos_per_emotion=2, size=48)


def _metrics(run):
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


def _reevaluate(run, which):
    model, config, _ = load_checkpoint(run / which)
    data = run_data(config, config["fold"])
    s = summarize(evaluate_model(model, data.evaluate, config, "cpu", 64), data.evaluate.class_names, False)
    return s, data


def test_fold_accuracy_is_the_final_epochs_on_photos_never_trained_on(manifest, tmp_path):
    out = tmp_path / "cv"
    assert train_main([*ARGS, "--data", str(manifest), "--half", "left", "--folds", "2", "--seeds", "2",
                       "--out", str(out)]) == 0
    summary = read_json(out / "summary.json")
    assert summary["selection"] == "final epoch" and summary["runs"] == 4
    for seed in (0, 1):
        photos = []
        subs = [out / f"fold{k}_seed{seed}" for k in (1, 2)]
        for sub in subs:
            s = read_json(sub / "summary.json")
            assert s["selection"] == "final epoch" and s["accuracy_epoch"] == 3 and s["best_val_acc"] is None
            assert "val_acc" not in _metrics(sub)[0]  # the held-out fold is never looked at during training
            again, data = _reevaluate(sub, "checkpoint_last.pt")  # the final weights, re-evaluated
            assert s["accuracy"] == pytest.approx(again["accuracy"]) and s["n_evaluated"] == 7
            assert not set(data.train.groups) & set(data.evaluate.groups)  # posers (identity) never shared
            assert not set(data.train.columns["photo_id"]) & set(data.evaluate.columns["photo_id"])
            photos += data.evaluate.columns["photo_id"]
        assert sorted(photos) == sorted(set(photos)) and len(photos) == 14  # each photo held out exactly once
        pooled = sum(read_json(s / "summary.json")["correct"] for s in subs) / 14
        assert summary["accuracy_per_seed"][seed] == pytest.approx(pooled)
    assert summary["accuracy_mean"] == pytest.approx(np.mean(summary["accuracy_per_seed"]))
    assert summary["accuracy_sd"] == pytest.approx(np.std(summary["accuracy_per_seed"], ddof=1))


def test_nested_selection_picks_the_epoch_on_an_inner_split_of_the_training_photos(tmp_path):
    manifest = write_manifest(tmp_path / "stim", photos_per_emotion=4, size=48)
    out = tmp_path / "nested"
    assert train_main([*ARGS, "--data", str(manifest), "--half", "right", "--folds", "2", "--select", "inner",
                       "--val-fraction", "0.3", "--out", str(out)]) == 0
    sub = out / "fold1_seed0"
    s = read_json(sub / "summary.json")
    inner = [float(r["val_acc"]) for r in _metrics(sub)]
    assert s["best_epoch"] == 1 + int(np.argmax(inner)) and s["accuracy_epoch"] == s["best_epoch"]
    assert "inner" in s["selection"] and "nested" in s["val_source"]
    again, data = _reevaluate(sub, "checkpoint_best.pt")
    assert s["accuracy"] == pytest.approx(again["accuracy"])
    train, sel, held = (set(x.columns["photo_id"]) for x in (data.train, data.select, data.evaluate))
    assert not (train & sel) and not (train & held) and not (sel & held) and len(train | sel | held) == 28
    assert len(sel) == 7  # one of the two training posers, with their 7 photos
    posers = [set(x.groups) for x in (data.train, data.select, data.evaluate)]
    assert len(set.union(*posers)) == sum(map(len, posers)) == 4  # every poser in one part only


def test_half_face_runs_train_a_plain_pooled_resnet18(manifest, tmp_path):
    out = tmp_path / "plain"
    assert train_main([*ARGS, "--data", str(manifest), "--half", "left", "--epochs", "1", "--folds", "2",
                       "--seeds", "1", "--out", str(out)]) == 0
    cfg = read_json(out / "fold1_seed0" / "config.json")
    assert cfg["arch"] == "resnet18" and cfg["variant"] is None and cfg["premasked"] is True
    assert cfg["schedule_used"] == "paper" and cfg["lr_used"] == 0.01 and cfg["momentum"] == 0.9
    assert cfg["weight_decay"] == 5e-4 and cfg["channels"] == 3
    model, _, _ = load_checkpoint(out / "fold1_seed0" / "checkpoint_last.pt")
    ref = resnet18(num_classes=7)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in ref.parameters())
    assert isinstance(model.net.avgpool, torch.nn.AdaptiveAvgPool2d)  # the usual pooled head, not HSAW's
