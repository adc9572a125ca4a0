"""Poser's half vs image side: separable only when the design crosses them.

In the paper's design the image side follows from the poser's half (a
non-mirrored photo shows the poser's left half on the image's right), so an
effect of ``visible_half`` cannot be told apart from one of ``visible_image_side``
(the visual field it was seen in). When each half is also shown on both image
sides (mirrored copies; the experiment's "crossed" design), the two factors can
be tested against each other in a 2 × 2 within-subject analysis of participant
means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg

MEASURES = {  # name: (dv, subset description)
    "rt": ("rt", "correct trials"),
    "intensity": ("intensity", "all trials"),
    "accuracy": ("correct", "all trials"),
}
FACTORS = ("visible_half", "visible_image_side")


def design_of(trials: pd.DataFrame) -> dict:
    """Whether the poser's half and the image side vary independently, per participant.

    ``crossed``: at least one participant saw some photo's half on both image
    sides (the experiment's crossed design shows every half of every photo both
    ways). ``confounded``: every half of every photo was shown on one image side
    only; mirrored photos in the paper's design put some halves on the other side,
    but then the side changes with the photo, not within it. ``unknown``: no
    ``visible_image_side`` column.
    """
    if "visible_image_side" not in trials.columns:
        return {"design": "unknown", "n_crossed": 0,
                "note": "The logs have no visible_image_side column, so the poser's half cannot be separated "
                        "from the side of the image it was shown on."}
    photo = "photo_id" if "photo_id" in trials.columns else "stimulus"
    sides = trials.groupby(["participant", photo, "visible_half"], observed=True)["visible_image_side"].nunique()
    crossed = (sides == 2).groupby(level="participant").any()
    n = int(crossed.sum())
    if n == 0:
        return {"design": "confounded", "n_crossed": 0,
                "note": "In these logs each half of a photo was shown on one image side only (visible_image_side "
                        "follows from visible_half and the photo's orientation), so an effect of the poser's half "
                        "cannot be told apart from an effect of the visual field it was seen in. Show each half on "
                        "both image sides (the experiment's crossed design) to separate them."}
    return {"design": "crossed", "n_crossed": n, "n_participants": int(len(crossed)),
            "note": f"{n} of {len(crossed)} participant(s) saw each half on both image sides: the poser's half "
                    "and the image side (visual field) are tested separately below."}


def cell_means(trials: pd.DataFrame, dv: str) -> pd.DataFrame:
    """Long table: one mean per participant and (visible_half, visible_image_side) cell.

    Only participants with all four cells are kept (a repeated-measures ANOVA
    needs complete cases).
    """
    m = trials.groupby(["participant", *FACTORS], observed=True)[dv].mean().rename("mean").reset_index()
    complete = m.groupby("participant")["mean"].transform("size") == 4
    return m[complete].reset_index(drop=True)


def half_by_image_side(trials: pd.DataFrame, dv: str) -> dict:
    """2 × 2 repeated-measures ANOVA on participant means: poser half × image side.

    F tests of each main effect and the interaction with df (1, n − 1) (pingouin
    ``rm_anova``; with two levels per factor sphericity holds trivially and each
    F equals the square of the paired t of the corresponding contrast). Effect
    size: generalised η² (Olejnik & Algina 2003; Bakeman 2005). Cell means are
    returned for the figure.
    """
    m = cell_means(trials, dv)
    n = int(m["participant"].nunique())
    out = {"dv": dv, "n_participants": n, "cells": m.groupby(list(FACTORS))["mean"].mean().reset_index()
           .to_dict("records")}
    if n < 3:
        out["error"] = f"need at least 3 participants with all four half × image-side cells, got {n}"
        return out
    # A contrast without any participant-to-participant variation (identical cells) has F = 0/0:
    # reported as missing, not as a numpy warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        aov = pg.rm_anova(m, dv="mean", within=list(FACTORS), subject="participant")
    names = {"visible_half": "poser's half", "visible_image_side": "image side",
             "visible_half * visible_image_side": "half x image side"}
    p_col = "p_unc" if "p_unc" in aov.columns else "p-unc"
    out["effects"] = []
    for _, r in aov.iterrows():
        e = {"effect": names.get(r["Source"], r["Source"]), "F": float(r["F"]), "df1": int(r["ddof1"]),
             "df2": int(r["ddof2"]), "p": float(r[p_col]), "ges": float(r["ng2"])}
        if not np.isfinite(e["F"]) or e["F"] < 0:
            # 0/0 (or a rounding-negative F): every participant has the same contrast, e.g. identical copies.
            e.update({"F": None, "p": None, "ges": None,
                      "error": "no variance: every participant has the same value of this contrast"})
        out["effects"].append(e)
    return out


def analyse(trials: pd.DataFrame, rt_trials: pd.DataFrame | None = None) -> dict:
    """``design_of`` plus, for a crossed design, the 2 × 2 analysis of RT, intensity and accuracy.

    ``rt_trials``: the trials the RT analysis uses (after RT trimming); default ``trials``.
    """
    out = design_of(trials)
    if out["design"] != "crossed":
        return out
    out["tests"] = {}
    rt_trials = trials if rt_trials is None else rt_trials
    for name, (dv, subset) in MEASURES.items():
        data = rt_trials[rt_trials["correct"] == 1] if name == "rt" else trials
        out["tests"][name] = half_by_image_side(data, dv) | {"subset": subset}
    return out
