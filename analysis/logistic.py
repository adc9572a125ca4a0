"""Does the side effect on accuracy depend on the emotion? Trial-level logistic regression.

The paper reads "a left advantage for positive but not for negative emotions"
off one significant and one non-significant χ². A difference in significance is
not itself a significant difference (Gelman & Stern 2006): the claim needs the
side × valence interaction. These tests, like the paper's χ², treat trials as
independent; the mixed-model version is in ``mixed_models``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import xlogy
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM

from halfface.schema import EMOTIONS, SIDES

from .chisquare import chi2_2x2, contingency_2x2


def _cells(data: pd.DataFrame, by: str, levels) -> pd.DataFrame:
    """Correct / incorrect counts per (level of ``by``, side), all combinations, zeros included."""
    g = data.groupby([by, "visible_half"], observed=True)["correct"].agg(["sum", "count"])
    idx = pd.MultiIndex.from_product([list(levels), list(SIDES)], names=[by, "visible_half"])
    g = g.reindex(idx, fill_value=0).reset_index()
    g["incorrect"] = g["count"] - g["sum"]
    return g.rename(columns={"sum": "correct", "count": "n"})


def side_by_valence(data: pd.DataFrame) -> dict:
    """logit P(correct) = b0 + b1·left + b2·positive + b3·left·positive, positive and negative trials.

    b3 is the interaction: the log odds ratio (left/right) on positive trials minus
    that on negative trials, b3 = log OR_pos − log OR_neg. The model is saturated
    for the 2×2×2 table, so the maximum-likelihood b3 equals that difference and
    its Wald SE is sqrt(Σ 1/n_cell) over the eight cells (Agresti 2013, §5.3); it
    is fitted as a binomial GLM (statsmodels) on the cell counts. With an empty
    cell the ML estimate is infinite: 0.5 is then added to every cell
    (Haldane–Anscombe) and ``note`` says so. z = b3 / SE, two-sided normal p.
    Trials are treated as independent, like the paper's χ² tests.
    """
    sub = data[data["valence"].isin(("positive", "negative"))]
    cells = _cells(sub, "valence", ("positive", "negative"))
    out = {"model": "logistic regression (binomial GLM, trials independent)",
           "formula": "logit(correct) ~ left * positive", "subset": "positive and negative trials",
           "n_obs": int(len(sub)), "cells": cells.to_dict("records")}
    if (cells["n"] == 0).any():
        out["error"] = "a side × valence cell has no trials; the interaction is undefined"
        return out
    left = (sub["visible_half"] == "left").to_numpy(dtype=float)
    positive = (sub["valence"] == "positive").to_numpy(dtype=float)
    y = sub["correct"].to_numpy(dtype=float)
    if (cells[["correct", "incorrect"]].to_numpy() == 0).any():
        # Grouped counts + 0.5: a trial-level fit would diverge towards an infinite coefficient.
        counts = cells[["correct", "incorrect"]].to_numpy(dtype=float) + 0.5
        left = (cells["visible_half"] == "left").to_numpy(dtype=float)
        positive = (cells["valence"] == "positive").to_numpy(dtype=float)
        y = counts
        out["note"] = ("a side × valence cell is all correct or all incorrect: estimated with 0.5 added to "
                       "every cell (Haldane-Anscombe correction)")
    exog = np.column_stack([np.ones(len(left)), left, positive, left * positive])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = GLM(y, exog, family=Binomial()).fit()
    names = ["intercept", "left", "positive", "left:positive"]
    terms = {n: {"coef": float(res.params[i]), "se": float(res.bse[i]), "z": float(res.tvalues[i]),
                 "p": float(res.pvalues[i])} for i, n in enumerate(names)}
    b, se = terms["left:positive"]["coef"], terms["left:positive"]["se"]
    half = stats.norm.ppf(0.975) * se
    out.update({"coef": b, "se": se, "z": b / se, "p": float(2 * stats.norm.sf(abs(b / se))),
                "ci_low": float(b - half), "ci_high": float(b + half), "ratio_of_odds_ratios": float(np.exp(b)),
                "terms": terms, "warnings": sorted({str(w.message).splitlines()[0] for w in caught}),
                # Side effect within each valence: log OR left/right = b1 (negative), b1 + b3 (positive).
                "log_or_negative": terms["left"]["coef"], "log_or_positive": terms["left"]["coef"] + b})
    return out


def side_by_emotion(data: pd.DataFrame) -> dict:
    """Side effect on accuracy per emotion (table) and a likelihood-ratio test of side × emotion.

    Per emotion: the 2×2 side × correct table, Pearson χ² (no continuity
    correction, as the paper) and the odds ratio left/right with a Woolf CI
    (``chisquare.chi2_2x2``; Haldane–Anscombe when a cell is 0). The overall test
    compares binomial GLMs logit P(correct) ~ side + emotion and ~ side × emotion:
    G² = 2 (ℓ_full − ℓ_reduced), df = number of emotions − 1, χ² p-value (Agresti
    2013, §5.4). Trials are treated as independent.
    """
    present = [e for e in EMOTIONS if (data["emotion"] == e).any()]
    rows = []
    for e in present:
        res = chi2_2x2(contingency_2x2(data[data["emotion"] == e]))
        row = {"emotion": e, "n": res["n"], "accuracy_left": res["accuracy"]["left"],
               "accuracy_right": res["accuracy"]["right"]}
        if "error" in res:
            row["error"] = res["error"]
        else:
            orr = res["odds_ratio"]
            row.update({"odds_ratio": orr["or"], "or_ci_low": orr["ci_low"], "or_ci_high": orr["ci_high"],
                        "chi2": res["pearson"]["chi2"], "p": res["pearson"]["p"],
                        "correction": orr["correction"] or ""})
        rows.append(row)
    out = {"table": rows, "subset": "all trials, by emotion"}
    cells = _cells(data, "emotion", present)
    if len(present) < 2 or (cells["n"] == 0).any():
        out["interaction"] = {"error": "needs at least two emotions, each shown on both sides"}
        return out
    # The full model is saturated on the emotion × side cells: its fitted P(correct) is each cell's
    # proportion, so only the reduced model needs fitting (on the cell counts: same likelihood).
    counts = cells[["correct", "incorrect"]].to_numpy(dtype=float)
    emo = pd.get_dummies(pd.Categorical(cells["emotion"], categories=present), drop_first=True).to_numpy(float)
    left = (cells["visible_half"] == "left").to_numpy(dtype=float)[:, None]
    reduced = np.column_stack([np.ones(len(cells)), left, emo])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mu_reduced = GLM(counts, reduced, family=Binomial()).fit().mu
    mu_full = counts[:, 0] / counts.sum(axis=1)
    g2 = max(0.0, 2 * (_bernoulli_llf(counts, mu_full) - _bernoulli_llf(counts, mu_reduced)))
    df = len(cells) - reduced.shape[1]
    out["interaction"] = {"test": "likelihood ratio, side x emotion", "chi2": float(g2), "df": int(df),
                          "p": float(stats.chi2.sf(g2, df)), "n_obs": int(cells["n"].sum()),
                          "warnings": sorted({str(w.message).splitlines()[0] for w in caught})}
    return out


def _bernoulli_llf(counts: np.ndarray, mu: np.ndarray) -> float:
    """Σ c·log μ + (n − c)·log(1 − μ) over cells, with 0·log 0 = 0 (an all-correct cell)."""
    return float(np.sum(xlogy(counts[:, 0], mu) + xlogy(counts[:, 1], 1 - mu)))
