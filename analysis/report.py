"""`python -m analysis.report LOGDIR`: load the logs, run every test, write the report.

This module only loads, calls and renders: the statistics live in ttests,
chisquare, participant_level, mixed_models and descriptives.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from stimuli.labels import NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS

from . import chisquare, descriptives, mixed_models, participant_level, ttests
from .apa import apa_chi2, apa_t, apa_z, fmt_num, fmt_p
from .load import LogError, Logs, load_logs

T_TESTS = {
    # name: (subset description, dv, group column, levels, paper variant) — paper §3.1.4
    "rt_left_vs_right": ("correct trials", "rt", "visible_half", ("left", "right"), "welch"),
    "rt_positive_vs_negative": ("correct trials, positive vs negative emotions", "rt", "valence",
                                ("positive", "negative"), "student"),
    "intensity_left_vs_right": ("all trials", "intensity", "visible_half", ("left", "right"), "welch"),
}
CHI2_TESTS = {
    "accuracy_left_vs_right": "all trials",
    "accuracy_positive_left_vs_right": "positive-emotion trials",
    "accuracy_negative_left_vs_right": "negative-emotion trials",
}


def with_valence(trials: pd.DataFrame) -> pd.DataFrame:
    """Add 'valence' (positive/negative/none); surprise and others are in neither group (§3.1.4)."""
    out = trials.copy()
    out["valence"] = np.where(out["emotion"].isin(POSITIVE_EMOTIONS), "positive",
                              np.where(out["emotion"].isin(NEGATIVE_EMOTIONS), "negative", "none"))
    return out


def _subset(trials: pd.DataFrame, name: str) -> pd.DataFrame:
    if name.startswith("rt_"):
        return trials[trials["correct"] == 1]
    if "positive" in name and name.startswith("accuracy"):
        return trials[trials["valence"] == "positive"]
    if "negative" in name and name.startswith("accuracy"):
        return trials[trials["valence"] == "negative"]
    return trials


def t_apa(res: dict) -> str:
    """Welch in the text (the default); the paper's Student variant beside it when it used that."""
    if "error" in res:
        return f"not computed: {res['error']}"
    w = res["welch"]
    text = f"Welch {apa_t(w['t'], w['df'], w['p'])}, d = {fmt_num(res['cohen_d']['d'])}"
    if res["paper_variant"] == "student":
        s = res["student"]
        text += f" (Student, as in the paper: {apa_t(s['t'], s['df'], s['p'])})"
    return text


def chi_apa(res: dict) -> str:
    if "error" in res:
        return f"not computed: {res['error']}"
    p = res["pearson"]
    text = (f"{apa_chi2(p['chi2'], p['df'], res['n'], p['p'])}, V = {fmt_num(res['cramers_v'])}, "
            f"OR = {fmt_num(res['odds_ratio']['or'])}")
    if res["fisher_p"] is not None:
        text += f"; Fisher's exact {fmt_p(res['fisher_p'])} (an expected count < 5)"
    return text


def paper_tests(trials: pd.DataFrame) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The six tests of §3.1.4 (keys as in results.json) and their tidy tables."""
    trials = trials if "valence" in trials.columns else with_valence(trials)
    results: dict = {}
    ttest_rows, chi_rows = [], []
    for name, (subset, dv, group, levels, paper) in T_TESTS.items():
        res = ttests.independent_ttest(_subset(trials, name), dv, group, levels, paper_variant=paper)
        res["subset"] = subset
        res["apa"] = t_apa(res)
        results[name] = res
        ttest_rows.append(ttests.ttest_table(name, res))
    for name, subset in CHI2_TESTS.items():
        res = chisquare.side_accuracy_chi2(_subset(trials, name))
        res["subset"] = subset
        res["apa"] = chi_apa(res)
        results[name] = res
        chi_rows.append(chisquare.chi2_table(name, res))
    tables = {"ttests": pd.concat(ttest_rows, ignore_index=True),
              "chisquare": pd.concat(chi_rows, ignore_index=True)}
    return results, tables


def compute_results(logs: Logs) -> tuple[dict, dict[str, pd.DataFrame]]:
    """All statistics of the report as (results.json dict, tidy tables by name)."""
    trials = with_valence(logs.trials)
    results, tables = paper_tests(trials)

    correct = trials[trials["correct"] == 1]
    pl = {"rt": participant_level.paired_side_test(correct, "rt"),
          "intensity": participant_level.paired_side_test(trials, "intensity"),
          "accuracy": participant_level.paired_side_test(trials, "correct")}
    for r in pl.values():
        r["apa"] = r.get("error") or apa_t(r["t"], r["df"], r["p"])
    results["participant_level"] = pl
    tables["participant_level"] = pd.DataFrame(
        [{"measure": k, **{f: v.get(f) for f in ("n_participants", "t", "df", "p", "mean_diff", "ci_low",
                                                   "ci_high", "cohen_d", "wilcoxon_p", "error")}}
         for k, v in pl.items()])
    means = {"rt": participant_level.participant_side_means(correct, "rt"),
             "intensity": participant_level.participant_side_means(trials, "intensity"),
             "accuracy": participant_level.participant_side_means(trials, "correct")}
    tables["participant_means"] = pd.concat(
        [m.reset_index().melt(id_vars="participant", var_name="visible_half", value_name="mean").assign(measure=k)
         for k, m in means.items()], ignore_index=True)[["measure", "participant", "visible_half", "mean"]]

    mm = {}
    for key, fn in (("rt", mixed_models.rt_mixed_model), ("intensity", mixed_models.intensity_mixed_model),
                    ("accuracy", mixed_models.accuracy_mixed_model)):
        try:
            mm[key] = fn(trials)
            mm[key]["apa"] = f"b = {fmt_num(mm[key]['coef'], 3)}, SE = {fmt_num(mm[key]['se'], 3)}, " + \
                apa_z(mm[key]["z"], mm[key]["p"])
        except (ValueError, np.linalg.LinAlgError) as exc:
            # A model that cannot be fitted (e.g. one participant) is reported, not fatal.
            mm[key] = {"error": f"model not fitted: {exc}"}
    results["mixed_models"] = mm
    tables["mixed_models"] = pd.DataFrame(
        [{"outcome": k, **{f: v.get(f) for f in ("model", "formula", "subset", "coef", "se", "z", "p", "ci_low",
                                                   "ci_high", "n_obs", "error")}} for k, v in mm.items()])

    tables["descriptives"] = pd.concat([
        descriptives.group_summary(correct, "rt", ["visible_half"]),
        descriptives.group_summary(correct, "rt", ["emotion", "visible_half"]),
        descriptives.group_summary(trials, "intensity", ["visible_half"]),
        descriptives.group_summary(trials, "intensity", ["emotion", "visible_half"])], ignore_index=True)
    tables["per_emotion_accuracy"] = descriptives.accuracy_by_emotion(trials)
    tables["confusion"] = descriptives.confusion_long(trials)
    tables["sessions"] = logs.sessions
    tables["exclusions"] = logs.exclusions
    results["per_emotion"] = tables["per_emotion_accuracy"].to_dict("records")
    results["sessions"] = logs.sessions.to_dict("records")
    results["exclusions"] = {"n_problems": int(len(logs.exclusions)),
                             "n_rows": int(logs.exclusions[["file", "line"]].drop_duplicates().shape[0]),
                             "by_reason": logs.exclusions.groupby("column").size().to_dict()
                             if len(logs.exclusions) else {},
                             "rows": logs.exclusions.to_dict("records")}
    results["meta"] = {"n_participants": int(trials["participant"].nunique()),
                       "n_sessions": int(len(logs.sessions)), "n_trials": int(len(trials)),
                       "n_incomplete_sessions": int(logs.sessions["incomplete"].sum()),
                       "notes": list(logs.notes),
                       "generated": _dt.datetime.now().isoformat(timespec="seconds")}
    return results, tables


def apa_summary(results: dict) -> list[str]:
    """The lines printed to the terminal (also at the top of report.html)."""
    lines = [f"{name}: {results[name]['apa']}" for name in (*T_TESTS, *CHI2_TESTS)]
    for k, r in results["participant_level"].items():
        lines.append(f"participant-level {k} (paired, left - right): {r['apa']}")
    for k, r in results["mixed_models"].items():
        lines.append(f"mixed model {k} (left vs right): {r.get('apa', r.get('error'))}")
    return lines


def _clean(obj):
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def write_outputs(results: dict, tables: dict[str, pd.DataFrame], trials: pd.DataFrame, out: Path) -> Path:
    """results.json, CSVs, PNG figures and report.html into ``out``; returns the HTML path."""
    from . import figures
    from .html import render_html

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(_clean(results), indent=2, allow_nan=False) + "\n",
                                      encoding="utf-8")
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
    wide = {"RT (s), correct trials": participant_level.participant_side_means(
                trials[trials["correct"] == 1], "rt"),
            "intensity": participant_level.participant_side_means(trials, "intensity"),
            "proportion correct": participant_level.participant_side_means(trials, "correct")}
    figs = {"rt_distribution": figures.rt_distribution(trials), "rt_by_emotion": figures.rt_by_emotion(trials),
            "accuracy_by_emotion": figures.accuracy_by_emotion_plot(trials),
            "confusion_matrices": figures.confusion_matrices(trials),
            "intensity_distribution": figures.intensity_distribution(trials),
            "participant_means": figures.participant_pairs(wide)}
    pngs = {}
    for name, fig in figs.items():
        buf = io.BytesIO()
        # Fast zlib level: the PNGs are embedded once; size matters less than time.
        fig.savefig(buf, format="png", dpi=100, pil_kwargs={"compress_level": 1})
        figures.plt.close(fig)
        pngs[name] = buf.getvalue()
        (out / f"{name}.png").write_bytes(pngs[name])
    html_path = out / "report.html"
    html_path.write_text(render_html(results, tables, pngs, apa_summary(results)), encoding="utf-8")
    return html_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.report",
        description="Validate session logs, run the paper's tests (§3.1.4) plus participant-level tests and "
                    "mixed models, and write report.html, results.json, tidy CSVs and PNG figures.",
        epilog="example: python -m analysis.report logs/ --out report/   (exit 0 = report written, "
               "1 = invalid logs, 2 = bad arguments)")
    parser.add_argument("logdir", help="folder with <participant>_s<session>.csv logs and their JSON sidecars")
    parser.add_argument("--out", default=None, help="output folder (default: LOGDIR/report)")
    parser.add_argument("--exclude-invalid", action="store_true",
                        help="drop invalid rows instead of stopping; every dropped row is listed in the report")
    args = parser.parse_args(argv)
    try:
        logs = load_logs(args.logdir, exclude_invalid=args.exclude_invalid)
    except LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if logs.trials.empty:
        print(f"error: {args.logdir}: no valid trials left to analyse; check the exclusions "
              "(run without --exclude-invalid to see the first problem)", file=sys.stderr)
        return 1
    results, tables = compute_results(logs)
    out = Path(args.out) if args.out else Path(args.logdir) / "report"
    html_path = write_outputs(results, tables, with_valence(logs.trials), out)
    for line in apa_summary(results):
        print(line)
    for line in logs.notes:
        print(f"note: {line}")
    n_inc = results["meta"]["n_incomplete_sessions"]
    if n_inc:
        print(f"note: {n_inc} incomplete session(s) analysed and flagged in the report")
    print(f"report: {html_path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
