"""χ² tests of independence for side × correct 2×2 tables (paper §3.1.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import contingency

from halfface.schema import SIDES


def contingency_2x2(data: pd.DataFrame, row: str = "visible_half", outcome: str = "correct",
                    rows: tuple[str, str] = SIDES) -> np.ndarray:
    """Counts [[row1 correct, row1 incorrect], [row2 correct, row2 incorrect]]."""
    out = np.zeros((2, 2), dtype=int)
    for i, r in enumerate(rows):
        sub = data.loc[data[row] == r, outcome]
        out[i] = [int((sub == 1).sum()), int((sub == 0).sum())]
    return out


def chi2_2x2(table, rows: tuple[str, str] = SIDES) -> dict:
    """Pearson χ² for a 2×2 table, with the Yates value beside it.

    Pearson: χ² = Σ (O - E)² / E with E = row total × column total / N, df = 1.
    This is what the paper reports; scipy's ``chi2_contingency`` applies Yates'
    continuity correction (|O - E| - 0.5) to 2×2 tables unless
    ``correction=False``, so both are asked for explicitly. Cramér's V =
    sqrt(χ² / N) for a 2×2 table (Cramér 1946). Odds ratio = (a d) / (b c) with a
    Woolf (log) 95% CI (scipy ``odds_ratio(kind='sample')``). Fisher's exact p is
    given when an expected count is < 5, where the χ² approximation is poor
    (Cochran 1954). A table with a zero cell has no finite odds ratio: 0.5 is
    then added to every cell for the odds ratio and its CI (Haldane 1956;
    Anscombe 1956) and ``odds_ratio['note']`` says so.
    """
    table = np.asarray(table, dtype=int)
    r1, r2 = rows
    out = {"table": {r1: {"correct": int(table[0, 0]), "incorrect": int(table[0, 1])},
                     r2: {"correct": int(table[1, 0]), "incorrect": int(table[1, 1])}},
           "n": int(table.sum())}
    with np.errstate(all="ignore"):
        acc = table[:, 0] / table.sum(axis=1)
    out["accuracy"] = {r1: float(acc[0]), r2: float(acc[1])}
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        out["error"] = "a row or column of the table is empty; χ² is undefined"
        return out
    chi, p, dof, expected = stats.chi2_contingency(table, correction=False)
    chi_y, p_y, _, _ = stats.chi2_contingency(table, correction=True)
    out["pearson"] = {"chi2": float(chi), "df": int(dof), "p": float(p)}
    out["yates"] = {"chi2": float(chi_y), "df": int(dof), "p": float(p_y)}
    out["expected"] = expected.tolist()
    out["min_expected"] = float(expected.min())
    out["cramers_v"] = float(contingency.association(table, method="cramer"))
    out["odds_ratio"] = odds_ratio_2x2(table)
    out["fisher_p"] = float(stats.fisher_exact(table).pvalue) if expected.min() < 5 else None
    return out


def odds_ratio_2x2(table) -> dict:
    """Sample odds ratio (a d)/(b c) of a 2×2 table with a Woolf 95% CI.

    log OR ± z₀.₉₇₅ · sqrt(1/a + 1/b + 1/c + 1/d) (Woolf 1955). With a zero cell,
    0.5 is added to every cell first (Haldane–Anscombe correction), so the ratio
    and its interval stay finite; the result then carries a ``note``.
    """
    table = np.asarray(table, dtype=int)
    if (table > 0).all():
        orr = contingency.odds_ratio(table, kind="sample")
        ci = orr.confidence_interval(0.95)
        return {"or": float(orr.statistic), "ci_low": float(ci.low), "ci_high": float(ci.high), "correction": None}
    t = table + 0.5
    log_or = np.log(t[0, 0] * t[1, 1] / (t[0, 1] * t[1, 0]))
    half = stats.norm.ppf(0.975) * np.sqrt((1 / t).sum())
    return {"or": float(np.exp(log_or)), "ci_low": float(np.exp(log_or - half)),
            "ci_high": float(np.exp(log_or + half)), "correction": "Haldane-Anscombe",
            "note": "a cell of the table is 0: odds ratio and CI computed with 0.5 added to every cell "
                    "(Haldane-Anscombe correction)"}


def side_accuracy_chi2(data: pd.DataFrame, row: str = "visible_half", outcome: str = "correct",
                       rows: tuple[str, str] = SIDES) -> dict:
    """Accuracy (correct vs incorrect) by side: ``chi2_2x2`` of the trials' side × correct table."""
    return chi2_2x2(contingency_2x2(data, row, outcome, rows), rows)


def chi2_table(name: str, result: dict) -> pd.DataFrame:
    """One tidy row per χ² test, for CSV and HTML."""
    (r1, c1), (r2, c2) = result["table"].items()
    row = {"test": name, "n": result["n"],
           f"{r1}_correct": c1["correct"], f"{r1}_incorrect": c1["incorrect"],
           f"{r2}_correct": c2["correct"], f"{r2}_incorrect": c2["incorrect"],
           f"{r1}_accuracy": result["accuracy"][r1], f"{r2}_accuracy": result["accuracy"][r2]}
    if "error" in result:
        row["error"] = result["error"]
        return pd.DataFrame([row])
    row.update({"pearson_chi2": result["pearson"]["chi2"], "df": result["pearson"]["df"],
                "pearson_p": result["pearson"]["p"], "yates_chi2": result["yates"]["chi2"],
                "yates_p": result["yates"]["p"], "cramers_v": result["cramers_v"],
                "odds_ratio": result["odds_ratio"]["or"], "or_ci_low": result["odds_ratio"]["ci_low"],
                "or_ci_high": result["odds_ratio"]["ci_high"], "min_expected": result["min_expected"],
                "fisher_p": result["fisher_p"]})
    return pd.DataFrame([row])
