"""train → evaluate on synthetic data: accuracy, per-class accuracy, confusion matrix and half weights agree."""
import json

import numpy as np
import pytest
import torch

from recognition import evaluate
from recognition.evaluate import summarize
from recognition.runio import load_checkpoint

DATA = "n=32,size=48,classes=4,seed=1"


def test_evaluate_cli_writes_accuracy_confusion_and_half_weights(tiny_run, tmp_path, capsys):
    # evaluate.main in this process: the end-to-end `python -m recognition.evaluate` in a fresh interpreter is
    # test_bare_torch.py's (bare_session.py runs the module as __main__); a subprocess here only re-imported torch
    code = evaluate.main([str(tiny_run / "checkpoint_best.pt"), "--dataset", "synthetic", "--data", DATA,
                          "--split", "val", "--out", str(tmp_path)])
    proc = capsys.readouterr()
    assert code == 0, proc.err[-2000:]
    res = json.loads((tmp_path / "eval_val.json").read_text())
    cm = np.array(res["confusion"])
    assert cm.shape == (4, 4) and cm.sum() == 32 == res["n"]
    assert res["accuracy"] == pytest.approx(np.trace(cm) / 32)
    for k, c in enumerate(res["class_names"]):
        assert res["per_class_accuracy"][c] == pytest.approx(cm[k, k] / cm[k].sum())
        assert 0 < res["mean_w_left"][c] < 1 and 0 < res["mean_w_right"][c] < 1
    # the best checkpoint's validation accuracy in training is what evaluate reproduces
    best = json.loads((tiny_run / "summary.json").read_text())["best_val_acc"]
    assert res["accuracy"] == pytest.approx(best)
    csv_rows = (tmp_path / "confusion_val.csv").read_text().splitlines()
    assert csv_rows[0] == "true\\pred,class0,class1,class2,class3"
    assert [int(v) for v in csv_rows[1].split(",")[1:]] == cm[0].tolist()
    assert (tmp_path / "confusion_val.png").stat().st_size > 1000
    assert f"accuracy {res['accuracy']:.4f}" in proc.out


def test_evaluate_refuses_a_dataset_with_other_classes(tiny_run, tmp_path, capsys):
    code = evaluate.main([str(tiny_run / "checkpoint_best.pt"), "--dataset", "synthetic",
                          "--data", "n=14,size=48,classes=7", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "differ" in err


def test_summarize_divides_weights_by_class_counts():
    result = {"confusion": torch.tensor([[2, 1], [0, 1]]), "count": torch.tensor([3, 1]),
              "w_left": torch.tensor([1.5, 0.2]), "w_right": torch.tensor([0.3, 0.9])}
    s = summarize(result, ["a", "b"], has_weights=True)
    assert s["accuracy"] == pytest.approx(0.75)
    assert s["per_class_accuracy"] == {"a": pytest.approx(2 / 3), "b": 1.0}
    assert s["mean_w_left"] == {"a": pytest.approx(0.5), "b": pytest.approx(0.2)}
    assert s["mean_w_right_all"] == pytest.approx(0.3)


def test_load_checkpoint_rebuilds_the_trained_model(tiny_run):
    model, config, ckpt = load_checkpoint(tiny_run / "checkpoint_last.pt")
    assert config["image_size"] == 48 and config["num_classes"] == 4 and model.attention is not None
    torch.testing.assert_close(model.state_dict()["fusion.fc.weight"], ckpt["model"]["fusion.fc.weight"])


def test_mean_class_accuracy_and_macro_f1_follow_their_definitions():
    # 3 classes; class 2 never occurs but is predicted once (counts 0 in macro-F1, absent from class accuracy)
    cm = np.array([[8, 2, 0], [3, 1, 1], [0, 0, 0]])
    from recognition.evaluate import classification_metrics
    m = classification_metrics(cm, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(9 / 15)
    assert m["per_class_accuracy"] == {"a": pytest.approx(0.8), "b": pytest.approx(0.2), "c": None}
    assert m["mean_class_accuracy"] == pytest.approx((0.8 + 0.2) / 2)
    f1_a, f1_b = 2 * 8 / (2 * 8 + 3 + 2), 2 * 1 / (2 * 1 + 2 + 4)
    assert m["per_class_f1"] == {"a": pytest.approx(f1_a), "b": pytest.approx(f1_b), "c": 0.0}
    assert m["macro_f1"] == pytest.approx((f1_a + f1_b + 0.0) / 3)
    sk = pytest.importorskip("sklearn.metrics")
    y = np.repeat([0, 0, 0, 1, 1, 1], [8, 2, 0, 3, 1, 1])
    p = np.repeat([0, 1, 2, 0, 1, 2], [8, 2, 0, 3, 1, 1])
    assert m["macro_f1"] == pytest.approx(sk.f1_score(y, p, average="macro"))
    assert m["mean_class_accuracy"] == pytest.approx(sk.balanced_accuracy_score(y, p))


def test_evaluate_and_summary_report_per_class_and_macro_metrics(tiny_run, tmp_path, capsys):
    code = evaluate.main([str(tiny_run / "checkpoint_last.pt"), "--dataset", "synthetic",
                          "--data", DATA, "--split", "val", "--out", str(tmp_path)])
    proc = capsys.readouterr()
    assert code == 0, proc.err[-2000:]
    res = json.loads((tmp_path / "eval_val.json").read_text())
    summary = json.loads((tiny_run / "summary.json").read_text())
    for key in ("accuracy", "mean_class_accuracy", "macro_f1"):
        assert res[key] == pytest.approx(summary[key]), key  # final weights, same val split
    assert set(res["per_class_f1"]) == set(res["class_names"]) == set(summary["per_class_accuracy"])
    assert "macro-F1" in proc.out


def test_evaluate_defaults_to_the_stimuli_split_and_the_checkpoints_midline(tmp_path, capsys, stimuli_set):
    # --help said "default val; stimuli: train" but the default was val for stimuli too (an error); and a model
    # trained with --midline center needed --midline center again to be evaluated at all
    from .conftest import train_main
    manifest = stimuli_set(photos_per_emotion=2, size=48)
    stim_run = tmp_path / "stim_run"
    assert train_main(["--dataset", "stimuli", "--data", str(manifest), "--half", "left", "--image-size", "32",
                       "--batch-size", "8", "--epochs", "1", "--no-compile", "--device", "cpu",
                       "--out", str(stim_run)]) == 0
    assert evaluate.main([str(stim_run / "checkpoint_last.pt"), "--dataset", "stimuli", "--data", str(manifest),
                          "--device", "cpu"]) == 0, capsys.readouterr().err[-2000:]
    res = json.loads((stim_run / "eval_train.json").read_text())
    assert res["split"] == "train" and res["n"] == 14  # the 14 photos' left halves

    center_run = tmp_path / "center_run"
    assert train_main(["--dataset", "fer2013", "--data", str(_fer_csv(tmp_path / "fer.csv")), "--midline",
                       "center", "--image-size", "48", "--batch-size", "8", "--epochs", "1", "--max-steps", "1",
                       "--no-compile", "--device", "cpu", "--out", str(center_run)]) == 0
    assert evaluate.main([str(center_run / "checkpoint_last.pt"), "--dataset", "fer2013",
                          "--data", str(tmp_path / "fer.csv"), "--device", "cpu"]) == 0, capsys.readouterr().err[-2000:]
    res = json.loads((center_run / "eval_val.json").read_text())
    assert res["midlines"].startswith("center") and res["n"] == 7
    summary = json.loads((center_run / "summary.json").read_text())
    assert res["accuracy"] == pytest.approx(summary["accuracy"])  # the same faces, split the same way


def _fer_csv(path):
    """A FER2013-format csv: 14 Training and 7 PublicTest rows of generated 48×48 faces."""
    rng = np.random.default_rng(0)
    lines = ["emotion,pixels,Usage"]
    for usage, n in (("Training", 14), ("PublicTest", 7)):
        for k in range(n):
            lines.append(f"{k % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_confusion_matrix_title_names_the_split_it_was_measured_on(tiny_run, tmp_path, monkeypatch, capsys):
    titles = []
    monkeypatch.setattr(evaluate, "write_confusion", lambda out, stem, summary, title="": titles.append((stem, title)))
    assert evaluate.main([str(tiny_run / "checkpoint_last.pt"), "--dataset", "synthetic", "--data",
                          "n=32,size=48,classes=4,seed=1", "--split", "train", "--out", str(tmp_path),
                          "--device", "cpu"]) == 0
    [(stem, title)] = titles
    assert stem == "confusion_train" and "synthetic train split" in title and "accuracy" in title
