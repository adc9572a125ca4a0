"""The report's summary as sentences a results section could use (APA 7 style).

Pure text from the ``results.json`` dict: no statistics are computed here. The
participant-level test carries the verdict ("differed significantly"); the mixed
model is reported beside it with the model that was actually fitted, because a
reader must be able to see what was simplified.
"""

from __future__ import annotations

import math

from .apa import apa_t, fmt_num, fmt_p

ALPHA = 0.05
# How the summary qualifies the paper's trial-level tests. Figures: benchmarks/RESULTS.md,
# "Calibration" (500 simulated null studies of the paper's design; python -m analysis.calibration).
TRIAL_LEVEL_CAVEAT = ("which treat every trial as an independent observation and, on simulated studies "
                      "without any true effect, reject at 10-20 % instead of 5 %")
SIDE_MEASURES = {
    # key: (noun for the means, unit, decimals, (more, less) wording of left vs right)
    "rt": ("mean correct-trial RT", "s", 3, ("more slowly", "faster")),
    "intensity": ("mean intensity rating", "rating points", 2, ("as more intense", "as less intense")),
    "accuracy": ("proportion correct", "", 3, ("more accurately", "less accurately")),
}
VERB = {"rt": "responded to", "intensity": "rated", "accuracy": "recognised"}


def _ok(d) -> bool:
    return isinstance(d, dict) and "error" not in d and d.get("p") is not None and not _nan(d.get("p"))


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def ci(lo, hi, d=2) -> str:
    return f"95% CI [{fmt_num(lo, d)}, {fmt_num(hi, d)}]"


def mixed_stat(mm: dict, d: int = 3) -> str:
    """'b = 0.26, SE = 0.05, z = 4.91, p < .001' (t(df) when the model gives denominator df)."""
    label = mm.get("se_label", "SE")
    df = mm.get("df")
    stat = (apa_t(mm["z"], df, mm["p"]) if not _nan(df) and df is not None
            else f"z = {fmt_num(mm['z'])}, {fmt_p(mm['p'])}")
    return f"b = {fmt_num(mm['coef'], d)}, {label} = {fmt_num(mm['se'], d)}, {stat}"


def _model_name(mm: dict) -> str:
    """'a logistic mixed model (correct ~ side + (1 + side || participant) + ...)': the model actually fitted."""
    formula = mm.get("fitted_formula") or mm.get("formula", "")
    kind = "logistic mixed model" if "logistic" in mm.get("model", "") or "logit" in formula else "linear mixed model"
    return f"a {kind} ({formula})"


def _side_sentence(key: str, pl: dict, mm: dict) -> str:
    noun, unit, d, (more, less) = SIDE_MEASURES[key]
    u = f" {unit}" if unit else ""
    if not _ok(pl):
        text = f"The participant-level test of {noun} was not computed ({pl.get('error', 'no data')})."
    else:
        m = pl["means"]
        diff = (f"difference {fmt_num(pl['mean_diff'], d)}{u}, {ci(pl['ci_low'], pl['ci_high'], d)}, "
                f"{apa_t(pl['t'], pl['df'], pl['p'])}, d = {fmt_num(pl['cohen_d'])}")
        means = f"M = {fmt_num(m['left'], d)} vs {fmt_num(m['right'], d)}{u}"
        if pl["p"] < ALPHA:
            # For RT a positive left − right difference means slower responses to the left half.
            word = more if pl["mean_diff"] > 0 else less
            text = (f"Participants {VERB[key]} left half-faces {word} than right half-faces ({noun}, {means}; "
                    f"{diff}; paired t-test on participant means, n = {pl['n_participants']}).")
        else:
            text = (f"The {noun} did not differ significantly between left and right half-faces ({means}; {diff}; "
                    f"paired t-test on participant means, n = {pl['n_participants']}).")
    if _ok(mm):
        est = ""
        if key == "rt" and "ratio" in mm:
            est = (f"RTs to left half-faces were {fmt_num(mm['ratio'], 3)} times those to right half-faces, "
                   f"{ci(mm['ratio_ci_low'], mm['ratio_ci_high'], 3)}; ")
        elif key == "accuracy" and "odds_ratio" in mm:
            est = (f"the odds of a correct answer were {fmt_num(mm['odds_ratio'])} times as high for left half-faces, "
                   f"{ci(mm['or_ci_low'], mm['or_ci_high'])}; ")
        elif key == "intensity":
            est = (f"the left − right difference was {fmt_num(mm['coef'])} rating points, "
                   f"{ci(mm['ci_low'], mm['ci_high'])}; ")
        text += f" In {_model_name(mm)}, {est}{mixed_stat(mm)}."
    elif isinstance(mm, dict) and mm.get("error"):
        text += f" The mixed model was not fitted ({mm['error']})."
    return text


def _valence_interaction(res: dict) -> str:
    inter = res.get("accuracy_side_by_valence", {})
    tl, mm, pl = inter.get("trial_level", {}), inter.get("mixed_model", {}), inter.get("participant_level", {})
    parts = []
    if _ok(mm):
        parts.append(f"side × valence interaction in {_model_name(mm)}: {mixed_stat(mm)}")
    if _ok(pl):
        parts.append(f"participant level, left − right accuracy difference for positive minus negative emotions "
                     f"{fmt_num(pl['mean_diff'], 3)}, {ci(pl['ci_low'], pl['ci_high'], 3)}, "
                     f"{apa_t(pl['t'], pl['df'], pl['p'])}")
    if _ok(tl):
        parts.append(f"trial-level logistic regression: b = {fmt_num(tl['coef'], 3)}, SE = {fmt_num(tl['se'], 3)}, "
                     f"z = {fmt_num(tl['z'])}, {fmt_p(tl['p'])}")
    if not parts:
        why = "; ".join(dict.fromkeys(r["error"] for r in (mm, pl, tl) if isinstance(r, dict) and r.get("error")))
        return f"The side × valence interaction for accuracy could not be tested ({why or 'no data'})."
    p = inter.get("p")
    verdict = ("The left-half accuracy advantage differed significantly between positive and negative emotions"
               if p is not None and p < ALPHA else
               "The left-half accuracy advantage did not differ significantly between positive and negative emotions")
    text = f"{verdict} ({'; '.join(parts)})."
    pos = res.get("accuracy_positive_left_vs_right", {}).get("pearson", {}).get("p")
    neg = res.get("accuracy_negative_left_vs_right", {}).get("pearson", {}).get("p")
    if p is not None and p >= ALPHA and pos is not None and neg is not None and (pos < ALPHA) != (neg < ALPHA):
        text += (" A significant side effect in one valence and a non-significant one in the other therefore "
                 "does not show that the side effect depends on valence (Gelman & Stern 2006).")
    return text


def _rt_valence(res: dict) -> str:
    """Positive vs negative RT. Valence varies between photos, not within them, so a participant-level
    test treats the photos as fixed (Clark 1973): the verdict comes from the mixed model, which has
    a photo random effect, and the participant-level test is given as a description."""
    pl = res["participant_level"].get("rt_positive_vs_negative", {})
    mm = res["mixed_models"].get("rt_positive_vs_negative", {})
    parts = []
    judge = mm if _ok(mm) else pl
    if _ok(judge):
        diff = judge["coef"] if judge is mm else judge["mean_diff"]
        parts.append(f"Correct responses to positive emotions were {'faster' if diff < 0 else 'slower'} than to "
                     "negative emotions" if judge["p"] < ALPHA else
                     "Correct-trial RT did not differ significantly between positive and negative emotions")
    if _ok(mm):
        ratio = (f"RTs to positive emotions were {fmt_num(mm['ratio'], 3)} times those to negative ones, "
                 f"{ci(mm['ratio_ci_low'], mm['ratio_ci_high'], 3)}; " if "ratio" in mm else "")
        parts.append(f"in {_model_name(mm)}, {ratio}{mixed_stat(mm)}")
    if _ok(pl):
        means = f"M = {fmt_num(pl['means']['positive'], 3)} vs {fmt_num(pl['means']['negative'], 3)} s"
        parts.append(f"participant means {means}, difference {fmt_num(pl['mean_diff'], 3)} s, "
                     f"{ci(pl['ci_low'], pl['ci_high'], 3)}, paired {apa_t(pl['t'], pl['df'], pl['p'])}"
                     + (" (this test treats the photos as fixed, so it overstates the evidence)" if _ok(mm) else ""))
    if not parts:
        why = "; ".join(dict.fromkeys(r["error"] for r in (pl, mm) if r.get("error")))
        return f"RT for positive vs negative emotions could not be compared ({why or 'no data'})."
    return f"{parts[0]}: {'; '.join(parts[1:])}." if len(parts) > 1 else f"{parts[0]}."


def _trial_level(res: dict) -> str:
    bits = []
    for key, label in (("rt_left_vs_right", "RT"), ("intensity_left_vs_right", "intensity")):
        w = res.get(key, {}).get("welch")
        if w:
            bits.append(f"{label}, Welch {apa_t(w['t'], w['df'], w['p'])}")
    c = res.get("accuracy_left_vs_right", {})
    if "pearson" in c:
        bits.append(f"accuracy, χ²({c['pearson']['df']}, N = {c['n']}) = {fmt_num(c['pearson']['chi2'])}, "
                    f"{fmt_p(c['pearson']['p'])}")
    if not bits:
        return ""
    return f"For comparison with the paper, the trial-level tests, {TRIAL_LEVEL_CAVEAT}, gave: " + "; ".join(bits) + "."


def _sample(res: dict) -> str:
    meta, ex = res["meta"], res["exclusions"]
    text = (f"The analysis includes {meta['n_participants']} participants ({meta['n_sessions']} sessions, "
            f"{meta['n_trials']} trials).")
    trim = ex.get("rt_trimming", {})
    n_trim = trim.get("n_below_min", 0) + trim.get("n_above_max", 0)
    n_invalid = ex.get("n_rows_invalid", 0)
    if n_trim or n_invalid:
        parts = []
        if n_invalid:
            parts.append(f"{n_invalid} invalid")
        if n_trim:
            parts.append(f"{n_trim} with RTs outside {fmt_num(trim['rt_min'], 1)}–{fmt_num(trim['rt_max'], 1)} s")
        text += f" Excluded trials: {', '.join(parts)}."
    if meta.get("n_incomplete_sessions"):
        text += (f" {meta['n_incomplete_sessions']} session(s) were incomplete and are analysed with the trials "
                 "they have.")
    if meta.get("n_simulated_sessions"):
        text += f" {meta['n_simulated_sessions']} session(s) are simulated data (--include-simulated)."
    return text


def summary_sentences(results: dict) -> list[str]:
    """Paragraphs for the top of the report and the terminal."""
    pl, mm = results["participant_level"], results["mixed_models"]
    out = [_sample(results)]
    out += [_side_sentence(k, pl.get(k, {}), mm.get(k, {})) for k in SIDE_MEASURES]
    out.append(_valence_interaction(results))
    out.append(_rt_valence(results))
    wd = results.get("within_design", {})
    if wd.get("design") == "crossed":
        for key, t in wd.get("tests", {}).items():
            if "effects" in t:
                eff = "; ".join(f"{e['effect']}, F({e['df1']}, {e['df2']}) = {fmt_num(e['F'])}, {fmt_p(e['p'])}"
                                for e in t["effects"])
                out.append(f"Poser's half × image side ({key}, 2 × 2 repeated-measures ANOVA on participant means, "
                           f"n = {t['n_participants']}): {eff}.")
    elif wd.get("note"):
        out.append(wd["note"])
    plat = results.get("platform_comparison", {})
    if plat.get("compared"):
        for key, t in plat.get("tests", {}).items():
            if "welch" in t:
                w = t["welch"]
                ns = ", ".join(f"{p}: n = {n}" for p, n in t["n_participants"].items())
                out.append(f"Side effect on {key} by platform ({ns}): "
                           f"difference of the participant-level left − right differences "
                           f"({' − '.join(t['platforms'])}) "
                           f"{fmt_num(w['diff_of_diffs'], 3)}, {ci(w['ci_low'], w['ci_high'], 3)}, "
                           f"Welch {apa_t(w['t'], w['df'], w['p'])}.")
    trial = _trial_level(results)
    if trial:
        out.append(trial)
    return out
