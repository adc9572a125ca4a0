"""Synthetic session logs in the experiment's format, for demos, calibration and power analysis.

Design (one session per participant): 7 emotions × ``photos_per_emotion`` photos
× both halves, shuffled; 140 trials with the default 10 photos per emotion.
Generative model, per trial of participant i, photo j, side s (+½ left, −½ right)
and valence v (+½ positive, −½ negative, 0 for surprise/others):

    logit P(correct) = logit(base accuracy of the emotion) + u0_i + u1_i·s + u2_i·v + p0_j + p1_j·s
                       + (A + A_v·v)·s
    log rt           = log 1.5 + R_v·v + emotion offset + a0_i + a1_i·s + a2_i·v + b0_j + b1_j·s
                       − 0.10·correct + R·s + ε,                                   ε ~ N(0, 0.35²)
    intensity        = clip(round(3 + c0_i + c1_i·s + w0_j + w1_j·s + I·s + η), 1, 5),  η ~ N(0, 0.9²)

Participant effects (u, a, c) and photo effects (p, b, w) are independent normals
with the SDs in ``SD``: intercepts *and* side slopes, because each participant and
each photo has its own left/right difference (Barr, Levy, Scheepers & Tily 2013);
``slopes=0`` removes the slope SDs, ``slopes=2`` doubles them. The fixed effects
(A, R, I = side effects on accuracy, RT, intensity; R_v = RT positive − negative;
A_v = how much larger the accuracy side effect is for positive than negative
emotions) are in ``EFFECTS``; ``effect`` scales the three side effects
(0 = no left/right difference, 1 = +0.3 log-odds accuracy, −3 % RT, +0.3 rating
points). Wrong answers favour the usual confusions (fear↔surprise, disgust↔anger).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from halfface.cli import UserError, run_main
from halfface.schema import EMOTIONS, NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS, TRIAL_COLUMNS
from stimuli.labels import other_side


BASE_ACCURACY = {"happiness": 0.92, "fear": 0.45, "anger": 0.60, "disgust": 0.50,
                 "sadness": 0.62, "surprise": 0.80, "others": 0.50}
# Log-RT offsets around the valence effect: zero mean within the negative emotions, so
# that ``rt_valence`` alone sets the positive − negative difference.
LOG_RT_OFFSET = {"happiness": 0.0, "fear": 0.04, "anger": -0.02, "disgust": 0.0,
                 "sadness": -0.02, "surprise": -0.05, "others": 0.15}
CONFUSIONS = {"fear": "surprise", "surprise": "fear", "disgust": "anger", "anger": "disgust",
              "sadness": "others", "happiness": "surprise", "others": "sadness"}
# Random-effect SDs: intercepts (…_logit, …_logrt, …_intensity) and slopes (…_side, …_valence).
SD = {"participant_logit": 0.5, "photo_logit": 0.6, "participant_logrt": 0.20, "photo_logrt": 0.08,
      "participant_intensity": 0.5, "photo_intensity": 0.4,
      "participant_logit_side": 0.30, "photo_logit_side": 0.30, "participant_logit_valence": 0.30,
      "participant_logrt_side": 0.05, "photo_logrt_side": 0.03, "participant_logrt_valence": 0.08,
      "participant_intensity_side": 0.20, "photo_intensity_side": 0.15,
      "residual_logrt": 0.35, "residual_intensity": 0.9}
SLOPE_KEYS = tuple(k for k in SD if k.endswith(("_side", "_valence")))
# Fixed effects at effect = 1. The three side effects are multiplied by ``effect``.
EFFECTS = {"accuracy": 0.30, "rt": -0.03, "intensity": 0.30, "rt_valence": -0.27, "accuracy_side_by_valence": 0.0}
SIDE_EFFECTS = ("accuracy", "rt", "intensity")
FRAME_RATE = 60.0


def _logit(p):
    return np.log(p / (1 - p))


def photo_table(photos_per_emotion: int = 10) -> pd.DataFrame:
    """photo_id, emotion and valence code (+0.5 positive, −0.5 negative, 0 neither) per photo."""
    photos = pd.DataFrame([(f"{e[:3]}{k:02d}", e) for e in EMOTIONS for k in range(1, photos_per_emotion + 1)],
                          columns=["photo_id", "emotion"])
    photos["valence_code"] = np.where(photos["emotion"].isin(POSITIVE_EMOTIONS), 0.5,
                                      np.where(photos["emotion"].isin(NEGATIVE_EMOTIONS), -0.5, 0.0))
    return photos


def model_parameters(effect: float = 1.0, effects: dict | None = None, slopes: float = 1.0,
                     sd: dict | None = None) -> tuple[dict, dict]:
    """(fixed effects, random-effect SDs) as used by ``simulate_trials``."""
    fixed = {k: v * (effect if k in SIDE_EFFECTS else 1.0) for k, v in EFFECTS.items()}
    fixed.update(effects or {})
    sds = {k: v * (slopes if k in SLOPE_KEYS else 1.0) for k, v in SD.items()}
    sds.update(sd or {})
    unknown = set(fixed) - set(EFFECTS) | set(sds) - set(SD)
    if unknown:
        raise ValueError(f"unknown simulation parameter(s) {sorted(unknown)}; known: {sorted(EFFECTS)} "
                         f"and {sorted(SD)}")
    return fixed, sds


def simulate_trials(n_participants: int = 18, photos_per_emotion: int = 10, effect: float = 1.0,
                    seed: int = 0, *, effects: dict | None = None, slopes: float = 1.0,
                    sd: dict | None = None) -> pd.DataFrame:
    """All trials of ``n_participants`` one-session participants, in log column order.

    ``effects`` overrides entries of ``EFFECTS`` (after scaling by ``effect``), ``sd``
    entries of ``SD`` (after scaling the slope SDs by ``slopes``).
    """
    fixed, sds = model_parameters(effect, effects, slopes, sd)
    rng = np.random.default_rng(seed)
    photos = photo_table(photos_per_emotion)
    n_photos = len(photos)
    photo_re = {k: rng.normal(0, sds[k], n_photos) for k in sorted(sds) if k.startswith("photo_")}
    frames = []
    for p in range(1, n_participants + 1):
        pid = f"P{p:02d}"
        pre = {k: rng.normal(0, sds[k]) for k in sorted(sds) if k.startswith("participant_")}
        trials = pd.concat([photos.assign(visible_half="left", _j=np.arange(n_photos)),
                            photos.assign(visible_half="right", _j=np.arange(n_photos))], ignore_index=True)
        trials = trials.iloc[rng.permutation(len(trials))].reset_index(drop=True)
        j = trials["_j"].to_numpy()
        s = np.where(trials["visible_half"] == "left", 0.5, -0.5)
        v = trials["valence_code"].to_numpy()
        emo = trials["emotion"].to_numpy()
        eta = (_logit(np.array([BASE_ACCURACY[e] for e in emo])) + pre["participant_logit"]
               + pre["participant_logit_side"] * s + pre["participant_logit_valence"] * v
               + photo_re["photo_logit"][j] + photo_re["photo_logit_side"][j] * s
               + (fixed["accuracy"] + fixed["accuracy_side_by_valence"] * v) * s)
        correct = rng.random(len(trials)) < 1 / (1 + np.exp(-eta))
        responses = []
        for e, ok in zip(emo, correct):
            if ok:
                responses.append(e)
                continue
            others = [x for x in EMOTIONS if x != e]
            w = np.array([4.0 if x == CONFUSIONS[e] else 1.0 for x in others])
            responses.append(others[rng.choice(len(others), p=w / w.sum())])
        log_rt = (np.log(1.5) + fixed["rt_valence"] * v + np.array([LOG_RT_OFFSET[e] for e in emo])
                  + pre["participant_logrt"] + pre["participant_logrt_side"] * s
                  + pre["participant_logrt_valence"] * v
                  + photo_re["photo_logrt"][j] + photo_re["photo_logrt_side"][j] * s
                  - 0.10 * correct + fixed["rt"] * s + rng.normal(0, sds["residual_logrt"], len(trials)))
        rt = np.exp(log_rt)
        latent = (3.0 + pre["participant_intensity"] + pre["participant_intensity_side"] * s
                  + photo_re["photo_intensity"][j] + photo_re["photo_intensity_side"][j] * s
                  + fixed["intensity"] * s + rng.normal(0, sds["residual_intensity"], len(trials)))
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
    return pd.concat(frames, ignore_index=True)[list(TRIAL_COLUMNS)]


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


@run_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.simulate",
        description="Write synthetic session logs (CSV + JSON sidecar per participant) in the experiment's "
                    "format. The generative model (random intercepts and side slopes for participants and "
                    "photos) is in the module docstring: python -c 'import analysis.simulate as s; "
                    "print(s.__doc__)'.",
        epilog="examples:\n"
               "  python -m analysis.simulate --participants 18 --out logs/ --effect 1 --seed 1\n"
               "  python -m analysis.simulate --out null/ --effect 0 --valence-rt 0     # no effect at all\n"
               "  python -m analysis.simulate --out big/ --side-intensity 0.27 --slopes 0   # paper-size, "
               "no slopes",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=18, help="number of participants (default 18)")
    parser.add_argument("--out", required=True, help="folder to write <participant>_s1.csv/.json into")
    parser.add_argument("--effect", type=float, default=1.0,
                        help="scales the three left-half advantages: 0 = none, 1 = +0.3 log-odds accuracy, "
                             "-3%% RT, +0.3 intensity (default 1)")
    for name, key, unit in (("--side-accuracy", "accuracy", "log-odds"), ("--side-rt", "rt", "log RT"),
                            ("--side-intensity", "intensity", "rating points"),
                            ("--valence-rt", "rt_valence", "log RT, positive - negative"),
                            ("--side-by-valence-accuracy", "accuracy_side_by_valence",
                             "log-odds, extra left advantage for positive vs negative")):
        parser.add_argument(name, type=float, default=None, dest=key,
                            help=f"fixed effect in {unit}; overrides --effect for it "
                                 f"(default {EFFECTS[key]:g}{' x effect' if key in SIDE_EFFECTS else ''})")
    parser.add_argument("--slopes", type=float, default=1.0,
                        help="scale of the by-participant and by-photo slope SDs: 0 = intercepts only, "
                             "1 = the defaults in SD (default 1)")
    parser.add_argument("--photos-per-emotion", type=int, default=10,
                        help="photos per emotion; trials = 7 x this x 2 sides (default 10 -> 140)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.participants < 1 or args.photos_per_emotion < 1 or args.slopes < 0:
        raise UserError("--participants and --photos-per-emotion must be >= 1, --slopes >= 0")
    out = Path(args.out)
    existing = sorted(out.glob("*.csv")) if out.is_dir() else []
    if existing:
        raise UserError(f"{out} already holds CSV files ({existing[0].name}, ...); "
                        "choose an empty folder so real and simulated logs are never mixed")
    effects = {k: getattr(args, k) for k in EFFECTS if getattr(args, k) is not None}
    trials = simulate_trials(args.participants, args.photos_per_emotion, args.effect, args.seed,
                             effects=effects, slopes=args.slopes)
    fixed, _ = model_parameters(args.effect, effects, args.slopes)
    paths = write_logs(trials, out, meta={"seed": args.seed, "effect": args.effect, "effects": fixed,
                                          "slopes": args.slopes})
    print(f"wrote {len(paths)} sessions ({len(trials)} trials) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
