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

from halfface.schema import SIDES


def participant_condition_means(data: pd.DataFrame, dv: str, by: str, levels: tuple[str, str],
                               participant: str = "participant") -> pd.DataFrame:
    """Wide table: one row per participant, one column per level of ``by``, the mean of ``dv``.

    For ``dv='correct'`` the mean is the proportion correct. Participants lacking
    one level are kept with NaN so the caller can see (and count) them.
    """
    wide = data.pivot_table(index=participant, columns=by, values=dv, aggfunc="mean", observed=True)
    return wide.reindex(columns=list(levels))


def participant_side_means(data: pd.DataFrame, dv: str, side: str = "visible_half",
                           participant: str = "participant") -> pd.DataFrame:
    """``participant_condition_means`` over the two sides (columns left, right)."""
    return participant_condition_means(data, dv, side, SIDES, participant)


def paired_condition_test(data: pd.DataFrame, dv: str, by: str, levels: tuple[str, str],
                          participant: str = "participant") -> dict:
    """Paired t-test of per-participant means, ``levels[0]`` vs ``levels[1]`` (pingouin ``ttest(paired=True)``).

    t = mean(D) / (sd(D) / sqrt(n)), df = n - 1, with D the per-participant
    difference levels[0] - levels[1]; the 95% CI is for mean(D). Two standardised
    effects (Lakens 2013), both signed like mean(D): d_z = mean(D) / sd(D), the
    paired test's own effect size (t = d_z·sqrt(n)), and d_av = mean(D) / ((sd_1 +
    sd_2) / 2), comparable with between-subject designs (pingouin's paired
    ``cohen_d`` divides by sqrt((sd_1² + sd_2²) / 2) instead, which differs in the
    3rd-4th digit). The Wilcoxon signed-rank p is given as a check that does not
    assume normal differences. Participants lacking a level are dropped, counted
    and named in ``dropped`` with the reason. When every participant has the same
    difference (e.g. all answers correct) t is 0/0: ``error`` says so, no t is given.
    """
    a_lvl, b_lvl = levels
    wide = participant_condition_means(data, dv, by, levels, participant)
    complete = wide.dropna()
    dropped = [{"participant": str(pid), "reason": f"no {' and no '.join(str(c) for c in row.index[row.isna()])} "
                f"trials in this subset"} for pid, row in wide[wide.isna().any(axis=1)].iterrows()]
    out = {"dv": dv, "by": by, "levels": list(levels), "n_participants": int(len(complete)),
           "n_dropped_missing_side": int(len(wide) - len(complete)), "dropped": dropped,
           "means": {s: float(complete[s].mean()) for s in levels},
           "sds": {s: float(complete[s].std(ddof=1)) for s in levels}}
    if len(complete) < 3:
        out["error"] = f"need at least 3 participants with both {a_lvl} and {b_lvl}, got {len(complete)}"
        return out
    a, b = complete[a_lvl].to_numpy(), complete[b_lvl].to_numpy()
    diff = a - b
    if np.ptp(diff) == 0:
        out["error"] = (f"no variance: every participant's {a_lvl} − {b_lvl} difference is {diff[0]:g}"
                        + (" (every answer in both conditions correct)" if dv == "correct" and np.all(a == 1)
                           and np.all(b == 1) else ""))
        return out
    res = pg.ttest(a, b, paired=True).iloc[0]
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    # pingouin 0.7 renamed 'p-val' to 'p_val'; accept both.
    p_val = res["p_val"] if "p_val" in res else res["p-val"]
    out.update({"t": float(res["T"]), "df": float(res["dof"]), "p": float(p_val),
                "mean_diff": float(np.mean(diff)), "ci_low": float(ci.low), "ci_high": float(ci.high),
                "d_z": float(np.mean(diff) / np.std(diff, ddof=1)),
                "d_av": float(np.mean(diff) / ((np.std(a, ddof=1) + np.std(b, ddof=1)) / 2))})
    out["cohen_d"] = out["d_av"]  # the key before d_z/d_av were named (results.json keys are never removed)
    out["wilcoxon_p"] = float(stats.wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
    return out


def paired_side_test(data: pd.DataFrame, dv: str, side: str = "visible_half",
                     participant: str = "participant") -> dict:
    """Left vs right: ``paired_condition_test`` over the two sides (D = left - right)."""
    return paired_condition_test(data, dv, side, SIDES, participant)
