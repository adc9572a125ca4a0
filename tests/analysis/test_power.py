"""python -m analysis.power: simulate from the pilot's fitted models, power per N with Monte-Carlo CIs."""

import numpy as np
import pandas as pd
import pytest

from analysis import power
from analysis.power import FittedModel, power_table, required_participants, run_power, sentences, simulate_from_fit
from analysis.simulate import simulate_trials, write_logs

SD = {("participant", "intercept"): 0.3, ("participant", "side"): 0.2, ("photo_id", "intercept"): 0.25,
      ("photo_id", "side"): 0.0, ("residual", ""): 0.5}


def _models(intensity_effect=0.4):
    return {"rt": FittedModel(0.3, -0.02, {**SD, ("residual", ""): 0.35}),
            "intensity": FittedModel(3.0, intensity_effect, SD),
            "accuracy": FittedModel(0.5, 0.2, {k: v for k, v in SD.items() if k[0] != "residual"})}


def test_simulated_data_follow_the_fitted_model():
    data = simulate_from_fit(_models(), n_participants=200, n_photos=40, rng=np.random.default_rng(1))
    assert len(data) == 200 * 40 * 2 and set(data["visible_half"]) == {"left", "right"}
    # Every participant sees both halves of every photo once.
    assert (data.groupby(["participant", "photo_id"]).size() == 2).all()
    side_diff = data.pivot_table(index="participant", columns="visible_half", values="intensity").eval("left - right")
    assert side_diff.mean() == pytest.approx(0.4, abs=0.05)
    # SD of per-participant differences: slope SD 0.2 plus residual noise of a 40-photo mean difference.
    expected = np.sqrt(0.2 ** 2 + 2 * 0.5 ** 2 / 40)
    assert side_diff.std() == pytest.approx(expected, rel=0.15)
    assert data["correct"].isin([0, 1]).all() and (data["rt"] > 0).all()
    assert np.log(data["rt"]).mean() == pytest.approx(0.3, abs=0.06)


def test_power_table_counts_rejections_with_clopper_pearson_intervals():
    p = pd.DataFrame({"n_participants": [10] * 4 + [20] * 4,
                      "intensity mixed model": [0.01, 0.2, 0.04, 0.5, 0.01, 0.02, 0.03, 0.9]})
    t = power_table(p, alpha=0.05)
    assert list(t["power"]) == [0.5, 0.75] and list(t["rejections"]) == [2, 3]
    assert t.loc[0, "ci_low"] == pytest.approx(0.0676, abs=1e-3)  # beta(0.025; 2, 3)
    assert t.loc[0, "ci_high"] == pytest.approx(0.9324, abs=1e-3)
    req = required_participants(t, target=0.7)
    assert req.loc[0, "n_required"] == 20
    text = sentences(req, _models())
    assert text[0].startswith("To detect the observed left - right difference in intensity (b = +0.400 rating points)")
    assert "you need 20 participants" in text[0]
    never = sentences(required_participants(t, target=0.9), _models())[0]
    assert "more than 20 participants (power at 20: 75%)" in never


@pytest.mark.slow
def test_power_grows_with_participants_and_does_not_depend_on_jobs():
    models = _models(intensity_effect=0.25)
    one = run_power(models, [4, 24], n_photos=20, sims=6, seed=3, jobs=1, progress=False)
    two = run_power(models, [4, 24], n_photos=20, sims=6, seed=3, jobs=2, progress=False)
    pd.testing.assert_frame_equal(one, two)
    table = power_table(one)
    intensity = table[(table.outcome == "intensity") & (table.test == "mixed model")].set_index("n_participants")
    assert intensity.loc[24, "power"] > intensity.loc[4, "power"]


@pytest.mark.slow
def test_cli_writes_curve_csv_and_sentence_from_pilot_logs(tmp_path, capsys):
    write_logs(simulate_trials(6, effect=2.0, seed=4), tmp_path / "logs")
    # Simulated logs are left out unless asked for, like in the report.
    assert power.main([str(tmp_path / "logs"), "--sims", "2", "--no-progress"]) == 2
    assert "simulated" in capsys.readouterr().err
    rc = power.main([str(tmp_path / "logs"), "--participants", "6,10", "--sims", "4", "--photos", "14",
                     "--include-simulated", "--no-progress", "--out", str(tmp_path / "pw")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "To detect the observed left - right difference in intensity" in out
    table = pd.read_csv(tmp_path / "pw" / "power.csv")
    assert set(table["n_participants"]) == {6, 10} and (table["n_sims"] == 4).all()
    assert set(table["test"]) == {"participant-level", "mixed model"}
    assert (tmp_path / "pw" / "power.png").stat().st_size > 10_000
    assert len(pd.read_csv(tmp_path / "pw" / "power_pvalues.csv")) == 8


def test_cli_refuses_bad_sizes_and_tiny_pilots(tmp_path, capsys):
    with pytest.raises(SystemExit):
        power.main([str(tmp_path), "--participants", "two"])
    assert "whole numbers" in capsys.readouterr().err
    write_logs(simulate_trials(2, seed=1), tmp_path / "logs")
    assert power.main([str(tmp_path / "logs"), "--include-simulated", "--no-progress"]) == 2
    assert "at least 3" in capsys.readouterr().err


def test_a_test_that_could_not_be_computed_is_left_out_but_a_missing_p_value_is_an_error(monkeypatch):
    # p values are read from the registry's rows, as the report reads them: a paired test with no variance says
    # why and counts as no replication (NaN, dropped by power_table); a renamed key raises instead of reading NaN.
    from analysis import registry
    fit = {"coef": 0.1, "ci_low": 0.0, "ci_high": 0.2, "se": 0.05, "z": 2.0, "p": 0.04}
    for key, (_, column, subset, unit) in list(power.OUTCOMES.items()):
        monkeypatch.setitem(power.OUTCOMES, key, (lambda _data: fit, column, subset, unit))
    data = pd.DataFrame({"correct": [1]})
    monkeypatch.setattr(power.participant_level, "paired_side_test", lambda *_: {"error": "no variance"})
    p = power.recommended_p_values(data)
    assert np.isnan(p["rt participant-level"]) and p["rt mixed model"] == 0.04
    monkeypatch.setattr(power.participant_level, "paired_side_test", lambda *_: {"t": 2.0, "p_value": 0.04})
    with pytest.raises(registry.MissingTestError, match="participant_level.rt"):
        power.recommended_p_values(data)
