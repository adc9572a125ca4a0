"""Which samples train, select and evaluate: pure functions of labels (and groups), no files, no torch.

- ``grouped_stratified_folds``: k folds with every class spread evenly over *groups* (photos, or posers'
  identities), so all samples of a group sit in one fold (Table 2: a model must never be tested on the other
  half of a face, or another photo of a person, it was trained on); groups = the sample index without groups.
- ``stratified_holdout`` / ``grouped_holdout``: one validation part, for datasets without a val split and for
  nested selection (``--select inner``).
"""
from __future__ import annotations

import numpy as np

from recognition.errors import DataError


def grouped_stratified_folds(labels, groups, k: int, seed: int = 0) -> list[np.ndarray]:
    """k disjoint index arrays covering all samples; all samples of a group share a fold.

    Groups of one class each (a photo's two halves): the groups of each class are dealt round-robin
    (continuing across classes, so fold sizes stay equal) after a seeded shuffle — exactly stratified.
    Groups that mix classes (a poser's photos of several emotions, ``identity``): scikit-learn's
    ``StratifiedGroupKFold`` rule — groups in a seeded random order, stably sorted by the spread (sd) of their
    class counts, largest first; each goes to the fold that then has the smallest mean over classes of the sd
    across folds of the fold's share of that class (ties: the fold with fewer samples).
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    if k < 2:
        raise DataError(f"--folds must be at least 2, got {k}")
    uniq, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if len(uniq) < k:
        raise DataError(f"--folds {k}: only {len(uniq)} photos/groups to split; use at most {len(uniq)} folds")
    rng = np.random.default_rng(seed)
    classes, y = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(uniq), len(classes)), np.int64)
    np.add.at(counts, (inverse, y.ravel()), 1)
    fold_of_group = np.empty(len(uniq), np.int64)
    if ((counts > 0).sum(1) == 1).all():
        group_label = labels[first]
        start = 0
        for c in np.unique(group_label):
            g = rng.permutation(np.flatnonzero(group_label == c))
            fold_of_group[g] = (start + np.arange(g.size)) % k
            start += g.size
    else:
        order = rng.permutation(len(uniq))
        order = order[np.argsort(-counts[order].std(axis=1), kind="stable")]
        per_fold = np.zeros((k, len(classes)), np.int64)
        total = counts.sum(0)
        for g in order:
            best, best_eval, best_n = 0, np.inf, np.inf
            for f in range(k):
                per_fold[f] += counts[g]
                score = float(np.mean(np.std(per_fold / total, axis=0)))
                per_fold[f] -= counts[g]
                n_f = per_fold[f].sum()
                if score < best_eval - 1e-12 or (abs(score - best_eval) <= 1e-12 and n_f < best_n):
                    best, best_eval, best_n = f, score, n_f
            per_fold[best] += counts[g]
            fold_of_group[g] = best
    fold_of = fold_of_group[inverse]
    folds = [np.flatnonzero(fold_of == f) for f in range(k)]
    if any(f.size == 0 for f in folds):
        raise DataError(f"--folds {k}: {len(uniq)} groups leave a fold empty; use fewer folds")
    return folds


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
