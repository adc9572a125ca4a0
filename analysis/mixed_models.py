"""The report's mixed-effects models: crossed random effects of participant and photo,
with by-participant and by-photo slopes for every effect that varies within them.

Every participant sees every photo, and both halves of each photo, so participant
and photo are crossed random factors and the side effect varies within both.
Leaving out the random slopes reads between-participant differences in the side
effect as evidence for an average effect (Barr, Levy, Scheepers & Tily 2013,
"keep it maximal"; Judd, Westfall & Kenny 2012). Models are fitted by
``analysis.lme`` (lme4's criterion; checked against lme4 in the tests).

Coding: side = +½ (left) / −½ (right) and valence = +½ (positive) / −½ (negative),
so each coefficient is a difference (left − right, positive − negative), the
intercept is the grand mean, and the uncorrelated slopes (lme4's ``||``) are
invariant to which level is called +½.

Simplification rule (fixed in advance, applied only when needed): fit the
maximal model; while the fit is singular (a variance estimated at 0) or did not
converge, drop one random term — a term whose variance is 0 if there is one
(slopes before intercepts), otherwise the slope with the smallest variance — and
refit. The result lists every step in ``simplifications``.

Inference: linear models give t tests with Satterthwaite df (lmerTest's default).
Logistic models are fitted with a gamma(2, 0) prior on each random-effect SD
(Chung et al. 2013; ``blme::bglmer``) and give Wald z tests. Plain maximum
likelihood (``glmer``) puts a slope SD at 0 in a large share of 18-participant
data sets, and its z test then rejected a true null in 10.1 % of 298 simulated
studies (the penalised fit: 5.7 %; benchmarks/RESULTS.md). The linear models,
at 5-7 % without it, keep lme4's criterion. ``benchmarks/calibration.py``
measures the type-I error of every test on null data with random slopes.

The prior is declared in every logistic result (``prior``, and ``se_label`` says the
SE is the penalised fit's), and each logistic result carries ``glmer_sensitivity``:
the same model on the same data fitted *without* the prior (maximum likelihood, as
``lme4::glmer``) and simplified by the linear models' rule (zero-variance and
non-converged terms dropped), with ``disagree_at_05`` when the two p values fall
on different sides of .05. A reader sees what the prior changes. On 300 null studies
(issue 17, benchmarks/RESULTS.md) the penalised fits rejected in 3.7 % (side) and 3.0 %
(side × valence), the glmer fits with the drop rule in 5.3 % and 3.0 %.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np
import pandas as pd

from halfface.schema import NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS

from .lme import MixedFit, RandomTerm, fit_glmer, fit_lmm

PARTICIPANT, PHOTO = "participant", "photo_id"
SD_PRIOR_SHAPE = 2.0  # logistic models: gamma(2, 0) on each random-effect SD (Chung et al. 2013)
# Switched off only where no one reads the glmer refits (about 60 % of a study's time): analysis.power's
# replications and analysis.calibration.one_study(glmer_sensitivity=False). A context variable, so that a
# switch in one thread (a Dask worker's task) leaves the others alone.
GLMER_SENSITIVITY = contextvars.ContextVar("glmer_sensitivity", default=True)

PRIOR = "gamma(2) prior on the random-effect SDs, as blme::bglmer"
SE_LABEL = {"gaussian": "SE",
            "prior": "SE of the penalised fit (gamma(2) prior on the random-effect SDs)",
            "ml": "SE of the maximum-likelihood fit (no prior, as lme4::glmer)"}
MODEL_TEXT = {
    "gaussian": "linear mixed model (REML; t tests with Satterthwaite df)",
    "prior": "logistic mixed model (Laplace approximation with a gamma(2) prior on the random-effect SDs, "
             "as blme::bglmer; Wald z tests)",
    "ml": "logistic mixed model (Laplace approximation, maximum likelihood without a prior, as lme4::glmer; "
          "zero-variance terms dropped as in the linear models; Wald z tests)"}


def coded(data: pd.DataFrame) -> pd.DataFrame:
    """Add the ±½ codes ``side``, ``valence`` (0 for surprise/others) and ``side_x_valence``."""
    d = data.copy()
    d["side"] = np.where(d["visible_half"] == "left", 0.5, -0.5)
    d["valence"] = np.where(d["emotion"].isin(POSITIVE_EMOTIONS), 0.5,
                            np.where(d["emotion"].isin(NEGATIVE_EMOTIONS), -0.5, 0.0))
    d["side_x_valence"] = d["side"] * d["valence"]
    return d


def formula(dv: str, fixed: list[str], terms: list[RandomTerm]) -> str:
    """lme4-style formula with one ``||`` block per grouping factor."""
    by_group: dict[str, list[str]] = {}
    for t in terms:
        by_group.setdefault(t.group, []).append("1" if t.covariate is None else t.covariate)
    random = []
    for g, covs in by_group.items():
        if covs == ["1"]:
            random.append(f"(1 | {g})")
        elif "1" in covs:
            random.append(f"({' + '.join(covs)} || {g})")
        else:
            random.append(f"(0 + {' + '.join(covs)} || {g})")
    return f"{dv} ~ {' + '.join(fixed) or '1'}" + "".join(f" + {r}" for r in random)


def _term_to_drop(fit: MixedFit) -> tuple[RandomTerm, str]:
    variances = fit.random.iloc[:len(fit.terms)]["variance"].to_numpy()
    is_slope = np.array([t.covariate is not None for t in fit.terms])
    zero = fit.theta < 1e-4
    if zero.any():
        pool = np.flatnonzero(zero & is_slope) if (zero & is_slope).any() else np.flatnonzero(zero)
        why = "its variance was estimated at 0 (singular fit)"
    else:
        pool = np.flatnonzero(is_slope) if is_slope.any() else np.arange(len(fit.terms))
        why = "the model did not converge" + (f" ({fit.messages[0]})" if fit.messages else "") + \
              "; this was the smallest slope variance"
    i = pool[np.argmin(variances[pool])]
    return fit.terms[i], why


_DEFAULT = object()


def fit_simplified(data: pd.DataFrame, dv: str, fixed: list[str], terms: list[RandomTerm],
                   family: str = "gaussian", sd_prior_shape=_DEFAULT) -> tuple[MixedFit, list[str]]:
    """Fit the maximal model, then simplify by the module's rule; returns (fit, steps taken).

    ``sd_prior_shape`` (logistic only): the gamma shape of the SD prior; by default
    ``SD_PRIOR_SHAPE``; ``None`` fits by maximum likelihood (glmer).
    """
    if sd_prior_shape is _DEFAULT:
        sd_prior_shape = SD_PRIOR_SHAPE
    for group in {t.group for t in terms}:
        n = data[group].nunique()
        if n < 3:
            raise ValueError(f"{n} {group} level(s) in {len(data)} trials: a random effect of {group} needs "
                             "at least 3")
    terms, steps = list(terms), []
    while True:
        fit = (fit_lmm(data, dv, fixed, terms) if family == "gaussian" else
               fit_glmer(data, dv, fixed, terms, sd_prior_shape=sd_prior_shape))
        if (fit.converged and not fit.singular) or not terms:
            return fit, steps
        drop, why = _term_to_drop(fit)
        steps.append(f"dropped {drop.label}: {why}")
        terms = [t for t in terms if t != drop]


def _summary(fit: MixedFit, steps: list[str], term: str, dv: str, fixed: list[str],
             requested: list[RandomTerm], subset: str, prior: bool = True) -> dict:
    """One model's result dict; ``prior`` says whether a logistic fit used the SD prior."""
    row = fit.row(term)
    gaussian = fit.family == "gaussian"
    kind = "gaussian" if gaussian else ("prior" if prior else "ml")
    var = {(r.group, r.term): r.variance for r in fit.random.itertuples()}
    model = MODEL_TEXT[kind] if fit.terms else (
        f"ordinary {'linear' if gaussian else 'logistic'} regression: every random effect of the requested "
        "model was estimated at zero and dropped, so trials are treated as independent")
    out = {
        "model": model, "prior": PRIOR if kind == "prior" else None,
        "formula": formula(dv, fixed, fit.terms), "requested_formula": formula(dv, fixed, requested),
        "fitted_formula": formula(dv, fixed, fit.terms), "subset": subset, "term": term,
        "coef": row["coef"], "se": row["se"], "se_label": SE_LABEL[kind], "statistic": "t" if gaussian else "z",
        "z": row["stat"], "df": row["df"] if gaussian else None, "p": row["p"],
        "ci_low": row["ci_low"], "ci_high": row["ci_high"],
        "intercept": fit.row("Intercept")["coef"],
        "terms": {r.term: {k: getattr(r, k) for k in ("coef", "se", "df", "stat", "p", "ci_low", "ci_high")}
                  for r in fit.fixed.itertuples()},
        "random_effects": fit.random.to_dict("records"),
        "var_participant": var.get((PARTICIPANT, "intercept"), 0.0),
        "var_photo": var.get((PHOTO, "intercept"), 0.0),
        "converged": fit.converged, "singular": fit.singular, "simplifications": steps,
        "n_obs": fit.n_obs, "n_participants": fit.n_levels.get(PARTICIPANT),
        "n_photos": fit.n_levels.get(PHOTO), "warnings": list(fit.messages)}
    if gaussian:
        out["t"] = row["stat"]
        out["var_residual"] = var.get(("residual", ""))
    return out


def _maximal(slopes_participant: list[str], slopes_photo: list[str]) -> list[RandomTerm]:
    return ([RandomTerm(PARTICIPANT)] + [RandomTerm(PARTICIPANT, c) for c in slopes_participant]
            + [RandomTerm(PHOTO)] + [RandomTerm(PHOTO, c) for c in slopes_photo])


def _lmm_side(d: pd.DataFrame, dv: str, subset: str) -> dict:
    terms = _maximal(["side"], ["side"])
    fit, steps = fit_simplified(d, dv, ["side"], terms)
    return _summary(fit, steps, "side", dv, ["side"], terms, subset)


def rt_mixed_model(data: pd.DataFrame) -> dict:
    """log(rt) ~ side + (1 + side || participant) + (1 + side || photo_id), correct trials, REML.

    coef = mean log-RT difference left − right; ``ratio`` = exp(coef) is the left/right
    ratio of geometric-mean RTs.
    """
    d = coded(data[data["correct"] == 1])
    d["log_rt"] = np.log(d["rt"].to_numpy(dtype=float))
    out = _lmm_side(d, "log_rt", "correct trials")
    out.update({"ratio": float(np.exp(out["coef"])), "ratio_ci_low": float(np.exp(out["ci_low"])),
                "ratio_ci_high": float(np.exp(out["ci_high"]))})
    return out


def intensity_mixed_model(data: pd.DataFrame) -> dict:
    """intensity ~ side + (1 + side || participant) + (1 + side || photo_id), all trials, REML.

    coef in rating points, left − right (ratings treated as interval, like the paper's t test).
    """
    return _lmm_side(coded(data), "intensity", "all trials")


def _odds(out: dict) -> dict:
    out.update({"odds_ratio": float(np.exp(out["coef"])), "or_ci_low": float(np.exp(out["ci_low"])),
                "or_ci_high": float(np.exp(out["ci_high"]))})
    sd = {(r["group"], r["term"]): r["sd"] for r in out["random_effects"]}
    out.update({"sd_participant": sd.get((PARTICIPANT, "intercept"), 0.0),
                "sd_photo": sd.get((PHOTO, "intercept"), 0.0)})
    return out


@contextlib.contextmanager
def glmer_sensitivity(on: bool):
    """``with glmer_sensitivity(False):`` the logistic models skip their glmer refit inside the block."""
    token = GLMER_SENSITIVITY.set(on)
    try:
        yield
    finally:
        GLMER_SENSITIVITY.reset(token)


def _logistic(d: pd.DataFrame, fixed: list[str], terms: list[RandomTerm], term: str, subset: str) -> dict:
    """The penalised (reported) fit with its glmer sensitivity fit under ``glmer_sensitivity``."""
    fit, steps = fit_simplified(d, "correct", fixed, terms, family="binomial")
    out = _odds(_summary(fit, steps, term, "correct", fixed, terms, subset))
    if not GLMER_SENSITIVITY.get():
        out["glmer_sensitivity"] = {"error": "not computed (switched off where no one reads it)"}
        return out
    try:
        ml, ml_steps = fit_simplified(d, "correct", fixed, terms, family="binomial", sd_prior_shape=None)
        sens = _odds(_summary(ml, ml_steps, term, "correct", fixed, terms, subset, prior=False))
        sens["disagree_at_05"] = bool((out["p"] < 0.05) != (sens["p"] < 0.05))
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        sens = {"error": f"maximum-likelihood fit failed: {exc}"}
    out["glmer_sensitivity"] = sens
    return out


def accuracy_mixed_model(data: pd.DataFrame) -> dict:
    """logit P(correct) ~ side + (1 + side || participant) + (1 + side || photo_id), all trials.

    Laplace approximation (nAGQ = 1) with a gamma(2, 0) prior on the random-effect SDs
    (``blme::bglmer``); z = b / SE with SE from the Hessian of the penalised deviance;
    odds ratio = exp(b) (left vs right, conditional on participant and photo).
    """
    return _logistic(coded(data), ["side"], _maximal(["side"], ["side"]), "side", "all trials")


def _positive_negative(data: pd.DataFrame) -> pd.DataFrame:
    return coded(data[data["emotion"].isin(POSITIVE_EMOTIONS + NEGATIVE_EMOTIONS)])


def rt_valence_mixed_model(data: pd.DataFrame) -> dict:
    """log(rt) ~ valence + (1 + valence || participant) + (1 | photo_id), correct positive/negative trials.

    coef = log-RT difference positive − negative; valence varies between photos, so
    photos get only an intercept. ``ratio`` = exp(coef).
    """
    d = _positive_negative(data[data["correct"] == 1])
    d["log_rt"] = np.log(d["rt"].to_numpy(dtype=float))
    terms = _maximal(["valence"], [])
    fit, steps = fit_simplified(d, "log_rt", ["valence"], terms)
    out = _summary(fit, steps, "valence", "log_rt", ["valence"], terms,
                   "correct trials, positive vs negative emotions")
    out.update({"ratio": float(np.exp(out["coef"])), "ratio_ci_low": float(np.exp(out["ci_low"])),
                "ratio_ci_high": float(np.exp(out["ci_high"]))})
    return out


def accuracy_side_by_valence_mixed_model(data: pd.DataFrame) -> dict:
    """logit P(correct) ~ side·valence + (1 + side + valence + side_x_valence || participant)
    + (1 + side || photo_id), positive and negative trials.

    The interaction (``coef``) is the difference of the side effects in log-odds:
    (left − right | positive) − (left − right | negative). Testing it is what the
    paper's "left advantage for positive but not negative" claim needs (Gelman &
    Stern 2006: a difference in significance is not a significant difference).
    """
    fixed = ["side", "valence", "side_x_valence"]
    return _logistic(_positive_negative(data), fixed, _maximal(fixed, ["side"]), "side_x_valence",
                     "positive- and negative-emotion trials")
