"""Render the report as one self-contained HTML page (figures embedded as base64 PNG).

The page is the Jinja2 template ``analysis/templates/report.html`` (its pieces in
``macros.html``) with autoescaping on, so no value of the logs or the results is
ever written into the page unescaped. This module only shapes the data the
template shows: tables as rows of formatted cells, the comparison sentences.
"""

from __future__ import annotations

import base64
import functools

import jinja2
import pandas as pd

from . import registry
from .apa import fmt_df, fmt_num, fmt_p
from .summary import MODEL_EXTRAS, glmer_row, se_name

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1180px;margin:24px auto;
 padding:0 16px;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0} h2{border-bottom:2px solid #1b6ca8;padding-bottom:3px;margin-top:1.8em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:0.86em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right} th{background:#eef3f8}
td:first-child,th:first-child,td.txt{text-align:left}
tr.paper td{background:#fff6d9;font-weight:600}
.note{background:#f3f7ee;border-left:4px solid #5a8f29;padding:8px 12px;margin:10px 0}
.warn{background:#fdf0ef;border-left:4px solid #c0392b;padding:8px 12px;margin:10px 0}
.info{background:#eef3f8;border-left:4px solid #1b6ca8;padding:6px 12px;margin:8px 0}
p.apa{background:#f6f6f6;padding:6px 10px;margin:4px 0;font-size:0.92em}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.small{color:#666;font-size:0.85em}
"""

# Which result to trust: the one place this text lives. Its figures are the type-I error rates in
# benchmarks/RESULTS.md, "Calibration" (python -m analysis.calibration), and they hold for the design
# simulated there, which the text names: they are not general properties of the tests.
CALIBRATION_DESIGN = (
    "500 simulated studies with no true effect, each of the paper's design: 18 participants × 70 photos (10 per "
    "emotion) × both halves = 2,520 trials, random intercepts and side slopes for participants and photos with the "
    "variances in analysis.simulate.SD (benchmarks/RESULTS.md, \"Calibration\"; python -m analysis.calibration)")
TRUST_NOTE = (
    "Which result to trust. The paper's tests (trial level) count each of a participant's ~140 trials as an "
    "independent observation; trials from the same person and the same photo are correlated, so their "
    f"p-values are too small (pseudoreplication; Judd, Westfall & Kenny 2012). On {CALIBRATION_DESIGN}, they "
    "rejected the null in 10.0 % (RT left vs right), 12.2 % (intensity), 10.6 % (accuracy, Pearson chi-square) "
    "and 20.0 % (RT positive vs negative) of studies instead of 5 %: they are shown for comparison with the paper "
    "only. Trust the mixed models with random intercepts and slopes for participants and photos (Barr, Levy, "
    "Scheepers & Tily 2013): on the same studies all five rejected a true null in 3.6-5.0 %. For left vs right, "
    "which varies within every photo, the participant-level paired tests (the summary's first sentence for each "
    "measure) were calibrated too (4.6-6.0 %) and are simpler. Positive vs negative differs between photos: there "
    "a participant-level test treats the photos as fixed and rejected a true null in 14.6 % of studies (Clark "
    "1973), so only the mixed model counts. These rates are for that design; with fewer participants or photos, "
    "or other variances, rerun the calibration with your numbers. The logistic models carry a gamma(2) prior on "
    "their random-effect SDs (as blme::bglmer); the same model without it (as lme4::glmer) is shown beside each "
    "as a sensitivity check. Where a mixed model had to be simplified, the model actually fitted is named beside "
    "its result. results.json marks every test with \"recommended\": true/false.")


def _num(x, d=3):
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "–"
    return fmt_num(float(x), d)


def _p_text(v: float) -> str:
    """A p value as a table cell: '.536' / '< .001' (non-breaking space; escaped by the template)."""
    return fmt_p(v).replace("p = ", "").replace("p < ", "< ").replace(" ", chr(160))


def _cell(col, v, floatfmt: int) -> dict:
    name = str(col).lower()
    is_p = name == "p" or name.endswith("_p")
    if isinstance(v, float) and is_p and not pd.isna(v):
        return {"text": _p_text(v)}
    if isinstance(v, float) and not pd.isna(v) and float(v).is_integer() and (
            name in ("df", "n", "n_obs") or name.startswith("n_") or name.startswith("n ")):
        return {"text": str(int(v))}
    if isinstance(v, float):
        return {"text": _num(v, floatfmt)}
    text = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else v
    return {"text": str(text), "txt": isinstance(v, str)}


def _table(df: pd.DataFrame, floatfmt: int = 3, highlight: list[bool] | None = None) -> dict:
    """A DataFrame as the template's table: header names and rows of formatted cells."""
    return {"head": [str(c) for c in df.columns],
            "rows": [{"paper": bool(highlight and highlight[i]),
                      "cells": [_cell(c, v, floatfmt) for c, v in zip(df.columns, r)]}
                     for i, r in enumerate(df.itertuples(index=False, name=None))]}


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("analysis", "templates"),
                             autoescape=True, keep_trailing_newline=False)
    env.filters.update(num=_num, fmtp=fmt_p)
    env.globals.update(ci=_ci)
    return env


def _macro(name: str):
    return getattr(_env().get_template("macros.html").module, name)


def _ttest_view(name: str, res: dict) -> dict:
    title = name.replace("_", " ")
    if "error" in res:
        return {"title": title, "error": res["error"]}
    g1, g2 = res["levels"]
    groups = pd.DataFrame([{"group": g, "n": res["groups"][g]["n"], "mean": res["groups"][g]["mean"],
                            "SD": res["groups"][g]["sd"]} for g in (g1, g2)])
    rows = []
    for v in ("student", "welch"):
        r = res[v]
        rows.append({"variant": ("Student (equal variances)" if v == "student" else "Welch")
                     + (" ← paper" if v == res["paper_variant"] else ""),
                     "t": r["t"], "df": r["df"], "p": fmt_p(r["p"]).replace(" ", chr(160)),
                     f"mean diff ({g1} − {g2})": r["mean_diff"],
                     "95% CI low": r["ci_low"], "95% CI high": r["ci_high"]})
    return {"title": title, "subset": res["subset"], "groups": _table(groups),
            "variants": _table(pd.DataFrame(rows), highlight=[v == res["paper_variant"] for v in ("student", "welch")]),
            "levene": res["levene"], "d": res["cohen_d"], "apa": res["apa"]}


def _chi_view(name: str, res: dict) -> dict:
    title = name.replace("_", " ")
    counts = _table(pd.DataFrame([{"visible half": s, "correct": v["correct"], "incorrect": v["incorrect"],
                                   "accuracy": res["accuracy"][s]} for s, v in res["table"].items()]))
    if "error" in res:
        return {"title": title, "counts": counts, "error": res["error"]}
    stats_rows = pd.DataFrame([
        {"statistic": "Pearson χ² (no continuity correction) ← paper", "value": res["pearson"]["chi2"],
         "df": res["pearson"]["df"], "p": fmt_p(res["pearson"]["p"])},
        {"statistic": "Yates-corrected χ²", "value": res["yates"]["chi2"], "df": res["yates"]["df"],
         "p": fmt_p(res["yates"]["p"])},
        {"statistic": "Cramér's V", "value": res["cramers_v"], "df": "", "p": ""},
        {"statistic": f"odds ratio (left/right) [95% CI {_num(res['odds_ratio']['ci_low'])}, "
                      f"{_num(res['odds_ratio']['ci_high'])}]", "value": res["odds_ratio"]["or"], "df": "", "p": ""},
        {"statistic": "Fisher's exact" + ("" if res["fisher_p"] is not None else " (not needed: all expected ≥ 5)"),
         "value": None, "df": "", "p": fmt_p(res["fisher_p"]) if res["fisher_p"] is not None else ""},
    ])
    return {"title": title, "subset": res["subset"], "counts": counts,
            "stats": _table(stats_rows, highlight=[True, False, False, False, False]),
            "or_note": res["odds_ratio"].get("note"), "apa": res["apa"]}


def _ci(lo, hi, d=3) -> str:
    return f"[{_num(lo, d)}, {_num(hi, d)}]"


def _pl_cell(r: dict, d=3) -> str:
    if r["note"]:
        return "could not be tested: " + registry.reason(r, "no data")
    return (f"{_num(r['estimate'], d)} {_ci(r['ci_low'], r['ci_high'], d)}, "
            f"t({_num(r['df'], 0)}) = {_num(r['statistic'], 2)}, {fmt_p(r['p'])}")


def _mm_cell(m: dict, kind: str) -> str:
    if m["note"]:
        return "could not be tested: " + registry.reason(m, "no data")
    if kind == "ratio" and "ratio" in m:
        est = f"RT ratio {_num(m['ratio'])} {_ci(m['ratio_ci_low'], m['ratio_ci_high'])}"
    elif kind == "or" and "odds_ratio" in m:
        est = f"OR {_num(m['odds_ratio'])} {_ci(m['or_ci_low'], m['or_ci_high'])}"
    else:
        est = f"b = {_num(m['estimate'])} {_ci(m['ci_low'], m['ci_high'])}"
    prior = f" (logistic GLMM with a {m['prior']}; {se_name(m['se_label'])})" if m["prior"] else ""
    return f"{est}, {fmt_p(m['p'])}{prior}"


def _glmer_cell(m: dict, g: dict | None) -> str:
    """The glmer (no prior) sensitivity fit of a logistic model (row ``g``): its p beside the reported one."""
    if g is None or m["note"]:
        return "–"
    if g["note"] or pd.isna(g["p"]):
        return "not fitted: " + registry.reason(g, "no p value")
    text = f"b = {_num(g['estimate'])}, {fmt_p(g['p'])} (with the prior {fmt_p(m['p'])})"
    return text + ("; the two disagree about p < .05" if g.get("disagree_at_05") else "")


def _trial_cell(r: dict, variant: str) -> str:
    if r["note"]:
        return registry.reason(r, "–")
    if variant == "pearson":
        return f"χ²({fmt_df(r['df'])}) = {_num(r['statistic'], 2)}, {fmt_p(r['p'])}; " \
               f"OR {_num(r['estimate'])} {_ci(r['ci_low'], r['ci_high'])}"
    if variant == "logit":
        return f"b = {_num(r['estimate'])} {_ci(r['ci_low'], r['ci_high'])}, {fmt_p(r['p'])}"
    return f"{_num(r['estimate'])} {_ci(r['ci_low'], r['ci_high'])}, t({_num(r['df'], 1)}) = " \
           f"{_num(r['statistic'], 2)}, {fmt_p(r['p'])}"


# The comparison table, one line per question: its label, the row id of the paper's trial-level test and
# how that cell reads, the question's key under participant_level and mixed_models, how the model's
# estimate is shown.
COMPARISON = [
    ("RT, left − right (s)", "rt_left_vs_right.welch.p", "t", "rt", "ratio"),
    ("intensity, left − right (points)", "intensity_left_vs_right.welch.p", "t", "intensity", "coef"),
    ("accuracy, left − right (proportion)", "accuracy_left_vs_right.pearson.p", "pearson", "accuracy", "or"),
    ("RT, positive − negative emotions (s)", "rt_positive_vs_negative.student.p", "t", "rt_positive_vs_negative",
     "ratio"),
    ("accuracy, side × valence (interaction)", "accuracy_side_by_valence.trial_level.p", "logit",
     "accuracy_side_by_valence", "coef"),
]


def _comparison(results: dict) -> pd.DataFrame:
    """One row per question: the paper's trial-level test beside the participant-level test and the mixed model,
    each read from its row of the tidy table (analysis.registry)."""
    out = []
    for question, trial_id, variant, key, kind in COMPARISON:
        p = registry.find(results, f"participant_level.{key}.p")
        m = registry.find(results, f"mixed_models.{key}.p", MODEL_EXTRAS)
        g = glmer_row(results, m) if not m["note"] else None
        out.append({"question": question,
                    "trial level (paper's test; trials independent; all trials)":
                        _trial_cell(registry.find(results, trial_id), variant),
                    "participant level: difference [95% CI], paired t": _pl_cell(p)
                    + (" (recommended)" if p["recommended"] else " (not recommended)"),
                    "mixed model (recommended): estimate [95% CI], p": _mm_cell(m, kind),
                    "logistic model without the prior (glmer; sensitivity)": _glmer_cell(m, g),
                    "mixed model fitted": m["model"] or "–"})
    return pd.DataFrame(out)


def _mixed_model_view(key: str, m: dict) -> dict:
    view = {"title": f"{key.replace('_', ' ')} ({m.get('compares', '')})", "m": m, "glmer": None}
    if "error" in m:
        return view
    label = m.get("se_label", "SE")
    stat_name = "t" if m.get("df") is not None else "z"

    def row(r, fit):
        return {"fit": fit, "term": m.get("compares", m.get("term", "")), "estimate": r["coef"], label: r["se"],
                stat_name: r["z"], **({"df": r["df"]} if m.get("df") is not None else {}), "p": r["p"],
                "95% CI low": r["ci_low"], "95% CI high": r["ci_high"], "n_obs": r.get("n_obs")}

    rows = [row(m, f"with a {m['prior']} (reported)" if m.get("prior") else "reported")]
    g = m.get("glmer_sensitivity")
    if isinstance(g, dict):
        view["glmer"] = g
        if "error" not in g and g.get("p") is not None:
            rows.append(row(g, "without the prior, as lme4::glmer (sensitivity; SE of the ML fit)"))
    view["fixed"] = _table(pd.DataFrame(rows))
    if "terms" in m and isinstance(m["terms"], dict):
        view["terms"] = _table(pd.DataFrame([{"term": t, "coef": v.get("coef"), label: v.get("se"),
                                              stat_name: v.get("stat", v.get("z")),
                                              **({"df": v.get("df")} if m.get("df") is not None else {}),
                                              "p": v.get("p")} for t, v in m["terms"].items()]))
    if m.get("random_effects"):
        view["random_effects"] = _table(pd.DataFrame(m["random_effects"]), floatfmt=4)
    return view


def _mixed_model_section(key: str, m: dict) -> str:
    """One mixed model's section of the page (HTML)."""
    return str(_macro("mixed_model_section")(_mixed_model_view(key, m)))


def _cells(r: dict) -> dict:
    """estimate, SE, z or t and p of a row for the interaction table (empty, not '–', where a test has none)."""
    return {k: None if pd.isna(r[c]) else r[c]
            for k, c in (("coef", "estimate"), ("se", "se"), ("z", "statistic"), ("p", "p"))}


def _valence_view(results: dict) -> dict:
    """The side x valence interaction three ways, each from its row of the tidy table (analysis.registry)."""
    inter = results["accuracy_side_by_valence"]
    mm = registry.find(results, "mixed_models.accuracy_side_by_valence.p")
    pl = registry.find(results, "participant_level.accuracy_side_by_valence.p")
    tl = registry.find(results, "accuracy_side_by_valence.trial_level.p")
    prior = f", logistic GLMM with a {mm['prior']}" if mm["prior"] else ""
    rows = [{"test": f"mixed model{prior} (recommended)", **_cells(mm),
             "note": ("could not be tested: " + registry.reason(mm, "")) if mm["note"] else
             "difference of the log odds ratios; SE column is the " + (mm["se_label"] or "SE")}]
    g = glmer_row(results, mm) if not mm["note"] else None
    if g is not None:
        rows.append({"test": "the same model without the prior, as lme4::glmer (sensitivity)", **_cells(g),
                     "note": ("not fitted: " + registry.reason(g, "")) if g["note"] else
                     "SE of the maximum-likelihood fit" + ("; disagrees with the reported fit about p < .05"
                                                          if g.get("disagree_at_05") else "")})
    # The trial-level regression's own note (e.g. 0.5 added to an empty cell) is descriptive: from its entry.
    tl_entry, _ = registry.lookup(results, "accuracy_side_by_valence.trial_level")
    rows += [{"test": "participant level: paired t of left − right differences, positive vs negative "
                      "(not recommended)", **_cells(pl), "se": None,
              "note": registry.reason(pl, "estimate = difference in proportion correct")},
             {"test": "trial-level logistic regression (trials independent; not recommended)", **_cells(tl),
              "note": registry.reason(tl, (tl_entry or {}).get("note", "difference of the log odds ratios"))}]
    source = {"mixed_model": "mixed model", "participant_level": "participant-level test (the mixed model was "
              "not fitted)"}
    emo = registry.find(results, "accuracy_side_by_emotion.interaction.p")
    return {"tests": _table(pd.DataFrame(rows).rename(columns={"coef": "estimate", "se": "SE", "z": "z or t"})),
            "p": inter.get("p"), "source": source.get(inter.get("p_source"), "no test"),
            "emotion_table": _table(pd.DataFrame(results["accuracy_side_by_emotion"]["table"])),
            "emotion": {"error": registry.reason(emo, "") if emo["note"] else None, "chi2": emo["statistic"],
                        "df": fmt_df(emo["df"]) if not pd.isna(emo["df"]) else "", "p": emo["p"]}}


def _within_design_view(results: dict) -> dict:
    wd = results["within_design"]
    return {"design": wd.get("design"), "note": wd["note"],
            "tests": [(k, t | ({} if "error" in t else {"effects": _table(pd.DataFrame(t["effects"]))}))
                      for k, t in wd.get("tests", {}).items()]}


def _platform_view(results: dict, tables: dict) -> dict | None:
    plat = results["platform_comparison"]
    if not plat.get("compared"):
        return None
    note = plat.get("timing_note")
    return {"descriptives": _table(tables["platform_descriptives"]),
            "timing_note": note[0].upper() + note[1:] if note else None,
            "tests": [(k, t | ({} if "error" in t else {"anova": _table(pd.DataFrame(t["anova"]))}))
                      for k, t in plat["tests"].items()]}


def _flags(results: dict, tables: dict) -> dict:
    """What the page flags about the sessions (the template words it)."""
    meta, sessions = results["meta"], tables["sessions"]
    flags = {}
    if meta["n_incomplete_sessions"]:
        flags["incomplete"] = [(r.file, r.flag) for r in sessions[sessions["incomplete"]].itertuples()]
    if meta.get("n_unverified_timing_sessions"):
        flags["unverified"] = list(sessions.loc[sessions["unverified_timing"], "file"])
    if meta.get("n_browser_timing_sessions"):
        flags["browser"] = list(sessions.loc[sessions["browser_timing"], "file"])
    if meta.get("n_simulated_sessions"):
        flags["simulated"] = list(sessions.loc[sessions["simulated"], "file"])
    other = sessions[(~sessions["incomplete"]) & (sessions["flag"] != "")
                     & ~sessions.get("unverified_timing", pd.Series(False, index=sessions.index)).astype(bool)
                     & ~sessions.get("browser_timing", pd.Series(False, index=sessions.index)).astype(bool)]
    if len(other):
        flags["other"] = [(r.file, r.flag) for r in other.itertuples()]
    flags["n_invalid"] = results["exclusions"].get("n_rows_invalid", 0)
    return flags


def _sessions_view(sessions: pd.DataFrame) -> pd.DataFrame:
    """The sessions table as read in the page: the flags say what the boolean columns of sessions.csv say."""
    cols = {"file": "file", "participant": "participant", "session": "session", "platform": "platform",
            "n_rows": "trials", "n_trials_planned": "planned", "design": "design", "n_restarted": "restarted",
            "n_reshown": "reshown", "flag": "flag"}
    view = sessions.reindex(columns=list(cols)).rename(columns=cols)
    if "simulated" in sessions and sessions["simulated"].any():
        view.insert(4, "simulated", sessions["simulated"].map({True: "yes", False: ""}))
    return view


def _all_tests(results: dict, tables: dict) -> dict:
    """The tidy table of every test (analysis.registry), as read on the page: one cell per quantity."""
    t = tables["results"] if "results" in tables else registry.table(results)

    def text(value, label, d=3):
        return "" if pd.isna(value) else f"{label} = {_num(value, d)}" if label else _num(value, d)

    def estimate(r):
        if pd.isna(r.estimate):
            return ""
        ci = "" if pd.isna(r.ci_low) else f" {_ci(r.ci_low, r.ci_high)}"
        return f"{r.estimate_label}: {_num(r.estimate)}{ci}"

    def statistic(r):
        if pd.isna(r.statistic):
            return r.statistic_label if isinstance(r.statistic_label, str) else ""
        df = "" if pd.isna(r.df) else f"({fmt_df(r.df)}" + ("" if pd.isna(r.df2) else f", {fmt_df(r.df2)}") + ")"
        return f"{r.statistic_label}{df} = {_num(r.statistic, 2)}"

    view = pd.DataFrame({
        "level": t["level"], "test": t["test"], "estimate [95% CI]": [estimate(r) for r in t.itertuples()],
        "statistic": [statistic(r) for r in t.itertuples()], "p": t["p"],
        "effect size": [text(v, lab) for v, lab in zip(t["effect_size"], t["effect_size_label"])],
        "n": [("" if pd.isna(n) else f"{int(n)} {lab}") for n, lab in zip(t["n"], t["n_label"])],
        "recommended": t["recommended"].map({True: "yes", False: ""}),
        "note": t["note"].fillna("")})
    return _table(view)


def render_html(results: dict, tables: dict[str, pd.DataFrame], pngs: dict[str, bytes], apa_lines: list[str]) -> str:
    meta = results["meta"]
    excl = tables["exclusions"]
    acc = tables["per_emotion_accuracy"].pivot(index="emotion", columns="visible_half",
                                               values=["n", "n_correct", "accuracy"])
    acc.columns = [f"{b} {a}" for a, b in acc.columns]
    counts = [c for c in acc.columns if not c.endswith("accuracy")]
    acc[counts] = acc[counts].fillna(0).astype(int)

    def optional(name):
        df = tables.get(name)
        return _table(df) if df is not None and len(df) else None

    return _env().get_template("report.html").render(
        css=CSS, meta=meta, warnings=results.get("warnings") or [], flags=_flags(results, tables),
        notes=[n for n in meta["notes"] if not n.startswith("--exclude-invalid")], apa_lines=apa_lines,
        trust_note=TRUST_NOTE, comparison=_table(_comparison(results)),
        ttests=[_ttest_view(n, results[n]) for n in ("rt_left_vs_right", "rt_positive_vs_negative",
                                                     "intensity_left_vs_right")],
        chi2=[_chi_view(n, results[n]) for n in ("accuracy_left_vs_right", "accuracy_positive_left_vs_right",
                                                 "accuracy_negative_left_vs_right")],
        valence=_valence_view(results), participant_level=_table(tables["participant_level"]),
        mixed_models=[_mixed_model_view(k, m) for k, m in results["mixed_models"].items()],
        within_design=_within_design_view(results), platform=_platform_view(results, tables),
        all_tests=_all_tests(results, tables),
        per_emotion=_table(acc.reindex(tables["per_emotion_accuracy"]["emotion"].unique()).reset_index()),
        sessions=_table(_sessions_view(tables["sessions"])), left_out=optional("left_out_sessions"),
        reshown=optional("reshown_trials"), restarted=optional("restarted_trials"),
        trimming={k: (f"{v:g}" if k in ("rt_min", "rt_max") else v)
                  for k, v in results["exclusions"]["rt_trimming"].items()},
        exclusion_counts=_table(excl.groupby(["kind", "column", "reason"]).size().rename("trials").reset_index())
        if len(excl) else None, exclusions=_table(excl) if len(excl) else None,
        pngs={k: base64.b64encode(v).decode("ascii") for k, v in pngs.items()})
