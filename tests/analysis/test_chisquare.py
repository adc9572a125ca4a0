"""χ² results checked against hand formulas and scipy/pingouin on the same tables."""

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from analysis.chisquare import chi2_2x2, contingency_2x2, side_accuracy_chi2


def _trials(table):
    rows = []
    for side, (c, i) in zip(("left", "right"), table):
        rows += [(side, 1)] * c + [(side, 0)] * i
    return pd.DataFrame(rows, columns=["visible_half", "correct"])


def test_table_counts_correct_and_incorrect_per_side():
    df = _trials([[30, 10], [22, 18]])
    assert contingency_2x2(df).tolist() == [[30, 10], [22, 18]]


def test_pearson_and_yates_match_hand_formulas():
    tab = np.array([[514, 746], [435, 825]])
    r = chi2_2x2(tab)
    n = tab.sum()
    e = np.outer(tab.sum(1), tab.sum(0)) / n
    assert r["pearson"]["chi2"] == pytest.approx(((tab - e) ** 2 / e).sum(), rel=1e-12)
    assert r["yates"]["chi2"] == pytest.approx(((np.abs(tab - e) - 0.5) ** 2 / e).sum(), rel=1e-12)
    assert r["pearson"]["df"] == 1 and r["pearson"]["p"] == pytest.approx(stats.chi2.sf(r["pearson"]["chi2"], 1))
    assert r["pearson"]["chi2"] > r["yates"]["chi2"]


def test_pearson_matches_pingouin_chi2_independence():
    df = _trials([[171, 9], [160, 20]])
    _, _, st = pg.chi2_independence(df, x="visible_half", y="correct", correction=False)
    ref = st.set_index("test").loc["pearson"]
    r = side_accuracy_chi2(df)
    assert r["pearson"]["chi2"] == pytest.approx(ref["chi2"]) and r["cramers_v"] == pytest.approx(ref["cramer"])


def test_effect_sizes_match_hand_formulas():
    tab = np.array([[240, 480], [208, 512]])
    r = chi2_2x2(tab)
    assert r["cramers_v"] == pytest.approx(np.sqrt(r["pearson"]["chi2"] / tab.sum()))
    (a, b), (c, d) = tab
    assert r["odds_ratio"]["or"] == pytest.approx(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)  # Woolf
    lo, hi = np.exp(np.log(a * d / (b * c)) + np.array([-1, 1]) * stats.norm.ppf(0.975) * se)
    assert (r["odds_ratio"]["ci_low"], r["odds_ratio"]["ci_high"]) == pytest.approx((lo, hi), rel=1e-6)
    assert r["accuracy"] == {"left": pytest.approx(240 / 720), "right": pytest.approx(208 / 720)}


def test_fisher_only_when_an_expected_count_is_below_five():
    small = chi2_2x2([[19, 1], [14, 6]])
    assert small["min_expected"] < 5
    assert small["fisher_p"] == pytest.approx(stats.fisher_exact([[19, 1], [14, 6]]).pvalue)
    assert chi2_2x2([[60, 40], [50, 50]])["fisher_p"] is None


def test_empty_column_is_reported_not_raised():
    r = chi2_2x2([[10, 0], [12, 0]])
    assert "error" in r and "pearson" not in r


@pytest.mark.parametrize("table", [[[20, 0], [15, 5]], [[0, 12], [7, 9]], [[30, 10], [25, 0]]])
def test_zero_cell_gives_haldane_anscombe_odds_ratio_without_warnings(table):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning may escape
        r = chi2_2x2(table)
    t = np.asarray(table) + 0.5
    log_or = np.log(t[0, 0] * t[1, 1] / (t[0, 1] * t[1, 0]))
    se = np.sqrt((1 / t).sum())
    orr = r["odds_ratio"]
    assert orr["or"] == pytest.approx(np.exp(log_or))
    assert (orr["ci_low"], orr["ci_high"]) == pytest.approx(tuple(np.exp(log_or + np.array([-1, 1]) * 1.959964 * se)),
                                                            rel=1e-6)
    assert all(np.isfinite([orr["or"], orr["ci_low"], orr["ci_high"]]))
    assert orr["correction"] == "Haldane-Anscombe" and "0.5 added to every cell" in orr["note"]
    # The χ² itself is unchanged by the correction.
    assert r["pearson"]["chi2"] == pytest.approx(stats.chi2_contingency(table, correction=False)[0])


def test_table_without_zero_cell_is_not_corrected():
    assert chi2_2x2([[20, 1], [15, 5]])["odds_ratio"]["correction"] is None
