"""Figures (matplotlib, Agg backend: no display needed). Each function returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from halfface.schema import EMOTIONS, SIDES  # noqa: E402

from .descriptives import accuracy_by_emotion, confusion_matrix  # noqa: E402

COLORS = {"left": "#1b6ca8", "right": "#d1495b"}


def rt_distribution(data: pd.DataFrame) -> plt.Figure:
    """RT histograms of correct trials by visible half, linear and log axis."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6),
                             gridspec_kw=dict(left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.25))
    sub = data[data["correct"] == 1]
    hi = np.quantile(sub["rt"], 0.995) if len(sub) else 1
    for side in SIDES:
        x = sub.loc[sub["visible_half"] == side, "rt"]
        axes[0].hist(x, bins=np.linspace(0, hi, 50), alpha=0.55, color=COLORS[side], label=f"{side} (n={len(x)})",
                     histtype="stepfilled")
        axes[1].hist(np.log(x), bins=50, alpha=0.55, color=COLORS[side], label=side, histtype="stepfilled")
    axes[0].set(xlabel="RT (s), correct trials", ylabel="trials", title="RT distribution by visible half")
    axes[1].set(xlabel="log RT", ylabel="trials", title="log RT (the mixed model's scale)")
    axes[0].legend(frameon=False)
    return fig


def rt_by_emotion(data: pd.DataFrame) -> plt.Figure:
    """Box plots of correct-trial RT per emotion and side."""
    sub = data[data["correct"] == 1]
    fig, ax = plt.subplots(figsize=(10, 3.6), gridspec_kw=dict(left=0.08, right=0.98, bottom=0.1, top=0.9))
    pos, vals, cols = [], [], []
    for i, e in enumerate(EMOTIONS):
        for k, side in enumerate(SIDES):
            pos.append(i * 3 + k)
            vals.append(sub.loc[(sub["emotion"] == e) & (sub["visible_half"] == side), "rt"].to_numpy())
            cols.append(COLORS[side])
    bp = ax.boxplot([v if len(v) else [np.nan] for v in vals], positions=pos, widths=0.8,
                    patch_artist=True, showfliers=False)
    for patch, c in zip(bp["boxes"], cols):
        patch.set_facecolor(c)
        patch.set_alpha(0.6)
    ax.set_xticks([i * 3 + 0.5 for i in range(len(EMOTIONS))], EMOTIONS)
    ax.set(ylabel="RT (s), correct trials", title="RT by emotion (blue = left half, red = right half)")
    return fig


def accuracy_by_emotion_plot(data: pd.DataFrame) -> plt.Figure:
    """Proportion correct per emotion and side."""
    acc = accuracy_by_emotion(data)
    fig, ax = plt.subplots(figsize=(10, 3.6), gridspec_kw=dict(left=0.08, right=0.98, bottom=0.1, top=0.9))
    x = np.arange(len(EMOTIONS))
    for k, side in enumerate(SIDES):
        a = acc[acc["visible_half"] == side].set_index("emotion").reindex(EMOTIONS)["accuracy"]
        ax.bar(x + (k - 0.5) * 0.4, a, width=0.4, color=COLORS[side], label=side)
    ax.axhline(1 / len(EMOTIONS), color="grey", lw=1, ls="--", label="chance (1/7)")
    ax.set_xticks(x, EMOTIONS)
    ax.set(ylim=(0, 1), ylabel="proportion correct", title="Accuracy by emotion and visible half")
    ax.legend(frameon=False, ncol=3)
    return fig


def intensity_distribution(data: pd.DataFrame) -> plt.Figure:
    """Share of each intensity rating (1–5) per side."""
    fig, ax = plt.subplots(figsize=(6, 3.4), gridspec_kw=dict(left=0.12, right=0.97, bottom=0.15, top=0.9))
    x = np.arange(1, 6)
    for k, side in enumerate(SIDES):
        s = data.loc[data["visible_half"] == side, "intensity"]
        share = s.value_counts(normalize=True).reindex(x, fill_value=0)
        ax.bar(x + (k - 0.5) * 0.4, share, width=0.4, color=COLORS[side], label=f"{side} (mean {s.mean():.2f})")
    ax.set(xlabel="intensity rating", ylabel="share of trials", title="Intensity ratings by visible half")
    ax.legend(frameon=False)
    return fig


def confusion_matrices(data: pd.DataFrame) -> plt.Figure:
    """Row-normalised confusion matrices (true × answered emotion), one per side."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6),
                             gridspec_kw=dict(left=0.1, right=0.9, bottom=0.2, top=0.93, wspace=0.45))
    for ax, side in zip(axes, SIDES):
        cm = confusion_matrix(data, side=side, normalize=True).to_numpy(dtype=float)
        im = ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                if np.isfinite(cm[i, j]):
                    ax.text(j, i, f"{cm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if cm[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
        ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
        ax.set(xlabel="answered", ylabel="true", title=f"{side} half visible")
    fig.colorbar(im, cax=fig.add_axes([0.92, 0.2, 0.015, 0.73]), label="proportion of row")
    return fig


def participant_pairs(wide: dict[str, pd.DataFrame]) -> plt.Figure:
    """Per-participant left vs right means (one line per person) for each measure."""
    fig, axes = plt.subplots(1, len(wide), figsize=(4 * len(wide), 3.6),
                             gridspec_kw=dict(left=0.06, right=0.98, bottom=0.1, top=0.82, wspace=0.25))
    axes = np.atleast_1d(axes)
    for ax, (label, w) in zip(axes, wide.items()):
        w = w.dropna()
        # One call for all participants: a column per person.
        ax.plot([0, 1], w[["left", "right"]].to_numpy().T, color="grey", alpha=0.5, marker="o", ms=3)
        ax.plot([0, 1], [w["left"].mean(), w["right"].mean()], color="black", lw=2.5, marker="o")
        ax.set_xticks([0, 1], ["left", "right"])
        ax.set(title=label, xlim=(-0.3, 1.3))
    fig.suptitle("Participant-level means (grey: participants, black: mean)")
    return fig


def half_by_image_side_plot(tests: dict) -> plt.Figure:
    """Crossed design: cell means of poser's half (x) × image side (lines), one panel per measure."""
    labels = {"rt": "RT (s), correct trials", "intensity": "intensity", "accuracy": "proportion correct"}
    fig, axes = plt.subplots(1, len(tests), figsize=(4 * len(tests), 3.4),
                             gridspec_kw=dict(left=0.07, right=0.98, bottom=0.15, top=0.8, wspace=0.3))
    for ax, (key, t) in zip(np.atleast_1d(axes), tests.items()):
        cells = pd.DataFrame(t.get("cells", []))
        for side in SIDES:
            if cells.empty:
                break
            c = cells[cells["visible_image_side"] == side].set_index("visible_half").reindex(SIDES)["mean"]
            ax.plot([0, 1], c.to_numpy(), marker="o", color=COLORS[side], label=f"image side {side}")
        ax.set_xticks([0, 1], [f"poser's {s}" for s in SIDES])
        ax.set(title=labels.get(key, key), xlim=(-0.3, 1.3))
    np.atleast_1d(axes)[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Poser's half × image side (participant means; lines = side of the image it was shown on)")
    return fig


def platform_side_effects(data: pd.DataFrame) -> plt.Figure:
    """Per-participant left − right differences by platform (dots) with the platform mean (bar)."""
    measures = {"RT (s), correct trials": (data[data["correct"] == 1], "rt"),
                "intensity": (data, "intensity"), "proportion correct": (data, "correct")}
    platforms = sorted(data["platform"].unique())
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4),
                             gridspec_kw=dict(left=0.06, right=0.98, bottom=0.12, top=0.8, wspace=0.3))
    for ax, (label, (sub, dv)) in zip(axes, measures.items()):
        m = sub.groupby(["platform", "participant", "visible_half"], observed=True)[dv].mean().unstack()
        diff = (m.reindex(columns=list(SIDES))["left"] - m.reindex(columns=list(SIDES))["right"]).dropna()
        for i, plat in enumerate(platforms):
            d = diff.loc[plat] if plat in diff.index.get_level_values(0) else pd.Series(dtype=float)
            jitter = np.linspace(-0.12, 0.12, len(d)) if len(d) > 1 else np.zeros(len(d))
            ax.scatter(i + jitter, d.to_numpy(), s=14, color="grey", alpha=0.7)
            ax.hlines(d.mean(), i - 0.25, i + 0.25, color="black", lw=2.5)
        ax.axhline(0, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(platforms)), platforms)
        ax.set(title=label, ylabel="left − right", xlim=(-0.6, len(platforms) - 0.4))
    fig.suptitle("Side effect per participant, by platform (black: platform mean)")
    return fig
