"""Logs built from the paper's numbers reproduce its statistics where the numbers allow.

Derivations are in analysis/paper.py; the findings are written up in docs/analysis.md.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import paper
from analysis.report import paper_tests

RNG = np.random.default_rng(2024)


@pytest.fixture(scope="module")
def f():
    return paper.findings()


def _rt_cells(side, emotion, n_correct, n_total, rts):
    return pd.DataFrame({"visible_half": side, "emotion": emotion,
                         "correct": [1] * n_correct + [0] * (n_total - n_correct),
                         "rt": np.r_[rts, RNG.uniform(0.8, 2.5, n_total - n_correct)]})


def test_reported_p_values_agree_with_their_test_statistics(f):
    p = f["p_values"]
    assert round(p["rt_left_vs_right"], 3) == 0.536
    assert round(p["accuracy_left_vs_right"], 3) == 0.001
    assert round(p["accuracy_negative_left_vs_right"], 3) == 0.069
    assert p["rt_positive_vs_negative"] < 0.001 and p["intensity_left_vs_right"] < 0.001
    assert p["accuracy_positive_left_vs_right"] < 0.001


def test_balanced_design_cannot_give_the_all_trial_and_positive_chi2_to_three_decimals(f):
    assert f["all_exact"] == [] and f["positive_exact"] == []
    assert round(f["all_closest"][0][2], 3) == 10.551 and round(f["positive_closest"][0][2], 3) == 13.423
    assert sorted(f["negative_exact"]) == [(208, 240), (240, 208), (480, 512), (512, 480)]


def test_student_df_521_is_incompatible_with_the_chi2_tables(f):
    # df 521 => 523 correct positive + negative trials; no pair of tables with
    # χ² ≈ 13.425 (positive, 180/side) and ≈ 3.318 (negative, 720/side) sums to that.
    assert f["positive_correct_totals_2dp"] == [23, 337]
    assert 523 - 337 not in f["negative_correct_totals_2dp"] and 523 - 23 not in f["negative_correct_totals_2dp"]
    assert f["pos_neg_pairs_summing_to_523"] == []


@pytest.mark.slow
def test_one_balanced_log_set_reproduces_rt_and_intensity_t_tests_and_negative_chi2(logs_from_cells, f):
    # Correct trials per side from an all-trial table with χ² = 10.55 that allows Welch df 902.606.
    left_ok, right_ok = next((a, c) for a, c in f["all_tables_2dp_compatible_with_rt_df"] if a > c)
    ratio = paper.sd_ratio_for_welch_df(902.606, left_ok, right_ok)[0]
    sd_r = 0.25
    diff = paper.means_for_t(-0.619, left_ok, right_ok, ratio * sd_r, sd_r, welch=True)
    rts = {"left": paper.exact_sample(left_ok, 1.5 + diff, ratio * sd_r, RNG),
           "right": paper.exact_sample(right_ok, 1.5, sd_r, RNG)}
    # Emotions per side: 180 positive, 720 negative, 360 surprise/others; correct counts
    # from the positive (closest) and negative (exact) tables, the rest in surprise/others.
    pos, neg = {"left": 177, "right": 160}, {"left": 240, "right": 208}
    cells = []
    for side, total_ok in (("left", left_ok), ("right", right_ok)):
        n_ok = {"happiness": pos[side], "anger": neg[side], "surprise": total_ok - pos[side] - neg[side]}
        n_all = {"happiness": 180, "anger": 720, "surprise": 360}
        start = 0
        for emo in ("happiness", "anger", "surprise"):
            cells.append(_rt_cells(side, emo, n_ok[emo], n_all[emo], rts[side][start:start + n_ok[emo]]))
            start += n_ok[emo]
    cells = pd.concat(cells, ignore_index=True)
    counts_l, counts_r = f["intensity_integer_counts"]
    for side, counts in (("left", counts_l), ("right", counts_r)):
        vals = np.repeat(np.arange(1, 6), counts)
        cells.loc[cells.visible_half == side, "intensity"] = RNG.permutation(vals)
    cells["intensity"] = cells["intensity"].astype(int)
    logs = logs_from_cells(cells)
    assert (logs.trials.rt > 0).all() and len(logs.trials) == 2520 and logs.trials.participant.nunique() == 18
    res, _ = paper_tests(logs.trials)

    w = res["rt_left_vs_right"]["welch"]
    assert (round(w["t"], 3), round(w["df"], 3), round(w["p"], 3)) == (-0.619, 902.606, 0.536)
    w = res["intensity_left_vs_right"]["welch"]
    assert (round(w["t"], 3), round(w["df"], 3)) == (6.773, 2517.154) and w["p"] < 0.001
    neg_chi = res["accuracy_negative_left_vs_right"]["pearson"]
    assert (round(neg_chi["chi2"], 3), round(neg_chi["p"], 3)) == (3.318, 0.069)
    # The balanced design's best: right to 2 decimals, off in the third.
    assert round(res["accuracy_left_vs_right"]["pearson"]["chi2"], 2) == 10.55
    assert round(res["accuracy_positive_left_vs_right"]["pearson"]["chi2"], 3) == 13.423
    # ...and the Student df that these same logs give is not the paper's 521.
    assert res["rt_positive_vs_negative"]["student"]["df"] == pos["left"] + pos["right"] + 448 - 2 != 521


def test_unequal_side_totals_reproduce_the_all_trial_chi2_exactly(logs_from_cells):
    a, c = next((a, c) for a, c in paper.chi2_tables(10.552, 1259, 1261) if 400 < c < a < 1000)
    cells = pd.concat([_rt_cells("left", "anger", a, 1259, RNG.uniform(0.8, 2, a)),
                       _rt_cells("right", "anger", c, 1261, RNG.uniform(0.8, 2, c))], ignore_index=True)
    cells["intensity"] = RNG.integers(1, 6, len(cells))
    res, _ = paper_tests(logs_from_cells(cells).trials)
    p = res["accuracy_left_vs_right"]["pearson"]
    assert (round(p["chi2"], 3), p["df"], round(p["p"], 3)) == (10.552, 1, 0.001)


def test_positive_vs_negative_student_t_reproduced_from_its_df(logs_from_cells):
    n_pos, n_neg = 337, 186  # 337 from the positive χ² table; 523 - 337 negative
    diff = paper.means_for_t(-11.686, n_pos, n_neg, 0.3, 0.35, welch=False)
    cells = pd.concat([
        _rt_cells("left", "happiness", n_pos, n_pos, paper.exact_sample(n_pos, 1.8 + diff, 0.3, RNG)),
        _rt_cells("right", "fear", n_neg, n_neg, paper.exact_sample(n_neg, 1.8, 0.35, RNG))], ignore_index=True)
    cells["intensity"] = RNG.integers(1, 6, len(cells))
    res, _ = paper_tests(logs_from_cells(cells).trials)
    s = res["rt_positive_vs_negative"]["student"]
    assert (round(s["t"], 3), s["df"]) == (-11.686, 521) and s["p"] < 0.001
    assert res["rt_positive_vs_negative"]["paper_variant"] == "student"
