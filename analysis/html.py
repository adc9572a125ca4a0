"""Render the report as one self-contained HTML page (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html

import pandas as pd

from .apa import fmt_num, fmt_p

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
pre.apa{background:#f6f6f6;padding:10px;white-space:pre-wrap;font-size:0.88em}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.small{color:#666;font-size:0.85em}
"""

TRUST_NOTE = (
    "Which result to trust: the paper's tests (trial level) count each of a participant's ~140 trials as an "
    "independent observation. Trials from the same person and the same photo are correlated, so those "
    "p-values are too small (pseudoreplication; Judd, Westfall &amp; Kenny 2012). The participant-level paired "
    "tests use one value per person and side; the mixed models keep every trial but add random intercepts for "
    "participant and photo, so they generalise to new people <em>and</em> new photos. When they disagree with "
    "the paper's tests, trust the mixed model (and the participant-level test), not the trial-level p-value.")


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
            f"Cohen's d = {_num(d['d'])} [95% CI {_num(d['ci_low'])}, {_num(d['ci_high'])}].<br>"
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
    return (f"<h3>{_e(title)} <span class='small'>({_e(res['subset'])})</span></h3>{_table(tab)}"
            f"{_table(stats_rows, highlight=[True, False, False, False, False])}"
            f"<p><b>In text:</b> {_e(res['apa'])}</p>")


def _comparison(results: dict) -> pd.DataFrame:
    pl, mm = results["participant_level"], results["mixed_models"]

    def p_of(d):
        return fmt_p(d["p"]) if d and "p" in d else _e(d.get("error", "–"))

    rows = [
        {"question": "RT, left vs right", "paper's test (trials)": p_of(results["rt_left_vs_right"].get("welch", {})),
         "participant-level paired t": p_of(pl["rt"]), "mixed model": p_of(mm["rt"]),
         "mixed-model estimate": (f"RT ratio left/right {_num(mm['rt']['ratio'])}" if "ratio" in mm["rt"] else "–")},
        {"question": "intensity, left vs right",
         "paper's test (trials)": p_of(results["intensity_left_vs_right"].get("welch", {})),
         "participant-level paired t": p_of(pl["intensity"]), "mixed model": p_of(mm["intensity"]),
         "mixed-model estimate": (f"{_num(mm['intensity']['coef'])} rating points"
                                  if "coef" in mm["intensity"] else "–")},
        {"question": "accuracy, left vs right",
         "paper's test (trials)": p_of(results["accuracy_left_vs_right"].get("pearson", {})),
         "participant-level paired t": p_of(pl["accuracy"]), "mixed model": p_of(mm["accuracy"]),
         "mixed-model estimate": (f"odds ratio {_num(mm['accuracy']['odds_ratio'])}"
                                  if "odds_ratio" in mm["accuracy"] else "–")},
    ]
    return pd.DataFrame(rows)


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
    flags = []
    if meta["n_incomplete_sessions"]:
        bad = sessions[sessions["incomplete"]]
        flags.append(f"{meta['n_incomplete_sessions']} incomplete (aborted) session(s) are analysed with the trials "
                     f"they have: " + ", ".join(f"{_e(r.file)} ({_e(r.flag)})" for r in bad.itertuples()))
    nosc = sessions[(~sessions["incomplete"]) & (sessions["flag"] != "")]
    if len(nosc):
        flags.append("Sessions with a flag: " + ", ".join(f"{_e(r.file)} ({_e(r.flag)})" for r in nosc.itertuples()))
    if len(excl):
        flags.append(f"{results['exclusions']['n_rows']} row(s) were excluded (--exclude-invalid) for "
                     f"{results['exclusions']['n_problems']} problem(s); see <a href='#exclusions'>Exclusions</a>.")
    flags += [_e(n) for n in meta["notes"] if not n.startswith("--exclude-invalid")]
    parts += [f"<div class='warn'>{f}</div>" for f in flags]
    parts.append("<h2>Summary</h2><pre class='apa'>" + _e("\n".join(apa_lines)) + "</pre>")
    parts.append(f"<div class='note'>{TRUST_NOTE}</div>")
    parts.append("<h2>Paper's tests next to the better-founded ones</h2>")
    parts.append(_table(_comparison(results)))
    parts.append("<h2>The paper's t-tests (§3.1.4)</h2><p class='small'>Both variants are shown; the highlighted "
                 "row is the one the paper reports. Welch's test is the default in the text because it does not "
                 "assume equal variances.</p>")
    for name in ("rt_left_vs_right", "rt_positive_vs_negative", "intensity_left_vs_right"):
        parts.append(_ttest_section(name, results[name]))
    parts.append("<h2>The paper's χ² tests of accuracy (§3.1.4)</h2>")
    for name in ("accuracy_left_vs_right", "accuracy_positive_left_vs_right", "accuracy_negative_left_vs_right"):
        parts.append(_chi_section(name, results[name]))
    parts.append("<h2>Participant-level paired tests</h2><p class='small'>One mean per participant and side "
                 "(RT on correct trials; accuracy = proportion correct), left − right, paired t-test "
                 "(pingouin); Wilcoxon signed-rank p as a distribution-free check.</p>")
    parts.append(_table(tables["participant_level"].drop(columns=["error"], errors="ignore")))
    parts.append(_img(pngs, "participant_means", "per-participant means left vs right"))
    parts.append("<h2>Mixed-effects models (participant and photo as crossed random effects)</h2>"
                 "<p class='small'>RT: linear mixed model of log RT (correct trials), so the effect is a ratio. "
                 "Intensity: linear mixed model on the 1–5 rating. Accuracy: Bayesian logistic mixed model "
                 "(statsmodels BinomialBayesMixedGLM, variational Bayes; z from posterior mean/SD). "
                 "Coefficients are left minus right.</p>")
    parts.append(_table(tables["mixed_models"].drop(columns=["error"], errors="ignore")))
    warn = {k: v.get("warnings") for k, v in results["mixed_models"].items() if v.get("warnings")}
    if warn:
        parts.append("<p class='small'>Optimizer messages: " + _e(warn) + "</p>")
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
    parts.append("<h2>Sessions</h2>")
    parts.append(_table(sessions))
    parts.append("<h2 id='exclusions'>Exclusions</h2>")
    if len(excl):
        counts = excl.groupby(["column", "reason"]).size().rename("problems").reset_index()
        parts.append(_table(counts))
        parts.append("<p class='small'>Line = line in the CSV file (header = line 1); data row = line − 1.</p>")
        parts.append(_table(excl))
    else:
        parts.append("<p>No rows were excluded.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
