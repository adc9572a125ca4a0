"""The summary reads as results-section sentences whose verdicts follow the numbers they quote."""

import pytest

from analysis import registry
from analysis.summary import MODEL_EXTRAS, PAIRED_EXTRAS, _side_sentence, _valence_interaction, mixed_stat

NOT_FITTED = {"error": "not fitted"}


def _nest(path, entry):
    for key in reversed(path.split(".")):
        entry = {key: entry}
    return entry


def _row(id, entry):
    """The summary's row of a results.json ``entry`` stored where registry test ``id`` reads it."""
    return registry.find(_nest(registry.test(id).entry, entry), id, PAIRED_EXTRAS + MODEL_EXTRAS)


def _side(key, pl, mm, glmer=None):
    """_side_sentence on the rows of entries stored as results.json stores them."""
    mm_row = _row(f"mixed_models.{key}.p", mm)
    with_glmer = _nest(f"mixed_models.{key}", {**mm, "glmer_sensitivity": glmer})
    g = registry.find(with_glmer, f"mixed_models.{key}.glmer_sensitivity.p", ("disagree_at_05",)) if glmer else None
    return _side_sentence(key, _row(f"participant_level.{key}.p", pl), mm_row, g)


def _pl(p, diff, t=2.5):
    return {"p": p, "t": t, "df": 17.0, "mean_diff": diff, "ci_low": diff - 0.1, "ci_high": diff + 0.1,
            "d_z": 0.6, "d_av": 0.5, "n_participants": 18, "means": {"left": 3.0 + diff, "right": 3.0}}


@pytest.mark.parametrize("key,diff,word", [("intensity", 0.3, "as more intense"),
                                           ("intensity", -0.3, "as less intense"), ("rt", -0.05, "faster"),
                                           ("rt", 0.05, "more slowly"), ("accuracy", 0.04, "more accurately")])
def test_significant_difference_is_stated_in_the_direction_of_the_data(key, diff, word):
    text = _side(key, _pl(0.01, diff), NOT_FITTED)
    assert f"left half-faces {word} than right half-faces" in text
    assert "t(17) = 2.50, p = .010" in text and "paired t-test on participant means, n = 18" in text


def test_non_significant_difference_is_not_called_an_effect():
    text = _side("intensity", _pl(0.2, 0.05, t=1.3), NOT_FITTED)
    assert text.startswith("The mean intensity rating did not differ significantly between left and right")
    assert "more intense" not in text


def test_mixed_model_sentence_names_the_fitted_model_and_its_uncertainty_label():
    mm = {"model": "logistic mixed model (Laplace)", "fitted_formula": "correct ~ side + (1 | participant)",
          "coef": 0.2, "se": 0.1, "se_label": "posterior SD", "z": 2.0, "p": 0.0456, "ci_low": 0.0, "ci_high": 0.4,
          "odds_ratio": 1.22, "or_ci_low": 1.0, "or_ci_high": 1.49}
    text = _side("accuracy", _pl(0.01, 0.04), mm)
    assert ("In a logistic GLMM with a gamma(2) prior on the random-effect SDs, as blme::bglmer "
            "(correct ~ side + (1 | participant))") in text
    assert "1.22 times as high for left half-faces, 95% CI [1.00, 1.49]" in text
    assert "posterior SD = 0.100, z = 2.00, p = .046" in text
    assert mixed_stat({**mm, "df": None}) == "b = 0.200, posterior SD = 0.100, z = 2.00, p = .046"


def test_a_model_left_without_random_effects_is_not_called_a_mixed_model():
    # All answers correct: the RT-by-valence model loses every random effect (zero variance) and is then an
    # ordinary regression over trials, which the sentence must say.
    mm = {"model": "linear mixed model", "fitted_formula": "log_rt ~ side", "coef": -0.1, "se": 0.02, "se_label": "SE",
          "z": -5.0, "t": -5.0, "df": 1786.0, "p": 1e-6, "ci_low": -0.14, "ci_high": -0.06, "ratio": 0.9,
          "ratio_ci_low": 0.87, "ratio_ci_high": 0.94}
    text = _side("rt", _pl(0.01, -0.05), mm)
    assert "mixed model (log_rt ~ side)" not in text
    assert "an ordinary linear regression (log_rt ~ side; every random effect was estimated at zero" in text


def _chi2(p):
    return {"pearson": {"chi2": 3.0, "df": 1, "p": p}, "odds_ratio": {"or": 1.5, "ci_low": 1.0, "ci_high": 2.2},
            "cramers_v": 0.1, "n": 360}


def _results(inter_p, pos_p, neg_p, source="mixed_model"):
    r = {"p": inter_p, "coef": 0.5, "se": 0.4, "z": 1.25, "t": 1.25, "df": 17.0, "ci_low": -0.3, "ci_high": 1.3,
         "n_participants": 18}
    if source == "mixed_model":
        r.update({"model": "logistic mixed model", "fitted_formula": "correct ~ side * valence + (1 | participant)",
                  "df": None, "glmer_sensitivity": {"error": "maximum-likelihood fit failed"}})
    # Each entry where results.json keeps it (the registry's paths); the other two could not be computed.
    entries = {"trial_level": NOT_FITTED, "mixed_model": NOT_FITTED, "participant_level": NOT_FITTED, source: r}
    return {"accuracy_side_by_valence": {"p": inter_p if source != "trial_level" else None,
                                         "trial_level": entries["trial_level"]},
            "mixed_models": {"accuracy_side_by_valence": entries["mixed_model"]},
            "participant_level": {"accuracy_side_by_valence": entries["participant_level"]},
            "accuracy_positive_left_vs_right": _chi2(pos_p), "accuracy_negative_left_vs_right": _chi2(neg_p)}


def test_significant_and_non_significant_chi2_without_interaction_get_the_gelman_stern_sentence():
    text = _valence_interaction(_results(0.21, 0.001, 0.069))
    # Neutral wording: no "left-half advantage" presupposed.
    assert text.startswith("The left − right accuracy difference did not differ significantly between positive "
                           "and negative emotions")
    assert "advantage" not in text
    assert "Gelman & Stern 2006" in text
    assert "Gelman" not in _valence_interaction(_results(0.01, 0.001, 0.069))
    assert "differed significantly" in _valence_interaction(_results(0.01, 0.001, 0.069))
    assert "Gelman" not in _valence_interaction(_results(0.5, 0.3, 0.4))  # nothing to misread


def test_trial_level_regression_alone_gives_no_interaction_verdict():
    text = _valence_interaction(_results(0.01, 0.001, 0.069, source="trial_level"))
    assert text.startswith("Could not be tested: the side × valence interaction")
    assert "significant" not in text


def test_rt_valence_verdict_comes_from_the_mixed_model_because_valence_varies_between_photos():
    from analysis.summary import _rt_valence
    pl = {"p": 0.001, "t": -5.0, "df": 17.0, "mean_diff": -0.3, "ci_low": -0.4, "ci_high": -0.2,
          "n_participants": 18, "means": {"positive": 1.2, "negative": 1.5}}
    mm = {"model": "linear mixed model", "fitted_formula": "log_rt ~ valence + (1 | photo_id)", "coef": -0.1,
          "se": 0.08, "z": -1.25, "df": 20.0, "p": 0.23, "ci_low": -0.26, "ci_high": 0.06, "ratio": 0.9,
          "ratio_ci_low": 0.77, "ratio_ci_high": 1.06}
    res = {"participant_level": {"rt_positive_vs_negative": pl}, "mixed_models": {"rt_positive_vs_negative": mm}}
    text = _rt_valence(res)
    assert text.startswith("Correct-trial RT did not differ significantly between positive and negative emotions")
    assert "treats the photos as fixed" in text
    # Without the mixed model there is no verdict: the participant-level test treats the photos as fixed.
    res["mixed_models"]["rt_positive_vs_negative"] = {"error": "model not fitted: singular"}
    text = _rt_valence(res)
    assert text.startswith("Could not be tested: RT for positive vs negative emotions (mixed model: model not "
                           "fitted: singular)")
    assert "faster" not in text and "significant" not in text


def test_logistic_sentence_names_the_prior_and_gives_the_glmer_fit_with_a_note_when_they_disagree():
    from analysis.mixed_models import PRIOR, SE_LABEL
    glmer = {"model": "logistic mixed model (ML, as lme4::glmer)", "fitted_formula": "correct ~ side + (1 | photo_id)",
             "coef": 0.21, "se": 0.105, "se_label": SE_LABEL["ml"], "z": 2.0, "p": 0.046, "ci_low": 0.004,
             "ci_high": 0.416, "disagree_at_05": True}
    mm = {"model": "logistic mixed model", "fitted_formula": "correct ~ side + (1 + side || photo_id)",
          "prior": PRIOR, "coef": 0.2, "se": 0.105, "se_label": SE_LABEL["prior"], "z": 1.9, "p": 0.058,
          "ci_low": -0.01, "ci_high": 0.41, "odds_ratio": 1.22, "or_ci_low": 0.99, "or_ci_high": 1.5,
          "glmer_sensitivity": glmer}
    text = _side("accuracy", _pl(0.2, 0.02, t=1.3), mm, glmer)
    assert f"In a logistic GLMM with a {PRIOR} (" in text and "SE (penalised) = 0.105, z = 1.90, p = .058" in text
    assert "Without the prior (as lme4::glmer, correct ~ side + (1 | photo_id)): b = 0.210, SE (ML) = 0.105" in text
    assert "disagree about p < .05 (with the prior p = .058, without it p = .046)" in text
    assert "disagree" not in _side("accuracy", _pl(0.2, 0.02, t=1.3), mm, {**glmer, "disagree_at_05": False})


def test_a_test_missing_from_the_results_is_an_error_not_a_sentence_about_nan():
    from analysis.summary import _rt_valence
    res = {"participant_level": {"rt_positive_vs_negative": NOT_FITTED}, "mixed_models": {}}
    with pytest.raises(registry.MissingTestError, match="mixed_models.rt_positive_vs_negative"):
        _rt_valence(res)
    renamed = _results(0.2, 0.3, 0.4)
    chi2 = renamed["accuracy_positive_left_vs_right"]
    chi2["pearson_chi2"] = chi2.pop("pearson")
    with pytest.raises(registry.MissingTestError, match="accuracy_positive_left_vs_right"):
        _valence_interaction(renamed)
