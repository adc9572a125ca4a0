"""Summaries and tests for cross-validated accuracies (pure; scipy optional, never needed).

Each function takes plain sequences and returns plain numbers or dicts; nothing prints. Table 2's inference is
``mcnemar_exact`` over photos; ``corrected_resampled_t`` is the fold-level alternative (see docs/recognition.md,
"Table 2's statistics", for why folds and seeds are not independent samples).
"""
from __future__ import annotations

import math

import numpy as np


def mean_sd(values) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof = 1; None for a single value: no spread was measured)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else None


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p of k successes in n trials at probability ½: min(1, 2·Σ_{i≤min(k,n−k)} C(n,i)/2ⁿ).

    From ``scipy.stats.binomtest`` when scipy is installed (the same number), else with ``math.comb``.
    """
    if n == 0:
        return 1.0
    try:
        from scipy.stats import binomtest
    except ImportError:
        m = min(k, n - k)
        return min(1.0, 2 * sum(math.comb(n, i) for i in range(m + 1)) / 2 ** n)
    return float(binomtest(k, n, 0.5).pvalue)


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact McNemar test of paired binary outcomes (one pair per photo: was the left / right half right?).

    b = #(a right, b wrong), c = #(a wrong, b right); under H0 (equal accuracy) b ~ Binomial(b + c, ½), so
    p = min(1, 2·Σ_{i≤min(b,c)} C(b+c, i)/2^{b+c})  (McNemar 1947; the exact form: Fagerland, Lydersen &
    Laake 2013, BMC Med Res Methodol 13:91). Concordant pairs carry no information about the difference.
    """
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    n01, n10 = int((a & ~b).sum()), int((~a & b).sum())
    return {"test": "exact McNemar (two-sided)", "n": int(a.size), "a_only": n01, "b_only": n10,
            "both": int((a & b).sum()), "neither": int((~a & ~b).sum()),
            "accuracy_a": float(a.mean()) if a.size else None, "accuracy_b": float(b.mean()) if b.size else None,
            "p": binomial_two_sided(min(n01, n10), n01 + n10)}


def majority(correct_by_seed) -> bool:
    """A photo's half counts as recognised when more than half of the seeds got it right (a tie: not)."""
    v = np.asarray(correct_by_seed, bool)
    return bool(2 * v.sum() > v.size)


def corrected_resampled_t(differences, test_train_ratio: float) -> dict:
    """Nadeau & Bengio's (2003) corrected resampled t over the J = k·r (fold, seed) differences d_j.

    t = mean(d) / √((1/J + n_test/n_train) · s²),  df = J − 1, s² the sample variance of d_j
    (Nadeau & Bengio 2003, Machine Learning 52:239–281; its r×k-fold form: Bouckaert & Frank 2004, PAKDD).
    The n_test/n_train term widens the plain paired t's 1/J for the training sets that the runs share; the
    plain t over folds treats them as independent and overstates the evidence.
    """
    d = np.asarray(differences, float)
    j = d.size
    out = {"test": "Nadeau-Bengio corrected resampled t (two-sided)", "n_pairs": int(j),
           "mean_difference": float(d.mean()) if j else None, "t": None, "df": j - 1, "p": None,
           "test_train_ratio": float(test_train_ratio)}
    if j < 2:
        out["note"] = "fewer than 2 (fold, seed) pairs: no t"
        return out
    var = d.var(ddof=1)
    if var == 0:
        out["note"] = "all differences equal: t undefined"
        return out
    out["t"] = float(d.mean() / math.sqrt((1 / j + test_train_ratio) * var))
    out["p"] = t_two_sided_p(out["t"], j - 1)
    return out


def t_two_sided_p(t: float, df: int) -> float:
    """P(|T| ≥ |t|) for Student's t with integer df: scipy when installed, else the closed form of
    Abramowitz & Stegun (1964) 26.7.3–26.7.4 (a finite series in cos θ, θ = atan(|t|/√df))."""
    try:
        from scipy.stats import t as student
    except ImportError:
        pass
    else:
        return float(2 * student.sf(abs(t), df))
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2:  # odd: A = (2/π)(θ + sin θ (cos θ + (2/3) cos³θ + … + (2·4…(df−3))/(1·3…(df−2)) cos^{df−2}θ))
        term, total = c, (c if df > 1 else 0.0)
        for k in range(3, df - 1, 2):
            term *= (k - 1) / k * c * c
            total += term
        a = 2 / math.pi * (theta + s * total)
    else:  # even: A = sin θ (1 + ½ cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3…(df−3))/(2·4…(df−2)) cos^{df−2}θ)
        term, total = 1.0, 1.0
        for k in range(2, df - 1, 2):
            term *= (k - 1) / k * c * c
            total += term
        a = s * total
    return min(1.0, max(0.0, 1 - a))


def chance_flags(true, predicted, n_classes_present: int | None = None) -> dict:
    """Balanced accuracy, its chance level and two warning flags for one run's predictions (class indices).

    balanced accuracy = mean over the K classes present of recall_k; chance = 1/K (any guess without the
    image: always one class, or random). ``collapsed``: every prediction is one class. ``near_chance``:
    balanced accuracy ≤ chance + 2·√(chance·(1 − chance)/n), i.e. within two binomial standard errors of
    what guessing gives on n test samples (about a one-sided 97.7 % band; small folds are always near chance,
    which is what they can tell).
    """
    t, p = np.asarray(true), np.asarray(predicted)
    classes = np.unique(t)
    k = n_classes_present or len(classes)
    recall = [float((p[t == c] == c).mean()) for c in classes]
    bacc = float(np.mean(recall)) if recall else float("nan")
    chance = 1 / k if k else float("nan")
    noise = 2 * math.sqrt(chance * (1 - chance) / max(1, t.size))
    return {"balanced_accuracy": bacc, "chance": chance, "collapsed": bool(t.size and np.unique(p).size == 1),
            "near_chance": bool(bacc <= chance + noise), "chance_band": chance + noise}
