"""`python -m analysis.report LOGDIR`: load the logs, run every test, write the report.

This module only loads, calls and renders: the statistics live in ttests,
chisquare, participant_level, mixed_models, logistic, within_design, platforms
and descriptives; the list of every test and their tidy table (results.csv,
results.json["table"]) in registry; the summary sentences in summary; the page in
html (Jinja2 templates in analysis/templates).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from halfface.cli import UserError, output_dir, run_main
from halfface.schema import NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS

from . import (chisquare, descriptives, logistic, mixed_models, participant_level, platforms, registry, ttests,
               within_design)
from .apa import apa_chi2, apa_t, fmt_num, fmt_p
from .load import RT_MAX, RT_MIN, SESSION_CHOICES, LogError, Logs, load_logs, parse_sessions
from .summary import mixed_stat, summary_sentences

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
    text = f"Welch {apa_t(w['t'], w['df'], w['p'])}, d_s = {fmt_num(res['cohen_d']['d'])}"
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
    if res["odds_ratio"].get("correction"):
        text += " (OR with 0.5 added to every cell: a cell is 0)"
    return text


def paper_tests(trials: pd.DataFrame) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The six tests of §3.1.4 (keys as in results.json) and their tidy tables.

    Pass every answered trial: the paper trimmed nothing (its intensity test has
    df 2517.15 for 2,520 trials), so its statistics are reproduced only without
    the RT trim. ``compute_results`` does so and says it in each entry's ``rule``.
    """
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


MIXED_MODELS = {  # results key: (function name in mixed_models, what it compares)
    "rt": ("rt_mixed_model", "left vs right"),
    "intensity": ("intensity_mixed_model", "left vs right"),
    "accuracy": ("accuracy_mixed_model", "left vs right"),
    "rt_positive_vs_negative": ("rt_valence_mixed_model", "positive vs negative"),
    "accuracy_side_by_valence": ("accuracy_side_by_valence_mixed_model", "side x valence interaction"),
}
MM_COLUMNS = ("model", "requested_formula", "fitted_formula", "formula", "subset", "coef", "se", "se_label", "z",
              "df", "p", "ci_low", "ci_high", "n_obs", "converged", "singular", "error")


def _no_variance(data: pd.DataFrame, dv: str) -> str | None:
    """Why ``dv`` cannot be modelled in ``data`` (no trials, or one value only), else None."""
    if data.empty:
        return "no trials in this subset"
    values = data[dv].unique()
    if len(values) > 1:
        return None
    if dv == "correct":
        return f"no variance: every answer was {'correct' if values[0] == 1 else 'wrong'}"
    return f"no variance: every {dv} is {values[0]:g}"


def fit_mixed_models(trials: pd.DataFrame, rt_trials: pd.DataFrame | None = None) -> dict:
    """Every mixed model of the report; one that cannot be fitted is reported, not fatal.

    RT models use ``rt_trials`` (after RT trimming; default ``trials``), the others every trial.
    """
    rt_trials = trials if rt_trials is None else rt_trials
    everyone = sorted(trials["participant"].unique())
    mm = {}
    for key, (fn_name, compares) in MIXED_MODELS.items():
        fn = getattr(mixed_models, fn_name, None)
        if fn is None:
            mm[key] = {"error": f"model not available (analysis.mixed_models has no {fn_name})"}
            continue
        data = rt_trials if key.startswith("rt") else trials
        subset = _model_subset(data, key)
        why = _no_variance(subset, "correct" if key.startswith("accuracy") else "intensity"
                           if key == "intensity" else "rt")
        n = subset["participant"].nunique()
        if why is None and n < 3:
            why = f"{n} participant(s): a random effect of participant needs at least 3"
        if why:
            mm[key] = {"error": f"not fitted: {why}", "compares": compares}
            continue
        try:
            mm[key] = fn(data)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            # e.g. no positive trials, or a Hessian that cannot be inverted (separation)
            mm[key] = {"error": f"not fitted: {exc}", "compares": compares}
            continue
        mm[key].setdefault("se_label", "SE")
        mm[key]["compares"] = compares
        mm[key]["apa"] = mixed_stat(mm[key])
        present = set(subset["participant"])
        mm[key]["dropped"] = [{"participant": p, "reason": f"no trial in this model's subset ({mm[key].get('subset')}"
                                                            + (", within the RT window)" if key.startswith("rt")
                                                               else ")")}
                              for p in everyone if p not in present]
    return mm


def _model_subset(data: pd.DataFrame, key: str) -> pd.DataFrame:
    """The trials a model of MIXED_MODELS is fitted to (as the functions in mixed_models select them)."""
    if key.startswith("rt"):
        data = data[data["correct"] == 1]
    if key in ("rt_positive_vs_negative", "accuracy_side_by_valence"):
        data = data[data["emotion"].isin(POSITIVE_EMOTIONS + NEGATIVE_EMOTIONS)]
    return data


def participant_tests(trials: pd.DataFrame, rt_trials: pd.DataFrame | None = None
                      ) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Paired tests on participant means: each side contrast, RT valence, and side × valence for accuracy.

    RT tests use the correct trials of ``rt_trials`` (after RT trimming; default ``trials``).
    """
    rt_trials = trials if rt_trials is None else rt_trials
    correct = rt_trials[rt_trials["correct"] == 1]
    pl = {"rt": participant_level.paired_side_test(correct, "rt"),
          "intensity": participant_level.paired_side_test(trials, "intensity"),
          "accuracy": participant_level.paired_side_test(trials, "correct"),
          "rt_positive_vs_negative": participant_level.paired_condition_test(
              correct, "rt", "valence", ("positive", "negative"))}
    # Interaction at the participant level: each person's left − right accuracy difference on positive
    # trials against the same difference on negative trials.
    acc = trials[trials["valence"] != "none"].pivot_table(index=["participant", "valence"], columns="visible_half",
                                                          values="correct", aggfunc="mean", observed=True)
    diffs = (acc.reindex(columns=["left", "right"]).eval("left - right").rename("side_diff").reset_index())
    pl["accuracy_side_by_valence"] = participant_level.paired_condition_test(
        diffs, "side_diff", "valence", ("positive", "negative"))
    everyone = sorted(trials["participant"].unique())
    for key, r in pl.items():
        # A participant absent from the test's trials altogether (e.g. no correct trial left after trimming)
        # is dropped as surely as one missing a side: named either way.
        data = correct if key.startswith("rt") else trials
        present = set(data["participant"])
        named = {d["participant"] for d in r.get("dropped", [])}
        r["dropped"] = r.get("dropped", []) + [
            {"participant": p, "reason": "no trials in this test's subset" + (" (no correct trial within the RT "
                                                                               "window)" if key.startswith("rt")
                                                                               else "")}
            for p in everyone if p not in present and p not in named]
        r["apa"] = r.get("error") or apa_t(r["t"], r["df"], r["p"])
    table = pd.DataFrame(
        [{"measure": k, "contrast": " - ".join(v.get("levels", ["left", "right"])),
          **{f: v.get(f) for f in ("n_participants", "t", "df", "p", "mean_diff", "ci_low", "ci_high", "d_z", "d_av",
                                   "wilcoxon_p", "error")},
          "dropped": "; ".join(f"{d['participant']} ({d['reason']})" for d in v.get("dropped", []))}
         for k, v in pl.items()])
    means = {"rt": participant_level.participant_side_means(correct, "rt"),
             "intensity": participant_level.participant_side_means(trials, "intensity"),
             "accuracy": participant_level.participant_side_means(trials, "correct")}
    long = pd.concat(
        [m.reset_index().melt(id_vars="participant", var_name="visible_half", value_name="mean").assign(measure=k)
         for k, m in means.items()], ignore_index=True)[["measure", "participant", "visible_half", "mean"]]
    return pl, {"participant_level": table, "participant_means": long}


def valence_interaction(trials: pd.DataFrame, pl: dict, mm: dict) -> dict:
    """results['accuracy_side_by_valence']: the recommended p (mixed model) with the other two beside it."""
    tl = logistic.side_by_valence(trials)
    tl["apa"] = tl.get("error") or f"b = {fmt_num(tl['coef'], 3)}, SE = {fmt_num(tl['se'], 3)}, " \
                                   f"z = {fmt_num(tl['z'])}, {fmt_p(tl['p'])}"
    m = mm.get("accuracy_side_by_valence", {})
    out = {"question": "does the left-right accuracy difference depend on valence (positive vs negative)?",
           "trial_level": tl, "participant_level": pl["accuracy_side_by_valence"],
           "mixed_model": {k: m.get(k) for k in ("model", "coef", "se", "se_label", "z", "df", "p", "ci_low",
                                                  "ci_high", "fitted_formula", "error", "prior",
                                                  "glmer_sensitivity") if k in m}}
    # The verdict comes from a test that treats participants (and photos) as random; the trial-level
    # regression never gives it, even when it is the only one computed (e.g. 1-2 participants).
    for source in ("mixed_model", "participant_level"):
        r = out[source]
        if "error" not in r and r.get("p") is not None and not _isnan(r["p"]):
            out.update({"p": r["p"], "p_source": source})
            break
    else:
        out.update({"p": None, "p_source": None})
    return out


def _isnan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _tables_of(results: dict) -> dict[str, pd.DataFrame]:
    mm = results["mixed_models"]
    def glmer(v, f):
        g = v.get("glmer_sensitivity")
        return g.get(f) if isinstance(g, dict) else None

    tables = {"mixed_models": pd.DataFrame(
        [{"outcome": k, **{f: v.get(f) for f in MM_COLUMNS},
          "simplifications": " ".join(v.get("simplifications", [])), "prior": v.get("prior"),
          "glmer_coef": glmer(v, "coef"), "glmer_se": glmer(v, "se"), "glmer_p": glmer(v, "p"),
          "glmer_disagree_at_05": glmer(v, "disagree_at_05"), "glmer_error": glmer(v, "error"),
          "recommended": v.get("recommended")} for k, v in mm.items()])}
    tables["mixed_models_random_effects"] = pd.DataFrame(
        [{"outcome": k, **re} for k, v in mm.items() for re in v.get("random_effects", [])],
        columns=["outcome", "group", "term", "variance", "sd"])
    tables["side_by_emotion"] = pd.DataFrame(results["accuracy_side_by_emotion"]["table"])
    wd = results["within_design"]
    if wd.get("design") == "crossed":
        tables["half_by_image_side"] = pd.DataFrame(
            [{"measure": k, **e} for k, t in wd["tests"].items() for e in t.get("effects", [])])
    plat = results["platform_comparison"]
    if plat.get("compared"):
        tables["platform_descriptives"] = pd.DataFrame(plat["descriptives"])
        tables["platform_side"] = pd.DataFrame(
            [{"measure": k, "test": "Welch t, left-right differences", **t["welch"]} for k, t in plat["tests"].items()
             if "welch" in t])
    return tables


PAPER_RULE = ("all answered trials, as in the paper (no RT trimming: its intensity test has df 2517.15 for "
              "2,520 trials)")
# results.json paths of the tests the report recommends (docs/analysis.md, "Which result to trust"): those
# analysis.registry flags, and the interaction section's copy of the side x valence model.
# Everything else with a p value is shown for comparison and carries "recommended": false.
RECOMMENDED = (*dict.fromkeys(t.entry for t in registry.TESTS if t.recommended), "accuracy_side_by_valence.mixed_model")


def _flag_recommended(results: dict) -> list[str]:
    """Set ``recommended`` on every test entry; return the recommended paths (those present)."""
    entries = {k: results[k] for k in (*T_TESTS, *CHI2_TESTS)}
    entries |= {f"participant_level.{k}": v for k, v in results["participant_level"].items()}
    for k, v in results["mixed_models"].items():
        entries[f"mixed_models.{k}"] = v
        if isinstance(v.get("glmer_sensitivity"), dict):
            entries[f"mixed_models.{k}.glmer_sensitivity"] = v["glmer_sensitivity"]
    inter = results["accuracy_side_by_valence"]
    entries |= {f"accuracy_side_by_valence.{k}": inter[k] for k in ("mixed_model", "participant_level", "trial_level")}
    entries["accuracy_side_by_emotion"] = results["accuracy_side_by_emotion"]
    entries |= {t.entry: results[t.entry] for t in registry.TESTS if t.compute is not None}
    for k, t in results["within_design"].get("tests", {}).items():
        entries[f"within_design.tests.{k}"] = t
    for k, t in results["platform_comparison"].get("tests", {}).items():
        entries[f"platform_comparison.tests.{k}"] = t
    # The 2 x 2 within-design ANOVA and the platform comparison are the only tests of their question,
    # on participant means: recommended.
    recommended = set(RECOMMENDED) | {k for k in entries if k.startswith(("within_design.", "platform_comparison."))}
    for k, v in entries.items():
        v["recommended"] = k in recommended
    return [k for k in entries if k in recommended]


def _dropped_warnings(results: dict) -> list[str]:
    """One warning per test that left out analysed participants, naming them and why."""
    out = []
    for key, r in results["participant_level"].items():
        if r.get("dropped"):
            out.append(f"participant-level test '{key}': {len(r['dropped'])} participant(s) left out: "
                       + ", ".join(f"{d['participant']} ({d['reason']})" for d in r["dropped"]))
    for key, m in results["mixed_models"].items():
        if m.get("dropped"):
            out.append(f"mixed model '{key}': {len(m['dropped'])} participant(s) left out: "
                       + ", ".join(f"{d['participant']} ({d['reason']})" for d in m["dropped"]))
    return out


def compute_results(logs: Logs) -> tuple[dict, dict[str, pd.DataFrame]]:
    """All statistics of the report as (results.json dict, tidy tables by name).

    The paper's six tests get every answered trial (the paper's rule); the RT
    analyses the report recommends get the trials inside the RT window
    (``logs.rt_trials``); intensity and accuracy always keep every answered trial.
    Warnings raised by the statistics libraries are not printed: degenerate cases
    are detected and reported per test, and anything else the libraries say is
    kept in ``meta['computation_messages']``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results, tables = _compute(logs)
    results["meta"]["computation_messages"] = list(dict.fromkeys(
        f"{w.category.__name__}: {w.message}" for w in caught))
    return results, tables


def _compute(logs: Logs) -> tuple[dict, dict[str, pd.DataFrame]]:
    trials = with_valence(logs.trials)
    rt_trials = with_valence(logs.rt_trials)
    results, tables = paper_tests(trials)
    for name in (*T_TESTS, *CHI2_TESTS):
        results[name]["rule"] = PAPER_RULE
    results["participant_level"], pl_tables = participant_tests(trials, rt_trials)
    tables.update(pl_tables)
    results["mixed_models"] = fit_mixed_models(trials, rt_trials)
    results["accuracy_side_by_valence"] = valence_interaction(trials, results["participant_level"],
                                                              results["mixed_models"])
    results["accuracy_side_by_emotion"] = logistic.side_by_emotion(trials)
    results["within_design"] = within_design.analyse(trials, rt_trials)
    results["platform_comparison"] = platforms.analyse(trials, rt_trials)
    results.update(registry.compute_added(trials, rt_trials))
    results["recommended"] = _flag_recommended(results)
    tables.update(_tables_of(results))
    # Every test as one tidy row (analysis.registry): results.csv and results.json["table"].
    tables["results"] = registry.table(results)
    results["table"] = tables["results"].to_dict("records")

    correct = rt_trials[rt_trials["correct"] == 1]
    tables["descriptives"] = pd.concat([
        descriptives.group_summary(correct, "rt", ["visible_half"]),
        descriptives.group_summary(correct, "rt", ["emotion", "visible_half"]),
        descriptives.group_summary(trials, "intensity", ["visible_half"]),
        descriptives.group_summary(trials, "intensity", ["emotion", "visible_half"])], ignore_index=True)
    tables["per_emotion_accuracy"] = descriptives.accuracy_by_emotion(trials)
    tables["confusion"] = descriptives.confusion_long(trials)
    tables["sessions"] = logs.sessions
    tables["exclusions"] = logs.exclusions
    tables["left_out_sessions"] = logs.left_out
    restarted = trials.loc[trials["restarted"] > 0, ["file", "line", "participant", "session", "trial", "restarted"]]
    tables["restarted_trials"] = restarted
    tables["reshown_trials"] = trials.loc[trials["reshown"] > 0, ["file", "line", "participant", "session", "trial",
                                                                   "stimulus"]] if "reshown" in trials else \
        pd.DataFrame(columns=["file", "line", "participant", "session", "trial", "stimulus"])
    results["per_emotion"] = tables["per_emotion_accuracy"].to_dict("records")
    results["sessions"] = logs.sessions.to_dict("records")
    results["left_out_sessions"] = logs.left_out.to_dict("records")
    results["restarted"] = {"n_rows": int(len(restarted)), "rows": restarted.to_dict("records")}
    ex = logs.exclusions
    invalid = ex[ex["kind"] == "invalid"]
    settings = logs.settings or {"rt_min": RT_MIN, "rt_max": RT_MAX}
    results["exclusions"] = {"n_problems": int(len(ex)),
                             "n_rows": int(ex[["file", "line"]].drop_duplicates().shape[0]),
                             "n_rows_invalid": int(invalid[["file", "line"]].drop_duplicates().shape[0]),
                             "by_reason": ex.groupby("column").size().to_dict() if len(ex) else {},
                             "by_kind": ex.groupby("kind").size().to_dict() if len(ex) else {},
                             "rt_trimming": {"rt_min": settings["rt_min"], "rt_max": settings["rt_max"],
                                             "n_below_min": int((ex["kind"] == "rt_below_min").sum()),
                                             "n_above_max": int((ex["kind"] == "rt_above_max").sum())},
                             "rows": ex.to_dict("records")}
    sessions = logs.sessions
    results["warnings"] = list(logs.warnings) + _dropped_warnings(results)
    results["meta"] = {"n_participants": int(trials["participant"].nunique()),
                       "n_sessions": int(len(sessions)), "n_trials": int(len(trials)),
                       "n_trials_rt": int(len(rt_trials)),
                       "n_correct_trials": int((trials["correct"] == 1).sum()),
                       "n_correct_trials_rt": int(len(correct)),
                       "n_browser_timing_sessions": int(sessions["browser_timing"].sum())
                       if "browser_timing" in sessions else 0,
                       "n_reshown_trials": int(trials["reshown"].sum()) if "reshown" in trials else 0,
                       "n_incomplete_sessions": int(sessions["incomplete"].sum()),
                       "n_simulated_sessions": int(sessions["simulated"].sum()) if "simulated" in sessions else 0,
                       "n_unverified_timing_sessions": int(sessions["unverified_timing"].sum())
                       if "unverified_timing" in sessions else 0,
                       "n_left_out_sessions": int(len(logs.left_out)),
                       "n_restarted_trials": int(len(restarted)),
                       "platforms": sorted(trials["platform"].unique()),
                       "settings": settings,
                       "notes": list(logs.notes),
                       "generated": _dt.datetime.now().isoformat(timespec="seconds")}
    results["summary"] = summary_sentences(results)
    return results, tables


def apa_summary(results: dict) -> list[str]:
    """The summary printed to the terminal (also at the top of report.html): sentences, not key names."""
    return results.get("summary") or summary_sentences(results)


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
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Figures of degenerate data (one participant, no variance) make matplotlib/numpy warn; the report
        # already says what could not be computed.
        warnings.simplefilter("ignore")
        return _write_outputs(results, tables, trials, out)


def _write_outputs(results: dict, tables: dict[str, pd.DataFrame], trials: pd.DataFrame, out: Path) -> Path:
    from . import figures
    from .html import render_html

    rt_trials = trials[~trials["rt_trimmed"]] if "rt_trimmed" in trials else trials
    (out / "results.json").write_text(json.dumps(_clean(results), indent=2, allow_nan=False) + "\n",
                                      encoding="utf-8")
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
    wide = {"RT (s), correct trials": participant_level.participant_side_means(
                rt_trials[rt_trials["correct"] == 1], "rt"),
            "intensity": participant_level.participant_side_means(trials, "intensity"),
            "proportion correct": participant_level.participant_side_means(trials, "correct")}
    figs = {"rt_distribution": figures.rt_distribution(rt_trials), "rt_by_emotion": figures.rt_by_emotion(rt_trials),
            "accuracy_by_emotion": figures.accuracy_by_emotion_plot(trials),
            "confusion_matrices": figures.confusion_matrices(trials),
            "intensity_distribution": figures.intensity_distribution(trials),
            "participant_means": figures.participant_pairs(wide)}
    if results["within_design"].get("design") == "crossed":
        figs["half_by_image_side"] = figures.half_by_image_side_plot(results["within_design"]["tests"])
    if results["platform_comparison"].get("compared"):
        figs["platform_side_effects"] = figures.platform_side_effects(rt_trials)
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


def _sessions_arg(value: str):
    try:
        return parse_sessions(value)
    except LogError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@run_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.report",
        description="Validate session logs, run the paper's tests (§3.1.4) plus participant-level tests and "
                    "mixed models, and write report.html, results.json, tidy CSVs and PNG figures.",
        epilog="example: python -m analysis.report logs/ --out report/   (exit 0 = report written, "
               "1 = invalid logs, 2 = bad arguments)")
    parser.add_argument("logdir", help="folder with the session logs: every *.csv with the log columns, whatever "
                                       "its name (P01_s1.csv, PsychoPy Builder's P01_halfface_2026-11-28_1403.csv, "
                                       "online exports), with its JSON sidecar when there is one")
    parser.add_argument("--out", default=None, help="output folder (default: LOGDIR/report)")
    parser.add_argument("--exclude-invalid", action="store_true",
                        help="drop invalid rows instead of stopping; every dropped row is listed in the report")
    parser.add_argument("--include-simulated", action="store_true",
                        help="analyse sessions whose sidecar says simulated: true (left out and listed by default)")
    parser.add_argument("--rt-min", type=float, default=RT_MIN, metavar="S",
                        help="trials with rt below S seconds are anticipations, left out of the RT analyses (the "
                             f"recommended ones; the paper's tests keep every trial) and listed (default {RT_MIN:g})")
    parser.add_argument("--rt-max", type=float, default=RT_MAX, metavar="S",
                        help=f"trials with rt above S seconds are lapses, left out of the RT analyses and listed "
                             f"(default {RT_MAX:g})")
    parser.add_argument("--sessions", default="first", metavar="WHICH", type=_sessions_arg,
                        help=f"{SESSION_CHOICES}: which session(s) of each participant to analyse: the first "
                             "(default; later ones are listed), all of them pooled, or session N")
    parser.add_argument("--exclude-reshown", action="store_true",
                        help="leave out trials shown again after a stopped session (column reshown = 1; kept and "
                             "listed by default)")
    args = parser.parse_args(argv)
    logs = load_logs(args.logdir, exclude_invalid=args.exclude_invalid, include_simulated=args.include_simulated,
                     rt_min=args.rt_min, rt_max=args.rt_max, sessions=args.sessions,
                     exclude_reshown=args.exclude_reshown)  # a bad log: LogError, a UserError
    if logs.trials.empty:
        raise UserError(f"{args.logdir}: no valid trials left to analyse; check the exclusions "
                        "(run without --exclude-invalid to see the first problem, or widen --rt-min/--rt-max)")
    out = output_dir(args.out if args.out else Path(args.logdir) / "report")
    results, tables = compute_results(logs)
    for line in results["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    html_path = write_outputs(results, tables, with_valence(logs.trials), out)
    for line in apa_summary(results):
        print(line, end="\n\n")
    for line in logs.notes:
        print(f"note: {line}")
    n_inc = results["meta"]["n_incomplete_sessions"]
    if n_inc:
        print(f"note: {n_inc} incomplete session(s) analysed and flagged in the report")
    print(f"report: {html_path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
