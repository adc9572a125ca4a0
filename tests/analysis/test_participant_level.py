"""Participant-level paired tests: aggregation by hand, then scipy's paired t-test."""

import pytest
from scipy import stats

from analysis.participant_level import paired_side_test, participant_side_means
from analysis.simulate import simulate_trials


@pytest.fixture(scope="module")
def trials():
    return simulate_trials(n_participants=8, effect=1.0, seed=5)


def test_means_are_per_participant_and_side(trials):
    wide = participant_side_means(trials, "intensity")
    sub = trials[(trials["participant"] == "P03") & (trials["visible_half"] == "right")]
    assert wide.shape == (8, 2) and list(wide.columns) == ["left", "right"]
    assert wide.loc["P03", "right"] == pytest.approx(sub["intensity"].mean())


@pytest.mark.parametrize("dv", ["rt", "intensity", "correct"])
def test_paired_test_matches_scipy_on_hand_aggregated_means(trials, dv):
    r = paired_side_test(trials, dv)
    m = trials.groupby(["participant", "visible_half"])[dv].mean().unstack()
    ref = stats.ttest_rel(m["left"], m["right"])
    assert r["t"] == pytest.approx(ref.statistic) and r["p"] == pytest.approx(ref.pvalue)
    assert r["df"] == 7 and r["n_participants"] == 8
    assert r["mean_diff"] == pytest.approx((m["left"] - m["right"]).mean())
    ci = ref.confidence_interval()
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))
    d = m["left"] - m["right"]
    assert r["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert r["d_av"] == pytest.approx(d.mean() / ((m["left"].std() + m["right"].std()) / 2))
    assert r["wilcoxon_p"] == pytest.approx(stats.wilcoxon(m["left"], m["right"]).pvalue)


def test_participant_missing_a_side_is_counted_not_hidden(trials):
    cut = trials[~((trials["participant"] == "P02") & (trials["visible_half"] == "left"))]
    r = paired_side_test(cut, "intensity")
    assert r["n_participants"] == 7 and r["n_dropped_missing_side"] == 1 and r["df"] == 6
    assert r["dropped"] == [{"participant": "P02", "reason": "no left trials in this subset"}]


def test_no_variance_in_the_differences_gives_no_test_and_no_numpy_warning(trials, recwarn):
    r = paired_side_test(trials.assign(correct=1), "correct")
    assert "t" not in r and "p" not in r
    assert r["error"].startswith("no variance") and "every answer in both conditions correct" in r["error"]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_positive_vs_negative_rt_is_a_paired_test_of_participant_means(trials):
    from analysis.participant_level import paired_condition_test
    from analysis.report import with_valence
    ok = with_valence(trials)
    ok = ok[ok["correct"] == 1]
    r = paired_condition_test(ok, "rt", "valence", ("positive", "negative"))
    m = ok[ok["valence"] != "none"].groupby(["participant", "valence"])["rt"].mean().unstack()
    ref = stats.ttest_rel(m["positive"], m["negative"])
    assert r["t"] == pytest.approx(ref.statistic) and r["p"] == pytest.approx(ref.pvalue) and r["df"] == 7
    assert r["means"]["positive"] == pytest.approx(m["positive"].mean())
    # The simulator makes happiness faster than the negative emotions (log-RT offsets −0.20 vs +0.05..0.10).
    assert r["mean_diff"] < 0 and r["p"] < 0.01
