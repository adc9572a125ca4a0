"""analysis.lme fits what lme4 fits: same optimum, SEs, Satterthwaite df and p as stored lme4 output."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis import lme, mixed_models as mm
from analysis.simulate import simulate_trials

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "lme4_reference.json").read_text())
MODELS = {"rt": mm.rt_mixed_model, "intensity": mm.intensity_mixed_model, "accuracy": mm.accuracy_mixed_model,
          "rt_valence": mm.rt_valence_mixed_model,
          "accuracy_side_by_valence": mm.accuracy_side_by_valence_mixed_model}


@pytest.fixture(scope="module")
def trials():
    # Synthetic (analysis.simulate, seed 2024), stored so that lme4 saw exactly these rows.
    return pd.read_csv(DATA / "lme4_reference_trials.csv.gz")


@pytest.fixture(scope="module")
def fitted(trials):
    return {k: fn(trials) for k, fn in MODELS.items()}


@pytest.fixture(scope="module")
def glmer_accuracy(trials):
    """The accuracy model without the prior, as lme4::glmer (maximal terms); read by two tests."""
    return lme.fit_glmer(mm.coded(trials), "correct", ["side"], mm._maximal(["side"], ["side"]))


def _lme4_variances(ref: dict) -> dict:
    """lme4's 'photo_id.1:(Intercept)' naming -> our (group, term)."""
    out = {}
    for name, v in ref["variances"].items():
        grp, term = name.split(":")
        grp = grp.split(".")[0]
        out[("residual", "") if grp == "Residual" else (grp, "intercept" if term == "(Intercept)" else term)] = v
    return out


@pytest.mark.parametrize("key", ["rt", "intensity", "rt_valence"])
def test_linear_models_match_lmer_with_satterthwaite_df(fitted, key):
    r, ref = fitted[key], REF[key]
    assert r["simplifications"] == [] and r["converged"] and not r["singular"]
    assert r["coef"] == pytest.approx(ref["coef"], abs=1e-5)
    assert r["se"] == pytest.approx(ref["se"], rel=1e-3)
    assert r["df"] == pytest.approx(ref["df"], rel=2e-3)  # lmerTest's Satterthwaite
    assert r["p"] == pytest.approx(ref["p"], rel=5e-3, abs=1e-6)
    ours = {(x["group"], x["term"]): x["variance"] for x in r["random_effects"]}
    for k, v in _lme4_variances(ref).items():
        assert ours[k] == pytest.approx(v, rel=5e-3, abs=1e-6), k


def _variances_match(r, ref, rel):
    ours = {(x["group"], x["term"]): x["variance"] for x in r["random_effects"]}
    for k, v in _lme4_variances(ref).items():
        assert ours[k] == pytest.approx(v, rel=rel, abs=1e-4), k


@pytest.mark.parametrize("key", ["accuracy", "accuracy_side_by_valence"])
def test_logistic_models_match_bglmer_with_a_gamma_prior_on_the_sds(fitted, key):
    r, ref = fitted[key], REF[f"{key}_blme"]
    assert r["simplifications"] == [] and r["statistic"] == "z" and r["df"] is None and not r["singular"]
    assert "gamma(2) prior" in r["model"]
    assert r["coef"] == pytest.approx(ref["coef"], abs=2e-3)
    assert r["se"] == pytest.approx(ref["se"], rel=0.01)
    assert r["p"] == pytest.approx(ref["p"], abs=0.005)
    _variances_match(r, ref, rel=0.02)


def test_without_the_prior_the_logistic_fit_is_glmers(glmer_accuracy):
    ref = REF["accuracy"]
    fit = glmer_accuracy
    side = fit.row("side")
    assert side["coef"] == pytest.approx(ref["coef"], abs=1e-3)
    assert side["se"] == pytest.approx(ref["se"], rel=0.01)
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-3)
    _variances_match({"random_effects": fit.random.to_dict("records")}, ref, rel=0.01)


def test_maximum_likelihood_puts_a_variance_at_zero_where_the_prior_does_not(fitted, trials):
    # glmer's fit of the interaction model is singular (photo side slope at 0); ours without
    # the prior reaches the same or a better optimum, and the report's penalised fit is not singular.
    ref = REF["accuracy_side_by_valence"]
    assert ref["singular"] and ref["variances"]["photo_id:side"] == 0
    fixed = ["side", "valence", "side_x_valence"]
    ml = lme.fit_glmer(mm._positive_negative(trials), "correct", fixed,
                       mm._maximal(fixed, ["side"]))
    assert ml.singular and ml.deviance <= ref["deviance"] + 1e-3
    assert ml.row("side_x_valence")["coef"] == pytest.approx(ref["coef"], abs=0.01)
    assert not fitted["accuracy_side_by_valence"]["singular"]


def test_deviances_are_lme4s(trials, glmer_accuracy):
    # REML criterion of the linear models equals lme4's REMLcrit at the optimum.
    ok = mm.coded(trials[trials.correct == 1]).assign(log_rt=lambda x: np.log(x.rt))
    fit = lme.fit_lmm(ok, "log_rt", ["side"], mm._maximal(["side"], ["side"]))
    assert fit.deviance == pytest.approx(REF["rt"]["deviance"], abs=1e-4)
    acc = glmer_accuracy
    assert acc.deviance == pytest.approx(REF["accuracy"]["deviance"], abs=1e-3)


def test_same_logs_give_the_same_digits(fitted, trials):
    # The old variational fit started at a random point; these fits are deterministic. The first fit is the
    # module's (mm.accuracy_mixed_model on the same rows), the second a new one on a copy of them.
    a, b = fitted["accuracy"], mm.accuracy_mixed_model(trials.copy())
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_intercepts_only_model_agrees_with_statsmodels_mixedlm():
    # A second library on the same criterion: statsmodels' crossed variance components (REML, Powell).
    t = simulate_trials(8, photos_per_emotion=3, effect=1.0, seed=3)
    d = mm.coded(t)
    d["one"] = 1
    sm = smf.mixedlm("intensity ~ side", d, groups="one", re_formula="0",
                     vc_formula={"participant": "0 + C(participant)", "photo": "0 + C(photo_id)"}).fit(
        reml=True, method=["powell", "lbfgs"])
    ours = lme.fit_lmm(d, "intensity", ["side"], [lme.RandomTerm("participant"), lme.RandomTerm("photo_id")])
    assert ours.row("side")["coef"] == pytest.approx(sm.fe_params["side"], abs=1e-6)
    assert ours.row("side")["se"] == pytest.approx(sm.bse_fe["side"], rel=1e-3)
    assert ours.random["variance"].iloc[:2].to_numpy() == pytest.approx(np.asarray(sm.vcomp), rel=1e-2)
    assert ours.random["variance"].iloc[2] == pytest.approx(sm.scale, rel=1e-3)


def test_without_random_terms_the_fits_are_ols_and_logistic_regression():
    t = mm.coded(simulate_trials(4, effect=2.0, seed=1))
    ols = smf.ols("intensity ~ side", t).fit()
    fit = lme.fit_lmm(t, "intensity", ["side"], [])
    assert fit.row("side")["se"] == pytest.approx(ols.bse["side"], rel=1e-9)
    assert fit.row("side")["df"] == ols.df_resid
    logit = smf.logit("correct ~ side", t).fit(disp=0)
    g = lme.fit_glmer(t, "correct", ["side"], [])
    assert g.row("side")["coef"] == pytest.approx(logit.params["side"], abs=1e-6)
    assert g.row("side")["se"] == pytest.approx(logit.bse["side"], rel=1e-5)


def test_a_zero_slope_variance_is_dropped_and_reported():
    # No by-photo or by-participant side slopes in the generating model, large samples:
    # the maximal model is singular and the rule removes the slopes, smallest first.
    t = simulate_trials(18, effect=0.0, seed=8, slopes=0.0)
    r = mm.intensity_mixed_model(t)
    assert r["converged"] and not r["singular"]
    assert all(s.startswith("dropped (0 + side|") for s in r["simplifications"])
    assert r["fitted_formula"].count("side") == 1 + (2 - len(r["simplifications"]))


def test_unestimable_fixed_effect_is_a_clear_error():
    t = mm.coded(simulate_trials(3, seed=0))
    t = t[t.visible_half == "left"]
    with pytest.raises(ValueError, match="not estimable"):
        lme.fit_lmm(t, "intensity", ["side"], [lme.RandomTerm("participant")])


def test_the_glmer_sensitivity_row_is_glmers_fit(fitted):
    # The report's logistic result carries the same model fitted without the prior: lme4::glmer's numbers.
    sens, ref = fitted["accuracy"]["glmer_sensitivity"], REF["accuracy"]
    assert sens["prior"] is None and sens["simplifications"] == [] and not ref["singular"]
    assert sens["coef"] == pytest.approx(ref["coef"], abs=1e-3)
    assert sens["se"] == pytest.approx(ref["se"], rel=0.01)
    assert sens["p"] == pytest.approx(ref["p"], abs=0.005)
    assert sens["disagree_at_05"] is False


class _DenseCholesky(lme._CrossedCholesky):
    """The same interface on the dense q × q matrix: what lme.py factored before it went sparse."""

    def factor(self, lam, A0, B0, C0):
        q_a = self.q_a
        full = np.zeros((self.q, self.q))
        for j in range(self.n_s):
            s = slice(j * self.m_s, (j + 1) * self.m_s)
            full[s, s] = A0[j]
        full[:q_a, q_a:], full[q_a:, :q_a], full[q_a:, q_a:] = B0, B0.T, C0
        inv = np.argsort(self.perm)
        full = full[np.ix_(inv, inv)]  # back to the original column order
        H = lam[:, None] * full * lam[None, :] + np.eye(self.q)
        self.L = np.linalg.cholesky(H)
        self.logdet = 2 * np.log(np.diag(self.L)).sum()
        return self

    def forward(self, b):
        return np.linalg.solve(self.L, b)  # any order: only norms and products of L⁻¹b are used

    def solve(self, b):
        return np.linalg.solve(self.L.T, np.linalg.solve(self.L, b))


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_the_sparse_block_factor_gives_the_dense_factors_fit(family, monkeypatch):
    # Same optimum, SEs and df to 1e-6 whether Λ'Z'WZΛ + I is factored blockwise or densely.
    t = mm._positive_negative(simulate_trials(18, effect=1.0, seed=7))  # the paper's design
    fixed = ["side", "valence", "side_x_valence"]
    terms = mm._maximal(fixed, ["side"])
    if family == "gaussian":
        t = t[t.correct == 1].assign(log_rt=lambda d: np.log(d.rt))
        fit = lambda: lme.fit_lmm(t, "log_rt", fixed, terms)  # noqa: E731
    else:
        fit = lambda: lme.fit_glmer(t, "correct", fixed, terms, sd_prior_shape=2.0)  # noqa: E731
    sparse = fit()
    monkeypatch.setattr(lme, "_CrossedCholesky", _DenseCholesky)
    dense = fit()
    assert sparse.deviance == pytest.approx(dense.deviance, abs=1e-8)
    for col in ("coef", "se", "df", "p"):
        assert sparse.fixed[col].to_numpy() == pytest.approx(dense.fixed[col].to_numpy(), rel=1e-6, abs=1e-9), col
    assert sparse.theta == pytest.approx(dense.theta, rel=1e-6, abs=1e-6)


# --- the hard cases: simplification, unbalanced data, 60 participants, near-separation, few participants ---
# Reference fits by R (tests/analysis/data/lme4_cases.R, which applies mixed_models' simplification rule in
# R) on the stored trials of tests/analysis/data/make_lme4_cases.py.

CASES = json.loads((DATA / "lme4_cases.json").read_text())
CASE_MODELS = {  # reference name -> (report model, where its result is)
    "rt": (mm.rt_mixed_model, None), "intensity": (mm.intensity_mixed_model, None),
    "rt_valence": (mm.rt_valence_mixed_model, None),
    "accuracy": (mm.accuracy_mixed_model, None), "accuracy_glmer": (mm.accuracy_mixed_model, "glmer_sensitivity"),
    "accuracy_side_by_valence": (mm.accuracy_side_by_valence_mixed_model, None),
    "accuracy_side_by_valence_glmer": (mm.accuracy_side_by_valence_mixed_model, "glmer_sensitivity")}
CASE_PARAMS = [pytest.param(case, model, marks=[pytest.mark.slow] if case == "n60" else [])
               for case, fits in CASES.items() if isinstance(fits, dict) for model in fits]


@pytest.fixture(scope="module")
def case_fit():
    cache = {}

    def fit(case: str, model: str) -> dict:
        fn, part = CASE_MODELS[model]
        if (case, fn) not in cache:
            cache[case, fn] = fn(pd.read_csv(DATA / "lme4_cases" / f"{case}.csv.gz"))
        return cache[case, fn][part] if part else cache[case, fn]
    return fit


def test_there_are_at_least_ten_hard_reference_fits():
    assert len(CASE_PARAMS) >= 10
    dropped = [f["dropped"] for fits in CASES.values() if isinstance(fits, dict) for f in fits.values()]
    assert sum(bool(d) for d in dropped) >= 5  # the simplification rule is exercised, not just the maximal model


@pytest.mark.parametrize("case,model", CASE_PARAMS)
def test_hard_cases_match_r_in_structure_b_se_df_and_p(case, model, case_fit):
    ref, r = CASES[case][model], case_fit(case, model)
    # The same random-effects structure is chosen: the same terms dropped (their order can differ when two
    # variances are both 0), the same fitted formula.
    ours_dropped = [s.split(":")[0].removeprefix("dropped ") for s in r["simplifications"]]
    assert sorted(ours_dropped) == sorted(ref["dropped"])
    assert r["fitted_formula"] == ref["fitted_formula"] and r["requested_formula"] == ref["requested_formula"]
    if r["statistic"] == "t":  # lmer + lmerTest
        assert r["coef"] == pytest.approx(ref["coef"], abs=1e-5)
        assert r["se"] == pytest.approx(ref["se"], rel=1e-3)
        assert r["df"] == pytest.approx(ref["df"], rel=2e-3)
        assert r["p"] == pytest.approx(ref["p"], rel=5e-3, abs=1e-6)
    else:  # bglmer (the report's fit) or glmer (its sensitivity row)
        assert r["coef"] == pytest.approx(ref["coef"], abs=2e-3, rel=1e-3)
        # SEs within 1 % for the side models, up to 2.2 % for the four-slope interaction model: there lme4's
        # own deviance is not the converged Laplace deviance (unbalanced, glmer: R reports 1527.3785 at its
        # optimum, the Laplace deviance at R's very parameters is 1527.3737 and ours at our optimum 1527.3736),
        # and its finite-difference Hessian inherits that noise. Our SE does not move (1e-5) with the step.
        assert r["se"] == pytest.approx(ref["se"], rel=0.01 if "side_by_valence" not in model else 0.025)
        assert r["p"] == pytest.approx(ref["p"], abs=0.005 if "side_by_valence" not in model else 0.01)
    ours = {f"{x['group']}:{x['term']}": x["variance"] for x in r["random_effects"] if x["group"] != "residual"}
    assert set(ours) == set(ref["variances"])
    for k, v in ref["variances"].items():
        assert ours[k] == pytest.approx(v, rel=0.02, abs=1e-3), k
