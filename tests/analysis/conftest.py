"""Fixtures: simulated session logs (generated data only) and a way to break them."""

import pandas as pd
import pytest

from analysis.simulate import simulate_trials, write_logs


@pytest.fixture
def logdir(tmp_path):
    """Two valid 140-trial sessions (P01_s1, P02_s1) with sidecars."""
    write_logs(simulate_trials(n_participants=2, seed=3), tmp_path / "logs")
    return tmp_path / "logs"


@pytest.fixture
def edit_log():
    """edit_log(path, data_row, column, value): set one cell (data row is 1-based) as text."""
    def _edit(path, data_row, column, value):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df.loc[data_row - 1, column] = value
        df.to_csv(path, index=False)
    return _edit


def cells_to_logs(cells, out, n_participants=18, meta=None):
    """Write a table of trial cells (visible_half, emotion, correct, rt, intensity) as session logs.

    The other log columns are filled in consistently (wrong answers name another
    emotion), trials are dealt round-robin to ``n_participants`` participants and
    written as real session logs, so the data pass through the same loader as the
    experiment's. ``meta`` goes into each sidecar (e.g. {"simulated": False}).
    """
    import numpy as np

    from halfface.schema import EMOTIONS, TRIAL_COLUMNS
    from stimuli.labels import other_side

    df = cells.reset_index(drop=True).copy()
    idx = np.arange(len(df))
    df["participant"] = [f"P{i % n_participants + 1:02d}" for i in idx]
    df["session"] = 1
    df["trial"] = df.groupby("participant").cumcount() + 1
    df["photo_id"] = [f"{e[:3]}{i % 10:02d}" for e, i in zip(df["emotion"], idx)]
    df["stimulus"] = df["photo_id"] + "_" + df["visible_half"] + ".png"
    df["source"] = df["photo_id"] + ".jpg"
    df["visible_image_side"] = [other_side(s) for s in df["visible_half"]]
    wrong = [EMOTIONS[(EMOTIONS.index(e) + 1) % len(EMOTIONS)] for e in df["emotion"]]
    df["response_emotion"] = np.where(df["correct"] == 1, df["emotion"], wrong)
    df["response_key"] = [EMOTIONS.index(r) + 1 for r in df["response_emotion"]]
    df["emotion_rt"], df["intensity_rt"] = df["rt"], 1.0
    df["fixation_frames"], df["fixation_duration"] = 30, 0.5
    df["stim_onset"] = df["trial"] * 4.0
    # repr-exact floats: the CSV must carry the constructed values unrounded.
    write_logs(df[list(TRIAL_COLUMNS)], out, meta=meta)
    return out


@pytest.fixture
def logs_from_cells(tmp_path):
    """logs_from_cells(cells) -> validated Logs built from a table of trial cells (see ``cells_to_logs``)."""
    from analysis.load import load_logs

    def _build(cells, n_participants=18):
        out = tmp_path / f"logs{len(list(tmp_path.iterdir()))}"
        cells_to_logs(cells, out, n_participants)
        return load_logs(out, include_simulated=True)
    return _build
