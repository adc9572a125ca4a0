"""Summaries and paired tests for cross-validated accuracies (pure; scipy optional).

Each function takes plain sequences and returns plain numbers; nothing prints.
"""
from __future__ import annotations

import math

import numpy as np


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def sign_test(a, b) -> dict:
    """Exact two-sided sign test of paired values a vs b.

    Ties (a = b) are dropped; with n untied pairs and k = min(#(a>b), #(a<b)),
    p = min(1, 2 · Σ_{i=0..k} C(n, i) / 2ⁿ)  (Dixon & Mood 1946; Conover 1999, §3.4). Exact for any n and
    assumption-free about the size of the differences; only their signs count. Computed with ``math.comb``
    (scipy.stats.binomtest gives the same p).
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    pos, neg = int((d > 0).sum()), int((d < 0).sum())
    n = pos + neg
    k = min(pos, neg)
    p = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
    return {"test": "exact sign test (two-sided)", "n_pairs": int(d.size), "a_greater": pos, "b_greater": neg,
            "ties": int(d.size - n), "p": p}


def paired_t(a, b) -> dict:
    """Paired t-test: t = mean(d) / (sd(d)/√n), df = n − 1, two-sided p (Student 1908).

    p needs the t distribution: from scipy when installed, else None (the sign test needs no scipy).
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    n = d.size
    out = {"test": "paired t (two-sided)", "n_pairs": int(n), "mean_difference": float(d.mean()) if n else None,
           "t": None, "df": n - 1, "p": None}
    if n < 2:
        return out
    sd = d.std(ddof=1)
    if sd == 0:
        out["note"] = "all differences equal: t undefined"
        return out
    out["t"] = float(d.mean() / (sd / math.sqrt(n)))
    try:
        from scipy import stats
    except ImportError:
        out["note"] = "scipy is not installed: no p for the t-test (the sign test needs none)"
        return out
    out["p"] = float(2 * stats.t.sf(abs(out["t"]), n - 1))
    return out
