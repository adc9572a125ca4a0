"""Simulated logs: the experiment's format, reproducible, realistic, effect in the asked direction."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.load import load_logs
from analysis.simulate import EFFECTS, SD, main, model_parameters, simulate_trials, write_logs
from halfface.schema import EMOTIONS, TRIAL_COLUMNS


def test_same_seed_same_logs_different_seed_different_logs():
    a, b = simulate_trials(3, seed=1), simulate_trials(3, seed=1)
    assert a.equals(b)
    assert not a.equals(simulate_trials(3, seed=2))


def test_design_and_columns_follow_the_session_log_format():
    t = simulate_trials(2, seed=0)
    assert list(t.columns) == list(TRIAL_COLUMNS)
    one = t[t.participant == "P01"]
    assert len(one) == 140 and list(one.trial) == list(range(1, 141))
    assert (one.groupby(["emotion", "visible_half"]).size() == 10).all()
    assert (one.correct == (one.emotion == one.response_emotion)).all()
    assert (one.response_key == one.response_emotion.map(lambda e: EMOTIONS.index(e) + 1)).all()
    assert (one.visible_image_side != one.visible_half).all()  # non-mirrored photos
    assert one.intensity.between(1, 5).all() and (one.rt > 0).all()
    assert (np.diff(one.stim_onset) > 0).all()


def test_rts_are_lognormal_and_accuracy_depends_on_emotion():
    t = simulate_trials(18, seed=3)
    log_rt = np.log(t.rt)
    assert abs(float(((log_rt - log_rt.mean()) ** 3).mean() / log_rt.std() ** 3)) < 0.3  # ~symmetric on log scale
    assert t.rt.mean() > t.rt.median()  # right-skewed on the raw scale
    acc = t.groupby("emotion").correct.mean()
    assert acc["happiness"] > 0.85 and acc["fear"] < 0.6


def test_effect_sets_direction_and_zero_means_none():
    big = simulate_trials(18, effect=3.0, seed=7)
    by = big.groupby("visible_half")
    assert by.correct.mean()["left"] > by.correct.mean()["right"] + 0.05
    assert by.intensity.mean()["left"] > by.intensity.mean()["right"] + 0.4
    assert np.log(big[big.visible_half == "left"].rt).mean() < np.log(big[big.visible_half == "right"].rt).mean()
    null = simulate_trials(18, effect=0.0, seed=7)
    assert abs(null.groupby("visible_half").intensity.mean().diff().iloc[-1]) < 0.15


def test_written_logs_pass_validation_and_sidecars_describe_sessions(tmp_path):
    write_logs(simulate_trials(2, seed=0), tmp_path, meta={"seed": 0})
    meta = json.loads((tmp_path / "P02_s1.json").read_text())
    assert meta["n_trials_planned"] == 140 and meta["completed"] is True and meta["seed"] == 0
    logs = load_logs(tmp_path, include_simulated=True)
    assert len(logs.trials) == 280 and logs.exclusions.empty


def test_cli_writes_logs_and_refuses_to_mix_with_existing(tmp_path, capsys):
    assert main(["--participants", "2", "--out", str(tmp_path), "--seed", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P01_s1.csv", "P01_s1.json", "P02_s1.csv", "P02_s1.json"]
    assert main(["--participants", "2", "--out", str(tmp_path)]) == 2
    assert "already holds CSV files" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--participants", "two", "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_python_m_analysis_simulate_writes_a_session(tmp_path):
    # the command end to end in a new interpreter, as make demo runs it
    p = subprocess.run([sys.executable, "-m", "analysis.simulate", "--participants", "1", "--out", str(tmp_path)],
                       cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in tmp_path.iterdir()) == ["P01_s1.csv", "P01_s1.json"]


def _side_differences(t, dv):
    """Per-participant and per-photo left - right mean differences of ``dv``."""
    def diffs(by):
        m = t.pivot_table(index=by, columns="visible_half", values=dv, aggfunc="mean")
        return (m["left"] - m["right"]).to_numpy()
    return diffs("participant"), diffs("photo_id")


def test_slopes_make_the_side_effect_vary_between_participants_and_photos():
    # 60 participants x 20 photos/emotion: enough trials that the slope SDs dominate noise.
    kw = dict(n_participants=60, photos_per_emotion=20, effect=0.0, effects={"rt_valence": 0.0})
    with_slopes = simulate_trials(seed=11, sd={"participant_intensity_side": 0.6, "photo_intensity_side": 0.6},
                                  **kw)
    without = simulate_trials(seed=11, slopes=0.0, **kw)
    ws_p, ws_j = _side_differences(with_slopes, "intensity")
    wo_p, wo_j = _side_differences(without, "intensity")
    assert ws_p.var() > 2 * wo_p.var() and ws_j.var() > 2 * wo_j.var()
    # No fixed effect either way: the average difference stays near zero.
    assert abs(ws_p.mean()) < 0.15 and abs(wo_p.mean()) < 0.1


def test_per_outcome_effects_override_the_effect_multiplier():
    fixed, sds = model_parameters(effect=2.0, effects={"intensity": 0.0}, slopes=0.0)
    assert fixed["accuracy"] == 2 * EFFECTS["accuracy"] and fixed["intensity"] == 0.0
    assert fixed["rt_valence"] == EFFECTS["rt_valence"]  # not a side effect: not scaled
    assert sds["participant_logit_side"] == 0.0 and sds["participant_logit"] == SD["participant_logit"]
    with pytest.raises(ValueError, match="unknown simulation parameter"):
        model_parameters(effects={"acuracy": 1.0})
    t = simulate_trials(30, effect=0.0, seed=5, effects={"rt_valence": -0.5})
    c = t[t.correct == 1].assign(log_rt=lambda d: np.log(d.rt))
    pos = c[c.emotion == "happiness"].log_rt.mean()
    neg = c[c.emotion.isin(["fear", "anger", "disgust", "sadness"])].log_rt.mean()
    assert -0.6 < pos - neg < -0.4
    zero = simulate_trials(30, effect=0.0, seed=5, effects={"rt_valence": 0.0})
    c0 = zero[zero.correct == 1].assign(log_rt=lambda d: np.log(d.rt))
    assert abs(c0[c0.emotion == "happiness"].log_rt.mean()
               - c0[c0.emotion.isin(["fear", "anger", "disgust", "sadness"])].log_rt.mean()) < 0.08


def test_cli_options_reach_the_sidecar(tmp_path):
    assert main(["--participants", "2", "--out", str(tmp_path), "--effect", "0", "--valence-rt", "0",
                 "--slopes", "0.5"]) == 0
    meta = json.loads((tmp_path / "P01_s1.json").read_text())
    assert meta["effects"]["rt_valence"] == 0.0 and meta["effects"]["intensity"] == 0.0
    assert meta["slopes"] == 0.5 and meta["simulated"] is True
