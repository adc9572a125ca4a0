"""Weights to start from, the learning-rate schedule and the optimiser: decided once, at a run's start.

Schedules. ``paper`` (§3.2, Table 5): SGD momentum 0.9, weight decay 5e-4, constant lr — 0.001 for HSAW
with ImageNet weights, 0.01 for the plain AlexNet/ResNet18 of Tables 2–3. From scratch HSAW's 0.001
underfits (a plain ResNet18 from scratch at 224 px reaches ~68.8% on PublicTest with rotation ±20° + random
erasing, 50 epochs, batch 256, SGD-Nesterov OneCycle lr 0.1), so ``--schedule auto`` picks ``onecycle``
(Nesterov, peak lr 0.1 × batch/256) for HSAW without pretrained weights. The choice, its reason and the
weights used are stored in the run's config, and a resumed run reuses them instead of deciding again.
"""
from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path

import torch

from halfface.cli import UserError

SCHEDULES = ("auto", "paper", "onecycle", "cosine")
_HUB_NAMES = {"hsaw": "resnet18", "resnet18": "resnet18", "alexnet": "alexnet"}


def find_pretrained(path, arch: str = "hsaw") -> Path | None:
    """``--pretrained PATH``, else torchvision's file for ``arch`` in the torch hub cache, else None."""
    if path:
        if not Path(path).is_file():
            raise UserError(f"--pretrained {path}: no such file")
        return Path(path)
    pattern = os.path.join(torch.hub.get_dir(), "checkpoints", f"{_HUB_NAMES[arch]}-*.pth")
    hits = sorted(glob.glob(pattern))
    return Path(hits[0]) if hits else None


def file_sha1(path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_pretrained(model, path: Path, arch: str) -> None:
    """ImageNet weights into the trunk (HSAW) or all but the last layer (plain nets); one-line error if unfit."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if arch == "hsaw":
            for b in model.backbones:
                b.load_torchvision_resnet18(state)
        else:
            model.load_torchvision(state)
    except Exception as e:  # noqa: BLE001 - an unreadable or foreign file is the user's to fix
        raise UserError(f"--pretrained {path}: cannot use it for {arch} ({type(e).__name__}: {e}); "
                        f"pass a torchvision {_HUB_NAMES[arch]} state dict") from None


def resolve_schedule(cfg: dict, pretrained: bool) -> tuple[str, float, str]:
    """(schedule, lr, why) for a new run."""
    arch = cfg.get("arch") or "hsaw"
    schedule = cfg["schedule"]
    if schedule == "auto":
        if arch != "hsaw":
            schedule, why = "paper", "plain network: the paper's SGD, constant lr 0.01 (§3.2)"
        elif pretrained:
            schedule, why = "paper", "pretrained weights: the paper's schedule"
        else:
            schedule, why = "onecycle", ("from scratch: the paper's constant lr 0.001 underfits, "
                                         "OneCycle-Nesterov used instead")
    else:
        why = f"--schedule {schedule}"
    lr = cfg["lr"]
    if lr is None:
        lr = (0.01 if arch != "hsaw" else 0.001) if schedule == "paper" else 0.1 * cfg["batch_size"] / 256
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
