"""The report's summary as sentences a results section could use (APA 7 style).

Pure text: no statistics are computed here. Every number a sentence quotes from a
test (estimate, CI, statistic, df, p, effect size, n, model, prior, why it could not
be computed) is a column of that test's row in ``analysis.registry``'s tidy table,
looked up by its id, so a renamed or dropped test raises
``registry.MissingTestError`` instead of quietly reading NaN. Descriptive numbers
that are not test statistics (participant means, d_av, the RT ratio and odds ratio
of a model, whether the glmer fit disagrees) come from the same test's results.json
entry, and the sample counts from ``meta`` and ``exclusions``.

The participant-level test carries the verdict ("differed significantly"); the mixed
model is reported beside it with the model that was actually fitted, because a
reader must be able to see what was simplified.
"""

from __future__ import annotations

import math

from . import registry
from .apa import apa_t, fmt_df, fmt_num, fmt_p

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


# The rows each sentence quotes (registry ids), and the descriptive extras read from their entries.
SIDE_TESTS = {k: (f"participant_level.{k}.p", f"mixed_models.{k}.p") for k in SIDE_MEASURES}
PAIRED_EXTRAS = ("means", "d_av")
MODEL_EXTRAS = ("ratio", "ratio_ci_low", "ratio_ci_high", "odds_ratio", "or_ci_low", "or_ci_high")
LOGISTIC = {"accuracy"}   # outcomes whose mixed models are logistic (with a glmer sensitivity row)


def _ok(r: dict) -> bool:
    return r["note"] is None and not _nan(r["p"])


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def ci(lo, hi, d=2) -> str:
    return f"95% CI [{fmt_num(lo, d)}, {fmt_num(hi, d)}]"


def se_name(label: str | None) -> str:
    """The short name of a model's uncertainty for a sentence: 'SE (penalised)' for a fit with the SD prior."""
    label = label or "SE"
    if label.startswith("SE of the penalised"):
        return "SE (penalised)"
    if label.startswith("SE of the maximum-likelihood"):
        return "SE (ML)"
    return label


def model_stat(b, se, se_label, stat, df, p, d: int = 3) -> str:
    """'b = 0.26, SE = 0.05, z = 4.91, p < .001' (t(df) when the model gives denominator df)."""
    text = apa_t(stat, df, p) if not _nan(df) else f"z = {fmt_num(stat)}, {fmt_p(p)}"
    return f"b = {fmt_num(b, d)}, {se_name(se_label)} = {fmt_num(se, d)}, {text}"


def mixed_stat(mm: dict, d: int = 3) -> str:
    """``model_stat`` of a mixed model's results.json entry (its ``apa``)."""
    return model_stat(mm["coef"], mm["se"], mm.get("se_label"), mm["z"], mm.get("df"), mm["p"], d)


def _stat(r: dict) -> str:
    """``model_stat`` of a mixed model's row."""
    return model_stat(r["estimate"], r["se"], r["se_label"], r["statistic"], r["df"], r["p"])


LOGISTIC_PRIOR = "gamma(2) prior on the random-effect SDs, as blme::bglmer"


def _model_name(mm: dict) -> str:
    """The model actually fitted, e.g. 'a linear mixed model (log_rt ~ side + ...)'; a logistic one names its prior.

    The logistic models are penalised (a prior on the random-effect SDs), so their
    estimates are not plain glmer's: every sentence that quotes one says so.
    """
    formula = mm["model"] or ""
    logistic = mm["outcome"] in LOGISTIC
    if "|" not in formula:
        # The simplification rule dropped every random effect (all estimated at zero): what is left is an
        # ordinary regression that treats trials as independent, and a reader must not be told otherwise.
        kind = "logistic" if logistic else "linear"
        return (f"an ordinary {kind} regression ({formula}; every random effect was estimated at zero and "
                "dropped, so trials are treated as independent)")
    if logistic:
        prior = mm["prior"] or LOGISTIC_PRIOR
        return f"a logistic GLMM with {'' if prior.startswith(('a ', 'an ')) else 'a '}{prior} ({formula})"
    return f"a linear mixed model ({formula})"


def glmer_row(results: dict, mm: dict) -> dict | None:
    """The glmer (no prior) row beside a logistic model's row; None for a linear model."""
    if mm["outcome"] not in LOGISTIC:
        return None
    return registry.find(results, mm["id"].removesuffix(".p") + ".glmer_sensitivity.p", ("disagree_at_05",))


def _sensitivity(mm: dict, g: dict | None) -> str:
    """The glmer fit without the prior, beside the penalised one, and whether they disagree about p < .05."""
    if g is None:
        return ""
    if not _ok(g):
        return f" Without the prior (as lme4::glmer) the model could not be fitted ({registry.reason(g, 'no p value')})."
    text = f" Without the prior (as lme4::glmer, {g['model'] or ''}): {_stat(g)}."
    if g.get("disagree_at_05"):
        text += (f" The two fits disagree about p < .05 (with the prior {fmt_p(mm['p'])}, without it "
                 f"{fmt_p(g['p'])}): read this result as inconclusive.")
    return text


def _why(**tests) -> str:
    """'participant level: need at least 3 ...; mixed model: ...' for the tests that could not be computed."""
    return "; ".join(f"{name.replace('_', ' ')}: {registry.reason(r, 'no data')}" for name, r in tests.items()
                     if not _ok(r)) or "no data"


def _d(pl: dict) -> str:
    """Cohen's d for the paired test: d_z (mean difference / SD of the differences), d_av beside it."""
    if _nan(pl["effect_size"]):
        return ""
    return f"{pl['effect_size_label']} = {fmt_num(pl['effect_size'])}, d_av = {fmt_num(pl['d_av'])}"


def _side_sentence(key: str, pl: dict, mm: dict, glmer: dict | None = None) -> str:
    """Left vs right for one measure, from the rows of its paired test, its mixed model and (logistic) glmer fit."""
    noun, unit, d, (more, less) = SIDE_MEASURES[key]
    u = f" {unit}" if unit else ""
    if not _ok(pl) and not _ok(mm):
        return f"Could not be tested: left vs right {noun} ({_why(participant_level=pl, mixed_model=mm)})."
    if not _ok(pl):
        text = f"The participant-level test of {noun} could not be computed ({registry.reason(pl, 'no data')})."
    else:
        m, n = pl["means"], int(pl["n"])
        diff = (f"difference {fmt_num(pl['estimate'], d)}{u}, {ci(pl['ci_low'], pl['ci_high'], d)}, "
                f"{apa_t(pl['statistic'], pl['df'], pl['p'])}, {_d(pl)}")
        means = f"M = {fmt_num(m['left'], d)} vs {fmt_num(m['right'], d)}{u}"
        if pl["p"] < ALPHA:
            # For RT a positive left − right difference means slower responses to the left half.
            word = more if pl["estimate"] > 0 else less
            text = (f"Participants {VERB[key]} left half-faces {word} than right half-faces ({noun}, {means}; "
                    f"{diff}; paired t-test on participant means, n = {n}).")
        else:
            text = (f"The {noun} did not differ significantly between left and right half-faces ({means}; {diff}; "
                    f"paired t-test on participant means, n = {n}).")
    if _ok(mm):
        est = ""
        if key == "rt" and "ratio" in mm:
            est = (f"RTs to left half-faces were {fmt_num(mm['ratio'], 3)} times those to right half-faces, "
                   f"{ci(mm['ratio_ci_low'], mm['ratio_ci_high'], 3)}; ")
        elif key == "accuracy" and "odds_ratio" in mm:
            est = (f"the odds of a correct answer were {fmt_num(mm['odds_ratio'])} times as high for left half-faces, "
                   f"{ci(mm['or_ci_low'], mm['or_ci_high'])}; ")
        elif key == "intensity":
            est = (f"the left − right difference was {fmt_num(mm['estimate'])} rating points, "
                   f"{ci(mm['ci_low'], mm['ci_high'])}; ")
        text += f" In {_model_name(mm)}, {est}{_stat(mm)}." + _sensitivity(mm, glmer)
    elif mm["note"]:
        text += f" The mixed model could not be fitted ({registry.reason(mm, '')})."
    return text


def _valence_interaction(res: dict) -> str:
    tl = registry.find(res, "accuracy_side_by_valence.trial_level.p")
    mm = registry.find(res, "mixed_models.accuracy_side_by_valence.p")
    pl = registry.find(res, "participant_level.accuracy_side_by_valence.p")
    # Only the mixed model or the participant-level test may give the verdict: the trial-level regression
    # treats trials as independent (see the trust box), so alone it is no test of the question.
    if not _ok(mm) and not _ok(pl):
        return ("Could not be tested: the side × valence interaction for accuracy "
                f"({_why(mixed_model=mm, participant_level=pl)}).")
    parts = []
    if _ok(mm):
        parts.append(f"side × valence interaction in {_model_name(mm)}: {_stat(mm)}")
    if _ok(pl):
        parts.append(f"participant level, left − right accuracy difference for positive minus negative emotions "
                     f"{fmt_num(pl['estimate'], 3)}, {ci(pl['ci_low'], pl['ci_high'], 3)}, "
                     f"{apa_t(pl['statistic'], pl['df'], pl['p'])}")
    if _ok(tl):
        parts.append(f"trial-level logistic regression, trials independent: b = {fmt_num(tl['estimate'], 3)}, "
                     f"SE = {fmt_num(tl['se'], 3)}, z = {fmt_num(tl['statistic'])}, {fmt_p(tl['p'])}")
    # results.json's accuracy_side_by_valence.p: the mixed model's, else the participant-level test's.
    p = (mm if _ok(mm) else pl)["p"]
    verdict = ("The left − right accuracy difference differed significantly between positive and negative emotions"
               if p < ALPHA else
               "The left − right accuracy difference did not differ significantly between positive and negative "
               "emotions")
    text = f"{verdict} ({'; '.join(parts)})." + (_sensitivity(mm, glmer_row(res, mm)) if _ok(mm) else "")
    pos = registry.find(res, "accuracy_positive_left_vs_right.pearson.p")["p"]
    neg = registry.find(res, "accuracy_negative_left_vs_right.pearson.p")["p"]
    if p >= ALPHA and not _nan(pos) and not _nan(neg) and (pos < ALPHA) != (neg < ALPHA):
        text += (" A significant side effect in one valence and a non-significant one in the other therefore "
                 "does not show that the side effect depends on valence (Gelman & Stern 2006).")
    return text


def _rt_valence(res: dict) -> str:
    """Positive vs negative RT. Valence varies between photos, not within them, so a participant-level
    test treats the photos as fixed (Clark 1973): the verdict comes only from the mixed model, which has
    a photo random effect; the participant-level test is given as a description."""
    pl = registry.find(res, "participant_level.rt_positive_vs_negative.p", PAIRED_EXTRAS)
    mm = registry.find(res, "mixed_models.rt_positive_vs_negative.p", MODEL_EXTRAS)
    if not _ok(mm):
        text = f"Could not be tested: RT for positive vs negative emotions (mixed model: {registry.reason(mm, 'no data')})."
        if _ok(pl):
            text += (f" Descriptively, participant means were M = {fmt_num(pl['means']['positive'], 3)} vs "
                     f"{fmt_num(pl['means']['negative'], 3)} s (a paired test of these treats the photos as fixed "
                     "and is no test of the question).")
        return text
    diff = mm["estimate"]
    parts = [f"Correct responses to positive emotions were {'faster' if diff < 0 else 'slower'} than to "
             "negative emotions" if mm["p"] < ALPHA else
             "Correct-trial RT did not differ significantly between positive and negative emotions"]
    ratio = (f"RTs to positive emotions were {fmt_num(mm['ratio'], 3)} times those to negative ones, "
             f"{ci(mm['ratio_ci_low'], mm['ratio_ci_high'], 3)}; " if "ratio" in mm else "")
    parts.append(f"in {_model_name(mm)}, {ratio}{_stat(mm)}")
    if _ok(pl):
        means = f"M = {fmt_num(pl['means']['positive'], 3)} vs {fmt_num(pl['means']['negative'], 3)} s"
        parts.append(f"participant means {means}, difference {fmt_num(pl['estimate'], 3)} s, "
                     f"{ci(pl['ci_low'], pl['ci_high'], 3)}, paired {apa_t(pl['statistic'], pl['df'], pl['p'])} "
                     "(this test treats the photos as fixed, so it overstates the evidence)")
    return f"{parts[0]}: {'; '.join(parts[1:])}."


def _trial_level(res: dict) -> str:
    bits = []
    for key, label in (("rt_left_vs_right", "RT"), ("intensity_left_vs_right", "intensity")):
        w = registry.find(res, f"{key}.welch.p")
        if w["note"] is None:
            bits.append(f"{label}, Welch {apa_t(w['statistic'], w['df'], w['p'])}")
    c = registry.find(res, "accuracy_left_vs_right.pearson.p")
    if c["note"] is None:
        bits.append(f"accuracy, χ²({fmt_df(c['df'])}, N = {int(c['n'])}) = {fmt_num(c['statistic'])}, "
                    f"{fmt_p(c['p'])}")
    if not bits:
        return ""
    return f"For comparison with the paper, the trial-level tests, {TRIAL_LEVEL_CAVEAT}, gave: " + "; ".join(bits) + "."


def _sample(res: dict) -> str:
    meta, ex = res["meta"], res["exclusions"]
    text = (f"The analysis includes {meta['n_participants']} participants ({meta['n_sessions']} sessions, "
            f"{meta['n_trials']} answered trials).")
    trim = ex.get("rt_trimming", {})
    n_trim = trim.get("n_below_min", 0) + trim.get("n_above_max", 0)
    if "n_trials_rt" in meta:
        window = f"{fmt_num(trim.get('rt_min', 0.2), 1)}–{fmt_num(trim.get('rt_max', 10), 1)} s"
        text += (f" Intensity, accuracy and the paper's tests use all {meta['n_trials']} (the paper's rule); the "
                 f"RT analyses use the {meta['n_correct_trials_rt']} correct trials with an RT within {window} (of "
                 f"{meta['n_correct_trials']} correct trials; {n_trim} trial(s) outside the window)"
                 + (", except the paper's RT tests, which keep them." if n_trim else "."))
    n_invalid = ex.get("n_rows_invalid", 0)
    if n_invalid:
        text += f" {n_invalid} invalid trial(s) were excluded from every analysis (--exclude-invalid)."
    if meta.get("n_incomplete_sessions"):
        text += (f" {meta['n_incomplete_sessions']} session(s) were incomplete and are analysed with the trials "
                 "they have.")
    if meta.get("n_simulated_sessions"):
        text += f" {meta['n_simulated_sessions']} session(s) are simulated data (--include-simulated)."
    return text


def summary_sentences(results: dict) -> list[str]:
    """Paragraphs for the top of the report and the terminal."""
    out = [_sample(results)]
    for key, (pl_id, mm_id) in SIDE_TESTS.items():
        pl, mm = registry.find(results, pl_id, PAIRED_EXTRAS), registry.find(results, mm_id, MODEL_EXTRAS)
        out.append(_side_sentence(key, pl, mm, glmer_row(results, mm) if _ok(mm) else None))
    out.append(_valence_interaction(results))
    out.append(_rt_valence(results))
    wd = results.get("within_design", {})
    if wd.get("design") == "crossed":
        for key, t in wd.get("tests", {}).items():
            if "effects" in t:
                effects = [registry.find(results, f"within_design.tests.{key}.effects.{i}.p")
                           for i in range(len(t["effects"]))]
                eff = "; ".join(f"{e['contrast']}, could not be tested ({e['note']})" if e["note"] else
                                f"{e['contrast']}, F({fmt_df(e['df'])}, {fmt_df(e['df2'])}) = "
                                f"{fmt_num(e['statistic'])}, {fmt_p(e['p'])}" for e in effects)
                out.append(f"Poser's half × image side ({key}, 2 × 2 repeated-measures ANOVA on participant means, "
                           f"n = {int(effects[0]['n'])}): {eff}.")
    elif wd.get("note"):
        out.append(wd["note"])
    plat = results.get("platform_comparison", {})
    if plat.get("compared"):
        for key, t in plat.get("tests", {}).items():
            if "welch" in t:
                w = registry.find(results, f"platform_comparison.tests.{key}.welch.p")
                ns = ", ".join(f"{p}: n = {n}" for p, n in t["n_participants"].items())
                out.append(f"Side effect on {key} by platform ({ns}): "
                           f"difference of the participant-level left − right differences "
                           f"({' − '.join(t['platforms'])}) "
                           f"{fmt_num(w['estimate'], 3)}, {ci(w['ci_low'], w['ci_high'], 3)}, "
                           f"Welch {apa_t(w['statistic'], w['df'], w['p'])}.")
        if plat.get("timing_note"):
            out.append(f"In the platform comparison, {plat['timing_note']}.")
    trial = _trial_level(results)
    if trial:
        out.append(trial)
    return out
