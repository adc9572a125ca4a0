"""recognition.splits: folds stratified by class and grouped by photo, holdouts for nested selection."""
import numpy as np
import pytest

from recognition.errors import DataError
from recognition.splits import grouped_holdout, grouped_stratified_folds


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


def test_without_groups_every_sample_is_its_own_group_and_classes_spread_evenly():
    labels = np.array([0] * 10 + [1] * 20 + [2] * 5)
    folds = grouped_stratified_folds(labels, np.arange(35), 5, seed=1)
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(35))
    assert all(np.bincount(labels[f], minlength=3).tolist() == [2, 4, 1] for f in folds)


def _posers(n_posers=12, photos_each=7, seed=0):
    """A lab set where every poser shows several emotions (labels per photo, identity per photo)."""
    rng = np.random.default_rng(seed)
    labels, ids = [], []
    for p in range(n_posers):
        labels += list(rng.permutation(7)[:photos_each])
        ids += [f"poser{p}"] * photos_each
    return np.array(labels), np.array(ids)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_posers_with_several_emotions_each_stay_in_one_fold_and_classes_stay_balanced(seed):
    labels, ids = _posers(n_posers=12, photos_each=5, seed=seed)
    folds = grouped_stratified_folds(labels, ids, 4, seed=seed)
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(len(labels)))
    seen = {}
    for k, f in enumerate(folds):
        for p in set(ids[f]):
            assert seen.setdefault(p, k) == k  # one poser, one fold
        assert len(set(ids[f])) == 3  # 12 posers of 5 photos: the greedy rule fills folds evenly
    # each class spread over the folds close to evenly: no fold holds more than half of a class
    counts = np.array([np.bincount(labels[f], minlength=7) for f in folds])
    assert (counts.max(0) <= np.ceil(counts.sum(0) / 2)).all()
    # the partition does not depend on the posers' names, only on who posed which photo
    renamed = np.array([f"x{hash(p) % 997}_{p[::-1]}" for p in ids])
    again = grouped_stratified_folds(labels, renamed, 4, seed=seed)
    as_sets = lambda fs: sorted(tuple(sorted(set(ids[f]))) for f in fs)  # noqa: E731
    assert len(as_sets(again)) == 4 and all(len(s) == 3 for s in as_sets(again))


def test_more_folds_than_photos_is_refused_with_the_count():
    labels, groups = _photos(n_per_class=1, classes=3)
    with pytest.raises(DataError, match="only 3 photos"):
        grouped_stratified_folds(labels, groups, 4)


def test_grouped_holdout_takes_whole_photos_from_every_class():
    labels, groups = _photos(n_per_class=10)
    tr, va = grouped_holdout(labels, groups, 0.2, seed=0)
    assert not set(groups[tr]) & set(groups[va]) and len(tr) + len(va) == len(labels)
    assert np.bincount(labels[va], minlength=7).tolist() == [4] * 7  # 2 of 10 photos per emotion, 2 halves each
