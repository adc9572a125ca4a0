"""Participant-level paired tests: one number per person and side, then left vs right.

Trial-level tests treat 140 trials of one person as independent observations
(pseudoreplication). Averaging within person first and comparing sides with a
paired test makes participants the unit of analysis (Judd, Westfall & Kenny 2012
argue for also treating stimuli as random: see ``mixed_models``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats

from stimuli.labels import SIDES


def participant_side_means(data: pd.DataFrame, dv: str, side: str = "visible_half",
                           participant: str = "participant") -> pd.DataFrame:
    """Wide table: one row per participant, one column per side, the mean of ``dv``.

    For ``dv='correct'`` the mean is the proportion correct. Participants lacking
    one side are kept with NaN so the caller can see (and count) them.
    """
    wide = data.pivot_table(index=participant, columns=side, values=dv, aggfunc="mean", observed=True)
    return wide.reindex(columns=list(SIDES))


def paired_side_test(data: pd.DataFrame, dv: str, side: str = "visible_half",
                     participant: str = "participant") -> dict:
    """Paired t-test of per-participant means, left vs right (pingouin ``ttest(paired=True)``).

    t = mean(D) / (sd(D) / sqrt(n)), df = n - 1, with D the per-participant
    difference left - right; the 95% CI is for mean(D). Cohen's d here is
    pingouin's paired d (mean(D) over the average of the two SDs, "d_av", Lakens
    2013). The Wilcoxon signed-rank p is given as a check that does not assume
    normal differences.
    """
    wide = participant_side_means(data, dv, side, participant)
    complete = wide.dropna()
    out = {"dv": dv, "n_participants": int(len(complete)),
           "n_dropped_missing_side": int(len(wide) - len(complete)),
           "means": {s: float(complete[s].mean()) for s in SIDES},
           "sds": {s: float(complete[s].std(ddof=1)) for s in SIDES}}
    if len(complete) < 3:
        out["error"] = f"need at least 3 participants with both sides, got {len(complete)}"
        return out
    left, right = complete["left"].to_numpy(), complete["right"].to_numpy()
    res = pg.ttest(left, right, paired=True).iloc[0]
    ci = stats.ttest_rel(left, right).confidence_interval(0.95)
    # pingouin 0.7 renamed 'p-val'/'cohen-d' to 'p_val'/'cohen_d'; accept both.
    p_val = res["p_val"] if "p_val" in res else res["p-val"]
    d_abs = res["cohen_d"] if "cohen_d" in res else res["cohen-d"]
    out.update({"t": float(res["T"]), "df": float(res["dof"]), "p": float(p_val),
                "mean_diff": float(np.mean(left - right)), "ci_low": float(ci.low), "ci_high": float(ci.high),
                "cohen_d": float(np.sign(np.mean(left - right)) * abs(d_abs))})
    diff = left - right
    out["wilcoxon_p"] = float(stats.wilcoxon(left, right).pvalue) if np.any(diff != 0) else 1.0
    return out
