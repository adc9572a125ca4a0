"""Training loop: outputs and their numbers, §4.5 re-labels kept in the checkpoint, resume after SIGKILL,
folds/seeds summaries, schedule choice, and one-line user errors."""
import csv
import json
import signal

import pytest
import torch

from recognition import optim
from recognition.config import DEFAULTS
from recognition.data import synthetic_faceset

from .conftest import TINY_TRAIN_ARGS, run_module, train_main


def _metrics(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_run_writes_every_output_and_the_loss_is_the_weighted_sum_of_its_terms(tiny_run):
    for name in ("config.json", "metrics.csv", "summary.json", "checkpoint_last.pt", "checkpoint_best.pt",
                 "relabels.csv", "confusion_matrix.png", "confusion_matrix.csv", "train.log"):
        assert (tiny_run / name).is_file(), name
    assert list((tiny_run / "tensorboard").glob("events.out.tfevents.*"))
    rows = _metrics(tiny_run)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for r in rows:  # L = 3·L_w + 1·L_F + 2·L_C per sample, so also for the epoch means
        expect = 3 * float(r["l_w"]) + float(r["l_f"]) + 2 * float(r["l_c"])
        assert float(r["loss"]) == pytest.approx(expect, rel=1e-5)
        assert 0 < float(r["w_left"]) < 1 and 0 < float(r["w_right"]) < 1
        assert 0 <= float(r["val_acc"]) <= 1
    assert int(rows[0]["relabeled"]) == 0  # re-labeling starts at epoch 2 here
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["from_scratch"] is True and summary["pretrained"] is None
    assert summary["schedule"] == "onecycle" and "from scratch" in summary["schedule_reason"]
    assert summary["best_val_acc"] == pytest.approx(max(float(r["val_acc"]) for r in rows))
    assert summary["accuracy"] == pytest.approx(float(rows[-1]["val_acc"])) and summary["selection"] == "final epoch"
    assert "optimistic" in summary["best_val_note"]
    cfg = json.loads((tiny_run / "config.json").read_text())
    assert cfg["lr_used"] == pytest.approx(0.1 * 8 / 256) and cfg["variant"] == "hsaw"


def test_relabels_are_logged_and_kept_in_the_checkpoint_labels(tiny_run):
    ckpt = torch.load(tiny_run / "checkpoint_last.pt", map_location="cpu", weights_only=False)
    original = synthetic_faceset(n=32, size=48, classes=4, seed=1).labels
    with open(tiny_run / "relabels.csv") as f:
        log = list(csv.DictReader(f))
    assert len(log) == int(_metrics(tiny_run)[1]["relabeled"]) == int(_metrics(tiny_run)[1]["labels_changed_total"])
    assert len(log) > 0  # the fixture is sized so that §4.5 fires at epoch 2
    expected = original.clone()
    for r in log:
        assert int(r["epoch"]) == 2 and original[int(r["index"])] == int(r["old"])
        expected[int(r["index"])] = int(r["new"])
    assert torch.equal(ckpt["train_labels"], expected)
    assert ckpt["epoch"] == 2 and ckpt["config"]["class_names"] == [f"class{k}" for k in range(4)]


def test_resume_after_sigkill_ends_with_the_same_metrics_and_weights(tiny_run, tmp_path, capsys):
    # a real SIGKILL of a real `python -m recognition.train` (a subprocess): the one test that the atomic writes
    # survive a killed process; the other resume tests stop the run in-process (train_until_killed). The resume
    # reads only what the killed process left on disk, so it runs in this process (one torch import fewer;
    # one thread, as the subprocess and tiny_run use)
    out = tmp_path / "killed"
    killed = run_module("recognition.train", [*TINY_TRAIN_ARGS, "--out", str(out)],
                        env_extra={"HSAW_TEST_KILL_AFTER_EPOCH": "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(_metrics(out)) == 1 and not (out / "summary.json").exists()
    capsys.readouterr()
    assert train_main(["--resume", str(out)]) == 0, capsys.readouterr().err[-2000:]
    assert "resumed from" in capsys.readouterr().out
    ref, got = _metrics(tiny_run), _metrics(out)
    assert len(got) == 2
    for a, b in zip(ref, got):
        for key in a:
            if key != "time_s":
                assert float(b[key]) == pytest.approx(float(a[key]), abs=1e-6, nan_ok=True), key
    ca = torch.load(tiny_run / "checkpoint_last.pt", map_location="cpu", weights_only=False)
    cb = torch.load(out / "checkpoint_last.pt", map_location="cpu", weights_only=False)
    for k, v in ca["model"].items():
        torch.testing.assert_close(cb["model"][k], v, atol=1e-6, rtol=0)
    assert torch.equal(ca["train_labels"], cb["train_labels"])
    assert (out / "relabels.csv").read_text() == (tiny_run / "relabels.csv").read_text()


def test_folds_without_groups_report_each_held_out_folds_final_epoch(tmp_path, capsys):
    out = tmp_path / "cv"
    rc = train_main(["--dataset", "synthetic", "--data", "n=16,size=48,classes=2", "--image-size", "48",
                     "--batch-size", "8", "--epochs", "1", "--folds", "2", "--seeds", "1", "--no-compile",
                     "--out", str(out)])
    assert rc == 0
    subs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert subs == ["fold1_seed0", "fold2_seed0"]
    summary = json.loads((out / "summary.json").read_text())
    runs = [json.loads((out / s / "summary.json").read_text()) for s in subs]
    assert [r["n_evaluated"] for r in runs] == [8, 8] and all(r["selection"] == "final epoch" for r in runs)
    assert summary["accuracy_per_seed"] == [pytest.approx(sum(r["correct"] for r in runs) / 16)]
    cfg = json.loads((out / "fold1_seed0" / "config.json").read_text())
    assert cfg["arch"] == "hsaw" and cfg["eval_source"] == "fold 1/2 of train" and cfg["val_source"] is None
    # one seed: the ± (sd over seeds) measured nothing, so "–", not "0.0000"; per_run numbers folds as the folders
    assert summary["accuracy_sd"] is None
    assert [(r["fold"], r["seed"]) for r in summary["per_run"]] == [(1, 0), (2, 0)]
    printed = capsys.readouterr().out
    assert "2 runs: accuracy" in printed and "± – (sd over seeds" in printed and "± 0.0000" not in printed


def test_schedule_is_the_papers_with_pretrained_weights_and_onecycle_from_scratch():
    cfg = dict(DEFAULTS, batch_size=512)
    assert optim.resolve_schedule(cfg, pretrained=True)[:2] == ("paper", 0.001)
    sched, lr, why = optim.resolve_schedule(cfg, pretrained=False)
    assert (sched, lr) == ("onecycle", pytest.approx(0.2)) and "underfits" in why
    assert optim.resolve_schedule(dict(cfg, lr=0.05, schedule="cosine"), pretrained=False)[:2] == ("cosine", 0.05)


def test_onecycle_optimizer_is_nesterov_and_paper_optimizer_is_constant():
    model = torch.nn.Linear(2, 2)
    opt, sched = optim.make_optimizer(model, dict(DEFAULTS, epochs=2), "paper", 0.001, 5)
    assert not opt.param_groups[0]["nesterov"] and opt.param_groups[0]["weight_decay"] == 5e-4
    for _ in range(7):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.001)
    opt, _ = optim.make_optimizer(model, dict(DEFAULTS, epochs=2), "onecycle", 0.1, 5)
    # OneCycle cycles momentum 0.95 → 0.85 → 0.95 against the lr (Smith 2018), torch's default
    assert opt.param_groups[0]["nesterov"] and opt.param_groups[0]["momentum"] == 0.95


@pytest.mark.parametrize("argv,message", [
    (["--dataset", "fer2013", "--out", "X"], "--data and --out are required"),
    (["--dataset", "fer2013", "--data", "MISSING/fer2013.csv", "--out", "OUT", "--midline", "center"],
     "no such file or folder"),
    (["--resume", "NOWHERE"], "no config.json"),
    (["--dataset", "synthetic", "--data", "n=8,size=48,bogus=1", "--out", "OUT"], "bad part 'bogus=1'"),
    (["--dataset", "synthetic", "--data", "n=8", "--image-size", "32", "--out", "OUT"], "at least 33"),
    (["--dataset", "stimuli", "--data", "m.csv", "--arch", "hsaw", "--out", "OUT"], "use --arch alexnet"),
    (["--dataset", "synthetic", "--arch", "alexnet", "--image-size", "48", "--out", "OUT"], "at least 63"),
])
def test_user_errors_are_one_line_with_exit_code_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert train_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


@pytest.mark.parametrize("out", ["notes.txt", "notes.txt/run"])
def test_an_out_that_is_a_file_or_under_one_is_one_line_exit_2(out, tmp_path, capsys, monkeypatch):
    # mkdir raised FileExistsError / NotADirectoryError with a traceback (exit 1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("keep me")
    assert train_main(["--dataset", "synthetic", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and "notes.txt" in err and err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_missing_midline_cache_says_how_to_build_it(tmp_path, capsys):
    px = " ".join(["9"] * 2304)
    (tmp_path / "fer2013.csv").write_text(f'emotion,pixels,Usage\n0,"{px}",Training\n1,"{px}",PublicTest\n')
    assert train_main(["--dataset", "fer2013", "--data", str(tmp_path / "fer2013.csv"), "--out",
                       str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "python -m recognition.landmarks --dataset fer2013" in err and "--midline center" in err


def test_existing_run_is_not_overwritten(tiny_run, capsys):
    assert train_main([*TINY_TRAIN_ARGS, "--out", str(tiny_run)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_training_accuracy_is_scored_against_the_datasets_labels_not_the_models_relabels():
    from recognition import bench
    from recognition import model as hsaw
    from recognition.train import STAT_NAMES, train_step

    images, labels, nose = bench.synthetic_faces(4)
    cfg = dict(image_size=64, half_mode="mask", rotation=20.0, erase_p=0.5, alpha=3.0, beta=1.0, gamma=2.0,
               variant="hsaw", grad_clip=5.0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    torch.manual_seed(0)
    net = hsaw.build_model({"variant": "hsaw", "image_size": 64, "num_classes": 7})
    state = {k: v.clone() for k, v in net.state_dict().items()}

    def step(y, relabel):
        net.load_state_dict(state)
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        torch.manual_seed(1)
        row, _ = train_step(net, net, opt, sched, images, nose, y, cfg, torch.Generator().manual_seed(0),
                            relabel_now=relabel, y_true=labels)
        return dict(zip(STAT_NAMES, row.tolist()))

    same = step(labels, False)
    assert same["correct"] == same["correct_relabeled"]
    relabelled = (labels + 1) % 7  # as if §4.5 had replaced every label
    other = step(relabelled, False)
    assert other["correct"] == same["correct"]  # the same predictions, scored against the dataset's labels
    assert other["correct"] + other["correct_relabeled"] <= 4  # a prediction matches at most one of the two
    r = step(labels, True)
    assert r["batches_over"] == float(r["relabeled"] > 0.2 * 4)  # the warning's count: >20 % of the batch


def test_relabelling_waits_for_a_model_that_beats_the_majority_class():
    from recognition.train import relabel_active

    cfg = {"relabel_start": "auto", "epochs": 10}
    at_chance = [{"epoch": e, "train_acc": 0.3, "val_acc": 0.26} for e in range(1, 6)]
    assert relabel_active(6, at_chance, cfg, majority=0.25) == (False, None)  # 0.26 < 0.25 + 0.10
    learned = at_chance[:4] + [{"epoch": 5, "train_acc": 0.3, "val_acc": 0.40}]
    on, why = relabel_active(6, learned, cfg, majority=0.25)
    assert on and "starts at epoch 6" in why and "val acc 0.400" in why and "majority class 0.250" in why
    early = [{"epoch": 1, "train_acc": 0.9, "val_acc": 0.9}]
    assert relabel_active(2, early, cfg, majority=0.25) == (False, None)  # not in the first 40 % of epochs
    # without a val split the training accuracy (against the dataset's labels) decides
    assert relabel_active(6, [{"epoch": 5, "train_acc": 0.5}], cfg, majority=0.25)[0]
    # once on, it stays on, whatever the accuracy does next (a resumed run reads this from its metrics)
    assert relabel_active(7, [{"epoch": 6, "train_acc": 0.1, "relabel": 1}], cfg, majority=0.25)[0]
    assert relabel_active(3, [], {"relabel_start": 3, "epochs": 10}, 0.25)[0]  # the paper's fixed epoch
    assert not relabel_active(2, [], {"relabel_start": 3, "epochs": 10}, 0.25)[0]


def test_a_relabelling_warning_appears_exactly_when_a_batch_changed_too_many_labels(tiny_run):
    log = (tiny_run / "train.log").read_text()
    over = int(_metrics(tiny_run)[1]["relabel_batches_over"])
    assert ("warning: re-labelling changed more than 20% of the labels" in log) == (over > 0)
    assert "re-labelling (§4.5) from epoch 2 (--relabel-start)" in log
