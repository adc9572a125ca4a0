"""The report's mixed models recover simulated effects, with the random-effects structure the design calls for."""

import numpy as np
import pytest
import statsmodels.formula.api as smf

from analysis import mixed_models
from analysis.mixed_models import (accuracy_mixed_model, accuracy_side_by_valence_mixed_model, coded, formula,
                                   intensity_mixed_model, rt_mixed_model, rt_valence_mixed_model)
from analysis.lme import RandomTerm, fit_glmer
from analysis.simulate import simulate_trials


@pytest.fixture(scope="module")
def trials():
    return simulate_trials(n_participants=18, effect=2.0, seed=21)


def test_formula_is_written_like_lme4():
    terms = [RandomTerm("participant"), RandomTerm("participant", "side"), RandomTerm("photo_id")]
    assert formula("y", ["side"], terms) == "y ~ side + (1 + side || participant) + (1 | photo_id)"
    assert formula("y", [], [RandomTerm("g", "x")]) == "y ~ 1 + (0 + x || g)"


@pytest.mark.slow
def test_intensity_side_coefficient_equals_mean_difference_in_a_balanced_design(trials):
    # Every participant sees every photo on both sides, so the GLS estimate of
    # the side effect is the plain difference of means (random effects cancel).
    r = intensity_mixed_model(trials)
    diff = trials.loc[trials.visible_half == "left", "intensity"].mean() - \
        trials.loc[trials.visible_half == "right", "intensity"].mean()
    assert r["coef"] == pytest.approx(diff, abs=1e-6)
    assert r["converged"] and r["n_obs"] == 2520 and r["n_participants"] == 18 and r["n_photos"] == 70
    # Simulated: +0.3 * effect latent points (rounding/clipping shrink it a little).
    assert 0.35 < r["coef"] < 0.75 and r["p"] < 1e-4
    assert r["var_participant"] > 0.05 and r["var_photo"] > 0.02
    assert r["requested_formula"] == "intensity ~ side + (1 + side || participant) + (1 + side || photo_id)"
    groups = {(x["group"], x["term"]) for x in r["random_effects"]}
    assert ("residual", "") in groups and ("participant", "intercept") in groups
    # Satterthwaite df: the side effect is tested against between-participant/photo
    # variation in it, so df is far below the 2518 of a trial-level test.
    assert 10 < r["df"] < 200 and r["statistic"] == "t"


@pytest.mark.slow
def test_rt_model_recovers_log_rt_effect_and_variances(trials):
    r = rt_mixed_model(trials)
    assert r["n_obs"] == int(trials["correct"].sum())
    assert r["ci_low"] < -0.06 < r["ci_high"]  # simulated -0.03 * effect on log RT
    assert r["ratio"] == pytest.approx(np.exp(r["coef"]))
    assert 0.02 < r["var_participant"] < 0.12 and 0.1 < r["var_residual"] < 0.14  # simulated 0.04, 0.1225
    # The fixed effect is close to OLS with participant + photo dummies (a fixed-effects check).
    c = trials[trials.correct == 1].assign(log_rt=lambda d: np.log(d.rt),
                                           left=lambda d: (d.visible_half == "left") * 1.0)
    ols = smf.ols("log_rt ~ left + C(participant) + C(photo_id)", c).fit()
    assert r["coef"] == pytest.approx(ols.params["left"], abs=0.01)


@pytest.mark.slow
def test_accuracy_model_recovers_log_odds_effect(trials):
    r = accuracy_mixed_model(trials)
    assert r["model"].startswith("logistic mixed model") and r["statistic"] == "z"
    assert r["ci_low"] < 0.6 < r["ci_high"] and r["p"] < 0.01  # simulated 0.3 * effect
    assert r["odds_ratio"] == pytest.approx(np.exp(r["coef"]))
    # Conditional (random-effects) log-odds exceed the population-averaged marginal estimate.
    d = trials.assign(left=(trials.visible_half == "left") * 1.0)
    marginal = smf.logit("correct ~ left", d).fit(disp=0)
    assert r["coef"] > marginal.params["left"] > 0


@pytest.mark.slow
def test_rt_valence_model_recovers_positive_faster_than_negative(trials):
    r = rt_valence_mixed_model(trials)
    assert r["term"] == "valence" and r["subset"].startswith("correct trials")
    assert r["ci_low"] < -0.27 < r["ci_high"] and r["p"] < 1e-3  # simulated -0.27 log RT
    assert r["ratio"] < 1


@pytest.mark.slow
def test_side_by_valence_interaction_is_found_when_simulated_and_not_otherwise():
    with_ia = simulate_trials(24, effect=0.0, seed=5, effects={"accuracy_side_by_valence": 1.5})
    r = accuracy_side_by_valence_mixed_model(with_ia)
    assert r["term"] == "side_x_valence" and r["ci_low"] < 1.5 < r["ci_high"] and r["p"] < 0.05
    assert set(r["terms"]) == {"Intercept", "side", "valence", "side_x_valence"}
    none = accuracy_side_by_valence_mixed_model(simulate_trials(24, effect=0.0, seed=5))
    assert none["ci_low"] < 0 < none["ci_high"]


# --- the declared prior and the glmer sensitivity fit --------------------------------------------

@pytest.fixture(scope="module")
def small():
    return simulate_trials(n_participants=10, photos_per_emotion=3, effect=2.0, seed=4)


def test_logistic_results_declare_the_prior_and_label_the_se_as_the_penalised_fits(small):
    r = accuracy_mixed_model(small)
    assert r["prior"] == "gamma(2) prior on the random-effect SDs, as blme::bglmer"
    assert "gamma(2) prior" in r["se_label"] and "penalised" in r["se_label"]
    sens = r["glmer_sensitivity"]
    assert sens["prior"] is None and "no prior" in sens["se_label"] and "glmer" in sens["model"]
    # The sensitivity row is a full model result: every key of the main result but its own.
    assert set(r) - {"glmer_sensitivity"} <= set(sens)
    assert sens["disagree_at_05"] == ((r["p"] < 0.05) != (sens["p"] < 0.05))
    assert sens["odds_ratio"] == pytest.approx(np.exp(sens["coef"]))


def test_linear_results_have_no_prior_and_no_sensitivity_fit(small):
    r = intensity_mixed_model(small)
    assert r["prior"] is None and r["se_label"] == "SE" and "glmer_sensitivity" not in r


def test_the_sensitivity_fit_is_glmer_simplified_by_the_linear_models_rule(small):
    # Maximum likelihood with no by-photo slope in the generating model puts that SD at 0:
    # the sensitivity fit drops it (as an LMM would), the penalised fit keeps every term.
    t = simulate_trials(n_participants=12, photos_per_emotion=4, effect=1.0, seed=11, slopes=0.0)
    r = accuracy_mixed_model(t)
    sens = r["glmer_sensitivity"]
    assert r["simplifications"] == [] and r["fitted_formula"] == r["requested_formula"]
    assert sens["simplifications"] and all(s.startswith("dropped (0 + side|") for s in sens["simplifications"])
    assert sens["converged"] and not sens["singular"]
    ml = fit_glmer(coded(t), "correct", ["side"], [RandomTerm(g, c) for g, c in _terms(sens["fitted_formula"])])
    assert sens["coef"] == pytest.approx(ml.row("side")["coef"], abs=1e-9)
    assert sens["se"] == pytest.approx(ml.row("side")["se"], rel=1e-9)


def _terms(fitted_formula: str):
    """(group, covariate) pairs of a formula written by ``formula`` (only what these tests need)."""
    out = []
    for block in fitted_formula.split(" + (")[1:]:
        covs, group = block.rstrip(")").replace("||", "|").split(" | ")
        for c in covs.split(" + "):
            if c != "0":
                out.append((group, None if c == "1" else c))
    return out


def test_a_failed_maximum_likelihood_fit_is_reported_and_the_main_result_kept(small, monkeypatch):
    real = mixed_models.fit_glmer

    def failing(data, dv, fixed, terms, sd_prior_shape=None):
        if sd_prior_shape is None:
            raise np.linalg.LinAlgError("Singular matrix")
        return real(data, dv, fixed, terms, sd_prior_shape=sd_prior_shape)

    monkeypatch.setattr(mixed_models, "fit_glmer", failing)
    r = accuracy_side_by_valence_mixed_model(small)
    assert r["glmer_sensitivity"] == {"error": "maximum-likelihood fit failed: Singular matrix"}
    assert np.isfinite(r["p"]) and r["prior"]
