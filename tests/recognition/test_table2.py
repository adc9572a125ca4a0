"""python -m recognition.table2: the paper's Table 2 (left vs right half-faces) on a lab's stimuli."""
import csv
import json
import shutil
import sys

import numpy as np
import pytest

from recognition import stats, table2
from halfface.cli import UserError

from .stimuli_fixture import write_manifest


def test_the_exact_binomial_p_is_the_same_with_and_without_scipy(monkeypatch):
    sp = pytest.importorskip("scipy.stats")
    cases = [(1, 6), (0, 5), (3, 6), (7, 20), (0, 0)]
    with_scipy = [stats.binomial_two_sided(k, n) for k, n in cases]
    assert with_scipy[0] == pytest.approx(sp.binomtest(1, 6).pvalue) == pytest.approx(2 * (1 + 6) / 2 ** 6)
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    assert [stats.binomial_two_sided(k, n) for k, n in cases] == pytest.approx(with_scipy)  # math.comb
    assert stats.binomial_two_sided(0, 0) == 1.0


def test_mcnemar_counts_only_discordant_photos_and_matches_the_binomial_test():
    rng = np.random.default_rng(1)
    left, right = rng.random(60) < 0.7, rng.random(60) < 0.5
    m = stats.mcnemar_exact(left, right)
    b, c = int((left & ~right).sum()), int((~left & right).sum())
    assert (m["a_only"], m["b_only"], m["n"]) == (b, c, 60)
    assert m["both"] + m["neither"] + b + c == 60
    sp = pytest.importorskip("scipy.stats")
    assert m["p"] == pytest.approx(sp.binomtest(min(b, c), b + c, 0.5).pvalue)
    # concordant photos carry no information: adding photos both halves got right changes nothing
    more = stats.mcnemar_exact(np.r_[left, [True] * 30], np.r_[right, [True] * 30])
    assert more["p"] == m["p"] and more["n"] == 90
    # the answer depends on the photos, not on their order or names
    perm = rng.permutation(60)
    assert stats.mcnemar_exact(left[perm], right[perm])["p"] == m["p"]


def test_majority_over_seeds_counts_a_tie_as_not_recognised():
    assert stats.majority([1, 1, 0]) and not stats.majority([1, 0, 0]) and not stats.majority([1, 0])


def test_corrected_resampled_t_is_wider_than_the_plain_t_and_its_p_needs_no_scipy(monkeypatch):
    rng = np.random.default_rng(0)
    d = rng.normal(0.03, 0.05, 20)  # 10 folds x 2 seeds
    nb = stats.corrected_resampled_t(d, 1 / 9)
    plain = d.mean() / (d.std(ddof=1) / np.sqrt(20))
    assert nb["t"] == pytest.approx(d.mean() / np.sqrt((1 / 20 + 1 / 9) * d.var(ddof=1)))
    assert abs(nb["t"]) < abs(plain) and nb["df"] == 19
    sp = pytest.importorskip("scipy.stats")
    assert nb["p"] == pytest.approx(2 * sp.t.sf(abs(nb["t"]), 19))
    with_scipy = {(t, df): stats.t_two_sided_p(t, df) for t in (0.3, 1.7, 4.2) for df in (1, 2, 3, 8, 19, 49)}
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    for (t, df), p in with_scipy.items():  # the closed form of Abramowitz & Stegun 26.7.3-4
        assert stats.t_two_sided_p(t, df) == pytest.approx(p, rel=1e-9, abs=1e-12), (t, df)
    assert stats.corrected_resampled_t([0.1], 0.1)["t"] is None


def test_collapsed_and_near_chance_runs_are_flagged_and_a_good_run_is_not():
    true = np.repeat(np.arange(7), 10)
    one_class = stats.chance_flags(true, np.full(70, 3))
    assert one_class["collapsed"] and one_class["near_chance"]
    assert one_class["balanced_accuracy"] == pytest.approx(1 / 7) and one_class["chance"] == pytest.approx(1 / 7)
    good = stats.chance_flags(true, np.where(np.arange(70) % 10 < 8, true, (true + 1) % 7))
    assert not good["collapsed"] and not good["near_chance"] and good["balanced_accuracy"] == pytest.approx(0.8)
    # the majority class does not buy balanced accuracy: 60 % accuracy, still chance
    skewed = stats.chance_flags(np.r_[np.zeros(60, int), np.arange(1, 5).repeat(10)], np.zeros(100, int))
    assert skewed["balanced_accuracy"] == pytest.approx(0.2) and skewed["collapsed"]
    assert stats.mean_sd([0.5])[1] is None


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_table2_keeps_posers_in_one_fold_writes_predictions_and_tests_left_vs_right_per_photo(tmp_path, capsys,
                                                                                             stimuli_set):
    # 4 posers, each showing all 7 emotions (28 photos): a fold holds whole posers, never a person on both sides
    manifest = stimuli_set(photos_per_emotion=4, size=48, identities=4)
    out = tmp_path / "t2"
    argv = ["--data", str(manifest), "--arch", "resnet18", "--folds", "2", "--seeds", "2", "--epochs", "1",
            "--image-size", "32", "--batch-size", "8", "--device", "cpu", "--out", str(out)]
    assert table2.main(argv) == 0
    printed = capsys.readouterr().out
    runs, preds = _csv(out / "runs.csv"), _csv(out / "predictions.csv")
    assert sorted((r["condition"], r["fold"], r["seed"]) for r in runs) == sorted(
        (c, f, s) for c in ("left", "right") for f in ("1", "2") for s in ("0", "1"))  # folds numbered as folders
    assert all(r["grouping"] == "grouped by identity" for r in runs)
    for cond in ("left", "right"):
        for seed in ("0", "1"):
            mine = [p for p in preds if p["condition"] == cond and p["seed"] == seed]
            assert sorted(p["photo_id"] for p in mine) == sorted({p["photo_id"] for p in mine})  # once each
            assert len(mine) == 28 and all(p["half"] == cond for p in mine)
            fold_of = {}
            for p in mine:
                assert fold_of.setdefault(p["identity"], p["fold"]) == p["fold"]  # a poser in one fold only
            assert len(fold_of) == 4
            run_dir = out / "resnet18" / cond / f"fold1_seed{seed}"
            assert len(_csv(run_dir / "predictions.csv")) == sum(p["fold"] == "1" for p in mine)
    for r in runs:  # the flags follow from the run's own predictions
        mine = [p for p in preds if (p["condition"], p["fold"], p["seed"]) == (r["condition"], r["fold"], r["seed"])]
        assert int(r["n"]) == len(mine)
        assert r["collapsed"] == str(int(len({p["predicted"] for p in mine}) == 1))
        probs = np.array([[float(p[k]) for k in p if k.startswith("p_")] for p in mine])
        assert np.allclose(probs.sum(1), 1, atol=1e-4)
    rows = {r["condition"]: r for r in _csv(out / "table2.csv")}
    for cond in ("left", "right"):
        mine = [r for r in runs if r["condition"] == cond]
        per_seed = [sum(int(r["correct"]) for r in mine if r["seed"] == s) / 28 for s in ("0", "1")]
        assert float(rows[cond]["mean"]) == pytest.approx(100 * np.mean(per_seed), abs=1e-3)
        assert float(rows[cond]["sd"]) == pytest.approx(100 * np.std(per_seed, ddof=1), abs=1e-3)
        assert float(rows[cond]["chance"]) == pytest.approx(100 / 7, abs=1e-3)
        assert int(rows[cond]["collapsed"]) == sum(r["collapsed"] == "1" for r in mine)
    assert float(rows["left"]["paper"]) == 84.7 and float(rows["right"]["paper"]) == 79.3
    # the inference: McNemar over the 28 photos, each half recognised when most seeds got it right
    [comp] = json.loads((out / "table2.json").read_text())["comparisons"]
    right_by = {}
    for p in preds:
        right_by.setdefault((p["condition"], p["photo_id"]), []).append(p["true"] == p["predicted"])
    photos = sorted({p["photo_id"] for p in preds})
    left_ok = [sum(right_by[("left", k)]) > 1 for k in photos]  # 2 seeds: both
    right_ok = [sum(right_by[("right", k)]) > 1 for k in photos]
    want = stats.mcnemar_exact(left_ok, right_ok)
    assert comp["photos"] == 28 and comp["mcnemar"]["p"] == want["p"] and comp["inference"] == "mcnemar"
    assert (comp["mcnemar"]["a_only"], comp["mcnemar"]["b_only"]) == (want["a_only"], want["b_only"])
    nb = comp["nadeau_bengio"]
    assert nb["df"] == 3 and nb["test_train_ratio"] == pytest.approx(1.0)  # 2 folds: 14 tested, 14 trained
    md = (out / "table2.md").read_text()
    assert "| resnet18 | left |" in md and "84.7" in md and "McNemar" in md and "Nadeau & Bengio" in md
    assert "balanced accuracy" in md and "chance" in md and "paired t over folds would overstate" in md
    assert "grouped by identity" in md and md in printed
    assert (out / "fig4.png").stat().st_size > 5000
    cfg = json.loads((out / "resnet18" / "left" / "fold1_seed0" / "config.json").read_text())
    assert cfg["half"] == "left" and cfg["image_size"] == 32 and cfg["select"] == "last"
    assert not list(out.rglob("*.pt"))  # no checkpoints kept by default
    # a second call keeps the finished runs
    stamp = (out / "resnet18" / "left" / "fold1_seed0" / "summary.json").stat().st_mtime_ns
    assert table2.main(argv) == 0
    assert (out / "resnet18" / "left" / "fold1_seed0" / "summary.json").stat().st_mtime_ns == stamp


def test_without_identities_the_folds_group_by_photo_and_say_so(tmp_path, capsys):
    from recognition.data import load_stimuli
    from recognition.prepare import fold_groups

    fs = load_stimuli(write_manifest(tmp_path / "a", photos_per_emotion=1, size=32, identities=0), side=32)
    groups, said = fold_groups(fs)
    assert groups == fs.columns["photo_id"] and said.startswith("grouped by photo") and "identity" in said
    fs = load_stimuli(write_manifest(tmp_path / "b", photos_per_emotion=3, size=32, identities=2), side=32)
    groups, said = fold_groups(fs)
    assert groups == fs.columns["identity"] and said == "grouped by identity"
    # fewer posers than folds: one line that says why, not a fold split across a person
    one = write_manifest(tmp_path / "c", photos_per_emotion=1, size=32, identities=1)
    assert table2.main(["--data", str(one), "--arch", "resnet18", "--folds", "2", "--seeds", "1", "--epochs", "1",
                        "--image-size", "32", "--device", "cpu", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "names 1 poser(s) (identity)" in err and err.count("\n") == 1


def test_rows_without_an_identity_are_counted_as_photos_not_rows():
    # a photo's two halves are two rows: "4 rows without one" overstated the photos grouped by photo_id
    import torch

    from recognition.data import FaceSet
    from recognition.prepare import fold_groups

    photos = ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"]
    fs = FaceSet(torch.zeros(8, 4, 4, dtype=torch.uint8), torch.zeros(8, dtype=torch.long), ["a"], None, "x",
                 groups=photos, columns={"identity": ["A", "A", "B", "B", "", "", "", ""], "photo_id": photos})
    groups, said = fold_groups(fs)
    assert said == "grouped by identity: 2 photos without one grouped by photo_id"
    assert groups == ["A", "A", "B", "B", "photo:p3", "photo:p3", "photo:p4", "photo:p4"]


def test_a_refusal_names_an_unset_lr_as_the_default_it_resolved_to(tmp_path):
    # "lr=None" read as "no learning rate"; the run had used the default, resolved to 0.01
    from recognition.runio import check_settings

    with pytest.raises(UserError) as err:
        check_settings(tmp_path, {"lr": None, "lr_used": 0.01}, {"lr": 0.5})
    assert "holds a run with lr=default (0.01), not lr=0.5;" in str(err.value) and "None" not in str(err.value)
    with pytest.raises(UserError, match=r"with lr=0.5, not lr=default;"):
        check_settings(tmp_path, {"lr": 0.5, "lr_used": 0.5}, {"lr": None})


def test_the_table_of_a_collapsed_run_says_so_with_a_dash_for_one_seed():
    # pure: summaries and predictions as the runs write them; one seed, everything predicted "fear"
    classes = ["happiness", "fear", "anger"]
    tasks, results = [], []
    for cond in ("left", "right"):
        for fold in (0, 1):
            preds = [{"half": cond, "seed": "0", "fold": str(fold + 1), "photo_id": f"p{3 * fold + i}",
                      "true": classes[i], "predicted": "fear" if cond == "left" else classes[i]} for i in range(3)]
            correct = sum(p["true"] == p["predicted"] for p in preds)
            tasks.append({"arch": "alexnet", "condition": cond, "fold": fold, "cfg": {"seed": 0}})
            results.append({"accuracy": correct / 3, "correct": correct, "n_evaluated": 3, "n_trained": 3,
                            "macro_f1": 0.0, "accuracy_epoch": 1, "predictions": preds})
    runs, preds = table2.collect(tasks, results)
    rows = {r["condition"]: r for r in table2.table_rows(runs, preds, "stimuli")}
    assert rows["left"]["collapsed"] == 2 and rows["right"]["collapsed"] == 0
    assert rows["left"]["balanced_mean"] == pytest.approx(100 / 3) and rows["left"]["sd"] is None
    assert rows["right"]["mean"] == pytest.approx(100) and rows["left"]["chance"] == pytest.approx(100 / 3)
    [comp] = table2.comparisons(runs, preds)
    assert comp["mcnemar"]["a_only"] == 0 and comp["mcnemar"]["b_only"] == 4  # 4 photos only right got
    args = table2.parse_args(["--data", "m.csv", "--arch", "alexnet", "--folds", "2", "--seeds", "1", "--epochs", "1"])
    md = table2.render_markdown(list(rows.values()), [comp], args, 1.0)
    assert "| alexnet | left | 33.3 ± – | 33.3 ± – | 33.3 |" in md
    assert "alexnet 2 of 4 runs collapsed" in md and "not evidence about the halves" in md


def test_bad_arguments_are_one_line(tmp_path, capsys):
    assert table2.main(["--data", "x.csv", "--arch", "vgg", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --arch vgg")
    assert table2.main(["--data", str(tmp_path / "missing.csv"), "--arch", "resnet18", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "python -m stimuli build" in err and err.count("\n") == 1


@pytest.mark.parametrize("out", ["notes.txt", "notes.txt/t2"])
def test_an_out_that_is_a_file_or_under_one_is_one_line_exit_2(out, tmp_path, capsys):
    # mkdir raised FileExistsError with a traceback (exit 1)
    (tmp_path / "notes.txt").write_text("keep me")
    assert table2.main(["--data", "x.csv", "--arch", "resnet18", "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and "notes.txt" in err and err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "keep me"


SYNTH = ["--dataset", "synthetic", "--data", "n=32,size=48,classes=4,seed=1", "--arch", "resnet18",
         "--conditions", "left,right", "--epochs", "1", "--image-size", "32", "--batch-size", "16", "--device", "cpu"]


@pytest.fixture(scope="module")
def one_seed_table3(tmp_path_factory):
    """``one_seed_table3(tmp_path)`` -> a copy of one ``table2.main([*SYNTH, "--seeds", "1", ...])`` --out in
    tmp_path/t3: trained once per module, copied for each test that reruns into it."""
    built = tmp_path_factory.mktemp("t3") / "t3"
    assert table2.main([*SYNTH, "--seeds", "1", "--out", str(built)]) == 0

    def copy(tmp_path):
        shutil.copytree(built, tmp_path / "t3")
        return tmp_path / "t3"
    return copy


def test_table3_with_one_seed_and_no_folds_writes_its_table_and_keeps_the_runs(tmp_path, capsys, one_seed_table3):
    # the old code died with KeyError: 'accuracy_per_seed' (one seed, no folds: a single run's summary came back)
    out = one_seed_table3(tmp_path)  # table2.main(argv) == 0 into it
    argv = [*SYNTH, "--seeds", "1", "--out", str(out)]
    with open(out / "table2.csv") as f:
        rows = {r["condition"]: r for r in csv.DictReader(f)}
    for cond in ("left", "right"):
        run = json.loads((out / "resnet18" / cond / "seed0" / "summary.json").read_text())
        assert run["epochs"] == 1 and run["n_evaluated"] == 32  # the val split, once, final epoch
        assert float(rows[cond]["mean"]) == pytest.approx(100 * run["accuracy"], abs=1e-3)
        assert rows[cond]["sd"] == "" and rows[cond]["runs"] == "1"  # one seed: no spread measured
    stamp = (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns
    assert table2.main(argv) == 0  # a rerun keeps the finished single runs too
    assert (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns == stamp


def test_a_rerun_with_other_settings_into_the_same_out_is_refused_not_mislabelled(tmp_path, capsys,
                                                                                 one_seed_table3):
    # the old code kept the 1-epoch runs and wrote "2 epochs" above their accuracies
    out = one_seed_table3(tmp_path)  # table2.main([*SYNTH, "--seeds", "1", "--out", str(out)]) == 0 into it
    table_before = (out / "table2.md").read_text()
    capsys.readouterr()
    assert table2.main([*SYNTH, "--seeds", "1", "--out", str(out), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "epochs=1" in err and "epochs=2" in err and err.count("\n") == 1
    assert (out / "table2.md").read_text() == table_before
    # more seeds into the same --out is fine: the finished seed is kept
    stamp = (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns
    capsys.readouterr()
    assert table2.main([*SYNTH, "--seeds", "2", "--out", str(out)]) == 0
    assert (out / "resnet18" / "left" / "seed0" / "summary.json").stat().st_mtime_ns == stamp
    # the count says what happened: seed 0 of both halves reused, seed 1 trained (not "4 computed")
    printed = capsys.readouterr().out
    assert "4 network(s): 2 trained on " in printed and f"2 reused finished networks in {out}" in printed
    with open(out / "runs.csv") as f:
        assert sorted(r["seed"] for r in csv.DictReader(f) if r["condition"] == "left") == ["0", "1"]


def test_each_network_is_one_picklable_task_of_plain_values(tmp_path):
    # an execution layer (process pool, cluster queue) ships train_network and its arguments to workers
    import pickle

    args = table2.parse_args(["--data", "m.csv", "--arch", "alexnet,resnet18", "--folds", "3", "--seeds", "2",
                              "--out", str(tmp_path)])
    tasks = table2.plan(args)
    assert len(tasks) == 2 * 2 * 3 * 2  # architectures x halves x folds x seeds
    assert len({t["out"] for t in tasks}) == len(tasks)  # every network its own folder
    assert pickle.loads(pickle.dumps(table2.train_network)) is table2.train_network
    again = pickle.loads(pickle.dumps(tasks))
    assert again == tasks and {type(t["cfg"]["seed"]) for t in again} == {int}
    assert {(t["cfg"]["seed"], t["fold"]) for t in tasks} == {(s, f) for s in (0, 1) for f in (0, 1, 2)}
