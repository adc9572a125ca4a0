"""Synthetic session logs in the experiment's format, for demos and power analysis.

Design (one session per participant): 7 emotions × ``photos_per_emotion`` photos
× both halves, shuffled; 140 trials with the default 10 photos per emotion.
Generative model, per trial of participant i and photo j:

    logit P(correct) = logit(base accuracy of the emotion) + u_i + v_j + 0.30·E·[left]
    log rt           = log 1.5 + a_i + b_j + emotion offset − 0.10·correct − 0.03·E·[left] + ε,  ε ~ N(0, 0.35²)
    intensity        = clip(round(3 + c_i + w_j + 0.30·E·[left] + η), 1, 5),               η ~ N(0, 0.9²)

with participant effects u, a, c and photo effects v, b, w drawn from normals
(SDs below), E = ``effect`` (0 = no left/right difference; 1 = a left-half
advantage of about +0.3 log-odds accuracy, −3% RT and +0.3 rating points).
Wrong answers favour the usual confusions (fear↔surprise, disgust↔anger).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from stimuli.labels import EMOTIONS, other_side

LOG_COLUMNS = ["participant", "session", "trial", "stimulus", "source", "photo_id", "emotion",
               "visible_half", "visible_image_side", "response_emotion", "response_key", "correct",
               "intensity", "rt", "emotion_rt", "intensity_rt", "fixation_frames", "fixation_duration",
               "stim_onset"]

BASE_ACCURACY = {"happiness": 0.92, "fear": 0.45, "anger": 0.60, "disgust": 0.50,
                 "sadness": 0.62, "surprise": 0.80, "others": 0.50}
LOG_RT_OFFSET = {"happiness": -0.20, "fear": 0.10, "anger": 0.05, "disgust": 0.08,
                 "sadness": 0.05, "surprise": -0.05, "others": 0.15}
CONFUSIONS = {"fear": "surprise", "surprise": "fear", "disgust": "anger", "anger": "disgust",
              "sadness": "others", "happiness": "surprise", "others": "sadness"}
SD = {"participant_logit": 0.5, "photo_logit": 0.6, "participant_logrt": 0.20, "photo_logrt": 0.08,
      "participant_intensity": 0.5, "photo_intensity": 0.4}
FRAME_RATE = 60.0


def _logit(p):
    return np.log(p / (1 - p))


def simulate_trials(n_participants: int = 18, photos_per_emotion: int = 10, effect: float = 1.0,
                    seed: int = 0) -> pd.DataFrame:
    """All trials of ``n_participants`` one-session participants, in log column order."""
    rng = np.random.default_rng(seed)
    photos = pd.DataFrame([(f"{e[:3]}{k:02d}", e) for e in EMOTIONS for k in range(1, photos_per_emotion + 1)],
                          columns=["photo_id", "emotion"])
    n_photos = len(photos)
    photo_logit = rng.normal(0, SD["photo_logit"], n_photos)
    photo_logrt = rng.normal(0, SD["photo_logrt"], n_photos)
    photo_int = rng.normal(0, SD["photo_intensity"], n_photos)
    frames = []
    for p in range(1, n_participants + 1):
        pid = f"P{p:02d}"
        u, a, c = (rng.normal(0, SD[k]) for k in ("participant_logit", "participant_logrt",
                                                   "participant_intensity"))
        trials = pd.concat([photos.assign(visible_half="left", _j=np.arange(n_photos)),
                            photos.assign(visible_half="right", _j=np.arange(n_photos))], ignore_index=True)
        trials = trials.iloc[rng.permutation(len(trials))].reset_index(drop=True)
        j = trials["_j"].to_numpy()
        left = (trials["visible_half"] == "left").to_numpy(dtype=float)
        emo = trials["emotion"].to_numpy()
        eta = _logit(np.array([BASE_ACCURACY[e] for e in emo])) + u + photo_logit[j] + 0.30 * effect * left
        correct = rng.random(len(trials)) < 1 / (1 + np.exp(-eta))
        responses = []
        for e, ok in zip(emo, correct):
            if ok:
                responses.append(e)
                continue
            others = [x for x in EMOTIONS if x != e]
            w = np.array([4.0 if x == CONFUSIONS[e] else 1.0 for x in others])
            responses.append(others[rng.choice(len(others), p=w / w.sum())])
        log_rt = (np.log(1.5) + a + photo_logrt[j] + np.array([LOG_RT_OFFSET[e] for e in emo])
                  - 0.10 * correct - 0.03 * effect * left + rng.normal(0, 0.35, len(trials)))
        rt = np.exp(log_rt)
        latent = 3.0 + c + photo_int[j] + 0.30 * effect * left + rng.normal(0, 0.9, len(trials))
        intensity = np.clip(np.round(latent), 1, 5).astype(int)
        intensity_rt = np.exp(rng.normal(np.log(0.9), 0.3, len(trials)))
        fixation_frames = rng.integers(30, 61, len(trials))
        fixation = fixation_frames / FRAME_RATE
        # Onset = after this trial's fixation; the previous trial's two responses come first.
        onset = np.cumsum(fixation + np.r_[0, (rt + intensity_rt)[:-1]] + 0.2)
        df = pd.DataFrame({
            "participant": pid, "session": 1, "trial": np.arange(1, len(trials) + 1),
            "stimulus": [f"stimuli/{ph}_{s}.png" for ph, s in zip(trials["photo_id"], trials["visible_half"])],
            "source": [f"{ph}.jpg" for ph in trials["photo_id"]], "photo_id": trials["photo_id"],
            "emotion": emo, "visible_half": trials["visible_half"],
            # Non-mirrored photos: the poser's left half lies on the image's right.
            "visible_image_side": [other_side(s) for s in trials["visible_half"]],
            "response_emotion": responses, "response_key": [EMOTIONS.index(r) + 1 for r in responses],
            "correct": correct.astype(int), "intensity": intensity, "rt": rt.round(4),
            "emotion_rt": rt.round(4), "intensity_rt": intensity_rt.round(4),
            "fixation_frames": fixation_frames, "fixation_duration": fixation.round(4),
            "stim_onset": onset.round(4)})
        frames.append(df)
    return pd.concat(frames, ignore_index=True)[LOG_COLUMNS]


def write_logs(trials: pd.DataFrame, out: str | Path, meta: dict | None = None,
               n_trials_planned: int | None = None) -> list[Path]:
    """One ``<participant>_s<session>.csv`` + JSON sidecar per session; returns the CSV paths.

    ``completed`` is true when the session has ``n_trials_planned`` rows (default:
    the rows it has), so truncated sessions written here look like aborted ones.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for (pid, sess), df in trials.groupby(["participant", "session"], sort=True):
        stem = f"{pid}_s{int(sess)}"
        planned = len(df) if n_trials_planned is None else n_trials_planned
        df.to_csv(out / f"{stem}.csv", index=False)
        sidecar = {"participant": pid, "session": int(sess), "n_trials_planned": int(planned),
                   "completed": bool(len(df) >= planned), "n_trials_done": int(len(df)),
                   "frame_rate": FRAME_RATE, "simulated": True}
        sidecar.update(meta or {})
        (out / f"{stem}.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
        paths.append(out / f"{stem}.csv")
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.simulate",
        description="Write synthetic session logs (CSV + JSON sidecar per participant) in the experiment's format.",
        epilog="example: python -m analysis.simulate --participants 18 --out logs/ --effect 1 --seed 1")
    parser.add_argument("--participants", type=int, default=18, help="number of participants (default 18)")
    parser.add_argument("--out", required=True, help="folder to write <participant>_s1.csv/.json into")
    parser.add_argument("--effect", type=float, default=1.0,
                        help="left-half advantage: 0 = none, 1 = +0.3 log-odds accuracy, -3%% RT, "
                             "+0.3 intensity (default 1)")
    parser.add_argument("--photos-per-emotion", type=int, default=10,
                        help="photos per emotion; trials = 7 x this x 2 sides (default 10 -> 140)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.participants < 1 or args.photos_per_emotion < 1:
        print("error: --participants and --photos-per-emotion must be >= 1", file=sys.stderr)
        return 2
    out = Path(args.out)
    existing = sorted(out.glob("*_s*.csv")) if out.is_dir() else []
    if existing:
        print(f"error: {out} already holds session logs ({existing[0].name}, ...); "
              "choose an empty folder so real and simulated logs are never mixed", file=sys.stderr)
        return 1
    trials = simulate_trials(args.participants, args.photos_per_emotion, args.effect, args.seed)
    paths = write_logs(trials, out, meta={"seed": args.seed, "effect": args.effect})
    print(f"wrote {len(paths)} sessions ({len(trials)} trials) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
