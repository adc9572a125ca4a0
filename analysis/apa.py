"""APA-style strings (pure formatting; no statistics here)."""

from __future__ import annotations

import math

MINUS = "\u2212"
# Printed digits must not depend on the order in which a number's parts were added up: the order of the
# participants' or photos' labels, or of the rows in a file. A mean that lies on a rounding boundary (3.325)
# comes out as 3.3249999999999997 in one order and 3.3250000000000002 in another, and printed as 3.32 or
# 3.33 (seen when only the participant IDs and photo names were changed). Rounding first to this many
# digits beyond the printed ones removes that noise; no real difference is that small.
SETTLE_DIGITS = 9


def _settled(x: float, decimals: int) -> float:
    return round(x, decimals + SETTLE_DIGITS)


def fmt_num(x: float, decimals: int = 2) -> str:
    """Fixed decimals with a true minus sign (the same digits whatever the order of summation)."""
    s = f"{_settled(x, decimals):.{decimals}f}"
    if float(s) == 0:
        s = s.lstrip("-")  # -0.0004 rounds to "-0.000": a signed zero reads as a direction that is not there
    return s.replace("-", MINUS)


def fmt_p(p: float) -> str:
    """'p = .536' / 'p < .001' (APA 7: no leading zero, three decimals)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p = n/a"
    p = _settled(p, 3)
    if p < 0.001:
        return "p < .001"
    return "p = " + f"{p:.3f}".lstrip("0")


def fmt_df(df: float) -> str:
    return str(int(round(df))) if abs(df - round(df)) < 1e-9 else f"{df:.2f}"


def apa_t(t: float, df: float, p: float) -> str:
    """'t(902.61) = −0.62, p = .536'."""
    return f"t({fmt_df(df)}) = {fmt_num(t)}, {fmt_p(p)}"


def apa_chi2(chi2: float, df: int, n: int, p: float) -> str:
    """'χ²(1, N = 2520) = 10.55, p = .001'."""
    return f"\u03c7\u00b2({df}, N = {n}) = {fmt_num(chi2)}, {fmt_p(p)}"
