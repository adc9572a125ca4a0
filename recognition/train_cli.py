"""``python -m recognition.train``: the command line of the training loop (parse, check, run, exit code).

User mistakes are one line on stderr and exit code 2; exit 0 only when the run (or every sub-run) finished.
This module never imports ``recognition.train``: ``python -m recognition.train`` runs train.py as
``__main__`` and hands its ``run_all`` to ``main``, so every module is imported once (no second copy of
train.py under its own name).

The flags are generated from ``recognition.config.SETTINGS`` (one row per setting: default, help, resume rule).
``--resume RUN`` with other flags (docs/recognition.md, "Resuming"): settings that decide the run's numbers
must equal the saved ones (a one-line error names the setting and both values); ``--epochs`` may grow when
the run's schedule does not depend on the number of epochs, ``--seeds`` may grow for a run with seed folders
(finished seeds are kept); ``--device``, ``--compile``, ``--eval-batch-size`` and ``--data`` (checked
against the saved data digest) describe this machine and are applied.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from halfface.cli import UserError, run_main
from recognition.config import APPLIED, BY_NAME, DEFAULTS, GROWS, add_flags, complete
from recognition.runio import check_out_folder, read_json

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
    """``--out``/``--resume`` and one flag per setting of ``recognition.config.SETTINGS``."""
    ap = argparse.ArgumentParser(prog="python -m recognition.train", description=DESCRIPTION, epilog=EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="run folder (created)")
    ap.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from checkpoint_last.pt")
    add_flags(ap)
    return ap


def given_flags(argv) -> dict:
    """The options the user typed (argparse's defaults left out), by config key."""
    ap = parser()
    for action in ap._actions:
        action.default = argparse.SUPPRESS
    return vars(ap.parse_args(argv))


def resume_config(out: Path, saved: dict, given: dict) -> dict:
    """The saved settings with the given flags applied where their ``resume`` rule (recognition.config.SETTINGS)
    lets them change; a one-line error otherwise."""
    where = f"--resume {out}"
    cfg = dict(DEFAULTS, **{k: saved[k] for k in DEFAULTS if k in saved})
    for key, value in given.items():
        if key == "resume":
            continue
        if key == "out":
            if Path(value).resolve() != out.resolve():
                raise UserError(f"{where}: --out {value} is not the run's folder; drop --out (a resumed run writes "
                                "where it started)")
            continue
        setting = BY_NAME[key]
        if setting.resume == APPLIED:
            cfg[key] = value
            continue
        now = saved.get(key, DEFAULTS.get(key))
        if value == now or (setting.decided and value == saved.get(setting.decided)):
            continue
        if setting.resume == GROWS and isinstance(now, int) and value > now:
            _check_growth(out, saved, key, value)
            cfg[key] = value
            continue
        if now is None and saved.get(f"{key}_used") is not None:
            now = saved[f"{key}_used"]  # what the run decided for an unset flag (lr, schedule)
        flag, why = setting.option, setting.refusal
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
    return complete(cfg), Path(a.out), False


@run_main
def main(run_all, argv=None) -> int:
    """``run_all``: recognition.train.run_all (passed in by train.py's ``__main__``; see the module docstring)."""
    cfg, out, resume = parse_args(argv)
    check_out_folder(out, "--resume" if resume else "--out")
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
    return 0

