"""Independent-samples t-tests reported the way SPSS/JASP do: both variants, Levene, d.

The paper (§3.1.4) compares trials, not people: RT left vs right on correct
trials (Welch, fractional df), RT positive vs negative on correct trials
(Student, integer df) and intensity left vs right on all trials (Welch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats


def _variant(res, equal_var: bool) -> dict:
    ci = res.confidence_interval(0.95)
    return {"t": float(res.statistic), "df": float(res.df), "p": float(res.pvalue),
            "ci_low": float(ci.low), "ci_high": float(ci.high), "equal_var": equal_var}


def independent_ttest(data: pd.DataFrame, dv: str, group: str, levels: tuple[str, str],
                      paper_variant: str = "welch") -> dict:
    """Compare ``dv`` between two levels of ``group`` (trials as observations).

    Student: t = (m1 - m2) / (s_p * sqrt(1/n1 + 1/n2)), df = n1 + n2 - 2,
    s_p² = ((n1-1)s1² + (n2-1)s2²) / (n1+n2-2).
    Welch: t = (m1 - m2) / sqrt(s1²/n1 + s2²/n2), df by Welch–Satterthwaite
    (Welch 1947). The mean difference m1 - m2 and its 95% CI come from the same
    standard error as each t. Levene's test uses deviations from the mean (SPSS's
    choice; scipy's default is the median, i.e. Brown–Forsythe). Cohen's d uses
    the pooled SD, its CI the normal-theory SE sqrt((n1+n2)/(n1 n2) + d²/(2(n1+n2)))
    (Hedges & Olkin 1985), via pingouin.

    Returns a dict: ``groups`` ({level: n, mean, sd}), ``levene``, ``student``,
    ``welch`` (each t, df, p, mean_diff, ci_low, ci_high), ``cohen_d``,
    ``paper_variant`` and ``default`` ("welch": it does not assume equal variances,
    Delacre, Lakens & Leys 2017).
    """
    a_lvl, b_lvl = levels
    a = data.loc[data[group] == a_lvl, dv].to_numpy(dtype=float)
    b = data.loc[data[group] == b_lvl, dv].to_numpy(dtype=float)
    groups = {lvl: {"n": int(len(x)), "mean": float(np.mean(x)) if len(x) else float("nan"),
                    "sd": float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")}
              for lvl, x in ((a_lvl, a), (b_lvl, b))}
    out = {"dv": dv, "group": group, "levels": list(levels), "groups": groups,
           "paper_variant": paper_variant, "default": "welch"}
    if len(a) < 2 or len(b) < 2:
        out["error"] = f"need at least 2 observations per group, got n={len(a)} and n={len(b)}"
        return out
    mean_diff = float(np.mean(a) - np.mean(b))
    for name, equal_var in (("student", True), ("welch", False)):
        out[name] = _variant(stats.ttest_ind(a, b, equal_var=equal_var), equal_var)
        out[name]["mean_diff"] = mean_diff
    lev = stats.levene(a, b, center="mean")
    out["levene"] = {"F": float(lev.statistic), "df1": 1, "df2": int(len(a) + len(b) - 2),
                     "p": float(lev.pvalue), "center": "mean"}
    d = float(pg.compute_effsize(a, b, paired=False, eftype="cohen"))
    ci = pg.compute_esci(stat=d, nx=len(a), ny=len(b), eftype="cohen", confidence=0.95, decimals=6)
    out["cohen_d"] = {"d": d, "ci_low": float(ci[0]), "ci_high": float(ci[1])}
    return out


def ttest_table(name: str, result: dict) -> pd.DataFrame:
    """Tidy rows (one per variant) of an ``independent_ttest`` result, for CSV and HTML."""
    rows = []
    if "error" in result:
        return pd.DataFrame([{"test": name, "variant": "", "error": result["error"]}])
    g1, g2 = result["levels"]
    for variant in ("student", "welch"):
        v = result[variant]
        rows.append({
            "test": name, "variant": variant, "paper": variant == result["paper_variant"],
            "group1": g1, "n1": result["groups"][g1]["n"], "mean1": result["groups"][g1]["mean"],
            "sd1": result["groups"][g1]["sd"], "group2": g2, "n2": result["groups"][g2]["n"],
            "mean2": result["groups"][g2]["mean"], "sd2": result["groups"][g2]["sd"],
            "t": v["t"], "df": v["df"], "p": v["p"], "mean_diff": v["mean_diff"],
            "ci_low": v["ci_low"], "ci_high": v["ci_high"],
            "levene_F": result["levene"]["F"], "levene_p": result["levene"]["p"],
            "cohen_d": result["cohen_d"]["d"], "d_ci_low": result["cohen_d"]["ci_low"],
            "d_ci_high": result["cohen_d"]["ci_high"],
        })
    return pd.DataFrame(rows)
