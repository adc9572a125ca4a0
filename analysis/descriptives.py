"""Descriptive tables: group summaries, per-emotion accuracy and confusion matrices."""

from __future__ import annotations

import pandas as pd

from halfface.schema import EMOTIONS, SIDES


def group_summary(data: pd.DataFrame, dv: str, by: list[str]) -> pd.DataFrame:
    """n, mean, SD (n - 1 denominator), median of ``dv`` per combination of ``by``."""
    g = data.groupby(by, observed=True)[dv]
    out = g.agg(n="count", mean="mean", sd="std", median="median").reset_index()
    out.insert(0, "dv", dv)
    return out


def accuracy_by_emotion(data: pd.DataFrame) -> pd.DataFrame:
    """Trials, correct trials and proportion correct per (emotion, visible_half), paper order."""
    g = data.groupby(["emotion", "visible_half"], observed=True)["correct"]
    out = g.agg(n="count", n_correct="sum", accuracy="mean").reset_index()
    order = {e: i for i, e in enumerate(EMOTIONS)}
    out = out.sort_values(["emotion", "visible_half"], key=lambda s: s.map(order) if s.name == "emotion" else s)
    return out.reset_index(drop=True)


def confusion_matrix(data: pd.DataFrame, side: str | None = None, normalize: bool = False) -> pd.DataFrame:
    """Counts of true emotion (rows) × answered emotion (columns), all seven categories.

    With ``normalize`` each row is divided by its total (row = recall profile).
    ``side`` restricts to trials whose ``visible_half`` is that side.
    """
    sub = data if side is None else data[data["visible_half"] == side]
    cm = pd.crosstab(pd.Categorical(sub["emotion"], categories=EMOTIONS),
                     pd.Categorical(sub["response_emotion"], categories=EMOTIONS), dropna=False)
    cm.index.name, cm.columns.name = "emotion", "response_emotion"
    if normalize:
        cm = cm.div(cm.sum(axis=1).replace(0, float("nan")), axis=0)
    return cm


def confusion_long(data: pd.DataFrame) -> pd.DataFrame:
    """Tidy confusion counts: one row per (visible_half, emotion, response_emotion)."""
    frames = []
    for s in SIDES:
        cm = confusion_matrix(data, side=s).stack().rename("n").reset_index()
        cm.insert(0, "visible_half", s)
        frames.append(cm)
    return pd.concat(frames, ignore_index=True)
