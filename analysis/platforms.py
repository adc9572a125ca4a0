"""Lab vs online sessions: do the two platforms give the same side effect?

Online (jsPsych) logs carry ``platform = web``; lab logs have ``lab`` (or no
column). Participants are nested in platforms, so the comparison is between
participants: their left − right differences, per platform.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pingouin as pg
from scipy import stats

from .participant_level import participant_side_means
from .within_design import MEASURES


def platform_descriptives(trials: pd.DataFrame) -> pd.DataFrame:
    """Per platform: participants, trials, and by side: proportion correct, mean correct-trial RT, mean intensity."""
    rows = []
    for plat, g in trials.groupby("platform", sort=True):
        ok = g[g["correct"] == 1]
        row = {"platform": plat, "n_participants": int(g["participant"].nunique()), "n_trials": int(len(g))}
        for measure, data, dv in (("accuracy", g, "correct"), ("rt", ok, "rt"), ("intensity", g, "intensity")):
            for side in ("left", "right"):
                row[f"{measure}_{side}"] = float(data.loc[data["visible_half"] == side, dv].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def side_by_platform(trials: pd.DataFrame, dv: str) -> dict:
    """Side (within) × platform (between) on participant means.

    Mixed ANOVA (pingouin ``mixed_anova``): the side × platform interaction F(1,
    n − 2) asks whether the side effect differs between platforms (it pools the
    two platforms' variances). Reported beside it, the same question without that
    assumption: Welch's t-test of the per-participant left − right differences
    between the two platforms (Welch 1947). A participant tested on
    both platforms counts once per platform.
    """
    wide = participant_side_means(trials.assign(_subject=trials["participant"] + "@" + trials["platform"]),
                                  dv, participant="_subject").dropna()
    plat = wide.index.str.rsplit("@", n=1).str[1]
    platforms = sorted(set(plat))
    out = {"dv": dv, "platforms": platforms,
           "n_participants": {p: int((plat == p).sum()) for p in platforms}}
    diff = wide["left"] - wide["right"]
    out["mean_diff"] = {p: float(diff[plat == p].mean()) for p in platforms}
    if len(platforms) != 2 or min(out["n_participants"].values()) < 2:
        out["error"] = "needs two platforms with at least 2 participants each (both sides seen)"
        return out
    a, b = (diff[plat == p].to_numpy() for p in platforms)
    w = stats.ttest_ind(a, b, equal_var=False)
    ci = w.confidence_interval(0.95)
    out["welch"] = {"t": float(w.statistic), "df": float(w.df), "p": float(w.pvalue),
                    "diff_of_diffs": float(a.mean() - b.mean()), "ci_low": float(ci.low), "ci_high": float(ci.high)}
    long = wide.assign(platform=plat).reset_index().melt(id_vars=["_subject", "platform"],
                                                           value_vars=["left", "right"],
                                                           var_name="visible_half", value_name="mean")
    with warnings.catch_warnings():
        # pingouin 0.7 calls dropna(inplace=True), deprecated in pandas 3.1: its warning, not ours.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pingouin")
        aov = pg.mixed_anova(long, dv="mean", within="visible_half", between="platform", subject="_subject")
    p_col = "p_unc" if "p_unc" in aov.columns else "p-unc"
    out["anova"] = [{"effect": {"visible_half": "side", "Interaction": "side x platform"}.get(r["Source"], r["Source"]),
                     "F": float(r["F"]), "df1": int(r["DF1"]), "df2": int(r["DF2"]), "p": float(r[p_col]),
                     "np2": float(r["np2"])} for _, r in aov.iterrows()]
    return out


def analyse(trials: pd.DataFrame, rt_trials: pd.DataFrame | None = None) -> dict:
    """Whether several platforms are present and, if so, descriptives and the side × platform tests.

    ``rt_trials``: the trials the RT analysis uses (after RT trimming); default ``trials``.
    Web sessions time stimuli and keys in a browser, which the experiment does not
    verify: ``timing_note`` says so whenever a web platform takes part.
    """
    platforms = sorted(trials["platform"].unique())
    if len(platforms) < 2:
        return {"compared": False, "platforms": platforms}
    out = {"compared": True, "platforms": platforms,
           "descriptives": platform_descriptives(trials).to_dict("records"), "tests": {}}
    if "web" in platforms:
        out["timing_note"] = ("web sessions: browser timing, not verified (stimulus duration and RT depend on the "
                              "participant's browser and display), so a platform difference, in RT above all, may "
                              "be one of timing rather than of perception")
    rt_trials = trials if rt_trials is None else rt_trials
    for name, (dv, subset) in MEASURES.items():
        data = rt_trials[rt_trials["correct"] == 1] if name == "rt" else trials
        out["tests"][name] = side_by_platform(data, dv) | {"subset": subset}
    return out
