"""Train HSAW (or an ablation variant) on a face dataset: one visible loop, GPU-first, runs on CPU too.

    python -m recognition.train --dataset fer2013 --data /data/fer2013.csv --variant hsaw --out runs/hsaw
    python -m recognition.train --dataset synthetic --image-size 64 --epochs 3 --out runs/demo   # no data needed
    python -m recognition.train --resume runs/hsaw                       # continue a killed run
    torchrun --nproc-per-node 8 -m recognition.train ...                 # DistributedDataParallel

Design (issue 6): the whole split lives on the device as uint8 [N,H,W]; each epoch draws an index permutation
on the device; ``recognition.augment.views`` makes the whole/left/right views on the device; bf16 autocast +
channels_last (+ torch.compile) on CUDA; losses, accuracy, relabel counts and half weights are accumulated in
one device tensor and read once per epoch. Re-labels (§4.5) live in a labels tensor on the device that is
saved in every checkpoint. Randomness is re-seeded from (seed, epoch) at every epoch start, so a run resumed
from its last checkpoint ends with the same numbers as an uninterrupted one.

Schedules. ``paper`` (Table 5/§3.2): SGD momentum 0.9, weight decay 5e-4, constant lr 0.001 — meant for
ImageNet-pretrained weights. From scratch that lr underfits (a plain ResNet18 from scratch at 224 px reaches
~68.8% on PublicTest with rotation ±20° + random erasing, 50 epochs, batch 256, SGD-Nesterov OneCycle lr 0.1),
so ``--schedule auto`` (default) picks ``paper`` with pretrained weights and ``onecycle`` (Nesterov, peak lr
0.1 × batch/256 unless --lr is given) without; the choice and the reason go into config.json and summary.json.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from recognition import model as hsaw
from recognition.augment import IMAGENET_MEAN, IMAGENET_STD
from recognition.evaluate import evaluate_model, input_views, summarize, write_confusion
from recognition.data import (DataError, FaceSet, MissingSplitError, load_faceset, stratified_folds,
                              stratified_holdout)

# ----------------------------------------------------------------------------------------------------------
# defaults (paper Table 5 and §3.2 unless noted)
DEFAULTS = dict(
    dataset="fer2013", data=None, variant="hsaw", half=None,
    epochs=50, batch_size=128, lr=None,  # None: 0.001 (paper schedule) or 0.1 × batch/256 (onecycle)
    momentum=0.9, weight_decay=5e-4, schedule="auto",
    image_size=224, half_mode="mask", rotation=20.0, erase_p=0.5,
    alpha=3.0, beta=1.0, gamma=2.0, relabel_start=20,  # §4.4 loss weights; §4.5 from epoch 20
    grad_clip=5.0,  # not in the paper: the unpooled sub-pixel head sends large gradients into the trunk
    #                (norm ~50 at init); from scratch without clipping our CPU trials diverged within 3 steps
    shared_backbone=True, pretrained=None, midlines=None, midline=None,
    folds=1, seeds=1, seed=0, val_fraction=0.1, eval_batch_size=512,
    compile=None, device=None, max_steps=None, val_subset=None,  # None: compile on CUDA only; max_steps caps steps/epoch (smoke runs)
)
STAT_NAMES = ("loss", "l_w", "l_f", "l_c", "correct", "n", "relabeled", "w_left", "w_right")


class UserError(Exception):
    """A mistake in the command line or the inputs; printed as one line, exit code 2."""


# ----------------------------------------------------------------------------------------------------------
# checkpoints (interface 4): atomic writes; load_checkpoint is what evaluate/predict/bench use

def save_checkpoint(path: Path, obj: dict) -> None:
    tmp = Path(str(path) + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # a kill mid-write leaves the previous checkpoint intact


def load_checkpoint(path, map_location="cpu"):
    """-> (model with weights loaded, config dict, the whole checkpoint dict)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the file is not ours
        raise UserError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise UserError(f"{path}: not a recognition.train checkpoint (no 'model'/'config')")
    model = hsaw.build_model(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model, ckpt["config"], ckpt


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def seed_epoch(seed: int, epoch: int) -> int:
    """Everything random in an epoch derives from (seed, epoch): resuming at an epoch boundary is exact."""
    s = (seed * 1_000_003 + epoch) % (2**31)
    torch.manual_seed(s)
    np.random.seed(s)
    random.seed(s)
    return s


# ----------------------------------------------------------------------------------------------------------
# data, midlines, pretrained weights, schedule: small helpers the loop calls once

def attach_midlines(fs: FaceSet, dataset: str, data, split: str, midlines=None, midline=None) -> str:
    """Fill ``fs.nose_xy`` (source pixels); returns where it came from (for config/summary)."""
    h, w = fs.images.shape[1:]
    if midline == "center":
        fs.nose_xy = torch.tensor([[(w - 1) / 2.0, (h - 1) / 2.0]]).expand(len(fs), 2).contiguous()
        return "center (--midline center)"
    if fs.nose_xy is not None and midlines is None:
        return f"from the dataset ({dataset})"
    try:
        from recognition.landmarks import MidlineError, default_cache_path, load_found, load_midlines
    except ImportError as e:
        raise UserError(f"cannot read midlines ({e}); pass --midline center to split at the image centre") from None
    path = Path(midlines) if midlines else default_cache_path(data)
    try:
        nose = load_midlines(path, split, fs.images.numpy(), dataset=dataset, data=data)
        missed = int((~load_found(path, split)).sum())
    except MidlineError as e:
        raise UserError(str(e)) from None
    fs.nose_xy = torch.as_tensor(nose, dtype=torch.float32)
    return f"dlib nose tips from {path} ({missed} of {len(fs)} faces not found: image centre used)"


def load_splits(cfg: dict, fold: int | None) -> tuple[FaceSet, FaceSet, str, str]:
    """(train, val, where val comes from, where the midlines come from). Never uses a test split."""
    train = load_faceset(cfg["dataset"], cfg["data"], "train")
    src = attach_midlines(train, cfg["dataset"], cfg["data"], "train", cfg["midlines"], cfg["midline"])
    if fold is not None:
        folds = stratified_folds(train.labels, cfg["folds"], seed=0)
        val_idx = folds[fold]
        train_idx = np.setdiff1d(np.arange(len(train)), val_idx)
        return train.subset(train_idx), train.subset(val_idx), f"fold {fold + 1}/{cfg['folds']} of train", src
    try:
        val = load_faceset(cfg["dataset"], cfg["data"], "val")
        attach_midlines(val, cfg["dataset"], cfg["data"], "val", cfg["midlines"], cfg["midline"])
        return train, val, "val split" + (" (PublicTest)" if cfg["dataset"] == "fer2013" else ""), src
    except MissingSplitError:
        train_idx, val_idx = stratified_holdout(train.labels, cfg["val_fraction"], seed=0)
        return (train.subset(train_idx), train.subset(val_idx),
                f"stratified {cfg['val_fraction']:.0%} of train (dataset has no val split)", src)


def find_pretrained(path) -> Path | None:
    if path:
        if not Path(path).is_file():
            raise UserError(f"--pretrained {path}: no such file")
        return Path(path)
    hits = sorted(glob.glob(os.path.join(torch.hub.get_dir(), "checkpoints", "resnet18-*.pth")))
    return Path(hits[0]) if hits else None


def resolve_schedule(cfg: dict, pretrained: bool) -> tuple[str, float, str]:
    schedule = cfg["schedule"]
    if schedule == "auto":
        schedule = "paper" if pretrained else "onecycle"
        why = ("pretrained weights: the paper's schedule" if pretrained else
               "from scratch: the paper's constant lr 0.001 underfits, OneCycle-Nesterov used instead")
    else:
        why = f"--schedule {schedule}"
    lr = cfg["lr"]
    if lr is None:
        lr = 0.001 if schedule == "paper" else 0.1 * cfg["batch_size"] / 256
    return schedule, float(lr), why


def make_optimizer(model, cfg, schedule, lr, steps_per_epoch):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg["momentum"], weight_decay=cfg["weight_decay"],
                          nesterov=schedule != "paper")
    total = max(1, cfg["epochs"] * steps_per_epoch)
    if schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total)
    elif schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    else:  # paper: constant
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    return opt, sched


# ----------------------------------------------------------------------------------------------------------
# one optimisation step: the loop below and recognition.bench both call exactly this

def train_step(net, model, opt, sched, images_u8, nose_xy, y, cfg, gen, *, relabel_now: bool):
    """Views on the device (augment, as the run's ``cfg`` says) → forward (bf16 on CUDA) → L (§4.4) → SGD step → §4.5 re-labels.

    Returns (stats row in STAT_NAMES order, summed over the batch, as a device tensor; the batch's labels after
    re-labelling). Nothing here reads a value back to the host, so CUDA never waits for Python.
    ``net`` is what runs forward (maybe DDP/compiled), ``model`` the plain module (for gradient clipping).
    """
    cuda = images_u8.device.type == "cuda"
    whole, left, right = input_views(images_u8, nose_xy, cfg, train=True, generator=gen)
    if cuda:
        whole, left, right = (None if t is None else t.contiguous(memory_format=torch.channels_last)
                              for t in (whole, left, right))
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
        out = net(whole, left, right)
    losses = hsaw.hsaw_loss(out, y, cfg["alpha"], cfg["beta"], cfg["gamma"])
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
        row = torch.stack([losses["loss"].detach() * bs, losses["l_w"].detach() * bs, losses["l_f"].detach() * bs,
                           losses["l_c"].detach() * bs, (logits.argmax(1) == y).sum().float(),
                           torch.full((), bs, device=y.device), changed, wl, wr])
    return row, new_y


# ----------------------------------------------------------------------------------------------------------
# one run: the loop

def run(cfg: dict, out: Path, *, fold: int | None = None, resume: bool = False, dist_info=(0, 1)) -> dict:
    rank, world = dist_info
    is_main = rank == 0
    out.mkdir(parents=True, exist_ok=True)
    log = _logger(out / "train.log" if is_main else None)
    device = torch.device(cfg["device"])
    cuda = device.type == "cuda"
    use_compile = cuda if cfg["compile"] is None else cfg["compile"]

    train_set, val_set, val_source, midline_source = load_splits(cfg, fold)
    if cfg["val_subset"] and cfg["val_subset"] < len(val_set):  # quick CPU runs: a stratified part of val
        _, keep = stratified_holdout(val_set.labels, cfg["val_subset"] / len(val_set), seed=0)
        val_set = val_set.subset(keep)
        val_source += f", stratified subset of {len(val_set)}"
    n_classes = len(train_set.class_names)
    pretrained_path = find_pretrained(cfg["pretrained"])
    schedule, lr, schedule_why = resolve_schedule(cfg, pretrained_path is not None)
    variant = "baseline" if cfg["half"] else cfg["variant"]
    per_rank_batch = max(1, cfg["batch_size"] // world)
    n_local = len(train_set) // world
    batch = min(per_rank_batch, n_local)
    steps = max(1, n_local // batch)  # drop the ragged last batch: fixed shapes for torch.compile
    if cfg["max_steps"]:
        steps = min(steps, cfg["max_steps"])
    config = dict(cfg, variant=variant, num_classes=n_classes, class_names=train_set.class_names,
                  mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD), fold=fold, val_source=val_source,
                  midline_source=midline_source, schedule_used=schedule, lr_used=lr, schedule_reason=schedule_why,
                  pretrained_used=str(pretrained_path) if pretrained_path else None, world_size=world,
                  steps_per_epoch=steps, device=str(device), compile=use_compile)
    relabel_on = variant in ("relabel", "hsaw")

    torch.manual_seed(cfg["seed"])
    model = hsaw.build_model(config)
    if pretrained_path is not None:
        state = torch.load(pretrained_path, map_location="cpu", weights_only=True)
        for b in model.backbones:
            b.load_torchvision_resnet18(state)
    model.to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    opt, sched = make_optimizer(model, cfg, schedule, lr, steps)

    images = train_set.images.to(device)
    original_labels = train_set.labels.to(device)
    labels = original_labels.clone()  # §4.5 re-labels are written here, on the device
    nose = train_set.nose_xy.to(device)
    start_epoch, best_acc, best_epoch, metrics = 0, -1.0, 0, []
    if resume and (out / "checkpoint_last.pt").is_file():
        ckpt = torch.load(out / "checkpoint_last.pt", map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        labels = ckpt["train_labels"].to(device)
        start_epoch, best_acc, metrics = ckpt["epoch"], ckpt["best_acc"], ckpt["metrics"]
        best_epoch = ckpt.get("best_epoch", 0)
        _truncate_relabels(out / "relabels.csv", start_epoch)
        log(f"resumed from {out / 'checkpoint_last.pt'} at epoch {start_epoch}")
    if is_main:
        _write_json(out / "config.json", config)
    log(f"{variant}{' (' + cfg['half'] + ' half only)' if cfg['half'] else ''}: "
        f"{hsaw.count_parameters(model):,} parameters, {len(train_set)} train / {len(val_set)} val "
        f"({val_source}), device {device}, world {world}, compile {use_compile}")
    log(f"weights: {'pretrained ' + str(pretrained_path) if pretrained_path else 'from scratch (no pretrained ResNet18 found)'}")
    log(f"schedule: {schedule}, lr {lr:g} ({schedule_why}); midlines: {midline_source}")

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    if use_compile:
        net = torch.compile(net)
    gen = torch.Generator(device=device)
    writer = _tensorboard(out, log) if is_main else None
    t_run = time.time()

    for epoch in range(start_epoch + 1, cfg["epochs"] + 1):
        t0 = time.time()
        gen.manual_seed(seed_epoch(cfg["seed"], epoch))
        net.train()
        labels_at_start = labels.clone()
        perm = torch.randperm(len(train_set), device=device, generator=gen)  # same on every rank
        shard = perm[rank::world]
        stats = torch.zeros(len(STAT_NAMES), device=device)
        relabel_now = relabel_on and epoch >= cfg["relabel_start"]
        for step in _progress(range(steps), f"epoch {epoch}/{cfg['epochs']}", is_main):
            idx = shard[step * batch:(step + 1) * batch]
            row, labels[idx] = train_step(net, model, opt, sched, images[idx], nose[idx], labels[idx], config, gen,
                                          relabel_now=relabel_now)
            stats += row

        if world > 1:  # ranks re-labelled disjoint samples: summing the changes merges them
            import torch.distributed as dist

            delta = labels - labels_at_start
            dist.all_reduce(delta)
            labels = labels_at_start + delta
            dist.all_reduce(stats)
            for buf in model.buffers():  # BatchNorm running stats saw only this rank's batches: average them
                if buf.is_floating_point():
                    dist.all_reduce(buf)
                    buf /= world
        # the one host sync of the epoch
        s = dict(zip(STAT_NAMES, stats.tolist()))
        changed_idx = torch.nonzero(labels != labels_at_start).flatten()
        relabel_rows = list(zip(changed_idx.tolist(), labels_at_start[changed_idx].tolist(),
                                labels[changed_idx].tolist()))
        ev = summarize(evaluate_model(model, val_set, config, device, cfg["eval_batch_size"]),
                       val_set.class_names, model.attention is not None)
        n = max(1.0, s["n"])
        row = {"epoch": epoch, "loss": s["loss"] / n, "l_w": s["l_w"] / n, "l_f": s["l_f"] / n,
               "l_c": s["l_c"] / n, "train_acc": s["correct"] / n, "val_acc": ev["accuracy"],
               "relabeled": int(round(s["relabeled"])), "labels_changed_total": int((labels != original_labels).sum()),
               "w_left": s["w_left"] / n if model.attention is not None else float("nan"),
               "w_right": s["w_right"] / n if model.attention is not None else float("nan"),
               "lr": opt.param_groups[0]["lr"], "time_s": time.time() - t0}
        metrics.append(row)
        improved = row["val_acc"] > best_acc
        if improved:
            best_acc, best_epoch = row["val_acc"], epoch
        if is_main:
            ckpt = {"model": model.state_dict(), "config": config, "epoch": epoch, "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "train_labels": labels.cpu(), "rng": _rng_state(),
                    "best_acc": best_acc, "best_epoch": best_epoch, "metrics": metrics}
            _append_relabels(out / "relabels.csv", epoch, relabel_rows)
            _write_metrics(out / "metrics.csv", metrics)
            if improved:
                save_checkpoint(out / "checkpoint_best.pt", ckpt)
            save_checkpoint(out / "checkpoint_last.pt", ckpt)
            if writer is not None:
                for k, v in row.items():
                    if k != "epoch" and not (isinstance(v, float) and math.isnan(v)):
                        writer.add_scalar(k, v, epoch)
                writer.flush()
            log(f"epoch {epoch}: loss {row['loss']:.4f} (L_w {row['l_w']:.4f} L_F {row['l_f']:.4f} "
                f"L_C {row['l_c']:.4f}) train acc {row['train_acc']:.4f} val acc {row['val_acc']:.4f} "
                f"relabeled {row['relabeled']} w_left {row['w_left']:.3f} w_right {row['w_right']:.3f} "
                f"lr {row['lr']:.2e} {row['time_s']:.1f}s")
        _test_kill_hook(epoch)

    summary = {"best_val_acc": best_acc, "best_epoch": best_epoch,
               "final_val_acc": metrics[-1]["val_acc"] if metrics else None,
               "epochs": cfg["epochs"], "parameters": hsaw.count_parameters(model), "variant": variant,
               "half": cfg["half"], "val_source": val_source, "midlines": midline_source,
               "pretrained": config["pretrained_used"], "from_scratch": pretrained_path is None,
               "schedule": schedule, "lr": lr, "schedule_reason": schedule_why,
               "labels_changed_total": metrics[-1]["labels_changed_total"] if metrics else 0,
               "wall_time_s_this_session": time.time() - t_run, "device": str(device), "world_size": world,
               "train_weights_sha1": _digest(model), "train_labels_sha1": _digest_tensor(labels)}
    if is_main:
        if (out / "checkpoint_best.pt").is_file():
            best, _, _ = load_checkpoint(out / "checkpoint_best.pt", map_location=device)
            ev = summarize(evaluate_model(best.to(device), val_set, config, device, cfg["eval_batch_size"]),
                           val_set.class_names, best.attention is not None)
            write_confusion(out, "confusion_matrix", ev, f"{variant}, best epoch {best_epoch}: val acc {ev['accuracy']:.3f}")
            summary["best_val"] = {k: ev[k] for k in ev if k != "confusion"}
        _write_json(out / "summary.json", summary)
        if writer is not None:
            writer.close()
        log(f"done: best val acc {best_acc:.4f} at epoch {best_epoch}; outputs in {out}")
    return summary


# ----------------------------------------------------------------------------------------------------------
# folds × seeds, DDP, CLI

def run_all(cfg: dict, out: Path, resume: bool, dist_info=(0, 1)) -> dict:
    """One run, or one sub-run per (fold, seed) plus a mean ± sd summary (paper Tables 6–8)."""
    if cfg["folds"] <= 1 and cfg["seeds"] <= 1:
        return run(cfg, out, resume=resume, dist_info=dist_info)
    results = []
    for fold in (range(cfg["folds"]) if cfg["folds"] > 1 else [None]):
        for k in range(cfg["seeds"]):
            sub = out / ((f"fold{fold + 1}_" if fold is not None else "") + f"seed{cfg['seed'] + k}")
            if (sub / "summary.json").is_file():
                results.append(json.loads((sub / "summary.json").read_text()))
                continue
            results.append(run(dict(cfg, seed=cfg["seed"] + k), sub, fold=fold, resume=resume, dist_info=dist_info))
    accs = np.array([r["best_val_acc"] for r in results])
    summary = {"runs": len(results), "folds": cfg["folds"], "seeds": cfg["seeds"],
               "best_val_acc_mean": float(accs.mean()), "best_val_acc_sd": float(accs.std(ddof=1)) if len(accs) > 1 else 0.0,
               "best_val_acc": accs.tolist(), "variant": results[0]["variant"]}
    if dist_info[0] == 0:
        _write_json(out / "summary.json", summary)
        print(f"{summary['runs']} runs: best val acc {summary['best_val_acc_mean']:.4f} ± {summary['best_val_acc_sd']:.4f}")
    return summary


def parse_args(argv=None) -> tuple[dict, Path, bool]:
    d = DEFAULTS
    ap = argparse.ArgumentParser(prog="python -m recognition.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["fer2013", "rafdb", "folder", "synthetic"], default=d["dataset"])
    ap.add_argument("--data", help="fer2013.csv / dataset folder / synthetic spec like n=512,size=48")
    ap.add_argument("--variant", choices=hsaw.VARIANTS, default=d["variant"])
    ap.add_argument("--half", choices=["left", "right"], help="train a plain classifier on one half only (Tables 2–3)")
    ap.add_argument("--epochs", type=int, default=d["epochs"])
    ap.add_argument("--batch-size", type=int, default=d["batch_size"], help="global batch (split over DDP ranks)")
    ap.add_argument("--lr", type=float, default=d["lr"], help="default 0.001 (paper) or 0.1×batch/256 (onecycle)")
    ap.add_argument("--schedule", choices=["auto", "paper", "onecycle", "cosine"], default=d["schedule"])
    ap.add_argument("--momentum", type=float, default=d["momentum"])
    ap.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    ap.add_argument("--out", help="run folder (created)")
    ap.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from checkpoint_last.pt")
    ap.add_argument("--pretrained", help="torchvision ResNet18 state dict (.pth); default: torch hub cache if present")
    ap.add_argument("--image-size", type=int, default=d["image_size"])
    ap.add_argument("--half-mode", choices=["mask", "crop"], default=d["half_mode"])
    ap.add_argument("--rotation", type=float, default=d["rotation"])
    ap.add_argument("--erase-p", type=float, default=d["erase_p"])
    ap.add_argument("--separate-backbones", action="store_true", help="one ResNet18 per view (default: shared)")
    ap.add_argument("--folds", type=int, default=d["folds"], help="stratified k-fold CV over the training split")
    ap.add_argument("--seeds", type=int, default=d["seeds"], help="repeat with this many seeds")
    ap.add_argument("--seed", type=int, default=d["seed"])
    ap.add_argument("--relabel-start", type=int, default=d["relabel_start"])
    ap.add_argument("--alpha", type=float, default=d["alpha"])
    ap.add_argument("--beta", type=float, default=d["beta"])
    ap.add_argument("--gamma", type=float, default=d["gamma"])
    ap.add_argument("--midlines", help="nose-tip cache (.npz) from python -m recognition.landmarks")
    ap.add_argument("--midline", choices=["center"], help="split every face at the image centre (reported)")
    ap.add_argument("--val-fraction", type=float, default=d["val_fraction"])
    ap.add_argument("--grad-clip", type=float, default=d["grad_clip"], help="max gradient norm (0: off)")
    ap.add_argument("--eval-batch-size", type=int, default=d["eval_batch_size"])
    ap.add_argument("--val-subset", type=int, default=d["val_subset"], help="evaluate on N stratified val samples")
    ap.add_argument("--max-steps", type=int, default=d["max_steps"], help="cap steps per epoch (smoke runs)")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=d["compile"],
                    help="torch.compile the model (default: on for CUDA, off on CPU)")
    ap.add_argument("--device", default=d["device"])
    a = ap.parse_args(argv)
    if a.resume:
        out = Path(a.resume)
        if not (out / "config.json").is_file():
            raise UserError(f"--resume {out}: no config.json there (not a run folder)")
        saved = json.loads((out / "config.json").read_text())
        cfg = dict(DEFAULTS, **{k: saved[k] for k in DEFAULTS if k in saved})
        if a.compile is not None:
            cfg["compile"] = a.compile
        return cfg, out, True
    if a.dataset == "synthetic" and not a.data:
        a.data = "n=512,size=48"  # the built-in default: runs anywhere, no files needed
    if not a.data or not a.out:
        raise UserError("--data and --out are required (or --resume RUN_DIR)")
    cfg = dict(DEFAULTS, **{k: getattr(a, k) for k in DEFAULTS if hasattr(a, k)})
    cfg["shared_backbone"] = not a.separate_backbones
    if cfg["image_size"] < 33:
        raise UserError(f"--image-size {cfg['image_size']}: use at least 33 (the paper uses 224)")
    return cfg, Path(a.out), False


def main(argv=None) -> int:
    try:
        cfg, out, resume = parse_args(argv)
        rank, world, local = (int(os.environ.get(k, dflt)) for k, dflt in
                              (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)))
        if cfg.get("device") is None:
            cfg["device"] = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        if world > 1:
            import torch.distributed as dist

            cuda = cfg["device"].startswith("cuda")
            if cuda:
                torch.cuda.set_device(torch.device(cfg["device"]))
            dist.init_process_group(backend="nccl" if cuda else "gloo")
        if out.exists() and not resume and (out / "checkpoint_last.pt").exists():
            raise UserError(f"{out} already holds a run; use --resume {out} or another --out")
        summary = run_all(cfg, out, resume, dist_info=(rank, world))
        if world > 1:
            _write_json(out / f"rank{rank}.json", {k: summary.get(k) for k in
                                                     ("train_weights_sha1", "train_labels_sha1", "best_val_acc")})
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
    except (UserError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


# ----------------------------------------------------------------------------------------------------------
# small file/log helpers

def _logger(path: Path | None):
    def log(msg: str) -> None:
        if path is None:
            return
        print(msg, flush=True)
        with open(path, "a") as f:
            f.write(msg + "\n")
    return log


def _progress(it, desc, enabled):
    try:
        from tqdm import tqdm
    except ImportError:
        return it
    return tqdm(it, desc=desc, leave=False, disable=not enabled, dynamic_ncols=True)


def _tensorboard(out: Path, log):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log("warning: tensorboard is not installed; no TensorBoard events written (metrics.csv has everything)")
        return None
    return SummaryWriter(str(out / "tensorboard"))


def _write_json(path: Path, obj) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def _write_metrics(path: Path, rows: list[dict]) -> None:
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _append_relabels(path: Path, epoch: int, rows) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["epoch", "index", "old", "new"])
        w.writerows((epoch, i, o, n) for i, o, n in rows)


def _truncate_relabels(path: Path, last_epoch: int) -> None:
    """A run killed after writing relabels.csv but before its checkpoint must not log that epoch twice."""
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if int(ln.split(",", 1)[0]) <= last_epoch]
    path.write_text("\n".join(kept) + "\n")


def _digest(model) -> str:
    import hashlib

    h = hashlib.sha1()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _digest_tensor(t) -> str:
    import hashlib

    return hashlib.sha1(t.detach().cpu().numpy().tobytes()).hexdigest()


def _test_kill_hook(epoch: int) -> None:
    """Tests simulate a crash: HSAW_TEST_KILL_AFTER_EPOCH=k makes the process SIGKILL itself after epoch k."""
    k = os.environ.get("HSAW_TEST_KILL_AFTER_EPOCH")
    if k is not None and int(k) == epoch:
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
