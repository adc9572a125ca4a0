"""Every statistical test of the report, in one list, and the tidy table of their results.

Pingouin's shape (STYLE.md): each test gives rows with the same columns, so the
report, results.csv, results.json["table"] and ``analysis.calibration`` read
*columns* of one table instead of walking nested dicts, and the summary sentences,
the page's comparison tables and ``analysis.power`` read the rows they quote by id
(``find``). A row's ``id`` is where
its p value lives in results.json (``"mixed_models.rt.p"``): the nested keys
stay what they were, and the table is read from them.

Adding a statistical test touches this module (plus its test): append a ``Test``
to ``TESTS`` with a ``compute`` function of the trials, and it is computed by
``analysis.report.compute_results``, stored in results.json under its key, listed
in results.csv and the report's "All tests" table, and calibrated by
``python -m analysis.calibration`` (docs/analysis.md, "Adding a statistical test").

A test whose entry says why it could not be computed (``"error"`` on the entry or
on one of its parents, e.g. a model that was not fitted) gives a row with p = NaN
and the reason in ``note``. A test whose entry is *absent* is a bug (a renamed
key, a test dropped from ``compute_results``): ``table`` and ``find`` raise
``MissingTestError`` instead of returning NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

COLUMNS = ["id", "test", "level", "outcome", "contrast", "estimate", "estimate_label", "ci_low", "ci_high",
           "se", "se_label", "statistic", "statistic_label", "df", "df2", "p", "effect_size", "effect_size_label",
           "n", "n_label", "model", "prior", "recommended", "calibrated", "note"]
NUMERIC = ("estimate", "ci_low", "ci_high", "se", "statistic", "df", "df2", "p", "effect_size", "n")

TRIAL, PARTICIPANT, MIXED, MIXED_NO_PRIOR, DESIGN = (
    "trial-level", "participant-level", "mixed model", "mixed model, no prior", "participant-level (design)")


class MissingTestError(KeyError):
    """A registered test has no entry in the results: a programming error, never a NaN."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0])


# --- readers: one results.json entry -> the columns of its row -------------------------------------------

def _num(x):
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x is not None else math.nan


def read_independent_t(variant: str) -> Callable[[dict], dict]:
    """``ttests.independent_ttest``: mean difference, its CI, t, df, p and d_s (pooled SD)."""
    def read(e: dict) -> dict:
        v = e[variant]
        return {"estimate": v["mean_diff"], "estimate_label": f"mean difference ({' - '.join(e['levels'])})",
                "ci_low": v["ci_low"], "ci_high": v["ci_high"], "statistic": v["t"], "statistic_label": "t",
                "df": v["df"], "p": v["p"], "effect_size": e["cohen_d"]["d"], "effect_size_label": "d_s",
                "n": sum(g["n"] for g in e["groups"].values()), "n_label": "trials"}
    return read


def read_chi2(variant: str) -> Callable[[dict], dict]:
    """``chisquare.side_accuracy_chi2``: odds ratio (left/right) with its CI, χ², df, p and Cramér's V."""
    def read(e: dict) -> dict:
        v, orr = e[variant], e["odds_ratio"]
        return {"estimate": orr["or"], "estimate_label": "odds ratio (left/right)", "ci_low": orr["ci_low"],
                "ci_high": orr["ci_high"], "statistic": v["chi2"], "statistic_label": "χ²", "df": v["df"],
                "p": v["p"], "effect_size": e["cramers_v"], "effect_size_label": "Cramér's V", "n": e["n"],
                "n_label": "trials"}
    return read


def read_paired(e: dict) -> dict:
    """``participant_level.paired_*_test``: mean difference of participant means, paired t, d_z."""
    return {"estimate": e["mean_diff"], "estimate_label": f"mean difference ({' - '.join(e.get('levels', ['left', 'right']))})",
            "ci_low": e["ci_low"], "ci_high": e["ci_high"], "statistic": e["t"], "statistic_label": "t",
            "df": e["df"], "p": e["p"], "effect_size": e.get("d_z"), "effect_size_label": "d_z",
            "n": e["n_participants"], "n_label": "participants"}


def read_wilcoxon(e: dict) -> dict:
    return {"statistic_label": "Wilcoxon signed-rank", "p": e["wilcoxon_p"], "n": e["n_participants"], "n_label": "participants"}


def read_mixed(e: dict) -> dict:
    """A mixed model (``mixed_models``): b of the tested term, its CI, SE, Wald z or Satterthwaite t."""
    stat = e.get("statistic") or ("t" if e.get("df") is not None else "z")
    return {"estimate": e["coef"], "estimate_label": f"b ({e.get('term', '')})", "ci_low": e["ci_low"],
            "ci_high": e["ci_high"], "se": e["se"], "se_label": e.get("se_label", "SE"),
            "statistic": e.get("z", e.get("t")), "statistic_label": stat, "df": e.get("df"), "p": e["p"],
            "n": e.get("n_obs"), "n_label": "trials", "model": e.get("fitted_formula") or e.get("formula"),
            "prior": e.get("prior")}


def read_logit(e: dict) -> dict:
    """``logistic.side_by_valence``: the interaction's b (difference of log odds ratios), Wald z."""
    return {"estimate": e["coef"], "estimate_label": "b (left x positive)", "ci_low": e["ci_low"],
            "ci_high": e["ci_high"], "se": e["se"], "se_label": "SE", "statistic": e["z"], "statistic_label": "z",
            "p": e["p"], "n": e.get("n_obs"), "n_label": "trials", "model": e.get("formula")}


def read_lr(e: dict) -> dict:
    """A likelihood-ratio test (``logistic.side_by_emotion``'s interaction)."""
    return {"statistic": e["chi2"], "statistic_label": "LR χ²", "df": e["df"], "p": e["p"], "n": e.get("n_obs"),
            "n_label": "trials"}


# --- the registry ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Test:
    """One statistical test of the report: where its result lives and how to read it as a row.

    ``entry``: dotted results.json path of the test's dict; ``p``: key of its p value inside it
    (the row's id is ``entry.p``). ``compute(trials, rt_trials) -> dict``: for a test this module
    adds to the report (stored at ``results[entry]``, ``entry`` then a top-level key); the tests of
    the paper and the models are computed by ``analysis.report`` and only read here.
    """

    entry: str
    test: str
    level: str
    outcome: str
    contrast: str
    read: Callable[[dict], dict]
    p: str = "p"
    recommended: bool = False
    calibrated: bool = True   # one column of analysis.calibration's p values
    compute: Callable | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        return f"{self.entry}.{self.p}"


LR, PN, SV = "left vs right", "positive vs negative", "side x valence"
# Participant-level tests average over photos, so they are recommended only for the side contrasts (both
# halves of every photo): valence differs *between* photos, and only the crossed mixed model treats that
# sample of photos as random (Judd, Westfall & Kenny 2012). docs/analysis.md, "Which result to trust".
TESTS: list[Test] = [
    Test("rt_left_vs_right", "RT left vs right, Welch t (the paper's)", TRIAL, "rt", LR, read_independent_t("welch"),
         "welch.p"),
    Test("rt_left_vs_right", "RT left vs right, Student t", TRIAL, "rt", LR, read_independent_t("student"),
         "student.p"),
    Test("intensity_left_vs_right", "intensity left vs right, Welch t (the paper's)", TRIAL, "intensity", LR,
         read_independent_t("welch"), "welch.p"),
    Test("intensity_left_vs_right", "intensity left vs right, Student t", TRIAL, "intensity", LR,
         read_independent_t("student"), "student.p"),
    Test("rt_positive_vs_negative", "RT positive vs negative, Student t (the paper's)", TRIAL, "rt", PN,
         read_independent_t("student"), "student.p"),
    Test("rt_positive_vs_negative", "RT positive vs negative, Welch t", TRIAL, "rt", PN, read_independent_t("welch"),
         "welch.p"),
    Test("accuracy_left_vs_right", "accuracy left vs right, Pearson χ² (the paper's)", TRIAL, "accuracy", LR,
         read_chi2("pearson"), "pearson.p"),
    Test("accuracy_left_vs_right", "accuracy left vs right, Yates χ²", TRIAL, "accuracy", LR, read_chi2("yates"),
         "yates.p"),
    Test("accuracy_positive_left_vs_right", "accuracy left vs right, positive, Pearson χ²", TRIAL, "accuracy",
         "left vs right (positive emotions)", read_chi2("pearson"), "pearson.p"),
    Test("accuracy_negative_left_vs_right", "accuracy left vs right, negative, Pearson χ²", TRIAL, "accuracy",
         "left vs right (negative emotions)", read_chi2("pearson"), "pearson.p"),
    Test("accuracy_side_by_valence.trial_level", "accuracy side × valence, logistic regression", TRIAL, "accuracy",
         SV, read_logit),
    Test("accuracy_side_by_emotion.interaction", "accuracy side × emotion, logistic regression", TRIAL, "accuracy",
         "side x emotion", read_lr),
    Test("participant_level.rt", "RT left vs right, paired t", PARTICIPANT, "rt", LR, read_paired,
         recommended=True),
    Test("participant_level.intensity", "intensity left vs right, paired t", PARTICIPANT, "intensity", LR,
         read_paired, recommended=True),
    Test("participant_level.accuracy", "accuracy left vs right, paired t", PARTICIPANT, "accuracy", LR, read_paired,
         recommended=True),
    Test("participant_level.rt_positive_vs_negative", "RT positive vs negative, paired t", PARTICIPANT, "rt", PN,
         read_paired),
    Test("participant_level.accuracy_side_by_valence", "accuracy side × valence, paired t", PARTICIPANT, "accuracy",
         SV, read_paired),
    Test("participant_level.rt", "RT left vs right, Wilcoxon", PARTICIPANT, "rt", LR, read_wilcoxon, "wilcoxon_p"),
    Test("participant_level.intensity", "intensity left vs right, Wilcoxon", PARTICIPANT, "intensity", LR,
         read_wilcoxon, "wilcoxon_p"),
    Test("participant_level.accuracy", "accuracy left vs right, Wilcoxon", PARTICIPANT, "accuracy", LR,
         read_wilcoxon, "wilcoxon_p"),
    Test("mixed_models.rt", "RT left vs right (log RT, LMM, Satterthwaite t)", MIXED, "rt", LR, read_mixed,
         recommended=True),
    Test("mixed_models.intensity", "intensity left vs right (LMM, Satterthwaite t)", MIXED, "intensity", LR,
         read_mixed, recommended=True),
    Test("mixed_models.accuracy", "accuracy left vs right (logistic GLMM, gamma(2) SD prior as blme::bglmer, Wald z)", MIXED, "accuracy", LR, read_mixed,
         recommended=True),
    Test("mixed_models.rt_positive_vs_negative", "RT positive vs negative (log RT, LMM)", MIXED, "rt", PN, read_mixed,
         recommended=True),
    Test("mixed_models.accuracy_side_by_valence", "accuracy side × valence (logistic GLMM, gamma(2) SD prior as blme::bglmer)", MIXED, "accuracy", SV,
         read_mixed, recommended=True),
    # The same two logistic models without the SD prior (glmer), shown in the report as sensitivity rows.
    Test("mixed_models.accuracy.glmer_sensitivity",
         "accuracy left vs right (GLMM by maximum likelihood, as glmer; sensitivity)", MIXED_NO_PRIOR, "accuracy", LR,
         read_mixed),
    Test("mixed_models.accuracy_side_by_valence.glmer_sensitivity",
         "accuracy side × valence (GLMM by maximum likelihood, as glmer; sensitivity)", MIXED_NO_PRIOR, "accuracy",
         SV, read_mixed),
]


def _design_rows(results: dict) -> list[dict]:
    """Tests that exist only for some designs: the 2 × 2 half × image-side ANOVA (crossed designs) and the
    side × platform tests (lab and web sessions). The only tests of their questions: recommended."""
    rows = []
    wd = results["within_design"]
    for outcome, t in wd.get("tests", {}).items():
        for i, e in enumerate(t.get("effects", []) or [{"effect": "all", "error": t.get("error")}]):
            rows.append({"id": f"within_design.tests.{outcome}.effects.{i}.p",
                         "test": f"{outcome}: {e['effect']}, 2 x 2 repeated-measures ANOVA", "outcome": outcome,
                         "contrast": e["effect"], "statistic": e.get("F"), "statistic_label": "F",
                         "df": e.get("df1"), "df2": e.get("df2"), "p": e.get("p"), "effect_size": e.get("ges"),
                         "effect_size_label": "ges", "n": t.get("n_participants"), "n_label": "participants",
                         "note": e.get("error") or t.get("error")})
    for outcome, t in results["platform_comparison"].get("tests", {}).items():
        w = t.get("welch", {})
        rows.append({"id": f"platform_comparison.tests.{outcome}.welch.p",
                     "test": f"{outcome}: side effect by platform, Welch t of left - right differences",
                     "outcome": outcome, "contrast": " - ".join(t.get("platforms", [])), "estimate": w.get("diff_of_diffs"),
                     "estimate_label": "difference of left - right differences", "ci_low": w.get("ci_low"),
                     "ci_high": w.get("ci_high"), "statistic": w.get("t"), "statistic_label": "t", "df": w.get("df"),
                     "p": w.get("p"), "n_label": "participants", "note": t.get("error")})
    return [r | {"level": DESIGN, "recommended": True, "calibrated": False} for r in rows]


NOT_COMPUTED = "not computed: "   # how a row's note starts when its test could not be computed


def lookup(results: dict, path: str) -> tuple[dict | None, str | None]:
    """The dict at dotted ``path`` and None, or None and the error of the nearest entry that says why it is
    absent (a model that was not fitted has no glmer fit). Raises ``MissingTestError`` otherwise."""
    node, error = results, None
    for key in path.split("."):
        if isinstance(node, dict) and node.get("error"):
            error = node["error"]
        if not isinstance(node, dict) or key not in node:
            if error:
                return None, error
            raise MissingTestError(f"results have no test at '{path}' (no key '{key}'): a registered test "
                                   "was not computed; see analysis.registry.TESTS")
        node = node[key]
    return node, None


def row(results: dict, t: Test) -> dict:
    """The row of one registered test (its reason in ``note`` and p = NaN when it could not be computed)."""
    entry, error = lookup(results, t.entry)
    values = {}
    if entry is not None:
        error = entry.get("error")
        if not error:
            lookup(results, t.id)  # the p value itself must be there (a renamed variant is no NaN either)
            try:
                values = t.read(entry)
            except KeyError as exc:
                raise MissingTestError(f"results entry '{t.entry}' lacks {exc} that test '{t.id}' reads: "
                                       "see analysis.registry.TESTS") from None
    out = {"id": t.id, "test": t.test, "level": t.level, "outcome": t.outcome, "contrast": t.contrast,
           **values, "recommended": t.recommended, "calibrated": t.calibrated,
           "note": f"{NOT_COMPUTED}{error}" if error else None}
    return out


def table(results: dict) -> pd.DataFrame:
    """All tests of ``results`` as one tidy table (``COLUMNS``), in the registry's order."""
    rows = [row(results, t) for t in TESTS] + _design_rows(results)
    df = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for col in NUMERIC:
        df[col] = df[col].map(_num).astype(float)
    return df


def reason(r: dict, default: str) -> str:
    """Why row ``r``'s test has no result: its note without the 'not computed: ' prefix (``default`` if none)."""
    return r["note"].removeprefix(NOT_COMPUTED) if r["note"] else default


def test(id: str) -> Test:
    """The registered test whose row is ``id`` (``MissingTestError`` if none is)."""
    for t in TESTS:
        if t.id == id:
            return t
    raise MissingTestError(f"no registered test has the id '{id}': see analysis.registry.TESTS")


def find(results: dict, id: str, extras: tuple[str, ...] = ()) -> dict:
    """Row ``id`` of ``table(results)`` as a dict of ``COLUMNS`` (NaN where a number is empty), for a reader
    that quotes a few tests by name (``analysis.summary``, ``analysis.html``, ``analysis.power``). A test that
    is not registered, or whose result is missing, raises ``MissingTestError``; it is never a NaN.

    ``extras``: descriptive keys of the test's results.json entry that are no column (a model's RT ratio,
    the participant means), added to the row where the entry has them.
    """
    if id.startswith(("within_design.", "platform_comparison.")):
        rows = [r for r in _design_rows(results) if r["id"] == id]
        if not rows:
            raise MissingTestError(f"results have no design test '{id}': see analysis.registry._design_rows")
        r = rows[0]
    else:
        r = row(results, test(id))
    out = {c: r.get(c) for c in COLUMNS}
    out |= {c: _num(out[c]) for c in NUMERIC}
    if extras:
        entry, _ = lookup(results, test(id).entry)
        out |= {k: entry[k] for k in extras if entry is not None and k in entry and k not in COLUMNS}
    return out


def compute_added(trials: pd.DataFrame, rt_trials: pd.DataFrame) -> dict:
    """Results of the registered tests that carry their own ``compute`` (results.json key -> entry)."""
    return {t.entry: t.compute(trials, rt_trials) for t in TESTS if t.compute is not None}
