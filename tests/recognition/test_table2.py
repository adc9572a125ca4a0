"""python -m recognition.table2: the paper's Table 2 (left vs right half-faces) on a lab's stimuli."""
import csv
import json
import sys

import numpy as np
import pytest

from recognition import stats, table2

from .stimuli_fixture import write_manifest


def test_sign_test_is_the_exact_binomial_tail_and_drops_ties():
    a = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
    b = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.1]  # 5 a>b, 1 a<b, 1 tie
    s = stats.sign_test(a, b)
    assert (s["a_greater"], s["b_greater"], s["ties"]) == (5, 1, 1)
    assert s["p"] == pytest.approx(2 * (1 + 6) / 2 ** 6)
    sp = pytest.importorskip("scipy.stats")
    assert s["p"] == pytest.approx(sp.binomtest(1, 6).pvalue)
    assert stats.sign_test([1, 2], [1, 2])["p"] == 1.0


def test_paired_t_matches_scipy_and_says_so_without_it(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.7, 0.1, 12), rng.normal(0.65, 0.1, 12)
    t = stats.paired_t(a, b)
    sp = pytest.importorskip("scipy.stats")
    ref = sp.ttest_rel(a, b)
    assert t["t"] == pytest.approx(ref.statistic) and t["p"] == pytest.approx(ref.pvalue) and t["df"] == 11
    monkeypatch.setitem(sys.modules, "scipy", None)
    bare = stats.paired_t(a, b)
    assert bare["t"] == pytest.approx(ref.statistic) and bare["p"] is None and "scipy" in bare["note"]


@pytest.mark.slow
def test_table2_trains_both_halves_per_fold_and_seed_and_writes_table_and_figure(tmp_path, capsys):
    manifest = write_manifest(tmp_path / "stim", photos_per_emotion=2, size=48)
    out = tmp_path / "t2"
    argv = ["--data", str(manifest), "--arch", "resnet18", "--folds", "2", "--seeds", "2", "--epochs", "1",
            "--image-size", "32", "--batch-size", "8", "--device", "cpu", "--out", str(out)]
    assert table2.main(argv) == 0
    printed = capsys.readouterr().out
    with open(out / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert sorted((r["condition"], r["fold"], r["seed"]) for r in runs) == sorted(
        (c, f, s) for c in ("left", "right") for f in ("0", "1") for s in ("0", "1"))
    assert all(int(r["n"]) == 7 for r in runs)  # each fold holds 7 of the 14 photos, one half each
    with open(out / "table2.csv") as f:
        rows = {r["condition"]: r for r in csv.DictReader(f)}
    for cond in ("left", "right"):
        per_seed = [sum(int(r["correct"]) for r in runs if r["condition"] == cond and r["seed"] == s) / 14
                    for s in ("0", "1")]
        assert float(rows[cond]["mean"]) == pytest.approx(100 * np.mean(per_seed), abs=1e-3)
        assert float(rows[cond]["sd"]) == pytest.approx(100 * np.std(per_seed, ddof=1), abs=1e-3)
    assert float(rows["left"]["paper"]) == 84.7 and float(rows["right"]["paper"]) == 79.3
    result = json.loads((out / "table2.json").read_text())
    [comp] = result["comparisons"]
    left = {(r["fold"], r["seed"]): float(r["accuracy"]) for r in runs if r["condition"] == "left"}
    right = {(r["fold"], r["seed"]): float(r["accuracy"]) for r in runs if r["condition"] == "right"}
    assert comp["sign"]["a_greater"] == sum(left[k] > right[k] for k in left) and comp["pairs"] == 4
    md = (out / "table2.md").read_text()
    assert "| resnet18 | left |" in md and "84.7" in md and "sign test" in md and md in printed
    assert (out / "fig4.png").stat().st_size > 5000
    # every run is a separate network on one half; none saw its held-out photos
    cfg = json.loads((out / "resnet18" / "left" / "fold1_seed0" / "config.json").read_text())
    assert cfg["half"] == "left" and cfg["image_size"] == 32 and cfg["select"] == "last"
    assert not list(out.rglob("*.pt"))  # no checkpoints kept by default
    # a second call keeps the finished runs
    stamp = (out / "resnet18" / "left" / "fold1_seed0" / "summary.json").stat().st_mtime_ns
    assert table2.main(argv) == 0
    assert (out / "resnet18" / "left" / "fold1_seed0" / "summary.json").stat().st_mtime_ns == stamp


def test_bad_arguments_are_one_line(tmp_path, capsys):
    assert table2.main(["--data", "x.csv", "--arch", "vgg", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --arch vgg")
    assert table2.main(["--data", str(tmp_path / "missing.csv"), "--arch", "resnet18", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "python -m stimuli build" in err and err.count("\n") == 1


SYNTH = ["--dataset", "synthetic", "--data", "n=32,size=48,classes=4,seed=1", "--arch", "resnet18",
         "--conditions", "left,right", "--epochs", "1", "--image-size", "32", "--batch-size", "16", "--device", "cpu"]


def test_table3_with_one_seed_and_no_folds_writes_its_table_and_keeps_the_runs(tmp_path, capsys):
    # the old code died with KeyError: 'accuracy_per_seed' (one seed, no folds: a single run's summary came back)
    out = tmp_path / "t3"
    argv = [*SYNTH, "--seeds", "1", "--out", str(out)]
    assert table2.main(argv) == 0
    with open(out / "table2.csv") as f:
        rows = {r["condition"]: r for r in csv.DictReader(f)}
    for cond in ("left", "right"):
        run = json.loads((out / "resnet18" / cond / "seed0" / "summary.json").read_text())
        assert run["epochs"] == 1 and run["n_evaluated"] == 32  # the val split, once, final epoch
        assert float(rows[cond]["mean"]) == pytest.approx(100 * run["accuracy"], abs=1e-3)
        assert float(rows[cond]["sd"]) == 0 and rows[cond]["runs"] == "1"
    stamp = (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns
    assert table2.main(argv) == 0  # a rerun keeps the finished single runs too
    assert (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns == stamp


def test_a_rerun_with_other_settings_into_the_same_out_is_refused_not_mislabelled(tmp_path, capsys):
    # the old code kept the 1-epoch runs and wrote "2 epochs" above their accuracies
    out = tmp_path / "t3"
    assert table2.main([*SYNTH, "--seeds", "1", "--out", str(out)]) == 0
    table_before = (out / "table2.md").read_text()
    capsys.readouterr()
    assert table2.main([*SYNTH, "--seeds", "1", "--out", str(out), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "epochs=1" in err and "epochs=2" in err and err.count("\n") == 1
    assert (out / "table2.md").read_text() == table_before
    # more seeds into the same --out is fine: the finished seed is kept
    stamp = (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns
    assert table2.main([*SYNTH, "--seeds", "2", "--out", str(out)]) == 0
    assert (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns == stamp
    with open(out / "runs.csv") as f:
        assert sorted(r["seed"] for r in csv.DictReader(f) if r["condition"] == "left") == ["0", "1"]
