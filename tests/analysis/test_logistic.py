"""Side × valence and side × emotion for accuracy: checked against statsmodels' formula GLM and closed forms."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.logistic import side_by_emotion, side_by_valence
from analysis.report import with_valence
from analysis.simulate import simulate_trials


def _cells_to_trials(counts):
    """counts[(valence-emotion, side)] = (correct, incorrect) -> one row per trial."""
    rows = []
    for (emotion, side), (c, i) in counts.items():
        rows += [(emotion, side, 1)] * c + [(emotion, side, 0)] * i
    return with_valence(pd.DataFrame(rows, columns=["emotion", "visible_half", "correct"]))


@pytest.fixture(scope="module")
def trials():
    return with_valence(simulate_trials(12, effect=1.0, seed=11))


def test_interaction_matches_statsmodels_formula_glm_on_the_trials(trials):
    r = side_by_valence(trials)
    sub = trials[trials["valence"] != "none"].assign(
        left=lambda d: (d["visible_half"] == "left").astype(float),
        positive=lambda d: (d["valence"] == "positive").astype(float))
    ref = smf.glm("correct ~ left * positive", sub, family=sm.families.Binomial()).fit()
    assert r["coef"] == pytest.approx(ref.params["left:positive"], rel=1e-6)
    assert r["se"] == pytest.approx(ref.bse["left:positive"], rel=1e-6)
    assert r["p"] == pytest.approx(ref.pvalues["left:positive"], rel=1e-6)
    assert r["n_obs"] == len(sub) and r["warnings"] == []


def test_interaction_is_the_difference_of_the_two_log_odds_ratios():
    counts = {("happiness", "left"): (170, 10), ("happiness", "right"): (150, 30),
              ("fear", "left"): (300, 420), ("fear", "right"): (290, 430)}
    r = side_by_valence(_cells_to_trials(counts))
    log_or_pos = np.log(170 * 30 / (10 * 150))
    log_or_neg = np.log(300 * 430 / (420 * 290))
    assert r["coef"] == pytest.approx(log_or_pos - log_or_neg, rel=1e-6)
    assert r["se"] == pytest.approx(np.sqrt(sum(1 / np.array([170, 10, 150, 30, 300, 420, 290, 430]))), rel=1e-5)
    assert r["log_or_positive"] == pytest.approx(log_or_pos, rel=1e-6)
    assert r["p"] < 0.01  # OR 3.4 on positive vs ~1 on negative: a real interaction


def test_all_correct_cell_uses_haldane_anscombe_not_infinity():
    counts = {("happiness", "left"): (180, 0), ("happiness", "right"): (170, 10),
              ("anger", "left"): (300, 420), ("anger", "right"): (290, 430)}
    r = side_by_valence(_cells_to_trials(counts))
    t = np.array([180, 0, 170, 10, 300, 420, 290, 430]) + 0.5
    expected = np.log(t[0] * t[3] / (t[1] * t[2])) - np.log(t[4] * t[7] / (t[5] * t[6]))
    assert r["coef"] == pytest.approx(expected, rel=1e-6) and np.isfinite(r["se"])
    assert "Haldane-Anscombe" in r["note"]


def test_missing_valence_cell_is_an_error_not_a_crash():
    counts = {("happiness", "left"): (10, 2), ("fear", "left"): (5, 5), ("fear", "right"): (6, 4)}
    assert "no trials" in side_by_valence(_cells_to_trials(counts))["error"]


def test_side_by_emotion_table_and_likelihood_ratio_test(trials):
    r = side_by_emotion(trials)
    table = pd.DataFrame(r["table"]).set_index("emotion")
    sub = trials[(trials["emotion"] == "fear")]
    acc = sub.groupby("visible_half")["correct"].mean()
    assert table.loc["fear", "accuracy_left"] == pytest.approx(acc["left"])
    assert len(table) == 7 and (table["or_ci_low"] < table["odds_ratio"]).all()
    full = smf.glm("correct ~ visible_half * emotion", trials, family=sm.families.Binomial()).fit()
    reduced = smf.glm("correct ~ visible_half + emotion", trials, family=sm.families.Binomial()).fit()
    assert r["interaction"]["chi2"] == pytest.approx(2 * (full.llf - reduced.llf), rel=1e-6)
    assert r["interaction"]["df"] == 6


def test_side_by_emotion_detects_a_side_effect_in_one_emotion_only():
    rng = np.random.default_rng(4)
    rows = []
    for emotion in ("happiness", "fear", "anger"):
        for side in ("left", "right"):
            p = 0.85 if (emotion == "fear" and side == "left") else 0.5
            rows += [(emotion, side, int(x)) for x in rng.random(400) < p]
    r = side_by_emotion(with_valence(pd.DataFrame(rows, columns=["emotion", "visible_half", "correct"])))
    assert r["interaction"]["p"] < 1e-6
    table = pd.DataFrame(r["table"]).set_index("emotion")
    assert table.loc["fear", "odds_ratio"] > 3 and table.loc["fear", "p"] < 1e-6
