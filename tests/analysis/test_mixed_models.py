"""Mixed models recover simulated effects and agree with closed forms where those exist."""

import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.mixed_models import accuracy_mixed_model, intensity_mixed_model, rt_mixed_model
from analysis.simulate import simulate_trials


@pytest.fixture(scope="module")
def trials():
    return simulate_trials(n_participants=18, effect=2.0, seed=21)


@pytest.mark.slow
def test_intensity_side_coefficient_equals_mean_difference_in_a_balanced_design(trials):
    # Every participant sees every photo on both sides, so the GLS estimate of
    # the side effect is the plain difference of means (random effects cancel).
    r = intensity_mixed_model(trials)
    diff = trials.loc[trials.visible_half == "left", "intensity"].mean() - \
        trials.loc[trials.visible_half == "right", "intensity"].mean()
    assert r["coef"] == pytest.approx(diff, abs=1e-6)
    assert r["converged"] and r["n_obs"] == 2520
    # Simulated: +0.3 * effect latent points (rounding/clipping shrink it a little).
    assert 0.35 < r["coef"] < 0.75 and r["p"] < 1e-6
    assert r["var_participant"] > 0.05 and r["var_photo"] > 0.02


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
    assert r["model"].startswith("BinomialBayesMixedGLM")
    assert r["ci_low"] < 0.6 < r["ci_high"] and r["p"] < 1e-4  # simulated 0.3 * effect
    assert r["odds_ratio"] == pytest.approx(np.exp(r["coef"]))
    # Conditional (random-effects) log-odds exceed the population-averaged GEE estimate.
    d = trials.assign(left=(trials.visible_half == "left") * 1.0)
    gee = smf.gee("correct ~ left", "participant", d, family=sm.families.Binomial()).fit()
    assert r["coef"] > gee.params["left"] > 0


@pytest.mark.slow
def test_no_effect_gives_intervals_covering_zero():
    null = simulate_trials(n_participants=18, effect=0.0, seed=4)
    for fn in (rt_mixed_model, intensity_mixed_model, accuracy_mixed_model):
        r = fn(null)
        assert r["ci_low"] < 0 < r["ci_high"], (fn.__name__, r["coef"], r["ci_low"], r["ci_high"])
