"""Train HSAW (or a plain AlexNet/ResNet18) on a face dataset: one visible loop, GPU-first, runs on CPU too.

    python -m recognition.train --dataset fer2013 --data /data/fer2013.csv --variant hsaw --out runs/hsaw
    python -m recognition.train --dataset stimuli --data OUT/manifest.csv --arch alexnet --half left --folds 10 --out runs/t2
    python -m recognition.train --resume runs/hsaw                       # continue a killed run
    torchrun --nproc-per-node 8 -m recognition.train ...                 # DistributedDataParallel

Design (issue 6): the whole split lives on the device as uint8; each epoch draws an index permutation on the
device; ``recognition.inputs.input_views`` makes the model's views on the device; bf16 autocast +
channels_last (+ torch.compile) on CUDA; losses, accuracy, relabel counts and half weights are accumulated in
one device tensor and read once per epoch. Re-labels (§4.5) live in a labels tensor on the device that is
saved in every checkpoint. Randomness is re-seeded from (seed, epoch) at every epoch start, so a run resumed
from its last checkpoint ends with the same numbers as an uninterrupted one.

This file is the step and the loop. The data of a run (splits, midlines, framing) is ``recognition.prepare``,
its settings ``recognition.config``, the schedule ``recognition.optim``, the run folder ``recognition.runio``
and the command line ``recognition.train_cli``.
"""
from __future__ import annotations

import copy
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from recognition import model as hsaw
from recognition import runio, stats
from recognition.augment import IMAGENET_MEAN, IMAGENET_STD
from halfface.cli import UserError
from recognition.evaluate import evaluate_model, predict_probabilities, prediction_rows, summarize
from recognition.inputs import input_views
from recognition.optim import file_sha1, find_pretrained, load_pretrained, make_optimizer, resolve_schedule
from recognition.plots import write_confusion
from recognition.prepare import RunData, run_data

STAT_NAMES = ("loss", "l_w", "l_f", "l_c", "correct", "n", "relabeled", "w_left", "w_right", "correct_relabeled",
              "batches_over")
# §4.5 re-labelling, --relabel-start auto: not in the first 40 % of epochs (the paper's 20 of 50) and only once
# the model beats always answering the majority class by 10 points (val accuracy, or training accuracy against
# the dataset's labels without a val split); a warning when it changes more than 20 % of a batch's labels
RELABEL_MIN_FRACTION, RELABEL_MARGIN, RELABEL_WARN_SHARE = 0.4, 0.10, 0.20


def seed_epoch(seed: int, epoch: int) -> int:
    """Everything random in an epoch derives from (seed, epoch): resuming at an epoch boundary is exact."""
    s = (seed * 1_000_003 + epoch) % (2**31)
    torch.manual_seed(s)
    np.random.seed(s)
    random.seed(s)
    return s


# ----------------------------------------------------------------------------------------------------------
# one optimisation step: the loop below and recognition.bench both call exactly this

def train_step(net, model, opt, sched, images_u8, nose_xy, y, cfg, gen, *, relabel_now: bool, y_true=None):
    """Views on the device (augment, as the run's ``cfg`` says) → forward (bf16 on CUDA) → L (§4.4) → SGD step → §4.5 re-labels.

    Returns (stats row in STAT_NAMES order, summed over the batch, as a device tensor; the batch's labels after
    re-labelling). Nothing here reads a value back to the host, so CUDA never waits for Python.
    ``net`` is what runs forward (maybe DDP/compiled), ``model`` the plain module (for gradient clipping).
    ``y_true``: the dataset's labels of the batch; training accuracy is scored against them, not against the
    re-labels the model gave itself (``correct_relabeled`` counts agreement with ``y``).
    A plain network's loss is the cross-entropy itself (HSAW's is α·L_w + β·L_F + γ·L_C).
    """
    cuda = images_u8.device.type == "cuda"
    whole, left, right = input_views(images_u8, nose_xy, cfg, train=True, generator=gen)
    if cuda and cfg.get("channels_last", True):
        whole, left, right = (None if t is None else t.contiguous(memory_format=torch.channels_last)
                              for t in (whole, left, right))
    # bf16 on CUDA; cfg["bf16"] = False only for recognition.bench's like-for-like row (fp32 on both paths)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and cfg.get("bf16", True)):
        out = net(whole, left, right)
    gamma = cfg["gamma"] if cfg.get("arch", "hsaw") == "hsaw" else 1.0
    losses = hsaw.hsaw_loss(out, y, cfg["alpha"], cfg["beta"], gamma)
    opt.zero_grad(set_to_none=True)
    losses["loss"].backward()
    if cfg.get("grad_clip"):
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
    opt.step()
    sched.step()

    with torch.no_grad():
        logits = out["logits"].detach().float()
        zero = torch.zeros((), device=y.device)
        new_y, changed = y, zero
        if relabel_now:  # §4.5 on the device; the loss above used the labels as they were
            new_y, mask = hsaw.relabel(y, logits, out["p_all"].detach().float(), out["p_aux"].detach().float())
            changed = mask.sum().float()
        wl = out["w_left"].float().sum() if out["w_left"] is not None else zero
        wr = out["w_right"].float().sum() if out["w_right"] is not None else zero
        bs = float(len(y))  # a Python number: creating a device tensor per step would copy host→device
        pred = logits.argmax(1)
        row = torch.stack([losses["loss"].detach() * bs, losses["l_w"].detach() * bs, losses["l_f"].detach() * bs,
                           losses["l_c"].detach() * bs, (pred == (y if y_true is None else y_true)).sum().float(),
                           torch.full((), bs, device=y.device), changed, wl, wr, (pred == y).sum().float(),
                           (changed > RELABEL_WARN_SHARE * bs).float()])
    return row, new_y


# ----------------------------------------------------------------------------------------------------------
# one run: the loop

def run(config: dict, out: Path, *, fold: int | None = None, resume: bool = False, dist_info=(0, 1)) -> dict:
    """One network into ``out``; ``config`` (config.complete's) is resolved once (run_config) and read by the loop."""
    rank, world = dist_info
    is_main = rank == 0
    out.mkdir(parents=True, exist_ok=True)
    log = runio.logger(out / "train.log" if is_main else None, echo=not config["lean"])
    device = torch.device(config["device"])
    data = run_data(config, fold)
    resuming = resume and (out / "config.json").is_file()
    config = run_config(config, data, world, device, fold, decide_weights=not resuming)
    if resuming:
        config = continue_config(out, config, log, is_main)  # the saved schedule/lr/weights, data checked
    model, opt, sched = setup_model(config, device, new=not (resume and (out / "checkpoint_last.pt").is_file()))
    images, nose = data.train.images.to(device), data.train.nose_xy.to(device)
    original_labels = data.train.labels.to(device)
    labels = original_labels.clone()  # §4.5 re-labels are written here, on the device
    start_epoch, best_acc, best_epoch, best_state, metrics = 0, -1.0, 0, None, []
    if resume and (out / "checkpoint_last.pt").is_file():
        labels, start_epoch, best_acc, best_epoch, metrics = resume_state(out, model, opt, sched, device, log)
    elif is_main:  # a new run, or one killed before its first checkpoint: starts over
        runio.truncate_relabels(out / "relabels.csv", 0)
        runio.write_json(out / "config.json", config)
    log(describe(config, data, model, device))

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if config["compile"]:
        net = torch.compile(net)
    gen = torch.Generator(device=device)
    writer = _tensorboard(out, log) if is_main and not config["lean"] else None
    batch, steps, t_run = config["batch_per_rank"], config["steps_per_epoch"], time.time()
    relabel_on = config["arch"] == "hsaw" and config["variant"] in ("relabel", "hsaw")
    majority = float(torch.bincount(original_labels).max()) / max(1, len(original_labels))

    for epoch in range(start_epoch + 1, config["epochs"] + 1):
        t0 = time.time()
        gen.manual_seed(seed_epoch(config["seed"], epoch))
        net.train()
        labels_at_start = labels.clone()
        shard = torch.randperm(len(labels), device=device, generator=gen)[rank::world]  # same perm on every rank
        stats = torch.zeros(len(STAT_NAMES), device=device)
        relabel_now, why = relabel_active(epoch, metrics, config, majority) if relabel_on else (False, None)
        if why:
            log(why)
        for step in _progress(range(steps), f"epoch {epoch}/{config['epochs']}", is_main and not config["lean"]):
            idx = shard[step * batch:(step + 1) * batch]
            row, labels[idx] = train_step(net, model, opt, sched, images[idx], nose[idx], labels[idx], config, gen,
                                          relabel_now=relabel_now, y_true=original_labels[idx])
            stats += row
        if world > 1:
            labels = merge_ranks(model, stats, labels, labels_at_start, world)
        row = epoch_row(epoch, stats, labels, labels_at_start, original_labels, model, opt, t0)  # one host sync
        changed, row["relabel"] = row.pop("_changed"), int(relabel_now)
        if data.select is not None:  # model selection: the val split or the nested inner part, never the test fold
            row["val_acc"] = accuracy(model, data.select, config, device)
        metrics.append(row)
        improved = data.select is not None and row["val_acc"] > best_acc
        if improved:
            best_acc, best_epoch = row["val_acc"], epoch
            if config["select"] == "inner":
                best_state = copy.deepcopy(model.state_dict())
        if is_main:
            save_epoch(out, config, {"model": model.state_dict(), "config": config, "epoch": epoch,
                                     "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                                     "train_labels": labels.cpu(), "rng": runio.rng_state(), "best_acc": best_acc,
                                     "best_epoch": best_epoch, "metrics": metrics},
                       improved, changed if relabel_on else None)
            _tensorboard_row(writer, row, epoch)
            log(format_row(row) + relabel_warning(row, steps))
        runio.test_kill_hook(epoch)

    return finish(out, config, data, model, metrics, (best_acc, best_epoch, best_state), labels, device, log,
                  is_main, time.time() - t_run, writer)


# ----------------------------------------------------------------------------------------------------------
# what the loop calls once: settings, model, resume, per-epoch numbers, the final evaluation

def run_config(cfg: dict, data: RunData, world: int, device, fold, decide_weights: bool = True) -> dict:
    """Every decision of this run, as saved in config.json and every checkpoint (a resumed run takes the
    weights and schedule from its saved config instead: ``decide_weights=False``)."""
    pretrained = find_pretrained(cfg["pretrained"], cfg["arch"]) if decide_weights else None
    schedule, lr, why = resolve_schedule(cfg, pretrained is not None)
    n_local = len(data.train) // world
    # equal batches (fixed shapes for torch.compile): ⌈n/batch⌉ steps of ⌊n/steps⌋ samples, so fewer than
    # `steps` samples wait for the next epoch's permutation (dropping a ragged batch of 31 would waste half of
    # a 63-photo training fold)
    steps = max(1, math.ceil(n_local / max(1, cfg["batch_size"] // world)))
    batch = max(1, n_local // steps)
    if cfg["max_steps"]:
        steps = min(steps, cfg["max_steps"])
    return dict(cfg, num_classes=len(data.train.class_names), class_names=data.train.class_names,
                mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD), fold=fold, val_source=data.select_source,
                eval_source=data.eval_source, midline_source=data.midline_source, premasked=data.premasked,
                data_digest=data.digest, framing=data.framing, schedule_used=schedule, lr_used=lr,
                schedule_reason=why, pretrained_used=str(pretrained) if pretrained else None,
                pretrained_sha1=file_sha1(pretrained) if pretrained else None, world_size=world,
                batch_per_rank=batch, steps_per_epoch=steps, device=str(device),
                compile=(device.type == "cuda") if cfg["compile"] is None else cfg["compile"])


def continue_config(out: Path, config: dict, log, is_main: bool) -> dict:
    """A resumed run's config (``runio.check_resume``); more ``--epochs`` than saved are written back."""
    config = runio.check_resume(out, config)
    before = runio.read_json(out / "config.json")["epochs"]
    if config["epochs"] > before and is_main:
        log(f"--epochs {config['epochs']}: continuing the run beyond its {before} epochs")
        runio.write_json(out / "config.json", config)
    return config


def setup_model(config: dict, device, new: bool):
    """Model (+ ImageNet weights for a new run), optimiser and schedule as the config says."""
    torch.manual_seed(config["seed"])
    model = hsaw.build_model(config)
    if new and config["pretrained_used"]:
        load_pretrained(model, Path(config["pretrained_used"]), config["arch"])
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    opt, sched = make_optimizer(model, config, config["schedule_used"], config["lr_used"], config["steps_per_epoch"])
    return model, opt, sched


def resume_state(out: Path, model, opt, sched, device, log):
    """Load checkpoint_last.pt into model/optimiser/schedule; a checkpoint that does not fit is a one-line error."""
    path = out / "checkpoint_last.pt"
    ckpt = torch.load(path, map_location=device, weights_only=False)
    try:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
    except (KeyError, ValueError, RuntimeError) as e:
        raise UserError(f"--resume {out}: {path.name} does not fit the run's saved config "
                              f"({type(e).__name__}: {str(e).splitlines()[0][:120]}); start a new run") from None
    runio.truncate_relabels(out / "relabels.csv", ckpt["epoch"])
    log(f"resumed from {path} at epoch {ckpt['epoch']}")
    return (ckpt["train_labels"].to(device), ckpt["epoch"], ckpt["best_acc"], ckpt.get("best_epoch", 0),
            ckpt["metrics"])


def save_epoch(out: Path, config: dict, ckpt: dict, improved: bool, changed) -> None:
    """metrics.csv, relabels.csv (``changed``: (index, old, new) of this epoch, None without §4.5) and the
    checkpoints the run's ``save`` setting asks for."""
    epoch = ckpt["epoch"]
    if changed is not None:
        runio.append_relabels(out / "relabels.csv", epoch, changed)
    runio.write_metrics(out / "metrics.csv", ckpt["metrics"])
    if improved and config["save"] == "epoch":
        runio.save_checkpoint(out / "checkpoint_best.pt", ckpt)
    if config["save"] == "epoch" or (config["save"] == "final" and epoch == config["epochs"]):
        runio.save_checkpoint(out / "checkpoint_last.pt", ckpt)


def merge_ranks(model, stats, labels, labels_at_start, world):
    """DDP: ranks re-labelled disjoint samples (summing the changes merges them); BatchNorm running stats saw
    only one rank's batches (averaged)."""
    import torch.distributed as dist

    delta = labels - labels_at_start
    dist.all_reduce(delta)
    dist.all_reduce(stats)
    for buf in model.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf /= world
    return labels_at_start + delta


def epoch_row(epoch, stats, labels, labels_at_start, original_labels, model, opt, t0) -> dict:
    s = dict(zip(STAT_NAMES, stats.tolist()))
    changed_idx = torch.nonzero(labels != labels_at_start).flatten()
    n = max(1.0, s["n"])
    has_w = getattr(model, "attention", None) is not None
    return {"epoch": epoch, "loss": s["loss"] / n, "l_w": s["l_w"] / n, "l_f": s["l_f"] / n, "l_c": s["l_c"] / n,
            "train_acc": s["correct"] / n, "train_acc_relabeled": s["correct_relabeled"] / n,
            "relabeled": int(round(s["relabeled"])), "relabel_batches_over": int(round(s["batches_over"])),
            "labels_changed_total": int((labels != original_labels).sum()),
            "w_left": s["w_left"] / n if has_w else float("nan"), "w_right": s["w_right"] / n if has_w else float("nan"),
            "lr": opt.param_groups[0]["lr"], "time_s": time.time() - t0,
            "_changed": list(zip(changed_idx.tolist(), labels_at_start[changed_idx].tolist(),
                                 labels[changed_idx].tolist()))}


def relabel_active(epoch: int, metrics: list[dict], config: dict, majority: float) -> tuple[bool, str | None]:
    """Whether §4.5 re-labels in ``epoch``, and the line to log when it starts (pure).

    An integer ``relabel_start``: from that epoch (the paper: 20). ``auto``: from the first epoch after
    RELABEL_MIN_FRACTION of the epochs in which the previous epoch's accuracy (val, else training accuracy
    against the dataset's labels) beat the majority-class rate by RELABEL_MARGIN; once on, it stays on
    (a resumed run reads that from its metrics). Re-labelling by a model that has learned nothing replaces
    labels with its guesses (our 48 px CPU runs: 44 % of the labels it saw).
    """
    start = config["relabel_start"]
    if start != "auto":
        return epoch >= int(start), (f"re-labelling (§4.5) from epoch {start} (--relabel-start)"
                                     if epoch == int(start) else None)
    if metrics and metrics[-1].get("relabel"):
        return True, None
    if not metrics or epoch <= RELABEL_MIN_FRACTION * config["epochs"]:
        return False, None
    prev = metrics[-1]
    what, acc = ("val acc", prev["val_acc"]) if "val_acc" in prev else ("train acc", prev["train_acc"])
    if acc > majority + RELABEL_MARGIN:
        return True, (f"re-labelling (§4.5) starts at epoch {epoch}: epoch {prev['epoch']} {what} {acc:.3f} > "
                      f"majority class {majority:.3f} + {RELABEL_MARGIN:.2f} (--relabel-start auto)")
    return False, None


def relabel_warning(row: dict, steps: int) -> str:
    if not row.get("relabel_batches_over"):
        return ""
    return (f"\nwarning: re-labelling changed more than {RELABEL_WARN_SHARE:.0%} of the labels in "
            f"{row['relabel_batches_over']} of {steps} batches (train acc against the dataset's labels "
            f"{row['train_acc']:.3f}): the model may not have learned the classes yet; consider a later "
            "--relabel-start")


def accuracy(model, faceset, config, device) -> float:
    ev = summarize(evaluate_model(model, faceset, config, device, config["eval_batch_size"]),
                   faceset.class_names, False)
    return ev["accuracy"]


def finish(out, config, data, model, metrics, best, labels, device, log, is_main, seconds, writer) -> dict:
    """The reported accuracy, measured once on the evaluation split: final weights (``--select last``) or the
    epoch chosen on the nested inner split (``--select inner``) — never the best epoch of the split itself."""
    best_acc, best_epoch, best_state = best
    last_epoch = metrics[-1]["epoch"] if metrics else 0
    chosen, epoch, selection = model, last_epoch, "final epoch"
    if config["select"] == "inner":
        if best_state is None and (out / "checkpoint_best.pt").is_file():  # resumed: the best is on disk
            best_state = torch.load(out / "checkpoint_best.pt", map_location=device, weights_only=False)["model"]
        chosen = copy.deepcopy(model)
        chosen.load_state_dict(best_state)
        epoch, selection = best_epoch, f"epoch {best_epoch} chosen on {data.select_source}"
    ev = summarize(evaluate_model(chosen, data.evaluate, config, device, config["eval_batch_size"]),
                   data.evaluate.class_names, getattr(model, "attention", None) is not None)
    probs = predict_probabilities(chosen, data.evaluate, config, device, config["eval_batch_size"])
    flags = stats.chance_flags(data.evaluate.labels.numpy(), probs.argmax(1).numpy())
    summary = {"accuracy": ev["accuracy"], "accuracy_epoch": epoch, "selection": selection,
               "select": config["select"], "evaluated_on": data.eval_source, "n_evaluated": ev["n"],
               "mean_class_accuracy": ev["mean_class_accuracy"], "macro_f1": ev["macro_f1"],
               "per_class_accuracy": ev["per_class_accuracy"], "per_class_f1": ev["per_class_f1"],
               "correct": int(round(ev["accuracy"] * ev["n"])), "n_trained": len(data.train),
               "balanced_accuracy": flags["balanced_accuracy"], "chance": flags["chance"],
               "collapsed": flags["collapsed"], "near_chance": flags["near_chance"], "grouping": data.grouping,
               "best_val_acc": best_acc if data.select is not None else None,
               "best_epoch": best_epoch if data.select is not None else None, "val_source": data.select_source,
               "final_val_acc": metrics[-1].get("val_acc") if metrics else None,
               "epochs": config["epochs"], "parameters": hsaw.count_parameters(model), "arch": config["arch"],
               "variant": config["variant"], "half": config["half"], "fold": config["fold"], "seed": config["seed"],
               "midlines": data.midline_source, "pretrained": config["pretrained_used"],
               "from_scratch": config["pretrained_used"] is None, "schedule": config["schedule_used"],
               "lr": config["lr_used"], "schedule_reason": config["schedule_reason"],
               "labels_changed_total": metrics[-1]["labels_changed_total"] if metrics else 0,
               "wall_time_s_this_session": seconds, "device": str(device), "world_size": config["world_size"],
               "data_digest": config["data_digest"], "framing": config["framing"]}
    if not config["lean"]:  # hashing 57 M AlexNet weights takes a while: not for table2's many runs
        summary.update(train_weights_sha1=runio.digest_model(model), train_labels_sha1=runio.digest_tensor(labels))
    if summary["best_val_acc"] is not None and data.select_source == data.eval_source:
        summary["best_val_note"] = ("best_val_acc chose its epoch on the split it is measured on (the paper's "
                                    "PublicTest protocol): optimistic; 'accuracy' is the final epoch's")
    if is_main:
        if not config["lean"]:
            note = write_confusion(out, "confusion_matrix", ev, f"{config['arch']}, {selection}: "
                                   f"acc {ev['accuracy']:.3f} on {data.eval_source}")
            if note:
                log(f"note: {note}")
        runio.write_metrics(out / "predictions.csv", prediction_rows(
            data.evaluate, probs, arch=config["arch"], half=config["half"] or "", seed=config["seed"],
            fold="" if config["fold"] is None else config["fold"] + 1))  # 1-based, as the fold<k> folders
        runio.write_json(out / "summary.json", summary)
        if writer is not None:
            writer.close()
        if flags["collapsed"]:
            log(f"warning: every prediction is one class (balanced accuracy {flags['balanced_accuracy']:.3f} = "
                f"chance {flags['chance']:.3f}): the network has collapsed")
        elif flags["near_chance"]:
            log(f"warning: balanced accuracy {flags['balanced_accuracy']:.3f} is within noise of chance "
                f"{flags['chance']:.3f} (≤ {flags['chance_band']:.3f} for n = {ev['n']})")
        log(f"done: accuracy {ev['accuracy']:.4f} on {data.eval_source} ({selection})"
            + (f"; best val acc {best_acc:.4f} at epoch {best_epoch}" if data.select is not None else "")
            + f"; outputs in {out}")
    return summary


# ----------------------------------------------------------------------------------------------------------
# folds × seeds

def run_all(cfg: dict, out: Path, resume: bool, dist_info=(0, 1), subruns: bool = False) -> dict:
    """One run, or one sub-run per (fold, seed) plus a summary of the reported accuracies (paper Tables 2, 6–8).

    Each sub-run reports its held-out fold (or val) accuracy at the final epoch, or at the epoch chosen on a
    nested inner split; with folds, each seed's cross-validated accuracy pools all folds' predictions.
    ``subruns``: sub-run folders and the summary of several runs even for one seed without folds (table2).
    Finished sub-runs are kept when their settings are this call's; ``out/config.json`` holds the settings,
    so ``--resume out`` continues a cross-validation.
    """
    if cfg["folds"] <= 1 and cfg["seeds"] <= 1 and not subruns:
        return run(cfg, out, resume=resume, dist_info=dist_info)
    if dist_info[0] == 0:
        out.mkdir(parents=True, exist_ok=True)
        runio.write_json(out / "config.json", cfg)
    results = []
    for k in range(cfg["seeds"]):
        for fold in (range(cfg["folds"]) if cfg["folds"] > 1 else [None]):
            results.append(run_or_reuse(dict(cfg, seed=cfg["seed"] + k), subrun_dir(out, fold, cfg["seed"] + k),
                                        fold, resume=resume, dist_info=dist_info, more_epochs=resume))
    summary = aggregate(results, cfg)
    if dist_info[0] == 0:
        runio.write_json(out / "summary.json", summary)
        # The ± is the sd over seeds (or over runs without folds); one value has no spread: "–", as table2 prints
        sd = "–" if summary["accuracy_sd"] is None else f"{summary['accuracy_sd']:.4f}"
        unit = "seeds" if cfg["folds"] > 1 else "runs"
        print(f"{summary['runs']} runs: accuracy {summary['accuracy_mean']:.4f} ± {sd} (sd over {unit}; "
              f"{summary['selection']})")
    return summary


def subrun_dir(out: Path, fold: int | None, seed: int) -> Path:
    """``out/fold<k>_seed<s>`` (k from 1) or ``out/seed<s>`` without folds."""
    return Path(out) / ((f"fold{fold + 1}_" if fold is not None else "") + f"seed{seed}")


def run_or_reuse(cfg: dict, out: Path, fold: int | None, resume: bool = True, dist_info=(0, 1),
                 more_epochs: bool = False) -> dict:
    """One network: the summary of the finished run in ``out`` when it was trained with these settings (a
    one-line error when not), else trained now (continuing a killed run from its checkpoint when ``resume``).
    ``more_epochs`` (``--resume RUN --epochs N``): a finished run with fewer epochs is continued to N."""
    finished = finished_run(cfg, out, more_epochs)
    if finished is not None:
        return finished
    return run(cfg, out, fold=fold, resume=resume, dist_info=dist_info)


def finished_run(cfg: dict, out: Path, more_epochs: bool = False) -> dict | None:
    """The summary of the finished run in ``out`` that ``run_or_reuse`` would keep (a one-line error when its
    settings differ), or None when it would train. Separate so a caller (table2) can tell reuse from training."""
    if (out / "summary.json").is_file():
        saved = runio.read_json(out / "config.json")
        runio.check_settings(out, saved, cfg, more_epochs=more_epochs)
        if not (more_epochs and cfg["epochs"] > saved["epochs"]):
            return runio.read_json(out / "summary.json")
    return None


def aggregate(results: list[dict], cfg: dict) -> dict:
    """Mean ± sd over seeds of each seed's accuracy (with folds: correct/total over all its folds).

    ``accuracy_sd`` is None (JSON null) for a single seed (or single run): no spread was measured.
    """
    seeds = sorted({r["seed"] for r in results})
    per_seed = []
    for s in seeds:
        rs = [r for r in results if r["seed"] == s]
        per_seed.append(sum(r["correct"] for r in rs) / max(1, sum(r["n_evaluated"] for r in rs)))
    accs = np.array(per_seed if cfg["folds"] > 1 else [r["accuracy"] for r in results])
    return {"runs": len(results), "folds": cfg["folds"], "seeds": cfg["seeds"],
            "selection": "final epoch" if cfg["select"] == "last" else "epoch chosen on an inner split (nested)",
            "accuracy_mean": float(accs.mean()), "accuracy_sd": float(accs.std(ddof=1)) if len(accs) > 1 else None,
            "accuracy_per_seed": accs.tolist(), "unit": "seed (pooled over folds)" if cfg["folds"] > 1 else "run",
            # folds numbered from 1, as the fold<k>_seed<s> folders and table2's runs.csv (config's fold is 0-based)
            "per_run": [dict({k: r.get(k) for k in ("fold", "seed", "accuracy", "correct", "n_evaluated",
                                                     "mean_class_accuracy", "macro_f1", "accuracy_epoch")},
                             fold=None if r.get("fold") is None else r["fold"] + 1)
                        for r in results],
            "arch": results[0].get("arch"), "variant": results[0].get("variant"), "half": results[0].get("half")}


# ----------------------------------------------------------------------------------------------------------
# console, TensorBoard

def describe(config, data, model, device) -> str:
    what = config["arch"] if config["arch"] != "hsaw" else f"HSAW {config['variant']}"
    half = f" ({config['half']} half only)" if config["half"] else ""
    weights = (f"pretrained {config['pretrained_used']}" if config["pretrained_used"]
               else "from scratch (no pretrained weights found)")
    return (f"{what}{half}: {hsaw.count_parameters(model):,} parameters, {len(data.train)} train, "
            f"{len(data.select) if data.select is not None else 0} select ({data.select_source or 'none: final epoch'}), "
            f"{len(data.evaluate)} evaluate ({data.eval_source}), device {device}, world {config['world_size']}, "
            f"compile {config['compile']}\nweights: {weights}\nschedule: {config['schedule_used']}, "
            f"lr {config['lr_used']:g} ({config['schedule_reason']}); midlines: {data.midline_source}")


def format_row(row: dict) -> str:
    val = f" val acc {row['val_acc']:.4f}" if "val_acc" in row else ""
    return (f"epoch {row['epoch']}: loss {row['loss']:.4f} (L_w {row['l_w']:.4f} L_F {row['l_f']:.4f} "
            f"L_C {row['l_c']:.4f}) train acc {row['train_acc']:.4f}{val}"
            + (f" (vs its re-labels {row['train_acc_relabeled']:.4f})" if row.get("labels_changed_total") else "")
            + f" relabeled {row['relabeled']} "
            f"w_left {row['w_left']:.3f} w_right {row['w_right']:.3f} lr {row['lr']:.2e} {row['time_s']:.1f}s")


def _progress(it, desc, enabled):
    if not enabled:
        return it
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: no progress bar
        return it
    return tqdm(it, desc=desc, leave=False, dynamic_ncols=True)


def _tensorboard(out: Path, log):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log("note: tensorboard is not installed; no TensorBoard events written (metrics.csv has everything)")
        return None
    return SummaryWriter(str(out / "tensorboard"))


def _tensorboard_row(writer, row, epoch):
    if writer is None:
        return
    for k, v in row.items():
        if k != "epoch" and not (isinstance(v, float) and math.isnan(v)):
            writer.add_scalar(k, v, epoch)
    writer.flush()


if __name__ == "__main__":
    from recognition.train_cli import main  # train_cli never imports this module back: each module loads once

    sys.exit(main(run_all))
