"""Per-emotion accuracy and confusion matrices agree with direct counts."""

import pytest

from analysis.descriptives import accuracy_by_emotion, confusion_long, confusion_matrix, group_summary
from analysis.simulate import simulate_trials
from halfface.schema import EMOTIONS


@pytest.fixture(scope="module")
def trials():
    return simulate_trials(n_participants=3, seed=8)


def test_confusion_matrix_rows_and_diagonal_match_counts(trials):
    cm = confusion_matrix(trials, side="left")
    left = trials[trials.visible_half == "left"]
    assert list(cm.index) == list(EMOTIONS) and list(cm.columns) == list(EMOTIONS)
    for e in EMOTIONS:
        assert cm.loc[e].sum() == (left.emotion == e).sum()
        assert cm.loc[e, e] == ((left.emotion == e) & (left.correct == 1)).sum()
    assert cm.loc["fear", "surprise"] == ((left.emotion == "fear") & (left.response_emotion == "surprise")).sum()
    norm = confusion_matrix(trials, normalize=True)
    assert norm.sum(axis=1).to_numpy() == pytest.approx(1.0)


def test_confusion_long_has_every_cell_for_both_sides(trials):
    long = confusion_long(trials)
    assert len(long) == 2 * 7 * 7 and long["n"].sum() == len(trials)


def test_accuracy_by_emotion_matches_groupby_in_paper_order(trials):
    acc = accuracy_by_emotion(trials)
    assert list(acc["emotion"].unique()) == list(EMOTIONS)
    row = acc[(acc.emotion == "anger") & (acc.visible_half == "right")].iloc[0]
    sub = trials[(trials.emotion == "anger") & (trials.visible_half == "right")]
    assert row["n"] == len(sub) == 30 and row["accuracy"] == pytest.approx(sub.correct.mean())


def test_group_summary_uses_sample_sd(trials):
    s = group_summary(trials, "rt", ["visible_half"]).set_index("visible_half")
    assert s.loc["left", "sd"] == pytest.approx(trials[trials.visible_half == "left"].rt.std(ddof=1))
