"""Which samples train, select and evaluate: pure functions of labels (and groups), no files, no torch.

- ``stratified_folds``: k folds with every class spread evenly (``--folds`` on FER2013 & co.).
- ``grouped_stratified_folds``: the same over *groups* (photos), so both half-faces of a photo always sit
  in one fold (Table 2: a model must never be tested on the other half of a face it was trained on).
- ``stratified_holdout`` / ``grouped_holdout``: one validation part, for datasets without a val split and for
  nested selection (``--select inner``).
"""
from __future__ import annotations

import numpy as np

from recognition.errors import DataError


def stratified_folds(labels, k: int, seed: int = 0) -> list[np.ndarray]:
    """k disjoint index arrays covering all samples, each class spread evenly (for ``--folds``)."""
    return grouped_stratified_folds(labels, np.arange(len(np.asarray(labels))), k, seed)


def grouped_stratified_folds(labels, groups, k: int, seed: int = 0) -> list[np.ndarray]:
    """k disjoint index arrays covering all samples; all samples of a group share a fold; the groups of each
    class are dealt round-robin (continuing across classes, so fold sizes stay equal) after a seeded shuffle.

    A group's class is the label of its first sample (a photo's two halves carry the photo's emotion).
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    if k < 2:
        raise DataError(f"--folds must be at least 2, got {k}")
    uniq, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    if len(uniq) < k:
        raise DataError(f"--folds {k}: only {len(uniq)} photos/groups to split; use at most {len(uniq)} folds")
    group_label = labels[first]
    rng = np.random.default_rng(seed)
    fold_of_group = np.empty(len(uniq), np.int64)
    start = 0
    for c in np.unique(group_label):
        g = rng.permutation(np.flatnonzero(group_label == c))
        fold_of_group[g] = (start + np.arange(g.size)) % k
        start += g.size
    fold_of = fold_of_group[inverse.ravel()]
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def stratified_holdout(labels, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx) with about ``fraction`` of each class in val, for datasets without a val split."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        val.append(idx[: max(1, int(round(fraction * idx.size)))] if idx.size > 1 else idx[:0])
    val = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(labels.size), val), val


def grouped_holdout(labels, groups, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx): about ``fraction`` of the groups of each class go to val, whole groups only."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    uniq, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    g_train, g_val = stratified_holdout(labels[first], fraction, seed)
    in_val = np.isin(inverse.ravel(), g_val)
    if not in_val.any() or in_val.all():
        raise DataError(f"cannot hold out {fraction:.0%} of {len(uniq)} photos/groups for validation; "
                        "use more data or --select last")
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)
