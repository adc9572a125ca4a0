"""recognition.splits: folds stratified by class and grouped by photo, holdouts for nested selection."""
import numpy as np
import pytest

from recognition.errors import DataError
from recognition.splits import grouped_holdout, grouped_stratified_folds, stratified_folds


def _photos(n_per_class=5, classes=7, halves=2):
    """labels and photo ids of a stimulus set: `halves` rows per photo, each photo one emotion."""
    labels, groups = [], []
    for c in range(classes):
        for i in range(n_per_class):
            labels += [c] * halves
            groups += [f"p{c}_{i}"] * halves
    return np.array(labels), np.array(groups)


def test_grouped_folds_keep_both_halves_of_a_photo_together_and_cover_every_row_once():
    labels, groups = _photos(n_per_class=10)
    folds = grouped_stratified_folds(labels, groups, 10, seed=3)
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(len(labels)))
    for f in folds:
        others = np.setdiff1d(np.arange(len(labels)), f)
        assert not set(groups[f]) & set(groups[others])  # no photo on both sides of a split
        # 140 stimuli, 10 folds: one photo (two halves) of each of the 7 emotions per fold
        assert np.bincount(labels[f], minlength=7).tolist() == [2] * 7


def test_different_seeds_give_different_partitions_and_the_same_seed_the_same():
    labels, groups = _photos()
    a, b, c = (grouped_stratified_folds(labels, groups, 5, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_without_groups_the_folds_are_the_plain_stratified_folds():
    labels = np.array([0] * 10 + [1] * 20 + [2] * 5)
    plain = stratified_folds(labels, 5, seed=1)
    grouped = grouped_stratified_folds(labels, np.arange(35), 5, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(plain, grouped))


def test_more_folds_than_photos_is_refused_with_the_count():
    labels, groups = _photos(n_per_class=1, classes=3)
    with pytest.raises(DataError, match="only 3 photos"):
        grouped_stratified_folds(labels, groups, 4)


def test_grouped_holdout_takes_whole_photos_from_every_class():
    labels, groups = _photos(n_per_class=10)
    tr, va = grouped_holdout(labels, groups, 0.2, seed=0)
    assert not set(groups[tr]) & set(groups[va]) and len(tr) + len(va) == len(labels)
    assert np.bincount(labels[va], minlength=7).tolist() == [4] * 7  # 2 of 10 photos per emotion, 2 halves each
