"""t-test results checked against hand formulas and against scipy/pingouin on the same data."""

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from analysis.ttests import independent_ttest, ttest_table


@pytest.fixture
def two_groups():
    rng = np.random.default_rng(11)
    a = rng.lognormal(0.2, 0.4, 300)
    b = rng.lognormal(0.25, 0.6, 220)
    return pd.DataFrame({"rt": np.r_[a, b], "side": ["left"] * 300 + ["right"] * 220}), a, b


def test_group_descriptives_are_n_mean_and_sample_sd(two_groups):
    df, a, b = two_groups
    r = independent_ttest(df, "rt", "side", ("left", "right"))
    assert r["groups"]["left"] == {"n": 300, "mean": pytest.approx(a.mean()), "sd": pytest.approx(a.std(ddof=1))}
    assert r["groups"]["right"]["n"] == 220 and r["groups"]["right"]["sd"] == pytest.approx(b.std(ddof=1))


def test_welch_row_matches_hand_formula(two_groups):
    df, a, b = two_groups
    r = independent_ttest(df, "rt", "side", ("left", "right"))["welch"]
    v1, v2 = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(v1 + v2)
    dof = (v1 + v2) ** 2 / (v1**2 / (len(a) - 1) + v2**2 / (len(b) - 1))
    assert r["t"] == pytest.approx(t, rel=1e-10) and r["df"] == pytest.approx(dof, rel=1e-10)
    assert r["p"] == pytest.approx(2 * stats.t.sf(abs(t), dof), rel=1e-8)
    half = stats.t.ppf(0.975, dof) * np.sqrt(v1 + v2)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((a.mean() - b.mean() - half, a.mean() - b.mean() + half))


def test_student_row_matches_hand_formula_and_pingouin(two_groups):
    df, a, b = two_groups
    r = independent_ttest(df, "rt", "side", ("left", "right"))["student"]
    n1, n2 = len(a), len(b)
    sp = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    t = (a.mean() - b.mean()) / (sp * np.sqrt(1 / n1 + 1 / n2))
    assert r["t"] == pytest.approx(t, rel=1e-10) and r["df"] == n1 + n2 - 2
    ref = pg.ttest(a, b, correction=False).iloc[0]
    assert r["t"] == pytest.approx(ref["T"]) and r["p"] == pytest.approx(ref["p_val"])
    ref_w = pg.ttest(a, b, correction=True).iloc[0]
    w = independent_ttest(df, "rt", "side", ("left", "right"))["welch"]
    assert w["t"] == pytest.approx(ref_w["T"]) and w["df"] == pytest.approx(ref_w["dof"])


def test_levene_is_mean_centred_like_spss(two_groups):
    df, a, b = two_groups
    lev = independent_ttest(df, "rt", "side", ("left", "right"))["levene"]
    # Levene (1960) by hand: one-way ANOVA F on |x - group mean|.
    za, zb = np.abs(a - a.mean()), np.abs(b - b.mean())
    f = stats.f_oneway(za, zb)
    assert lev["F"] == pytest.approx(f.statistic) and lev["p"] == pytest.approx(f.pvalue)
    assert lev["F"] != pytest.approx(stats.levene(a, b).statistic)  # not scipy's median default


def test_cohen_d_is_signed_pooled_sd_with_hedges_olkin_ci(two_groups):
    df, a, b = two_groups
    d = independent_ttest(df, "rt", "side", ("left", "right"))["cohen_d"]
    n1, n2 = len(a), len(b)
    sp = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    expected = (a.mean() - b.mean()) / sp
    assert d["d"] == pytest.approx(expected, rel=1e-10) and d["d"] < 0
    se = np.sqrt((n1 + n2) / (n1 * n2) + expected**2 / (2 * (n1 + n2)))
    crit = stats.t.ppf(0.975, n1 + n2 - 2)
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((expected - crit * se, expected + crit * se), abs=2e-6)


def test_table_marks_the_papers_variant(two_groups):
    df, _, _ = two_groups
    tab = ttest_table("x", independent_ttest(df, "rt", "side", ("left", "right"), paper_variant="student"))
    assert list(tab["variant"]) == ["student", "welch"] and list(tab["paper"]) == [True, False]


def test_too_few_observations_is_reported_not_raised():
    df = pd.DataFrame({"rt": [1.0, 2.0, 3.0], "side": ["left", "left", "right"]})
    r = independent_ttest(df, "rt", "side", ("left", "right"))
    assert "error" in r and "n=2 and n=1" in r["error"] and "welch" not in r
