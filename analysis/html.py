"""Render the report as one self-contained HTML page (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html

import pandas as pd

from .apa import fmt_num, fmt_p
from .summary import se_name

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


def _e(x) -> str:
    return html.escape(str(x))


def _num(x, d=3):
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "–"
    return fmt_num(float(x), d)


def _table(df: pd.DataFrame, floatfmt: int = 3, highlight: list[bool] | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for i, (_, r) in enumerate(df.iterrows()):
        cells = []
        for col, v in zip(df.columns, r):
            name = str(col).lower()
            is_p = name == "p" or name.endswith("_p")
            if isinstance(v, float) and is_p and not pd.isna(v):
                cells.append(f"<td>{fmt_p(v).replace('p = ', '').replace('p < ', '< ').replace(' ', chr(160))}</td>")
            elif isinstance(v, float) and not pd.isna(v) and float(v).is_integer() and (
                    name in ("df", "n", "n_obs") or name.startswith("n_") or name.startswith("n ")):
                cells.append(f"<td>{int(v)}</td>")
            elif isinstance(v, float):
                cells.append(f"<td>{_num(v, floatfmt)}</td>")
            else:
                text = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else v
                cells.append(f"<td class='txt'>{_e(text)}</td>" if isinstance(v, str) else f"<td>{_e(text)}</td>")
        cls = ' class="paper"' if highlight and highlight[i] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _img(pngs: dict, name: str, alt: str) -> str:
    if name not in pngs:
        return ""
    data = base64.b64encode(pngs[name]).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _ttest_section(name: str, res: dict) -> str:
    title = name.replace("_", " ")
    if "error" in res:
        return f"<h3>{_e(title)}</h3><p class='warn'>{_e(res['error'])}</p>"
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
    lev, d = res["levene"], res["cohen_d"]
    return (f"<h3>{_e(title)} <span class='small'>({_e(res['subset'])})</span></h3>"
            f"{_table(groups)}"
            f"{_table(pd.DataFrame(rows), highlight=[v == res['paper_variant'] for v in ('student', 'welch')])}"
            f"<p>Levene's test (mean-centred): F(1, {lev['df2']}) = {_num(lev['F'], 2)}, {fmt_p(lev['p'])}. "
            f"Cohen's d_s (pooled SD, trials as observations) = {_num(d['d'])} [95% CI {_num(d['ci_low'])}, "
            f"{_num(d['ci_high'])}].<br>"
            f"<b>In text (Welch by default):</b> {_e(res['apa'])}</p>")


def _chi_section(name: str, res: dict) -> str:
    title = name.replace("_", " ")
    tab = pd.DataFrame([{"visible half": s, "correct": v["correct"], "incorrect": v["incorrect"],
                         "accuracy": res["accuracy"][s]} for s, v in res["table"].items()])
    if "error" in res:
        return f"<h3>{_e(title)}</h3>{_table(tab)}<p class='warn'>{_e(res['error'])}</p>"
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
    note = f"<p class='small'>Note: {_e(res['odds_ratio']['note'])}.</p>" if res["odds_ratio"].get("note") else ""
    return (f"<h3>{_e(title)} <span class='small'>({_e(res['subset'])})</span></h3>{_table(tab)}"
            f"{_table(stats_rows, highlight=[True, False, False, False, False])}{note}"
            f"<p><b>In text:</b> {_e(res['apa'])}</p>")


def _ci(lo, hi, d=3) -> str:
    return f"[{_num(lo, d)}, {_num(hi, d)}]"


def _p_cell(d) -> str:
    if not isinstance(d, dict) or "p" not in d or d["p"] is None:
        return (d or {}).get("error", "–") if isinstance(d, dict) else "–"
    return fmt_p(d["p"])


def _pl_cell(r: dict, d=3) -> str:
    if not r or "error" in r:
        return "could not be tested: " + (r or {}).get("error", "no data")
    return (f"{_num(r['mean_diff'], d)} {_ci(r['ci_low'], r['ci_high'], d)}, "
            f"t({_num(r['df'], 0)}) = {_num(r['t'], 2)}, {fmt_p(r['p'])}")


def _mm_cell(m: dict, kind: str) -> str:
    if not m or "error" in m:
        return "could not be tested: " + (m or {}).get("error", "no data")
    if kind == "ratio" and "ratio" in m:
        est = f"RT ratio {_num(m['ratio'])} {_ci(m['ratio_ci_low'], m['ratio_ci_high'])}"
    elif kind == "or" and "odds_ratio" in m:
        est = f"OR {_num(m['odds_ratio'])} {_ci(m['or_ci_low'], m['or_ci_high'])}"
    else:
        est = f"b = {_num(m['coef'])} {_ci(m['ci_low'], m['ci_high'])}"
    prior = f" (logistic GLMM with a {m['prior']}; {se_name(m.get('se_label'))})" if m.get("prior") else ""
    return f"{est}, {fmt_p(m['p'])}{prior}"


def _glmer_cell(m: dict) -> str:
    """The glmer (no prior) sensitivity fit of a logistic model: its p beside the reported one."""
    g = (m or {}).get("glmer_sensitivity")
    if not isinstance(g, dict):
        return "–"
    if "error" in g or g.get("p") is None:
        return "not fitted: " + g.get("error", "no p value")
    text = f"b = {_num(g['coef'])}, {fmt_p(g['p'])} (with the prior {fmt_p(m['p'])})"
    return text + ("; the two disagree about p < .05" if g.get("disagree_at_05") else "")


def _trial_cell(r: dict, variant: str) -> str:
    if not r or "error" in r:
        return (r or {}).get("error", "–")
    if variant == "pearson":
        return f"χ²({r['pearson']['df']}) = {_num(r['pearson']['chi2'], 2)}, {fmt_p(r['pearson']['p'])}; " \
               f"OR {_num(r['odds_ratio']['or'])} {_ci(r['odds_ratio']['ci_low'], r['odds_ratio']['ci_high'])}"
    if variant == "logit":
        return f"b = {_num(r['coef'])} {_ci(r['ci_low'], r['ci_high'])}, {fmt_p(r['p'])}"
    v = r[variant]
    return f"{_num(v['mean_diff'])} {_ci(v['ci_low'], v['ci_high'])}, t({_num(v['df'], 1)}) = {_num(v['t'], 2)}, " \
           f"{fmt_p(v['p'])}"


def _comparison(results: dict) -> pd.DataFrame:
    """One row per question: the paper's trial-level test beside the participant-level test and the mixed model."""
    pl, mm = results["participant_level"], results["mixed_models"]
    inter = results.get("accuracy_side_by_valence", {})
    rows = [
        ("RT, left − right (s)", _trial_cell(results["rt_left_vs_right"], "welch"), pl["rt"], "rt", "ratio"),
        ("intensity, left − right (points)", _trial_cell(results["intensity_left_vs_right"], "welch"),
         pl["intensity"], "intensity", "coef"),
        ("accuracy, left − right (proportion)", _trial_cell(results["accuracy_left_vs_right"], "pearson"),
         pl["accuracy"], "accuracy", "or"),
        ("RT, positive − negative emotions (s)", _trial_cell(results["rt_positive_vs_negative"], "student"),
         pl.get("rt_positive_vs_negative", {}), "rt_positive_vs_negative", "ratio"),
        ("accuracy, side × valence (interaction)", _trial_cell(inter.get("trial_level", {}), "logit"),
         pl.get("accuracy_side_by_valence", {}), "accuracy_side_by_valence", "coef"),
    ]
    out = []
    for question, trial, p, key, kind in rows:
        m = mm.get(key, {})
        out.append({"question": question, "trial level (paper's test; trials independent; all trials)": trial,
                    "participant level: difference [95% CI], paired t": _pl_cell(p)
                    + (" (recommended)" if p.get("recommended") else " (not recommended)"),
                    "mixed model (recommended): estimate [95% CI], p": _mm_cell(m, kind),
                    "logistic model without the prior (glmer; sensitivity)": _glmer_cell(m),
                    "mixed model fitted": m.get("fitted_formula") or m.get("formula", "–")})
    return pd.DataFrame(out)


def _mixed_model_section(key: str, m: dict) -> str:
    title = f"{key.replace('_', ' ')} ({m.get('compares', '')})"
    if "error" in m:
        return f"<h3>{_e(title)}</h3><p class='warn'>{_e(m['error'])}</p>"
    label = m.get("se_label", "SE")
    stat_name = "t" if m.get("df") is not None else "z"

    def row(r, fit):
        return {"fit": fit, "term": m.get("compares", m.get("term", "")), "estimate": r["coef"], label: r["se"],
                stat_name: r["z"], **({"df": r["df"]} if m.get("df") is not None else {}), "p": r["p"],
                "95% CI low": r["ci_low"], "95% CI high": r["ci_high"], "n_obs": r.get("n_obs")}

    rows = [row(m, f"with a {m['prior']} (reported)" if m.get("prior") else "reported")]
    g = m.get("glmer_sensitivity")
    if isinstance(g, dict) and "error" not in g and g.get("p") is not None:
        rows.append(row(g, "without the prior, as lme4::glmer (sensitivity; SE of the ML fit)"))
    fixed = pd.DataFrame(rows)
    parts = [f"<h3>{_e(title)}</h3>",
             f"<p class='small'>{_e(m.get('model', ''))}; subset: {_e(m.get('subset', ''))}.<br>"
             f"Requested: <code>{_e(m.get('requested_formula') or m.get('formula', ''))}</code><br>"
             f"Fitted: <code>{_e(m.get('fitted_formula') or m.get('formula', ''))}</code><br>"
             f"Converged: {_e(m.get('converged', '–'))}; singular fit: {_e(m.get('singular', '–'))}.</p>"]
    if m.get("simplifications"):
        parts.append("<p><b>Simplified from the requested model:</b> "
                     + "; ".join(_e(x) for x in m["simplifications"]) + ".</p>")
    parts.append(_table(fixed))
    if isinstance(g, dict):
        if "error" in g or g.get("p") is None:
            parts.append(f"<p class='small'>Sensitivity fit without the prior (as lme4::glmer) not fitted: "
                         f"{_e(g.get('error', 'no p value'))}.</p>")
        else:
            parts.append(f"<p class='small'>Sensitivity fit without the prior: <code>"
                         f"{_e(g.get('fitted_formula') or g.get('formula', ''))}</code>"
                         + (f"; simplified: {_e('; '.join(g['simplifications']))}" if g.get("simplifications") else "")
                         + ".</p>")
            if g.get("disagree_at_05"):
                parts.append(f"<p class='warn'>With and without the prior the model disagrees about p &lt; .05 "
                             f"({_e(fmt_p(m['p']))} vs {_e(fmt_p(g['p']))}): read this result as inconclusive.</p>")
    if "terms" in m and isinstance(m["terms"], dict):
        terms = pd.DataFrame([{"term": t, "coef": v.get("coef"), label: v.get("se"),
                               stat_name: v.get("stat", v.get("z")),
                               **({"df": v.get("df")} if m.get("df") is not None else {}),
                               "p": v.get("p")} for t, v in m["terms"].items()])
        parts.append("<p class='small'>All fixed effects:</p>" + _table(terms))
    if m.get("random_effects"):
        parts.append("<p class='small'>Random effects (variance components):</p>"
                     + _table(pd.DataFrame(m["random_effects"]), floatfmt=4))
    if m.get("warnings"):
        parts.append(f"<p class='small'>Optimizer messages: {_e('; '.join(m['warnings']))}</p>")
    return "".join(parts)


def _valence_section(results: dict) -> str:
    inter = results["accuracy_side_by_valence"]
    tl = inter["trial_level"]
    parts = ["<h2>Does the side effect depend on the emotion? (not tested in the paper)</h2>",
             "<p class='small'>The paper's conclusion (a left advantage for positive but not for negative emotions) "
             "rests on one significant and one non-significant χ². The difference between a significant and a "
             "non-significant result is not itself significant (Gelman &amp; Stern 2006); the claim needs the "
             "side × valence interaction, tested here three ways. Positive = happiness; negative = fear, disgust, "
             "sadness, anger.</p>"]
    mm = inter["mixed_model"]
    prior = f", logistic GLMM with a {mm['prior']}" if mm.get("prior") else ""
    rows = [{"test": f"mixed model{prior} (recommended)", **{k: mm.get(k) for k in ("coef", "se", "z", "p")},
             "note": ("could not be tested: " + mm["error"]) if "error" in mm else
             "difference of the log odds ratios; SE column is the " + mm.get("se_label", "SE")}]
    g = mm.get("glmer_sensitivity")
    if isinstance(g, dict):
        rows.append({"test": "the same model without the prior, as lme4::glmer (sensitivity)",
                     **{k: g.get(k) for k in ("coef", "se", "z", "p")},
                     "note": ("not fitted: " + g["error"]) if "error" in g else
                     "SE of the maximum-likelihood fit" + ("; disagrees with the reported fit about p < .05"
                                                          if g.get("disagree_at_05") else "")})
    rows += [{"test": "participant level: paired t of left − right differences, positive vs negative "
                      "(not recommended)",
              "coef": inter["participant_level"].get("mean_diff"), "se": None,
              "z": inter["participant_level"].get("t"), "p": inter["participant_level"].get("p"),
              "note": inter["participant_level"].get("error", "estimate = difference in proportion correct")},
             {"test": "trial-level logistic regression (trials independent; not recommended)", "coef": tl.get("coef"),
              "se": tl.get("se"), "z": tl.get("z"), "p": tl.get("p"),
              "note": tl.get("error", tl.get("note", "difference of the log odds ratios"))}]
    parts.append(_table(pd.DataFrame(rows).rename(columns={"coef": "estimate", "se": "SE", "z": "z or t"})))
    source = {"mixed_model": "mixed model", "participant_level": "participant-level test (the mixed model was "
              "not fitted)"}
    if inter.get("p") is None:
        parts.append("<p class='warn'>Could not be tested: neither the mixed model nor the participant-level test "
                     "could be computed, so no p value is reported for the interaction "
                     "(<code>accuracy_side_by_valence.p</code> is null).</p>")
    else:
        parts.append(f"<p>Reported as the interaction test (<code>accuracy_side_by_valence.p</code> in "
                     f"results.json): {_e(fmt_p(inter['p']))}, from the "
                     f"{_e(source.get(inter['p_source'], 'no test'))}.</p>")
    emo = results["accuracy_side_by_emotion"]
    parts.append("<h3>Side × emotion (table)</h3><p class='small'>Per emotion: accuracy by side, odds ratio "
                 "left/right with a Woolf 95% CI and Pearson χ² (trial level, like the paper).</p>")
    parts.append(_table(pd.DataFrame(emo["table"])))
    i = emo["interaction"]
    if "error" in i:
        parts.append(f"<p class='warn'>{_e(i['error'])}</p>")
    else:
        parts.append(f"<p>Likelihood-ratio test of side × emotion (logistic regression, trials independent): "
                     f"χ²({i['df']}) = {_num(i['chi2'], 2)}, {fmt_p(i['p'])}.</p>")
    return "".join(parts)


def _within_design_section(results: dict, pngs: dict) -> str:
    wd = results["within_design"]
    parts = ["<h2>Poser's half or image side?</h2>", f"<p>{_e(wd['note'])}</p>"]
    if wd.get("design") != "crossed":
        return "".join(parts)
    parts.append("<p class='small'>2 × 2 repeated-measures ANOVA (pingouin) on participant means of each "
                 "poser's-half × image-side cell; generalised η² (ges).</p>")
    for key, t in wd["tests"].items():
        parts.append(f"<h3>{_e(key)} <span class='small'>({_e(t.get('subset', ''))}, "
                     f"n = {t['n_participants']})</span></h3>")
        parts.append(f"<p class='warn'>{_e(t['error'])}</p>" if "error" in t else _table(pd.DataFrame(t["effects"])))
    parts.append(_img(pngs, "half_by_image_side", "poser's half by image side"))
    return "".join(parts)


def _platform_section(results: dict, tables: dict, pngs: dict) -> str:
    plat = results["platform_comparison"]
    if not plat.get("compared"):
        return ""
    parts = ["<h2>Lab vs online sessions</h2>",
             "<p class='small'>Side effect by platform on participant means: mixed ANOVA (side within, platform "
             "between; pingouin) and Welch's t-test of the participants' left − right differences between "
             "platforms.</p>", _table(tables["platform_descriptives"])]
    if plat.get("timing_note"):
        parts.append(f"<p class='warn'>{_e(plat['timing_note'][0].upper() + plat['timing_note'][1:])}.</p>")
    for key, t in plat["tests"].items():
        parts.append(f"<h3>{_e(key)} <span class='small'>({_e(t.get('subset', ''))})</span></h3>")
        if "error" in t:
            parts.append(f"<p class='warn'>{_e(t['error'])}</p>")
            continue
        parts.append(_table(pd.DataFrame(t["anova"])))
        w = t["welch"]
        parts.append(f"<p>Difference of the left − right differences ({_e(' − '.join(t['platforms']))}): "
                     f"{_num(w['diff_of_diffs'])} {_ci(w['ci_low'], w['ci_high'])}, Welch t({_num(w['df'], 2)}) = "
                     f"{_num(w['t'], 2)}, {fmt_p(w['p'])}.</p>")
    parts.append(_img(pngs, "platform_side_effects", "side effect by platform"))
    return "".join(parts)


def _flags(results: dict, tables: dict) -> list[str]:
    meta, sessions = results["meta"], tables["sessions"]
    flags = []
    if meta["n_incomplete_sessions"]:
        bad = sessions[sessions["incomplete"]]
        flags.append(f"{meta['n_incomplete_sessions']} incomplete (aborted) session(s) are analysed with the trials "
                     f"they have: " + ", ".join(f"{_e(r.file)} ({_e(r.flag)})" for r in bad.itertuples()))
    if meta.get("n_unverified_timing_sessions"):
        bad = sessions[sessions["unverified_timing"]]
        flags.append(f"<b>{meta['n_unverified_timing_sessions']} session(s) ran on a display whose timing was not "
                     f"verified</b> (allow_unlocked_display): fixation and stimulus durations are not guaranteed. "
                     + ", ".join(_e(f) for f in bad["file"]))
    if meta.get("n_browser_timing_sessions"):
        bad = sessions[sessions["browser_timing"]]
        flags.append(f"<b>{meta['n_browser_timing_sessions']} web session(s): browser timing, not verified</b> "
                     "(stimulus duration and RT depend on the participant's browser and display): "
                     + ", ".join(_e(f) for f in bad["file"]))
    if meta.get("n_simulated_sessions"):
        flags.append(f"<b>{meta['n_simulated_sessions']} session(s) are simulated data</b>, included because of "
                     "--include-simulated: " + ", ".join(_e(f) for f in sessions.loc[sessions["simulated"], "file"]))
    other = sessions[(~sessions["incomplete"]) & (sessions["flag"] != "")
                     & ~sessions.get("unverified_timing", pd.Series(False, index=sessions.index)).astype(bool)
                     & ~sessions.get("browser_timing", pd.Series(False, index=sessions.index)).astype(bool)]
    if len(other):
        flags.append("Sessions with a flag: " + ", ".join(f"{_e(r.file)} ({_e(r.flag)})" for r in other.itertuples()))
    n_invalid = results["exclusions"].get("n_rows_invalid", 0)
    if n_invalid:
        flags.append(f"{n_invalid} row(s) were excluded (--exclude-invalid); see <a href='#exclusions'>Exclusions</a>.")
    if meta.get("n_reshown_trials"):
        flags.append(f"{meta['n_reshown_trials']} trial(s) were shown again after a stopped session (kept; "
                     "--exclude-reshown leaves them out; listed under <a href='#sessions'>Sessions</a>).")
    if meta.get("n_restarted_trials"):
        flags.append(f"{meta['n_restarted_trials']} trial(s) were restarted during the session (kept; listed under "
                     "<a href='#sessions'>Sessions</a>).")
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


def render_html(results: dict, tables: dict[str, pd.DataFrame], pngs: dict[str, bytes], apa_lines: list[str]) -> str:
    meta = results["meta"]
    sessions = tables["sessions"]
    excl = tables["exclusions"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Half-face experiment report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>Half-face expression experiment: analysis report</h1>",
             f"<p class='small'>Generated {_e(meta['generated'])} by <code>python -m analysis.report</code>. "
             f"{meta['n_participants']} participants, {meta['n_sessions']} sessions, {meta['n_trials']} trials "
             f"analysed.</p>"]
    if results.get("warnings"):
        parts.append("<div class='warn'><b>Warnings: what the analysis changed or left out</b><ul>"
                     + "".join(f"<li>{_e(w)}</li>" for w in results["warnings"]) + "</ul></div>")
    parts += [f"<div class='warn'>{f}</div>" for f in _flags(results, tables)]
    parts += [f"<div class='info'>{_e(n)}</div>" for n in meta["notes"] if not n.startswith("--exclude-invalid")]
    parts.append("<h2>Summary</h2>" + "".join(f"<p class='apa'>{_e(line)}</p>" for line in apa_lines))
    parts.append(f"<div class='note'>{_e(TRUST_NOTE)}</div>")
    parts.append("<h2>Paper's tests next to the better-founded ones</h2>")
    parts.append(_table(_comparison(results)))
    parts.append("<h2>The paper's t-tests (§3.1.4)</h2><p class='small'>Trials: every answered trial, the paper's "
                 "rule (no RT trimming: its intensity test has df 2517.15 for 2,520 trials), so these are the "
                 "paper's statistics on these logs; the recommended RT analyses use the RT window instead. Both "
                 "variants are shown; the highlighted row is the one the paper reports. Welch's test is the default "
                 "in the text because it does not assume equal variances.</p>")
    for name in ("rt_left_vs_right", "rt_positive_vs_negative", "intensity_left_vs_right"):
        parts.append(_ttest_section(name, results[name]))
    parts.append("<h2>The paper's χ² tests of accuracy (§3.1.4)</h2><p class='small'>Every answered trial, as "
                 "in the paper.</p>")
    for name in ("accuracy_left_vs_right", "accuracy_positive_left_vs_right", "accuracy_negative_left_vs_right"):
        parts.append(_chi_section(name, results[name]))
    parts.append(_valence_section(results))
    parts.append("<h2>Participant-level paired tests</h2><p class='small'>One mean per participant and condition "
                 "(RT on correct trials; accuracy = proportion correct), paired t-test (pingouin) of the contrast "
                 "shown; Wilcoxon signed-rank p as a distribution-free check. accuracy_side_by_valence: each "
                 "participant's left − right accuracy difference on positive vs negative trials.</p>")
    parts.append("<p class='small'>d_z = mean difference / SD of the differences (the paired test's effect size); "
                 "d_av = mean difference / mean of the two conditions' SDs (Lakens 2013).</p>")
    parts.append(_table(tables["participant_level"]))
    parts.append(_img(pngs, "participant_means", "per-participant means left vs right"))
    parts.append("<h2>Mixed-effects models (participant and photo as crossed random effects)</h2>"
                 "<p class='small'>RT: linear mixed model of log RT (correct trials), so the effect is a ratio. "
                 "Intensity: linear mixed model on the 1–5 rating. Accuracy: logistic mixed model. Side "
                 "coefficients are left minus right; valence coefficients positive minus negative. Each model "
                 "shows the random-effects structure requested, the one fitted and why it was simplified.</p>")
    parts += [_mixed_model_section(k, m) for k, m in results["mixed_models"].items()]
    parts.append(_within_design_section(results, pngs))
    parts.append(_platform_section(results, tables, pngs))
    parts.append("<h2>Per-emotion breakdown</h2>")
    parts.append(_img(pngs, "accuracy_by_emotion", "accuracy by emotion and side"))
    acc = tables["per_emotion_accuracy"].pivot(index="emotion", columns="visible_half",
                                               values=["n", "n_correct", "accuracy"])
    acc.columns = [f"{b} {a}" for a, b in acc.columns]
    counts = [c for c in acc.columns if not c.endswith("accuracy")]
    acc[counts] = acc[counts].fillna(0).astype(int)
    parts.append(_table(acc.reindex(tables["per_emotion_accuracy"]["emotion"].unique()).reset_index()))
    parts.append(_img(pngs, "confusion_matrices", "confusion matrices per side"))
    parts.append("<h2>Distributions</h2>")
    for name, alt in (("rt_distribution", "RT distributions"), ("rt_by_emotion", "RT by emotion"),
                      ("intensity_distribution", "intensity ratings")):
        parts.append(_img(pngs, name, alt))
    parts.append("<h2 id='sessions'>Sessions</h2>")
    parts.append(_table(_sessions_view(sessions)))
    if len(tables.get("left_out_sessions", [])):
        parts.append("<h3>Sessions left out</h3><p class='small'>Not analysed; rerun with --include-simulated to "
                     "include simulated sessions.</p>" + _table(tables["left_out_sessions"]))
    if len(tables.get("reshown_trials", [])):
        parts.append("<h3>Trials shown again after a stopped session (kept; --exclude-reshown leaves them out)</h3>"
                     + _table(tables["reshown_trials"]))
    if len(tables.get("restarted_trials", [])):
        parts.append("<h3>Restarted trials (kept)</h3>" + _table(tables["restarted_trials"]))
    parts.append("<h2 id='exclusions'>Exclusions</h2>")
    trim = results["exclusions"]["rt_trimming"]
    parts.append(f"<p class='small'>RT trimming rule: trials with rt &lt; {trim['rt_min']:g} s (anticipations) or "
                 f"&gt; {trim['rt_max']:g} s (lapses) are left out of the recommended RT analyses only "
                 f"(--rt-min/--rt-max): {trim['n_below_min']} below, {trim['n_above_max']} above. Intensity and "
                 f"accuracy keep every answered trial, and the paper's tests use every trial (the paper's rule). "
                 f"Trials: {meta['n_trials']} analysed; RT analyses: {meta.get('n_correct_trials_rt', '–')} of "
                 f"{meta.get('n_correct_trials', '–')} correct trials.</p>")
    if len(excl):
        counts = excl.groupby(["kind", "column", "reason"]).size().rename("trials").reset_index()
        parts.append(_table(counts))
        parts.append("<p class='small'>Line = line in the CSV file (header = line 1); data row = line − 1.</p>")
        parts.append(_table(excl))
    else:
        parts.append("<p>No rows were excluded.</p>")
    if meta.get("computation_messages"):
        parts.append("<p class='small'>Messages from the statistics libraries (not errors of the logs): "
                     + _e("; ".join(meta["computation_messages"])) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
