"""What the HSAW paper's reported statistics (§3.1.4) imply, and whether they agree.

The paper gives test statistics but (in the text available to us) no
descriptive table, so samples with its exact means/SDs cannot be rebuilt. What
can be derived from the numbers themselves:

- a χ² for a side × correct 2×2 table with known row totals pins down the
  possible integer tables (``chi2_tables``);
- a Welch df pins down the SD ratio for given group sizes (``sd_ratio_for_welch_df``)
  and bounds the group sizes: min(n1, n2) − 1 ≤ df ≤ n1 + n2 − 2 (``welch_df_bounds``);
- a Student df is n1 + n2 − 2.

``python -m analysis.paper`` prints the findings (they are also in docs/analysis.md).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import optimize, stats

from halfface.cli import run_main

# §3.1.4 as reported; design implied by df 2517.154 ≈ 2518 = 2520 − 2: 18 participants × 140 trials.
PAPER = {
    "rt_left_vs_right": {"t": -0.619, "df": 902.606, "p": 0.536},
    "rt_positive_vs_negative": {"t": -11.686, "df": 521, "p_below": 0.001},
    "intensity_left_vs_right": {"t": 6.773, "df": 2517.154, "p_below": 0.001},
    "accuracy_left_vs_right": {"chi2": 10.552, "df": 1, "p": 0.001},
    "accuracy_positive_left_vs_right": {"chi2": 13.425, "df": 1},
    "accuracy_negative_left_vs_right": {"chi2": 3.318, "df": 1, "p": 0.069},
}
# Balanced design assumed for the χ² checks: 7 emotions × 10 photos × 2 halves per participant.
DESIGN = {"participants": 18, "trials_per_side": 1260, "positive_per_side": 180, "negative_per_side": 720,
          "surprise_others_total": 720}


def pearson_chi2_grid(n1: int, n2: int) -> np.ndarray:
    """Pearson χ² (no correction) of [[a, n1−a], [c, n2−c]] for every a (rows) and c (columns).

    χ² = N (a(n2−c) − (n1−a)c)² / (n1 n2 K (N−K)), K = a + c, N = n1 + n2; NaN where K is 0 or N.
    """
    a = np.arange(n1 + 1)[:, None]
    c = np.arange(n2 + 1)[None, :]
    k, n = a + c, n1 + n2
    with np.errstate(all="ignore"):
        chi = n * (a * (n2 - c) - (n1 - a) * c) ** 2 / (n1 * n2 * k * (n - k))
    return np.where((k == 0) | (k == n), np.nan, chi)


def chi2_tables(chi2: float, n1: int, n2: int, tol: float = 0.0005) -> list[tuple[int, int]]:
    """(correct in row 1, correct in row 2) for every table with |χ² − chi2| ≤ tol.

    tol = 0.0005 means "rounds to the reported 3 decimals"; 0.005 is a 2-decimal check.
    """
    grid = pearson_chi2_grid(n1, n2)
    return [(int(i), int(j)) for i, j in np.argwhere(np.abs(grid - chi2) <= tol)]


def closest_chi2_tables(chi2: float, n1: int, n2: int, k: int = 4) -> list[tuple[int, int, float]]:
    """The k tables whose χ² is nearest to ``chi2``: (a, c, χ²)."""
    grid = pearson_chi2_grid(n1, n2)
    d = np.abs(np.nan_to_num(grid, nan=np.inf) - chi2)
    idx = np.argsort(d, axis=None)[:k]
    return [(int(i // (n2 + 1)), int(i % (n2 + 1)), float(grid.flat[i])) for i in idx]


def welch_df(sd1: float, sd2: float, n1: int, n2: int) -> float:
    """Welch–Satterthwaite df: (v1 + v2)² / (v1²/(n1−1) + v2²/(n2−1)), v = s²/n."""
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    return (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))


def welch_df_bounds(n1: int, n2: int) -> tuple[float, float]:
    """The range Welch's df can take for these group sizes, over all SD ratios."""
    vmax = optimize.minimize_scalar(lambda r: -welch_df(r, 1.0, n1, n2), bounds=(1e-3, 1e3), method="bounded")
    return float(min(n1, n2) - 1), float(-vmax.fun)


def sd_ratio_for_welch_df(df: float, n1: int, n2: int) -> list[float]:
    """SD ratios s1/s2 giving exactly this Welch df (0, 1 or 2 solutions)."""
    peak = optimize.minimize_scalar(lambda r: -welch_df(r, 1.0, n1, n2), bounds=(1e-3, 1e3), method="bounded").x
    f = lambda r: welch_df(r, 1.0, n1, n2) - df  # noqa: E731
    out = []
    for lo, hi in ((1e-4, peak), (peak, 1e4)):
        if f(lo) * f(hi) < 0:
            out.append(float(optimize.brentq(f, lo, hi, xtol=1e-12)))
    return out


def exact_sample(n: int, mean: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """n values with exactly this mean and SD (n − 1 denominator): a standardised normal draw."""
    x = rng.normal(size=n)
    x = (x - x.mean()) / x.std(ddof=1)
    return mean + sd * x


def means_for_t(t: float, n1: int, n2: int, sd1: float, sd2: float, welch: bool) -> float:
    """Mean difference m1 − m2 that gives this t for the given sizes and SDs."""
    if welch:
        se = np.sqrt(sd1**2 / n1 + sd2**2 / n2)
    else:
        sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
        se = sp * np.sqrt(1 / n1 + 1 / n2)
    return float(t * se)


def counts_with_moments(n: int, s1: int, s2: int, min_count: int = 1) -> list[int] | None:
    """Counts of ratings 1..5 with Σc = n, Σc·x = s1, Σc·x² = s2 (None if there are none).

    Two counts are free; they are searched outward from n/5 so the first hit is a
    reasonably spread distribution.
    """
    order = sorted(range(n + 1), key=lambda c: abs(c - n // 5))
    for c5 in order:
        for c4 in order:
            r0, r1, r2 = n - c4 - c5, s1 - 4 * c4 - 5 * c5, s2 - 16 * c4 - 25 * c5
            # c1 + c2 + c3 = r0, c1 + 2c2 + 3c3 = r1, c1 + 4c2 + 9c3 = r2
            num = (r2 - r0) - 3 * (r1 - r0)
            if r0 < 0 or num % 2:
                continue
            c3 = num // 2
            c2 = (r1 - r0) - 2 * c3
            c1 = r0 - c2 - c3
            if min(c1, c2, c3, c4, c5) >= min_count:
                return [c1, c2, c3, c4, c5]
    return None


def integer_ratings_for_welch(t: float, df: float, n: int, decimals: int = 3,
                              mean_range=(2.6, 3.0), var_range=(0.9, 1.4)):
    """Two samples of n integer ratings 1–5 whose Welch t and df round to the given values.

    Exact means/SDs are impossible with integer ratings, so this searches the
    integer sums (Σx, Σx²) of the second group and solves for the first group's
    sums, then builds counts with those sums. Returns (counts1, counts2) or None.
    """
    tol = 0.5 * 10.0**-decimals
    q = optimize.brentq(lambda q: (n - 1) * (1 + q) ** 2 / (1 + q * q) - df, 1, 10)  # v1/v2 for equal n
    s1b = np.arange(int(mean_range[0] * n), int(mean_range[1] * n))[:, None]
    m2 = s1b / n
    s2b = np.arange(int(n * (var_range[0] + mean_range[0] ** 2)), int(n * (var_range[1] + mean_range[1] ** 2)))[None, :]
    v2 = (s2b - n * m2**2) / (n - 1)
    with np.errstate(invalid="ignore"):
        b = v2 / n
        m1 = m2 + t * np.sqrt(q * b + b)
        s1a_f, s2a_f = m1 * n, (n - 1) * q * b * n + n * m1**2
        for d1 in (0, 1):
            for d2 in (-1, 0, 1, 2):
                s1a, s2a = np.floor(s1a_f) + d1, np.floor(s2a_f) + d2
                ma = s1a / n
                va = (s2a - n * ma**2) / (n - 1)
                a_, b_ = va / n, b
                tt = (ma - m2) / np.sqrt(a_ + b_)
                dd = (a_ + b_) ** 2 / (a_**2 / (n - 1) + b_**2 / (n - 1))
                ok = (np.abs(tt - t) < tol) & (np.abs(dd - df) < tol) & (v2 > var_range[0]) & (v2 < var_range[1])
                for i, j in np.argwhere(ok):
                    ca = counts_with_moments(n, int(s1a[i, j]), int(s2a[i, j]), min_count=n // 20)
                    cb = counts_with_moments(n, int(s1b[i, 0]), int(s2b[0, j]), min_count=n // 20)
                    if ca and cb:
                        return ca, cb
    return None


def exact_sample_with(n: int, mean: float, sd: float, fixed, rng: np.random.Generator) -> np.ndarray:
    """n values with exactly this mean and SD (n − 1 denominator) that include the values ``fixed``.

    The other n − k values are a standardised right-skewed (log-normal) draw,
    shifted and scaled so that the whole sample has the requested moments: with
    S the total sum of squares (n − 1)·sd², the free values get mean
    μ_r = (n·mean − Σfixed)/(n − k) and SD s_r from
    S = Σ(fixed − mean)² + (n − k)(μ_r − mean)² + (n − k − 1)·s_r².
    """
    fixed = np.asarray(fixed, dtype=float)
    m = n - len(fixed)
    mu_r = (n * mean - fixed.sum()) / m
    rest_ss = (n - 1) * sd**2 - ((fixed - mean) ** 2).sum() - m * (mu_r - mean) ** 2
    if rest_ss <= 0:
        raise ValueError("the fixed values alone exceed the requested SD")
    z = rng.lognormal(0.0, 0.5, size=m)
    z = (z - z.mean()) / z.std(ddof=1)
    return np.r_[fixed, mu_r + np.sqrt(rest_ss / (m - 1)) * z]


def paper_matching_cells(seed: int = 2024, outside_window: bool = True) -> "pd.DataFrame":
    """2,520 trials (18 × 140 when dealt out) whose trial-level tests give the paper's statistics.

    RT left vs right (correct trials): Welch t = −0.619, df = 902.606; intensity
    left vs right (all trials): Welch t = 6.773, df = 2517.154; accuracy χ²:
    3.318 (negative) exactly, 10.55 (all) and 13.423 (positive) as close as a
    balanced design allows (``findings``). With ``outside_window`` 16 RTs lie
    outside the report's RT window 0.2–10 s (10 on correct trials, 6 on wrong
    ones) while the moments stay exact, so the paper's statistics need every trial.
    Columns: visible_half, emotion, correct, rt, intensity.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = DESIGN["trials_per_side"]
    feasible = [(a, c) for a, c in chi2_tables(10.552, n, n, tol=0.005) if min(a, c) - 1 <= 902.606 <= a + c - 2]
    left_ok, right_ok = next((a, c) for a, c in feasible if a > c)
    ratio = sd_ratio_for_welch_df(902.606, left_ok, right_ok)[0]
    sd_r, mean_r = 0.9, 1.6
    diff = means_for_t(-0.619, left_ok, right_ok, ratio * sd_r, sd_r, welch=True)
    # Per side on correct trials: 2 anticipations and 3 lapses (values never seen as a valid RT twice).
    odd = {"left": [0.12, 0.15, 10.8, 11.5, 12.5], "right": [0.11, 0.17, 10.6, 11.9, 13.0]} if outside_window \
        else {"left": [], "right": []}
    rts = {"left": exact_sample_with(left_ok, mean_r + diff, ratio * sd_r, odd["left"], rng),
           "right": exact_sample_with(right_ok, mean_r, sd_r, odd["right"], rng)}
    for side in rts:  # the outside values are spread over the emotions rather than all on happiness
        rts[side] = rng.permutation(rts[side])
    pos, neg = {"left": 177, "right": 160}, {"left": 240, "right": 208}
    frames = []
    for side, total_ok in (("left", left_ok), ("right", right_ok)):
        n_ok = {"happiness": pos[side], "anger": neg[side], "surprise": total_ok - pos[side] - neg[side]}
        n_all = {"happiness": 180, "anger": 720, "surprise": 360}
        start = 0
        for emo in ("happiness", "anger", "surprise"):
            k, wrong = n_ok[emo], n_all[emo] - n_ok[emo]
            frames.append(pd.DataFrame({"visible_half": side, "emotion": emo, "correct": [1] * k + [0] * wrong,
                                        "rt": np.r_[rts[side][start:start + k], rng.uniform(0.8, 2.5, wrong)]}))
            start += k
    cells = pd.concat(frames, ignore_index=True)
    if outside_window:  # 6 on wrong trials: they count for intensity and accuracy under the paper's rule
        wrong = cells.index[cells["correct"] == 0]
        cells.loc[rng.choice(wrong, 6, replace=False), "rt"] = [0.05, 0.13, 0.18, 10.2, 14.0, 22.0]
    counts_l, counts_r = integer_ratings_for_welch(6.773, 2517.154, n)
    for side, counts in (("left", counts_l), ("right", counts_r)):
        cells.loc[cells.visible_half == side, "intensity"] = rng.permutation(np.repeat(np.arange(1, 6), counts))
    cells["intensity"] = cells["intensity"].astype(int)
    return cells


def findings() -> dict:
    """Every derived check, as numbers (used by docs/analysis.md and the tests)."""
    d = DESIGN
    out = {}
    out["p_values"] = {
        "rt_left_vs_right": float(2 * stats.t.sf(0.619, 902.606)),
        "rt_positive_vs_negative": float(2 * stats.t.sf(11.686, 521)),
        "intensity_left_vs_right": float(2 * stats.t.sf(6.773, 2517.154)),
        "accuracy_left_vs_right": float(stats.chi2.sf(10.552, 1)),
        "accuracy_positive_left_vs_right": float(stats.chi2.sf(13.425, 1)),
        "accuracy_negative_left_vs_right": float(stats.chi2.sf(3.318, 1)),
    }
    n = d["trials_per_side"]
    out["intensity_sd_ratio"] = sd_ratio_for_welch_df(2517.154, n, n)
    out["intensity_df_bounds"] = welch_df_bounds(n, n)
    out["all_exact"] = chi2_tables(10.552, n, n)
    out["all_closest"] = closest_chi2_tables(10.552, n, n)
    out["positive_exact"] = chi2_tables(13.425, d["positive_per_side"], d["positive_per_side"])
    out["positive_closest"] = closest_chi2_tables(13.425, d["positive_per_side"], d["positive_per_side"])
    out["negative_exact"] = chi2_tables(3.318, d["negative_per_side"], d["negative_per_side"])
    # Student df 521 => 523 correct positive + negative trials (RT test uses correct trials only).
    pos_tot = sorted({a + c for a, c in chi2_tables(13.425, 180, 180, tol=0.005)})
    neg_tot = sorted({a + c for a, c in chi2_tables(3.318, 720, 720, tol=0.005)})
    out["positive_correct_totals_2dp"] = pos_tot
    out["negative_correct_totals_2dp"] = neg_tot
    out["pos_neg_pairs_summing_to_523"] = [(p, q) for p in pos_tot for q in neg_tot if p + q == 523]
    # Welch df 902.606 => min(n_left, n_right) - 1 <= 902.606 <= n_left + n_right - 2.
    feasible = [(a, c) for a, c in chi2_tables(10.552, n, n, tol=0.005)
                if min(a, c) - 1 <= 902.606 <= a + c - 2]
    out["all_tables_2dp_compatible_with_rt_df"] = feasible
    out["rt_min_correct_trials"] = int(np.ceil(902.606 + 2))
    out["intensity_integer_counts"] = integer_ratings_for_welch(6.773, 2517.154, n)
    return out


@run_main
def main() -> int:
    f = findings()
    for k, v in f.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
