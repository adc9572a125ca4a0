"""A run folder on disk: checkpoints, config/summary JSON, metrics.csv, relabels.csv, train.log.

Every write is atomic (temp file + ``os.replace``), so a run killed at any moment leaves the previous
files intact and can be resumed. ``load_checkpoint`` is how evaluate, predict, export and bench get a model.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
from pathlib import Path

import numpy as np
import torch

from recognition import model as hsaw
from recognition.config import BY_NAME, DECIDING
from halfface.cli import UserError


def check_out_folder(out, flag: str = "--out") -> None:
    """Refuse an output folder that is a file or lies under one, before any work (mkdir would raise a traceback)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{flag} {out} is a file, not a folder: give a folder for the run's files")
    parent = next((p for p in out.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UserError(f"{flag} {out} lies under {parent}, which is a file: give a folder path")


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


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read ({e})") from None


def write_json(path: Path, obj) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def write_metrics(path: Path, rows: list[dict]) -> None:
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def append_relabels(path: Path, epoch: int, rows) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["epoch", "index", "old", "new"])
        w.writerows((epoch, i, o, n) for i, o, n in rows)


def truncate_relabels(path: Path, last_epoch: int) -> None:
    """A run killed after writing relabels.csv but before its checkpoint must not log that epoch twice."""
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if int(ln.split(",", 1)[0]) <= last_epoch]
    path.write_text("\n".join(kept) + "\n")


def logger(path: Path | None, echo: bool = True):
    """A function that appends a line to ``path`` (and prints it when ``echo``); a no-op for None (DDP ranks > 0)."""
    def log(msg: str) -> None:
        if path is None:
            return
        if echo:
            print(msg, flush=True)
        with open(path, "a") as f:
            f.write(msg + "\n")
    return log


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def digest_model(model) -> str:
    h = hashlib.sha1()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def digest_tensor(t) -> str:
    return hashlib.sha1(t.detach().cpu().numpy().tobytes()).hexdigest()


# what a resumed run takes from the run folder instead of deciding again on this machine
RESUMED_KEYS = ("schedule_used", "lr_used", "schedule_reason", "pretrained_used", "pretrained_sha1", "framing")


def check_settings(out: Path, saved: dict, fresh: dict, more_epochs: bool = False) -> None:
    """One-line error when the run in ``out`` (its config.json: ``saved``) was started with other settings
    (those of ``recognition.config.SETTINGS`` marked ``deciding``).

    Without it, ``recognition.table2`` rerun with another ``--epochs`` into the same ``--out`` kept the old
    runs and labelled them with the new number of epochs. ``more_epochs``: a larger ``epochs`` is not a
    difference (``--resume RUN --epochs N`` of a run whose schedule does not depend on it).
    """
    diff = [k for k in DECIDING if k in saved and k in fresh and saved[k] != fresh[k]
            and not (more_epochs and k == "epochs" and fresh[k] > saved[k] and saved.get("schedule_used") == "paper")]
    if diff:
        then = ", ".join(_shown(k, saved) for k in diff)
        now = ", ".join(_shown(k, fresh) for k in diff)
        raise UserError(f"{out} holds a run with {then}, not {now}; use another --out (or the same settings)")


def _shown(key: str, cfg: dict) -> str:
    """``key=value`` for a message; an unset value (None/auto) reads "default", with what the run chose for it.

    ``lr=None`` read as "no learning rate"; it means the default, which the run resolved (config's ``decided``).
    """
    value, setting = cfg[key], BY_NAME.get(key)
    if setting is None or setting.decided is None or value not in (None, "auto"):
        return f"{key}={value!r}"
    chosen = cfg.get(setting.decided)
    if chosen is None:
        return f"{key}=default"
    return f"{key}=default ({chosen:g})" if isinstance(chosen, float) else f"{key}=default ({chosen})"


def check_resume(out: Path, fresh: dict) -> dict:
    """The config a resumed run continues with: the saved one, after checking it still fits.

    ``fresh`` is what this machine would decide now. A different dataset (digest), a different number of
    processes (the per-rank batch and steps per epoch would change) or a different split is a one-line
    error; the schedule, lr, pretrained choice and framing are the saved ones, whatever this machine has.
    """
    saved = read_json(out / "config.json")
    where = f"--resume {out}"
    check_settings(out, saved, fresh, more_epochs=True)
    if saved.get("data_digest") and saved["data_digest"] != fresh["data_digest"]:
        raise UserError(f"{where}: the data at {fresh['data']} is not the data this run started with "
                        f"(sha1 {fresh['data_digest'][:12]} ≠ {saved['data_digest'][:12]}); restore that "
                        "dataset or start a new run with another --out")
    for key, what in (("world_size", "processes"), ("steps_per_epoch", "steps per epoch"),
                      ("val_source", "selection split"), ("eval_source", "evaluation split")):
        if key in saved and saved[key] != fresh[key]:
            raise UserError(f"{where}: {what} {fresh[key]!r} here, {saved[key]!r} when the run started; "
                            "resume it the way it was started")
    missing = [k for k in ("schedule_used", "lr_used") if k not in saved]
    if missing:
        raise UserError(f"{where}: config.json lacks {', '.join(missing)} (written by an older version); "
                        "start a new run")
    return dict(fresh, **{k: saved[k] for k in RESUMED_KEYS if k in saved})


def test_kill_hook(epoch: int) -> None:
    """Tests simulate a crash: HSAW_TEST_KILL_AFTER_EPOCH=k makes the process SIGKILL itself after epoch k."""
    k = os.environ.get("HSAW_TEST_KILL_AFTER_EPOCH")
    if k is not None and int(k) == epoch:
        os.kill(os.getpid(), signal.SIGKILL)
