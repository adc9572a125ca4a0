"""Figures: confusion matrices and the left-vs-right chart of Table 2 (the paper's Fig. 4).

matplotlib is optional: without it every function still writes its CSV and returns a one-line note
saying which PNG was skipped (the caller prints it), so a bare torch machine finishes its run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


NO_MATPLOTLIB = "matplotlib is not installed: {} not drawn (pip install matplotlib)"


def write_confusion(out_dir: Path, stem: str, summary: dict, title: str = "") -> str | None:
    """``<stem>.csv`` and ``<stem>.png`` (row-normalised colours, counts printed); a note if no PNG."""
    names = summary["class_names"]
    cm = np.asarray(summary["confusion"])
    header = "true\\pred," + ",".join(names)
    rows = [f"{names[i]}," + ",".join(str(v) for v in cm[i]) for i in range(len(names))]
    (out_dir / f"{stem}.csv").write_text("\n".join([header, *rows]) + "\n")
    plt = _pyplot()
    if plt is None:
        return NO_MATPLOTLIB.format(f"{stem}.png")
    norm = cm / np.maximum(1, cm.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.7 * len(names)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title or f"accuracy {summary['accuracy']:.3f} (n={summary['n']})")
    fig.tight_layout()
    fig.savefig(out_dir / f"{stem}.png", dpi=120)
    plt.close(fig)
    return None


def halves_figure(path: Path, rows: list[dict], title: str, chance: float | None = None) -> str | None:
    """Grouped bars per architecture: our accuracy (mean ± sd over seeds, %) per condition, the paper's value
    as a black tick on each bar (like the paper's Fig. 4), chance as a dotted line. ``rows``: dicts with arch,
    condition, mean, sd, paper (None when the paper has no number)."""
    plt = _pyplot()
    if plt is None:
        return NO_MATPLOTLIB.format(Path(path).name)
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    colours = {"left": "#4c72b0", "right": "#dd8452", "all": "#8c8c8c"}
    width = 0.8 / len(conditions)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.8 + 1.6 * len(archs)), 4.0))
    for j, cond in enumerate(conditions):
        for i, arch in enumerate(archs):
            r = next((r for r in rows if r["arch"] == arch and r["condition"] == cond), None)
            if r is None:
                continue
            x = i + (j - (len(conditions) - 1) / 2) * width
            ax.bar(x, r["mean"], width * 0.9, yerr=r["sd"] or 0, capsize=3, color=colours.get(cond, "#55a868"),
                   label=f"{cond} (ours)" if i == 0 else None)
            ax.text(x, 1.0, f"{r['mean']:.1f}", ha="center", va="bottom", fontsize=7, color="white")
            if r.get("paper") is not None:
                ax.plot([x - width * 0.45, x + width * 0.45], [r["paper"]] * 2, color="black", lw=2,
                        label="paper" if (i == 0 and j == 0) else None)
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.1f})")
    ax.set_xticks(range(len(archs)), archs)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=8, wrap=True)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=4, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return None
