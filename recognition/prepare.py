"""The data of one run: which faces train, which select the epoch, which give the reported accuracy.

    data = run_data(cfg, fold)      # RunData(train, select, evaluate, ...)

Rules (issue 11):
- Cross-validation (``fold`` given): the held-out fold is evaluated once, with the final weights
  (``--select last``) or with the epoch chosen on an inner validation part of the training folds
  (``--select inner``, nested); it never chooses the epoch itself. Folds are stratified by class and
  grouped by photo when the data has groups (a lab's stimuli), so both halves of a photo share a fold.
- A train/val run selects checkpoint_best on val (the paper's PublicTest protocol) and reports the final
  epoch's val accuracy beside it; val is never a test split: a dataset whose val and test would be the
  same images stops with a message, and one without a val split holds out a stratified part of train,
  saying so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from halfface.cli import UserError
from recognition import framing as framings
from recognition.data import FaceSet, MissingSplitError, load_faceset, stimulus_landmarks
from recognition.errors import DataError
from recognition.splits import grouped_holdout, grouped_stratified_folds


@dataclass
class RunData:
    train: FaceSet
    select: FaceSet | None  # evaluated every epoch, picks checkpoint_best; None: the last epoch is the model
    evaluate: FaceSet  # where the reported accuracy is measured, once, at the end
    select_source: str | None
    eval_source: str
    midline_source: str
    digest: str  # of the whole training split as loaded, before folds: what --resume checks
    framing: dict
    premasked: bool  # images are half-faces already (stimuli): no masking at the nose
    grouping: str = ""  # what the folds are grouped by, in words ("" without groups)


def run_data(cfg: dict, fold: int | None = None) -> RunData:
    full = _load(cfg, "train")
    midline_source = attach_midlines(full, cfg["dataset"], cfg["data"], "train", cfg["midlines"], cfg["midline"])
    full.groups, grouping = fold_groups(full)
    groups = full.groups if full.groups is not None else np.arange(len(full))
    select_set = select_source = None
    if fold is not None:
        folds = _folds(full.labels.numpy(), groups, cfg["folds"], cfg["seed"], grouping)  # repeated CV
        held = folds[fold]
        rest = np.setdiff1d(np.arange(len(full)), held)
        train, evaluate = full.subset(rest), full.subset(held)
        eval_source = f"fold {fold + 1}/{cfg['folds']} of train" + (f" ({grouping.split(':')[0]})" if grouping else "")
        if cfg["select"] == "inner":
            train, select_set = _holdout(train, cfg["val_fraction"])
            select_source = f"inner {cfg['val_fraction']:.0%} of the training folds (nested)"
    else:
        train = full
        try:
            evaluate = _load(cfg, "val")
            attach_midlines(evaluate, cfg["dataset"], cfg["data"], "val", cfg["midlines"], cfg["midline"])
            _refuse_test_as_val(cfg, evaluate)
            eval_source = "val split" + (" (PublicTest)" if cfg["dataset"] == "fer2013" else "")
        except MissingSplitError as e:
            train, evaluate = _holdout(full, cfg["val_fraction"])
            eval_source = f"stratified {cfg['val_fraction']:.0%} of train ({e})"
        select_set, select_source = evaluate, eval_source
        if cfg["select"] == "inner":
            train, select_set = _holdout(train, cfg["val_fraction"])
            select_source = f"inner {cfg['val_fraction']:.0%} of train (nested)"
    if cfg.get("val_subset") and select_set is not None and cfg["val_subset"] < len(select_set):
        _, keep = _holdout_idx(select_set, cfg["val_subset"] / len(select_set))
        select_set = select_set.subset(keep)  # quick CPU runs: a stratified part of the selection split
        select_source += f", stratified subset of {len(select_set)}"
    return RunData(train, select_set, evaluate, select_source, eval_source, midline_source, full.digest(),
                   run_framing(cfg, full), bool(full.info.get("premasked")), grouping)


def _folds(labels, groups, k: int, seed: int, grouping: str):
    try:
        return grouped_stratified_folds(labels, groups, k, seed=seed)
    except DataError as e:
        n = len(set(groups))
        if grouping.startswith("grouped by identity") and n < k:
            raise DataError(f"--folds {k}: the manifest names {n} poser(s) (identity), and each poser's photos "
                            f"stay in one fold; use at most {n} folds, or empty the identity column to group by "
                            "photo (a poser could then be in train and test)") from None
        raise e


def fold_groups(fs: FaceSet) -> tuple[list | None, str]:
    """What must share a fold: the poser (``identity``) when the manifest names them, else the photo.

    A lab set with several photos per poser would otherwise put the same person in train and test, and the
    network could recognise the poser instead of the expression. Rows with an empty identity count as a
    poser of their own (their photo_id). Returns (groups or None, the grouping in words).
    """
    ident = fs.columns.get("identity")
    if ident and any(ident):
        groups = [x if x else f"photo:{p}" for x, p in zip(ident, fs.groups or range(len(fs)))]
        # photos, not rows: a photo's two halves (and an 'all' row) are separate rows of one photo
        empty = len({g for g, x in zip(groups, ident) if not x})
        without = f": {empty} photo{'s' if empty != 1 else ''} without one grouped by photo_id" if empty else ""
        return groups, "grouped by identity" + without
    if fs.groups is not None:
        why = "empty" if ident is not None else "absent"
        return fs.groups, f"grouped by photo: the identity column is {why}, so photo_id groups the folds"
    return None, ""


def _load(cfg: dict, split: str) -> FaceSet:
    options = {}
    if cfg["dataset"] == "stimuli":
        options = dict(half=cfg["half"], rows=cfg["stimulus_rows"], side=cfg["image_size"])
    return load_faceset(cfg["dataset"], cfg["data"], split, channels=cfg["channels"], **options)


def _holdout_idx(fs: FaceSet, fraction: float):
    groups = fs.groups if fs.groups is not None else np.arange(len(fs))
    return grouped_holdout(fs.labels.numpy(), groups, fraction, seed=0)


def _holdout(fs: FaceSet, fraction: float) -> tuple[FaceSet, FaceSet]:
    tr, va = _holdout_idx(fs, fraction)
    return fs.subset(tr), fs.subset(va)


def _refuse_test_as_val(cfg: dict, val: FaceSet) -> None:
    """Model selection on the test set would be silent cheating: same images in val and test stop the run."""
    try:
        test = _load(cfg, "test")
    except MissingSplitError:
        return
    if len(test) == len(val) and test.fingerprint() == val.fingerprint():
        raise UserError(f"{cfg['data']}: the val and test splits hold the same {len(val)} images, so selecting "
                        "models on val would select them on the test set; give the dataset a separate val split "
                        "(or remove it: a stratified part of train is then held out)")


def attach_midlines(fs: FaceSet, dataset: str, data, split: str, midlines=None, midline=None) -> str:
    """Fill ``fs.nose_xy`` (source pixels); returns where it came from (for config/summary)."""
    h, w = fs.images.shape[-2:]
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


def run_framing(cfg: dict, fs: FaceSet) -> dict:
    """The crop a model trained on ``fs`` expects (see recognition.framing); measured where it is not known."""
    side, channels = int(fs.images.shape[-1]), fs.channels
    if fs.info.get("framing") == "fer2013":
        return framings.fer2013_framing(channels)
    if fs.info.get("framing") == "stimuli":
        points = stimulus_landmarks(fs.info["landmark_files"])
        return framings.from_landmarks(points, fs.info["source_side"], "stimuli", side, channels)
    if cfg["dataset"] == "synthetic":
        return framings.framing("synthetic", side, channels)
    key = (cfg["dataset"], fs.digest())
    if key not in _MEASURED:  # dlib on 256 faces takes seconds: once per dataset and process (folds, seeds)
        try:
            from recognition.landmarks import MidlineError, measure_framing
            _MEASURED[key] = measure_framing(fs.images, cfg["dataset"], channels)
        except (ImportError, MidlineError) as e:  # no dlib here: predict then takes ready-made crops only
            _MEASURED[key] = dict(framings.framing(cfg["dataset"], side, channels), note=f"not measured ({e})")
    return dict(_MEASURED[key])


_MEASURED: dict = {}
