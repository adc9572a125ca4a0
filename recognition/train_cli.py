"""``python -m recognition.train``: the command line of the training loop (parse, check, run, exit code).

User mistakes are one line on stderr and exit code 2; exit 0 only when the run (or every sub-run) finished.
This module never imports ``recognition.train``: ``python -m recognition.train`` runs train.py as
``__main__`` and hands its ``run_all`` to ``main``, so every module is imported once (no second copy of
train.py under its own name).

``--resume RUN`` with other flags (docs/recognition.md, "Resuming"): settings that decide the run's numbers
must equal the saved ones (a one-line error names the setting and both values); ``--epochs`` may grow when
the run's schedule does not depend on the number of epochs, ``--seeds`` may grow for a run with seed folders
(finished seeds are kept); ``--device``, ``--compile``, ``--eval-batch-size`` and ``--data`` (checked
against the saved data digest) describe this machine and are applied.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from recognition.config import DEFAULTS, complete
from recognition.data import DATASETS, STIMULUS_ROWS
from recognition.errors import UserError
from recognition.model import ARCHS, VARIANTS
from recognition.optim import SCHEDULES
from recognition.runio import read_json

DESCRIPTION = ("Train HSAW (or a plain AlexNet/ResNet18) on a face dataset; --folds/--seeds repeat it "
               "(cross-validation), --resume continues a run. See docs/recognition.md.")
EXAMPLES = """examples:
  python -m recognition.train --dataset fer2013 --data data/fer2013.csv --variant hsaw --out runs/hsaw
  python -m recognition.train --dataset fer2013 --data data/fer2013.csv --half left --out runs/left     # Table 3
  python -m recognition.train --dataset stimuli --data OUT/manifest.csv --arch alexnet --half left \\
      --folds 10 --seeds 5 --out runs/t2_alexnet_left                                                  # Table 2
  python -m recognition.train --dataset synthetic --image-size 64 --epochs 3 --out runs/demo            # no data
  python -m recognition.train --resume runs/hsaw
"""


def parser() -> argparse.ArgumentParser:
    d = DEFAULTS
    ap = argparse.ArgumentParser(prog="python -m recognition.train", description=DESCRIPTION, epilog=EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=DATASETS, default=d["dataset"])
    ap.add_argument("--data", help="fer2013.csv / dataset folder / stimuli manifest.csv / synthetic spec n=512,size=48")
    ap.add_argument("--arch", choices=ARCHS, help="hsaw (default), or a plain pooled alexnet/resnet18 "
                    "(default for --half and for stimuli)")
    ap.add_argument("--variant", choices=VARIANTS, default=d["variant"], help="HSAW ablation (Table 6)")
    ap.add_argument("--half", choices=["left", "right"], help="one half-face only (Tables 2–3): the poser's half "
                    "(stimuli: the rows with this visible_half)")
    ap.add_argument("--channels", type=int, choices=[1, 3], help="1 gray (default) or 3 RGB (default for stimuli)")
    ap.add_argument("--epochs", type=int, default=d["epochs"])
    ap.add_argument("--batch-size", type=int, default=d["batch_size"], help="global batch (split over DDP ranks)")
    ap.add_argument("--lr", type=float, default=d["lr"], help="default: 0.001 HSAW / 0.01 plain (paper), "
                    "0.1×batch/256 (onecycle)")
    ap.add_argument("--schedule", choices=SCHEDULES, default=d["schedule"])
    ap.add_argument("--momentum", type=float, default=d["momentum"])
    ap.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    ap.add_argument("--out", help="run folder (created)")
    ap.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from checkpoint_last.pt")
    ap.add_argument("--pretrained", help="torchvision ResNet18/AlexNet state dict (.pth); default: torch hub cache")
    ap.add_argument("--image-size", type=int, default=d["image_size"], help="default 224; 100 for stimuli")
    ap.add_argument("--half-mode", choices=["mask", "crop"], default=d["half_mode"])
    ap.add_argument("--rotation", type=float, default=d["rotation"])
    ap.add_argument("--erase-p", type=float, default=d["erase_p"])
    ap.add_argument("--separate-backbones", action="store_true", help="one ResNet18 per view (default: shared)")
    ap.add_argument("--folds", type=int, default=d["folds"], help="stratified k-fold CV over the training split "
                    "(grouped by photo for stimuli)")
    ap.add_argument("--seeds", type=int, default=d["seeds"], help="repeat with this many seeds")
    ap.add_argument("--seed", type=int, default=d["seed"])
    ap.add_argument("--select", choices=["last", "inner"], default=d["select"],
                    help="reported accuracy: final epoch (default) or the epoch chosen on a nested inner split")
    ap.add_argument("--stimulus-rows", choices=STIMULUS_ROWS, default=d["stimulus_rows"],
                    help="stimuli: as-shot (one image per photo and half, default) or all (mirror copies too)")
    ap.add_argument("--relabel-start", type=_relabel_start, default=d["relabel_start"],
                    help="epoch from which §4.5 re-labels (the paper: 20), or auto (default): once the model beats "
                    "the majority class by a margin, and not in the first 40%% of epochs")
    ap.add_argument("--alpha", type=float, default=d["alpha"])
    ap.add_argument("--beta", type=float, default=d["beta"])
    ap.add_argument("--gamma", type=float, default=d["gamma"])
    ap.add_argument("--midlines", help="nose-tip cache (.npz) from python -m recognition.landmarks")
    ap.add_argument("--midline", choices=["center"], help="split every face at the image centre (reported)")
    ap.add_argument("--val-fraction", type=float, default=d["val_fraction"])
    ap.add_argument("--grad-clip", type=float, default=d["grad_clip"], help="max gradient norm (0: off; "
                    "default 5 for HSAW, off for plain networks)")
    ap.add_argument("--eval-batch-size", type=int, default=d["eval_batch_size"])
    ap.add_argument("--val-subset", type=int, default=d["val_subset"], help="select on N stratified val samples")
    ap.add_argument("--max-steps", type=int, default=d["max_steps"], help="cap steps per epoch (smoke runs)")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=d["compile"],
                    help="torch.compile the model (default: on for CUDA, off on CPU)")
    ap.add_argument("--device", default=d["device"])
    return ap


def _relabel_start(text: str):
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: an epoch number or auto") from None


# --resume: what may differ from the saved run (the machine's), what may grow, what is never compared (--out)
MACHINE = ("device", "compile", "eval_batch_size", "data")
GROWS = ("epochs", "seeds")


def given_flags(argv) -> dict:
    """The options the user typed (argparse's defaults left out), by config key."""
    ap = parser()
    for action in ap._actions:
        action.default = argparse.SUPPRESS
    given = vars(ap.parse_args(argv))
    if "separate_backbones" in given:
        given["shared_backbone"] = not given.pop("separate_backbones")
    return given


def resume_config(out: Path, saved: dict, given: dict) -> dict:
    """The saved settings with the given flags applied where they may change; a one-line error otherwise."""
    where = f"--resume {out}"
    cfg = dict(DEFAULTS, **{k: saved[k] for k in DEFAULTS if k in saved})
    for key, value in given.items():
        flag = "--" + key.replace("_", "-")
        if key in ("resume",):
            continue
        if key == "out":
            if Path(value).resolve() != out.resolve():
                raise UserError(f"{where}: --out {value} is not the run's folder; drop --out (a resumed run writes "
                                "where it started)")
            continue
        if key in MACHINE:
            cfg[key] = value
            continue
        now = saved.get(key, DEFAULTS.get(key))
        if value == now or (key in ("lr", "schedule") and value == saved.get(f"{key}_used")):
            continue
        if key in GROWS and isinstance(now, int) and value > now:
            _check_growth(out, saved, key, value)
            cfg[key] = value
            continue
        why = {"epochs": "fewer epochs than the run was started with",
               "seeds": "finished seeds are never dropped",
               "folds": "another number of folds would re-partition every fold's photos"}.get(key, "")
        if now is None and saved.get(f"{key}_used") is not None:
            now = saved[f"{key}_used"]  # what the run decided for an unset flag (lr, schedule)
        raise UserError(f"{where}: {flag} {value!r} differs from the run's {key}={now!r}"
                        f"{' (' + why + ')' if why else ''}; resume without {flag}, or start a new run with "
                        "another --out")
    return cfg


def _check_growth(out: Path, saved: dict, key: str, value: int) -> None:
    where = f"--resume {out}"
    if key == "seeds" and saved.get("folds", 1) <= 1 and saved.get("seeds", 1) <= 1:
        raise UserError(f"{where}: --seeds {value}: this is a single run (no seed<s> folders); start a run with "
                        f"--seeds {value} and another --out")
    if key == "epochs" and saved.get("schedule_used", "paper") != "paper":
        raise UserError(f"{where}: --epochs {value}: the run's {saved.get('schedule_used')} schedule was laid out "
                        f"for {saved['epochs']} epochs (more would change the learning rates it already used); "
                        f"start a new run with --epochs {value}")


def parse_args(argv=None) -> tuple[dict, Path, bool]:
    a = parser().parse_args(argv)
    if a.resume:
        out = Path(a.resume)
        if not (out / "config.json").is_file():
            raise UserError(f"--resume {out}: no config.json there (not a run folder)")
        cfg = resume_config(out, read_json(out / "config.json"), given_flags(argv))
        cfg["device"] = a.device  # the machine's, not the saved one's
        return complete(cfg), out, True
    if a.dataset == "synthetic" and not a.data:
        a.data = "n=512,size=48"  # the built-in default: runs anywhere, no files needed
    if not a.data or not a.out:
        raise UserError("--data and --out are required (or --resume RUN_DIR)")
    cfg = dict(DEFAULTS, **{k: getattr(a, k) for k in DEFAULTS if hasattr(a, k)})
    cfg["shared_backbone"] = not a.separate_backbones
    return complete(cfg), Path(a.out), False


def main(run_all, argv=None) -> int:
    """``run_all``: recognition.train.run_all (passed in by train.py's ``__main__``; see the module docstring)."""
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
        if not resume and ((out / "checkpoint_last.pt").exists() or (out / "summary.json").exists()):
            raise UserError(f"{out} already holds a run; use --resume {out} or another --out")
        summary = run_all(cfg, out, resume, dist_info=(rank, world))
        if world > 1:
            import torch.distributed as dist

            from recognition.runio import write_json
            write_json(out / f"rank{rank}.json", {k: summary.get(k) for k in
                                                    ("train_weights_sha1", "train_labels_sha1", "accuracy")})
            dist.barrier()
            dist.destroy_process_group()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0

