"""Write the trial tables of the hard R reference cases (tests/analysis/test_lme.py, the hard cases).

    python tests/analysis/data/make_lme4_cases.py
    Rscript tests/analysis/data/lme4_cases.R tests/analysis/data/lme4_cases > tests/analysis/data/lme4_cases.json

Each case is synthetic (``analysis.simulate``) and chosen to exercise one thing a single
balanced data set does not: variances estimated at 0 and the simplification rule, unbalanced
participants, 60 participants, near-separation in the logistic model, few participants.
"""

from pathlib import Path

import numpy as np

from analysis.simulate import simulate_trials

OUT = Path(__file__).parent / "lme4_cases"
COLUMNS = ["participant", "photo_id", "emotion", "visible_half", "correct", "intensity", "rt"]


def cases() -> dict:
    rng = np.random.default_rng(2026)
    out = {"no_slopes": simulate_trials(18, effect=1.0, seed=31, slopes=0.0)}  # slope variances 0: simplified
    unbalanced = simulate_trials(18, effect=1.0, seed=32)
    keep = rng.random(len(unbalanced)) > 0.25                   # a quarter of the trials missing at random
    keep &= ~((unbalanced["participant"] == "P03") & (np.cumsum(unbalanced["participant"] == "P03") > 30))
    out["unbalanced"] = unbalanced[keep]                      # and P03 stopped after 30 trials
    out["n60"] = simulate_trials(60, effect=1.0, seed=33)
    sep = simulate_trials(18, effect=0.0, seed=34)
    p = np.where(sep["visible_half"] == "left", 0.998, 0.97)  # almost every answer right, left nearly always
    sep["correct"] = (rng.random(len(sep)) < p).astype(int)
    out["near_separation"] = sep
    out["few_participants"] = simulate_trials(6, photos_per_emotion=5, effect=1.0, seed=35)
    return out


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name, trials in cases().items():
        trials[COLUMNS].to_csv(OUT / f"{name}.csv.gz", index=False)
        print(name, len(trials), "trials")
